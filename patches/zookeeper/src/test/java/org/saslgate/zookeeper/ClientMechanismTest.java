package org.saslgate.zookeeper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import javax.security.auth.Subject;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslException;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.server.ZooKeeperSaslServer;
import org.apache.zookeeper.util.SecurityUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Patch 0002: the client's SASL mechanism ({@code zookeeper.sasl.client.mechanism}) and callback
 * handler ({@code zookeeper.sasl.client.callbackHandler}), against a real ZooKeeper server that
 * offers the test mechanism.
 */
class ClientMechanismTest {

    private static ZkServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new ZkServer(Collections.singletonMap(ZooKeeperSaslServer.SASL_MECHANISM_NAME, TestMechanism.NAME));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void mechanismFromClientConfig() throws Exception {
        try (ZkServer.Session s = server.connect(Clients.token("tok-alice"))) {
            assertEquals(KeeperState.SaslAuthenticated, s.saslState);
            assertTrue(Clients.whoAmI(s.zk).contains("sasl:alice@example.com"), Clients.whoAmI(s.zk).toString());
        }
    }

    @Test
    void mechanismFromJavaSystemProperty() throws Exception {
        String old = System.getProperty(ZKClientConfig.ZK_SASL_CLIENT_MECHANISM);
        ZKClientConfig config;
        try {
            System.setProperty(ZKClientConfig.ZK_SASL_CLIENT_MECHANISM, TestMechanism.NAME);
            config = Clients.config("Client-tok-bob", null);
        } finally {
            ZkServer.set(ZKClientConfig.ZK_SASL_CLIENT_MECHANISM, old);
        }
        assertEquals(TestMechanism.NAME, config.getProperty(ZKClientConfig.ZK_SASL_CLIENT_MECHANISM));
        try (ZkServer.Session s = server.connect(config)) {
            assertEquals(KeeperState.SaslAuthenticated, s.saslState);
            assertTrue(Clients.whoAmI(s.zk).contains("sasl:bob@example.com"), Clients.whoAmI(s.zk).toString());
        }
    }

