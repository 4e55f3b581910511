package org.saslgate.hadooptest;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.PrivilegedExceptionAction;
import javax.security.auth.Subject;
import javax.security.auth.login.LoginContext;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonConfigurationKeysPublic;
import org.apache.hadoop.ipc.ProtobufRpcEngine2;
import org.apache.hadoop.ipc.RPC;
import org.apache.hadoop.ipc.TestRpcBase;
import org.apache.hadoop.ipc.TestRpcBase.TestRpcService;
import org.apache.hadoop.ipc.protobuf.TestRpcServiceProtos;
import org.apache.hadoop.net.NetUtils;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.security.authorize.PolicyProvider;
import org.apache.hadoop.security.authorize.ProxyUsers;
import org.apache.hadoop.security.authorize.Service;

/**
 * A Hadoop RPC server in a JVM of its own: upstream's test protocol
 * ({@code TestRpcBase$TestRpcService}, whose {@code getAuthUser}, {@code getAuthMethod} and
 * {@code getCurrentUser} report the caller as the server sees it) on 127.0.0.1 with an
 * OS-chosen port.
 *
 * <p>Arguments: {@code <mode> <core-site.xml> <hadoop-policy.xml> <port file>}. The
 * configuration is the two files as given. Mode {@code oauthbearer}: the server logs in through
 * Hadoop's own login ({@code UserGroupInformation.getLoginUser()}, which runs the JAAS section
 * of {@code hadoop.security.oauthbearer.jaas.section}; {@code java.security.auth.login.config} is
 * a system property of this JVM). Mode {@code mixed}: {@code hadoop.security.authentication=kerberos}
 * with {@code additional.methods=oauthbearer}, a migrating server (default realm EXAMPLE.ORG by
 * system property); there is no KDC here, so the
 * saslgate JAAS section is logged in directly (it gives the OAUTHBEARER SaslServer its backend)
 * and the server runs as the remote user {@code hadoop-server}.
 *
 * <p>Service ACLs: {@code security.client.protocol.acl} of hadoop-policy.xml guards the test
 * protocol (a {@link PolicyProvider} of one {@link Service}); proxy users come from
 * {@code hadoop.proxyuser.*}. When listening, it writes {@code <port>\n<login user>\n} to the port
 * file (atomically) and serves until killed. Exit status 1 with the stack trace on stderr when
 * it cannot start.
 */
public final class RpcServerMain {
    private RpcServerMain() {}

    /** The policy of the test protocol: the client-protocol ACL of hadoop-policy.xml. */
    static final class TestPolicy extends PolicyProvider {
        @Override
        public Service[] getServices() {
            return new Service[] {new Service("security.client.protocol.acl", TestRpcService.class)};
        }
    }

    /**
     * @param args mode, core-site.xml, hadoop-policy.xml, port file (see the class doc)
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 4 || !(args[0].equals("oauthbearer") || args[0].equals("mixed"))) {
            System.err.println("usage: RpcServerMain oauthbearer|mixed CORE_SITE POLICY PORT_FILE");
            System.exit(2);
        }
        try {
            run(args[0], Paths.get(args[1]), Paths.get(args[2]), Paths.get(args[3]));
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String mode, Path coreSite, Path policy, Path portFile) throws Exception {
        Configuration conf = new Configuration();
        conf.addResource(new org.apache.hadoop.fs.Path(coreSite.toUri()));
        conf.addResource(new org.apache.hadoop.fs.Path(policy.toUri()));
        RPC.setProtocolEngine(conf, TestRpcService.class, ProtobufRpcEngine2.class);
        UserGroupInformation serverUgi;
        if (mode.equals("mixed")) {
            // Kerberos needs a default realm to parse names; no KDC is ever contacted (no
            // client here uses KERBEROS).
            System.setProperty("java.security.krb5.realm", "EXAMPLE.ORG");
            System.setProperty("java.security.krb5.kdc", "127.0.0.1");
            conf.set(CommonConfigurationKeysPublic.HADOOP_SECURITY_AUTHENTICATION, "kerberos");
            conf.set("hadoop.security.authentication.additional.methods", "oauthbearer");
            UserGroupInformation.setConfiguration(conf);
            new LoginContext(conf.get("hadoop.security.oauthbearer.jaas.section"), new Subject()).login();
            serverUgi = UserGroupInformation.createRemoteUser("hadoop-server");
        } else {
            UserGroupInformation.setConfiguration(conf);
            serverUgi = UserGroupInformation.getLoginUser();
        }
        System.err.println("RpcServerMain: mode " + mode + ", login user " + serverUgi);
        ProxyUsers.refreshSuperUserGroupsConfiguration(conf);
        RPC.Server server = serverUgi.doAs((PrivilegedExceptionAction<RPC.Server>) () -> new RPC.Builder(conf)
                .setProtocol(TestRpcService.class)
                .setInstance(TestRpcServiceProtos.TestProtobufRpcProto.newReflectiveBlockingService(
                        new TestRpcBase.PBServerImpl()))
                .setBindAddress("127.0.0.1")
                .setPort(0)
                .setNumHandlers(2)
                .build());
        if (conf.getBoolean(CommonConfigurationKeysPublic.HADOOP_SECURITY_AUTHORIZATION, false)) {
            server.refreshServiceAclWithLoadedConfiguration(conf, new TestPolicy());
        }
        server.start();
        int port = NetUtils.getConnectAddress(server).getPort();
        Path tmp = portFile.resolveSibling(portFile.getFileName() + ".tmp");
        Files.write(tmp, (port + "\n" + serverUgi + "\n").getBytes(StandardCharsets.UTF_8));
        Files.move(tmp, portFile, StandardCopyOption.ATOMIC_MOVE);
        System.err.println("RpcServerMain: listening on 127.0.0.1:" + port);
        server.join();
    }
}
