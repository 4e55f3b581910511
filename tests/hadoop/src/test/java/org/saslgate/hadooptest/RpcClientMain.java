package org.saslgate.hadooptest;

import java.net.InetSocketAddress;
import java.nio.file.Paths;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.ipc.ProtobufRpcEngine2;
import org.apache.hadoop.ipc.RPC;
import org.apache.hadoop.ipc.TestRpcBase;
import org.apache.hadoop.ipc.TestRpcBase.TestRpcService;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * A Hadoop RPC client in a JVM of its own with {@code core-site.xml} as given, except that
 * {@code hadoop.security.oauthbearer.jaas.section} is emptied: a host with OAUTHBEARER switched
 * on but no saslgate login, so no token anywhere in the JVM (the shim's client falls back to
 * the last saslgate login of the JVM, which a test JVM always has).
 *
 * <p>Arguments: {@code <core-site.xml> <port>} (host 127.0.0.1). Prints
 * {@code OK <remote user>/<mechanism>} and exits 0, or prints {@code FAILED} and the cause chain
 * and exits 1.
 */
public final class RpcClientMain {
    private RpcClientMain() {}

    /** @param args core-site.xml, port */
    public static void main(String[] args) throws Exception {
        Configuration conf = new Configuration();
        conf.addResource(new org.apache.hadoop.fs.Path(Paths.get(args[0]).toUri()));
        conf.set("hadoop.security.oauthbearer.jaas.section", "");
        conf.setInt("ipc.client.connect.max.retries", 0);
        conf.setInt("ipc.client.connect.max.retries.on.sasl", 0);
        RPC.setProtocolEngine(conf, TestRpcService.class, ProtobufRpcEngine2.class);
        UserGroupInformation.setConfiguration(conf);
        TestRpcService proxy = RPC.getProxy(TestRpcService.class, 0,
                new InetSocketAddress("127.0.0.1", Integer.parseInt(args[1])), conf);
        try {
            String who = proxy.getAuthUser(null, TestRpcBase.newEmptyRequest()).getUser() + "/"
                    + proxy.getAuthMethod(null, TestRpcBase.newEmptyRequest()).getMechanismName();
            System.out.println("OK " + who);
        } catch (Exception e) {
            StringBuilder b = new StringBuilder("FAILED");
            for (Throwable t = e; t != null; t = t.getCause()) {
                b.append(" | ").append(t.getClass().getName()).append(": ").append(t.getMessage());
            }
            System.out.println(b);
            System.exit(1);
        } finally {
            RPC.stopProxy(proxy);
        }
    }
}