    @Test
    void mechanismFromClientConfigFile() throws Exception {
        Path file = Files.createTempFile("saslgate-zk-client", ".cfg");
        try {
            Files.write(file, ("zookeeper.sasl.client.mechanism=" + TestMechanism.NAME + "\n"
                + "zookeeper.sasl.clientconfig=Client-tok-arn\n"
                + "zookeeper.sasl.client.canonicalize.hostname=false\n").getBytes(StandardCharsets.UTF_8));
            try (ZkServer.Session s = server.connect(new ZKClientConfig(file))) {
                assertEquals(KeeperState.SaslAuthenticated, s.saslState);
                assertTrue(Clients.whoAmI(s.zk).contains("sasl:arn:aws:iam::123456789012:role/zk-writers"));
            }
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void saslClientIsCreatedInsideDoAsOfTheLoginSubject() throws Exception {
        ZKClientConfig config = Clients.token("tok-zkclient");
        config.setProperty(ZKClientConfig.ZOOKEEPER_SERVER_PRINCIPAL, "zookeeper/zk1.example.com@EXAMPLE.COM");
        TestMechanism.lastClient.remove("tok-zkclient");
        try (ZkServer.Session s = server.connect(config)) {
            assertEquals(KeeperState.SaslAuthenticated, s.saslState);
        }
        TestMechanism.Creation c = TestMechanism.lastClient.get("tok-zkclient");
        assertNotNull(c, "the client factory was not called");
        assertNotNull(c.subject, "the SaslClient factory ran outside Subject.doAs");
        assertEquals(1, c.subject.getPrivateCredentials(TestMechanism.Token.class).size());
        assertEquals(0, c.subject.getPrincipals().size());
        assertEquals("zookeeper", c.protocol);
        assertEquals("zk1.example.com", c.serverName, "server name = host part of the server principal");
        assertNull(c.authorizationId);
        assertEquals("org.apache.zookeeper.SaslClientCallbackHandler", c.callbackHandlerClass);
    }

    @Test
    void defaultServerNameIsTheHostOfTheDefaultPrincipal() throws Exception {
        TestMechanism.lastClient.remove("tok-bob");
        try (ZkServer.Session s = server.connect(Clients.token("tok-bob"))) {
            assertEquals(KeeperState.SaslAuthenticated, s.saslState);
        }
        // zookeeper/<host of the connect string, not canonicalized> -> <host>
        String serverName = TestMechanism.lastClient.get("tok-bob").serverName;
        assertTrue(serverName.equals("127.0.0.1") || serverName.equals("localhost"), serverName);
    }

    @Test
    void credentialsThatAreNotStringsDoNotBreakTheClient() throws Exception {
        // A principal-less Subject whose only credentials are objects: the old DIGEST-MD5 path cast
        // them to String. With a custom mechanism nothing is cast.
        Subject subject = new Subject();
        subject.getPrivateCredentials().add(new TestMechanism.Token("tok-alice"));
        subject.getPublicCredentials().add(new TestMechanism.Marker("not a String"));
        SaslClient sc = SecurityUtils.createSaslClient(new ZKClientConfig(), subject, "zookeeper/localhost",
            "zookeeper", "zk-sasl-md5", LoggerFactory.getLogger(getClass()), "Client", TestMechanism.NAME, null);
        assertEquals(TestMechanism.NAME, sc.getMechanismName());
        assertEquals("tok-alice", new String(sc.evaluateChallenge(new byte[0]), StandardCharsets.UTF_8));
    }

    @Test
    void clientCallbackHandlerIsUsedForTheLoginAndTheMechanism() throws Exception {
        ZKClientConfig config = Clients.config("ClientNoToken", TestMechanism.NAME);
        config.setProperty(ZKClientConfig.ZK_SASL_CLIENT_CALLBACK_HANDLER, TestCallbackHandlers.ClientTokenHandler.class.getName());
        TestMechanism.lastClient.remove("tok-zkclient");
        try (ZkServer.Session s = server.connect(config)) {
            assertEquals(KeeperState.SaslAuthenticated, s.saslState);
            assertTrue(Clients.whoAmI(s.zk).contains("sasl:zk-client"), Clients.whoAmI(s.zk).toString());
        }
        // the JAAS login asked the configured handler (LoginContext wraps it, so compare its answer) ...
        assertEquals("tok-zkclient", TestJaas.TokenLoginModule.HANDLER_ANSWERS.get("ClientNoToken"));
        // ... and so did the mechanism, which got the handler itself
        assertEquals(TestCallbackHandlers.ClientTokenHandler.class.getName(),
            TestMechanism.lastClient.get("tok-zkclient").callbackHandlerClass);
    }

    @Test
    void unknownCallbackHandlerClassFailsTheLogin() throws Exception {
        ZKClientConfig config = Clients.token("tok-alice");
        config.setProperty(ZKClientConfig.ZK_SASL_CLIENT_CALLBACK_HANDLER, "org.example.NoSuchHandler");
        try (ZkServer.Session s = server.connect(config)) {
            assertEquals(KeeperState.AuthFailed, s.saslState);
        }
    }

    @Test
    void mechanismWithoutProviderIsNamedInTheError() throws Exception {
        SaslException e = assertThrows(SaslException.class, () -> SecurityUtils.createSaslClient(new ZKClientConfig(),
            new Subject(), "zookeeper/localhost", "zookeeper", "zk-sasl-md5", LoggerFactory.getLogger(getClass()),
            "Client", "X-NO-SUCH-MECHANISM", null));
        assertTrue(e.getMessage().contains("'X-NO-SUCH-MECHANISM'"), e.getMessage());
        try (ZkServer.Session s = server.connect(Clients.config("Client-tok-alice", "X-NO-SUCH-MECHANISM"))) {
            assertEquals(KeeperState.AuthFailed, s.saslState);
        }
    }

    @Test
    void hostOfPrincipal() {
        assertEquals("zk1.example.com", SecurityUtils.hostOfPrincipal("zookeeper/zk1.example.com@EXAMPLE.COM"));
        assertEquals("zk1.example.com", SecurityUtils.hostOfPrincipal("zookeeper/zk1.example.com"));
        assertEquals("zookeeper", SecurityUtils.hostOfPrincipal("zookeeper"));
        assertTrue(SecurityUtils.isCustomMechanism("OAUTHBEARER"));
        assertTrue(!SecurityUtils.isCustomMechanism("GSSAPI") && !SecurityUtils.isCustomMechanism("DIGEST-MD5")
                   && !SecurityUtils.isCustomMechanism(" ") && !SecurityUtils.isCustomMechanism(null));
    }
}
