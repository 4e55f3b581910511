package org.saslgate.hadooptest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PrivilegedExceptionAction;
import java.util.Map;
import java.util.Set;
import javax.security.auth.Subject;
import javax.security.auth.login.LoginContext;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.ipc.ProtobufRpcEngine2;
import org.apache.hadoop.ipc.RPC;
import org.apache.hadoop.ipc.RemoteException;
import org.apache.hadoop.ipc.TestRpcBase;
import org.apache.hadoop.ipc.TestRpcBase.TestRpcService;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.SaslRpcServer.AuthMethod;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.security.authorize.AuthorizationException;
import org.apache.hadoop.util.VersionInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.saslgate.SaslGateOptions;
import org.saslgate.SaslGateTokenCredential;
import org.saslgate.testsupport.Repo;

/**
 * Hadoop RPC with OAUTHBEARER end to end: the patched hadoop-common, the saslgate shim, a real
 * Keycloak realm ({@code hadoop-realm.json}), RPC servers in JVMs of their own
 * ({@link RpcServerMain}: one with {@code configs/hadoop/core-site.xml} as is, one migrating
 * server advertising KERBEROS and OAUTHBEARER) and this JVM as the client, configured by the
 * same {@code core-site.xml}. The subclasses pick the transport of every JVM's
 * {@code SaslGateLoginModule}: {@link JniRpcTest}, {@link SidecarRpcTest} (a real
 * {@code saslgate serve}).
 *
 * <p>Clients: the login user ({@code hdfs-client}, through Hadoop's own login and the JAAS
 * section {@code SaslGate}); the other realm identities through their own JAAS sections
 * ({@code SaslGate-<id>}), their token put into a UGI's Subject; and hand-made tokens (tampered,
 * expired) sent through the jni client backend, which takes a token as given (the sidecar
 * only sends the daemon's own tokens).
 *
 * <p>A failed SASL exchange reaches the client as a RemoteException (FATAL_UNAUTHORIZED; the
 * client drops the error code), so the client-side checks name the remote exception class and
 * message, and the reason is checked in the server's log.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class HadoopRpcE2E {
    private Stack stack;
    private ServerProcess server;
    private ServerProcess mixed;
    private Configuration conf;
    private String shortLivedToken;
    private long shortLivedExpiresAtMillis;

    abstract Stack.Transport transport();

    @BeforeAll
    void start() throws Exception {
        stack = Stack.start(transport(), "hadoop-" + transport().name().toLowerCase());
        // Fetched first, so its 3 s lifetime runs out while the servers start.
        Map.Entry<String, Long> t = stack.kc.clientCredentialsToken(stack.realm, "short-lived", "short-lived-secret");
        shortLivedToken = t.getKey();
        shortLivedExpiresAtMillis = System.currentTimeMillis() + t.getValue() * 1000;
        server = ServerProcess.start(stack, "oauthbearer", "server");
        mixed = ServerProcess.start(stack, "mixed", "mixed");
        System.setProperty("java.security.auth.login.config", stack.jaas("hdfs-client").toString());
        javax.security.auth.login.Configuration.getConfiguration().refresh();
        conf = new Configuration();
        conf.addResource(new org.apache.hadoop.fs.Path(Repo.path("configs/hadoop/core-site.xml").toUri()));
        conf.setInt("ipc.client.connect.max.retries", 0);
        conf.setInt("ipc.client.connect.max.retries.on.sasl", 0);
        RPC.setProtocolEngine(conf, TestRpcService.class, ProtobufRpcEngine2.class);
        UserGroupInformation.setConfiguration(conf);
        // Hadoop's login (the SaslGate section) also installs the SaslGate provider; a Hadoop
        // client does it before its first call, here before any test's doAs.
        UserGroupInformation.getLoginUser();
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {server, mixed, stack}) {
            if (c != null) {
                c.close();
            }
        }
    }

    // ---- clients --------------------------------------------------------------------------

    /** A UGI of realm identity {@code id}: its JAAS section's login, the token in the UGI's Subject. */
    private static UserGroupInformation identity(String id) throws Exception {
        Subject login = new Subject();
        new LoginContext("SaslGate-" + id, login).login();
        Set<SaslGateTokenCredential> creds = login.getPrivateCredentials(SaslGateTokenCredential.class);
        assertEquals(1, creds.size(), "the login module put one token into the Subject");
        UserGroupInformation ugi = UserGroupInformation.createRemoteUser(id, AuthMethod.OAUTHBEARER);
        subjectOf(ugi).getPrivateCredentials().addAll(creds);
        return ugi;
    }

    /** A UGI holding {@code token} as is, sent through the jni backend (rendered saslgate.toml). */
    private UserGroupInformation rawToken(String name, String token) {
        UserGroupInformation ugi = UserGroupInformation.createRemoteUser(name, AuthMethod.OAUTHBEARER);
        SaslGateOptions jni = SaslGateOptions.fromJaas(Map.of("transport", "jni", "config", stack.toml.toString()));
        subjectOf(ugi).getPrivateCredentials().add(
                new SaslGateTokenCredential(name, token.getBytes(StandardCharsets.US_ASCII), -1, jni));
        return ugi;
    }

    @SuppressWarnings("removal") // Subject.getSubject: the way on Java 17 (UGI.getSubject is protected)
    private static Subject subjectOf(UserGroupInformation ugi) {
        return ugi.doAs((java.security.PrivilegedAction<Subject>) () ->
                Subject.getSubject(java.security.AccessController.getContext()));
    }

    private interface Call<T> {
        T on(TestRpcService proxy) throws Exception;
    }

    private <T> T call(UserGroupInformation ugi, InetSocketAddress addr, Call<T> call) throws Exception {
        return ugi.doAs((PrivilegedExceptionAction<T>) () -> {
            TestRpcService proxy = RPC.getProxy(TestRpcService.class, 0, addr, conf);
            try {
                return call.on(proxy);
            } finally {
                RPC.stopProxy(proxy);
            }
        });
    }

    /** "remote user/mechanism" as the server sees the caller. */
    private String whoAmI(UserGroupInformation ugi, InetSocketAddress addr) throws Exception {
        return call(ugi, addr, p -> p.getAuthUser(null, TestRpcBase.newEmptyRequest()).getUser() + "/"
                + p.getAuthMethod(null, TestRpcBase.newEmptyRequest()).getMechanismName());
    }

    /** The server's UserGroupInformation.toString() of the caller. */
    private String serverView(UserGroupInformation ugi) throws Exception {
        return call(ugi, server.address, p -> p.getCurrentUser(null, TestRpcBase.newEmptyRequest()).getUser());
    }

    private static RemoteException remote(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RemoteException) {
                return (RemoteException) t;
            }
        }
        return null;
    }

    private static String causes(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t.getClass().getName()).append(": ").append(t.getMessage()).append(" | ");
        }
        return b.toString();
    }

    /** A JWT with one signature character changed (header and claims intact). */
    private static String tamper(String jwt) {
        int sig = jwt.lastIndexOf('.') + 1;
        int at = sig + 10;
        char c = jwt.charAt(at) == 'A' ? 'B' : 'A';
        return jwt.substring(0, at) + c + jwt.substring(at + 1);
    }

    // ---- tests ----------------------------------------------------------------------------

    @Test
    void patchedHadoopCommonIsOnTheClassPath() {
        assertEquals(System.getProperty("hadooptest.expected.version"), VersionInfo.getVersion());
    }

    @Test
    void serverLogsInAsItsOwnKeycloakIdentity() {
        assertEquals("hadoop-server (auth:OAUTHBEARER)", server.loginUser);
    }

    @Test
    void serverSeesTheMappedKeycloakIdentityAndOAuthBearer() throws Exception {
        UserGroupInformation login = UserGroupInformation.getLoginUser();
        assertEquals("hdfs-client (auth:OAUTHBEARER)", login.toString(), "Hadoop's own login through the JAAS section");
        assertEquals("hdfs-client/OAUTHBEARER", whoAmI(login, server.address));
        assertEquals("hdfs-client (auth:OAUTHBEARER)", serverView(login));
        String log = server.awaitLog("Auth successful for hdfs-client (auth:OAUTHBEARER)");
        assertTrue(log.contains("Auth successful for hdfs-client (auth:OAUTHBEARER)"), log);
    }

    @Test
    void clientWithoutTokenCannotAuthenticate() throws Exception {
        // A client JVM of its own: in this one the shim would fall back to the JVM's saslgate login.
        Path out = stack.dir.resolve("no-token-client.out");
        Process p = new ProcessBuilder(Repo.java(), "-Xmx128m", "-XX:TieredStopAtLevel=1",
                "-cp", Repo.jvmClasspath(), RpcClientMain.class.getName(),
                Repo.path("configs/hadoop/core-site.xml").toString(), Integer.toString(server.address.getPort()))
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the client JVM ends");
        String text = java.nio.file.Files.readString(out);
        assertEquals(1, p.exitValue(), text);
        assertTrue(text.contains("FAILED") && text.contains("Client cannot authenticate via:[OAUTHBEARER]"), text);
    }

    @Test
    void tamperedTokenIsFatalUnauthorizedWithTheReasonInTheServerLog() throws Exception {
        Subject login = new Subject();
        new LoginContext("SaslGate-hdfs-client", login).login();
        String good = new String(login.getPrivateCredentials(SaslGateTokenCredential.class).iterator().next().tokenBytes(),
                StandardCharsets.US_ASCII);
        Exception e = assertThrows(Exception.class, () -> whoAmI(rawToken("forger", tamper(good)), server.address));
        RemoteException r = remote(e);
        assertNotNull(r, causes(e));
        assertEquals("javax.security.sasl.AuthenticationException", r.getClassName(), causes(e));
        assertTrue(r.getMessage().contains("saslgate: authentication failed: bad_signature"), causes(e));
        String log = server.awaitLog("bad_signature");
        assertTrue(log.contains("Auth failed for") && log.contains("saslgate: authentication failed: bad_signature"), log);
        assertFalse(log.contains(tamper(good)), "the server log never shows the token");
    }

    @Test
    void expiredTokenIsFatalUnauthorizedWithTheReasonInTheServerLog() throws Exception {
        // exp plus the 1 s leeway of the rendered saslgate.toml, plus a margin.
        long wait = shortLivedExpiresAtMillis + 2500 - System.currentTimeMillis();
        if (wait > 0) {
            Thread.sleep(wait);
        }
        Exception e = assertThrows(Exception.class, () -> whoAmI(rawToken("late", shortLivedToken), server.address));
        RemoteException r = remote(e);
        assertNotNull(r, causes(e));
        assertEquals("javax.security.sasl.AuthenticationException", r.getClassName(), causes(e));
        assertTrue(r.getMessage().contains("saslgate: authentication failed: expired_token"), causes(e));
        String log = server.awaitLog("expired_token");
        assertTrue(log.contains("Auth failed for") && log.contains("saslgate: authentication failed: expired_token"), log);
    }

    @Test
    void proxyUserAllowedByHadoopProxyuserRules() throws Exception {
        UserGroupInformation etl = identity("etl-service");
        assertEquals("alice (auth:PROXY) via etl-service (auth:OAUTHBEARER)",
                serverView(UserGroupInformation.createProxyUser("alice", etl)));
    }

    @Test
    void proxyUserRefusedByHadoopProxyuserRules() throws Exception {
        UserGroupInformation etl = identity("etl-service");
        Exception e = assertThrows(Exception.class, () -> serverView(UserGroupInformation.createProxyUser("carol", etl)));
        RemoteException r = remote(e);
        assertNotNull(r, causes(e));
        assertEquals(AuthorizationException.class.getName(), r.getClassName(), causes(e));
        assertTrue(r.getMessage().contains("User: etl-service is not allowed to impersonate carol"), causes(e));
    }

    @Test
    void serviceAclAllowsTheIdpGroup() throws Exception {
        // hdfs-client is not named in security.client.protocol.acl ("alice hadoop-users"): only
        // its token's realm role hadoop-users, served by SaslGateGroupsMapping, lets it in.
        assertEquals("hdfs-client/OAUTHBEARER", whoAmI(identity("hdfs-client"), server.address));
    }

    @Test
    void serviceAclRefusesAnIdentityWithoutTheGroup() throws Exception {
        UserGroupInformation intruder = identity("intruder");
        Exception e = assertThrows(Exception.class, () -> whoAmI(intruder, server.address));
        RemoteException r = remote(e);
        assertNotNull(r, causes(e));
        assertEquals(AuthorizationException.class.getName(), r.getClassName(), causes(e));
        assertTrue(r.getMessage().contains("User intruder (auth:OAUTHBEARER) is not authorized for protocol"),
                causes(e));
        // It did authenticate: the refusal is the ACL's.
        String log = server.awaitLog("Auth successful for intruder (auth:OAUTHBEARER)");
        assertTrue(log.contains("Auth successful for intruder (auth:OAUTHBEARER)"), log);
    }

    @Test
    void mixedServerAdvertisingKerberosAndOAuthBearerAcceptsTheOAuthBearerClient() throws Exception {
        assertEquals("hdfs-client/OAUTHBEARER", whoAmI(identity("hdfs-client"), mixed.address));
    }

    @Test
    void serverValidatesThroughItsTransport() throws Exception {
        assertEquals("hdfs-client/OAUTHBEARER", whoAmI(UserGroupInformation.getLoginUser(), server.address));
        String daemon = stack.daemonLog();
        if (transport() == Stack.Transport.SIDECAR) {
            // The server JVM's SaslServer asked the daemon: its audit event for service hadoop.
            assertTrue(daemon.contains("saslgate::audit") && daemon.contains("service=hadoop")
                    && daemon.contains("authzid=hdfs-client"), daemon);
        } else {
            assertEquals("", daemon, "no daemon with the jni transport");
        }
    }

    @Test
    void daemonOrCoreRefusalsNameNoToken() throws Exception {
        Path log = server.log;
        assertFalse(java.nio.file.Files.readString(log).contains("eyJ"), "no JWT in the server log");
        assertFalse(stack.daemonLog().contains("eyJ"), "no JWT in the daemon log");
    }
}
