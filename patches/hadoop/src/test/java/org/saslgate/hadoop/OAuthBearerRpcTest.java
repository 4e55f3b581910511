package org.saslgate.hadoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.security.PrivilegedExceptionAction;
import java.security.Security;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import javax.security.auth.login.AppConfigurationEntry;
import javax.security.sasl.SaslClient;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.ipc.ProtobufRpcEngine2;
import org.apache.hadoop.ipc.RPC;
import org.apache.hadoop.ipc.RemoteException;
import org.apache.hadoop.ipc.Server;
import org.apache.hadoop.ipc.TestRpcBase;
import org.apache.hadoop.ipc.protobuf.TestProtos;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.FastSaslClientFactory;
import org.apache.hadoop.security.FastSaslServerFactory;
import org.apache.hadoop.security.SaslRpcServer;
import org.apache.hadoop.security.SaslRpcServer.AuthMethod;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.security.UserGroupInformation.AuthenticationMethod;
import org.apache.hadoop.security.authorize.ProxyUsers;
import org.apache.hadoop.util.VersionInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The patched hadoop-common's OAUTHBEARER RPC method, end to end over real loopback Hadoop RPC
 * (a {@code TestRpcBase} protobuf server and client in this JVM), with the test-only
 * {@link TestBearerProvider} as the SASL mechanism. Each test names the patch hunk (H1-H11,
 * patches/hadoop/3.4.3) it proves. A failed SASL exchange reaches the client as a
 * RemoteException without an error code (SaslRpcClient drops it); the server sends it only as
 * FATAL_UNAUTHORIZED (ipc.Server.saslProcess), so the tests check the remote exception class.
 */
class OAuthBearerRpcTest extends TestRpcBase {

    private Server server;

    /**
     * The provider is registered only after SaslRpcServer.init and SaslRpcClient's static
     * initializer have built their factory caches, so every exchange below also proves H10.
     */
    @BeforeAll
    static void registerProviderLate() throws Exception {
        Configuration conf = baseConf();
        UserGroupInformation.setConfiguration(conf);
        SaslRpcServer.init(conf);
        Class.forName("org.apache.hadoop.security.SaslRpcClient", true, OAuthBearerRpcTest.class.getClassLoader());
        Security.addProvider(new TestBearerProvider());
    }

    @BeforeEach
    void configure() {
        conf = baseConf();
        UserGroupInformation.setConfiguration(conf);
    }

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.stop();
        }
        UserGroupInformation.setConfiguration(new Configuration());
    }

    private static Configuration baseConf() {
        Configuration c = new Configuration();
        c.set("hadoop.security.authentication", "oauthbearer");
        c.setInt("ipc.client.connect.max.retries", 0);
        c.setInt("ipc.client.connect.max.retries.on.sasl", 0);
        RPC.setProtocolEngine(c, TestRpcService.class, ProtobufRpcEngine2.class);
        return c;
    }

    /** Starts the test protocol server as the remote user "server", with {@code serverConf}. */
    private void startServer(Configuration serverConf) throws Exception {
        UserGroupInformation serverUgi = UserGroupInformation.createRemoteUser("server");
        server = serverUgi.doAs((PrivilegedExceptionAction<Server>) () -> setupTestServer(serverConf, 2, null));
    }

    /** A client UGI for {@code name} holding {@code token} as its private credential. */
    private static UserGroupInformation client(String name, String token) {
        UserGroupInformation ugi = UserGroupInformation.createRemoteUser(name, AuthMethod.OAUTHBEARER);
        if (token != null) {
            subjectOf(ugi).getPrivateCredentials().add(new TestBearerToken(token));
        }
        return ugi;
    }

    /** The Subject behind {@code ugi} (UserGroupInformation.getSubject is protected). */
    @SuppressWarnings("removal")
    private static javax.security.auth.Subject subjectOf(UserGroupInformation ugi) {
        return ugi.doAs((java.security.PrivilegedAction<javax.security.auth.Subject>) () ->
                javax.security.auth.Subject.getSubject(java.security.AccessController.getContext()));
    }

    /** Calls getAuthUser and getAuthMethod as {@code ugi}; returns "user/MECHANISM". */
    private static String whoAmI(UserGroupInformation ugi) throws Exception {
        return ugi.doAs((PrivilegedExceptionAction<String>) () -> {
            TestRpcService proxy = getClient(addr, conf);
            try {
                String user = proxy.getAuthUser(null, newEmptyRequest()).getUser();
                TestProtos.AuthMethodResponseProto m = proxy.getAuthMethod(null, newEmptyRequest());
                return user + "/" + m.getMechanismName();
            } finally {
                RPC.stopProxy(proxy);
            }
        });
    }

    /** Calls getCurrentUser as {@code ugi}: the server's UGI.toString() of the caller. */
    private static String serverView(UserGroupInformation ugi) throws Exception {
        return ugi.doAs((PrivilegedExceptionAction<String>) () -> {
            TestRpcService proxy = getClient(addr, conf);
            try {
                return proxy.getCurrentUser(null, newEmptyRequest()).getUser();
            } finally {
                RPC.stopProxy(proxy);
            }
        });
    }

    /** The RemoteException in {@code e}'s causes, or null. */
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

    @Test
    void serverSeesTheTokenIdentityAndOAuthBearer() throws Exception { // H1-H4, H6, H7
        startServer(conf);
        assertEquals("alice/OAUTHBEARER", whoAmI(client("local-os-user", "id:alice")));
    }

    @Test
    void clientWithoutTokenCannotAuthenticate() throws Exception { // H6: null -> try next
        startServer(conf);
        Exception e = assertThrows(Exception.class, () -> whoAmI(client("bob", null)));
        assertTrue(causes(e).contains("Client cannot authenticate via:[OAUTHBEARER]"), causes(e));
    }

    @Test
    void refusedTokenIsFatalUnauthorized() throws Exception { // H3
        startServer(conf);
        Exception e = assertThrows(Exception.class, () -> whoAmI(client("mallory", "forged")));
        RemoteException r = remote(e);
        assertNotNull(r, causes(e));
        assertEquals("javax.security.sasl.AuthenticationException", r.getClassName(), causes(e));
        assertTrue(r.getMessage().contains("invalid_token"), causes(e));
    }

    @Test
    void unmappableIdentityIsCleanFatalUnauthorized() throws Exception { // H8
        startServer(conf);
        Exception e = assertThrows(Exception.class, () -> whoAmI(client("x", "id:a@b@c")));
        RemoteException r = remote(e);
        assertNotNull(r, causes(e));
        assertEquals(AccessControlException.class.getName(), r.getClassName(), causes(e));
        assertTrue(r.getMessage().contains("Authenticated identity a@b@c (OAUTHBEARER) is not a valid user"),
                causes(e));
    }

    @Test
    void proxyUserAllowedAndRefusedByProxyuserRules() throws Exception { // H7 + hadoop.proxyuser.*
        Configuration serverConf = new Configuration(conf);
        serverConf.set("hadoop.proxyuser.alice.hosts", "*");
        serverConf.set("hadoop.proxyuser.alice.users", "bob");
        ProxyUsers.refreshSuperUserGroupsConfiguration(serverConf);
        try {
            startServer(serverConf);
            UserGroupInformation alice = client("alice", "id:alice");
            assertEquals("bob (auth:PROXY) via alice (auth:OAUTHBEARER)",
                    serverView(UserGroupInformation.createProxyUser("bob", alice)));
            Exception e = assertThrows(Exception.class,
                    () -> serverView(UserGroupInformation.createProxyUser("carol", alice)));
            RemoteException r = remote(e);
            assertNotNull(r, causes(e));
            assertEquals("org.apache.hadoop.security.authorize.AuthorizationException", r.getClassName(),
                    causes(e));
            assertTrue(r.getMessage().contains("User: alice is not allowed to impersonate carol"), causes(e));
        } finally {
            ProxyUsers.refreshSuperUserGroupsConfiguration(new Configuration());
        }
    }

    @Test
    void serverAdvertisingKerberosAndOAuthBearerAcceptsOAuthBearerClient() throws Exception { // H11
        Configuration serverConf = new Configuration(conf);
        serverConf.set("hadoop.security.authentication", "kerberos");
        serverConf.set("hadoop.security.authentication.additional.methods", "oauthbearer");
        startServer(serverConf);
        assertEquals("alice/OAUTHBEARER", whoAmI(client("alice", "id:alice")));
    }

    @Test
    void additionalMethodsRefuseSimpleAndUnknownNames() { // H11
        for (String[] c : new String[][] {{"kerberos", "simple"}, {"simple", "oauthbearer"}, {"kerberos", "ldap"}}) {
            Configuration serverConf = new Configuration(conf);
            serverConf.set("hadoop.security.authentication", c[0]);
            serverConf.set("hadoop.security.authentication.additional.methods", c[1]);
            Exception e = assertThrows(Exception.class, () -> startServer(serverConf), Arrays.toString(c));
            assertTrue(causes(e).contains("hadoop.security.authentication.additional.methods of " + c[1]),
                    causes(e));
        }
    }

    @Test
    void protectionIntegrityOrPrivacyIsRefusedAuthenticationWorks() throws Exception { // H3 QOP guard
        for (String protection : new String[] {"integrity", "privacy"}) {
            Configuration serverConf = new Configuration(conf);
            serverConf.set("hadoop.rpc.protection", protection);
            startServer(serverConf);
            Exception e = assertThrows(Exception.class, () -> whoAmI(client("alice", "id:alice")), protection);
            RemoteException r = remote(e);
            assertNotNull(r, causes(e));
            assertEquals(AccessControlException.class.getName(), r.getClassName(), causes(e));
            assertTrue(r.getMessage().contains("hadoop.rpc.protection must include authentication"), causes(e));
            server.stop();
            server = null;
        }
        Configuration serverConf = new Configuration(conf);
        serverConf.set("hadoop.rpc.protection", "privacy,authentication");
        startServer(serverConf);
        assertEquals("alice/OAUTHBEARER", whoAmI(client("alice", "id:alice")));
    }

    @Test
    void providerRegisteredAfterTheFactoryCacheIsStillFound() throws Exception { // H10
        Security.removeProvider(TestBearerProvider.NAME);
        FastSaslServerFactory serverFactory;
        FastSaslClientFactory clientFactory;
        try {
            serverFactory = new FastSaslServerFactory(null);
            clientFactory = new FastSaslClientFactory(null);
        } finally {
            Security.addProvider(new TestBearerProvider());
        }
        assertFalse(Arrays.asList(serverFactory.getMechanismNames(null)).contains("OAUTHBEARER"));
        assertNotNull(serverFactory.createSaslServer("OAUTHBEARER", "hadoop", "default", new HashMap<>(),
                new SaslRpcServer.SaslOAuthBearerCallbackHandler()));
        UserGroupInformation alice = client("alice", "id:alice");
        SaslClient c = alice.doAs((PrivilegedExceptionAction<SaslClient>) () -> clientFactory.createSaslClient(
                new String[] {"OAUTHBEARER"}, null, "hadoop", "default", new HashMap<>(), null));
        assertNotNull(c);
        assertEquals("OAUTHBEARER", c.getMechanismName());
    }

    @Test
    void loginUserComesFromTheJaasSectionsTokenLoginModule() throws Exception { // H4, H5, H9
        javax.security.auth.login.Configuration before = javax.security.auth.login.Configuration.getConfiguration();
        javax.security.auth.login.Configuration.setConfiguration(new javax.security.auth.login.Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                if (!"TestBearer".equals(name)) {
                    return null;
                }
                Map<String, String> options = new HashMap<>();
                options.put("identity", "svc-etl");
                return new AppConfigurationEntry[] {new AppConfigurationEntry(TestBearerLoginModule.class.getName(),
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, options)};
            }
        });
        try {
            conf.set("hadoop.security.oauthbearer.jaas.section", "TestBearer");
            conf.set("hadoop.security.oauthbearer.principal.class", TestBearerPrincipal.class.getName());
            UserGroupInformation.setConfiguration(conf);
            UserGroupInformation.setLoginUser(null);
            UserGroupInformation login = UserGroupInformation.getLoginUser();
            assertEquals("svc-etl", login.getUserName());
            assertEquals(AuthenticationMethod.OAUTHBEARER, login.getAuthenticationMethod());
            assertEquals(1, subjectOf(login).getPrivateCredentials(TestBearerToken.class).size());
            startServer(conf);
            assertEquals("svc-etl/OAUTHBEARER", whoAmI(login));

            conf.set("hadoop.security.oauthbearer.jaas.section", "NoSuchSection");
            UserGroupInformation.setConfiguration(conf);
            UserGroupInformation.setLoginUser(null);
            Exception e = assertThrows(Exception.class, UserGroupInformation::getLoginUser);
            assertTrue(causes(e).contains("JAAS section NoSuchSection named by hadoop.security.oauthbearer.jaas.section"
                    + " is not in the JVM's JAAS configuration"), causes(e));
        } finally {
            javax.security.auth.login.Configuration.setConfiguration(before);
            UserGroupInformation.setLoginUser(null);
        }
    }

    @Test
    void authenticationMethodParsesAndVersionInfoReportsThePatch() { // H1, H4, version
        assertEquals(AuthenticationMethod.OAUTHBEARER,
                org.apache.hadoop.security.SecurityUtil.getAuthenticationMethod(conf));
        assertEquals(84, AuthMethod.OAUTHBEARER.code);
        assertEquals("OAUTHBEARER", AuthMethod.OAUTHBEARER.getMechanismName());
        assertEquals(System.getProperty("saslgate.expected.version"), VersionInfo.getVersion());
        assertTrue(VersionInfo.getVersion().endsWith("-saslgate.1"), VersionInfo.getVersion());
    }
}
