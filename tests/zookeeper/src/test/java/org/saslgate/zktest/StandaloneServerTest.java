package org.saslgate.zktest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A standalone patched ZooKeeper server (its own JVM) with OAUTHBEARER through saslgate, and
 * ZooKeeper clients in the test JVM, all configured by {@code configs/zookeeper/} ({@link Stack})
 * with Keycloak service-account identities. Run once per transport ({@link SidecarStandaloneTest},
 * {@link JniStandaloneTest}); one server serves every test of a class, and the restart test
 * runs last.
 *
 * <p>The server's zoo.cfg is {@code configs/zookeeper/zoo.cfg} with its port and data
 * directory, and {@code superUser=zk-admin}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class StandaloneServerTest {
    /** zk-client's token lifetime in the realm (client attribute access.token.lifespan), in seconds. */
    static final int ZK_CLIENT_TOKEN_SECS = 15;

    Stack stack;
    ZkServer server;

    abstract Stack.Transport transport();

    @BeforeAll
    void startServer() throws Exception {
        stack = Stack.start(transport(), "zk-" + transport().name().toLowerCase());
        Path jaas = stack.jaas("zk-server-1");
        Stack.useJaasInThisJvm(jaas);
        int port = ZkServer.freePort();
        Path data = Files.createDirectory(stack.dir.resolve("data"));
        Path cfg = stack.zooCfg("zoo.cfg", "zoo.cfg", Map.of(
                "dataDir", data.toString(),
                "clientPort", Integer.toString(port),
                "superUser", "zk-admin"), List.of());
        server = new ZkServer("zookeeper", stack.dir, cfg, port, stack.serverFlags(jaas), ZkServer.STANDALONE);
        server.start().awaitServing(Duration.ofSeconds(60));
    }

    @AfterAll
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    /** A client of {@code section} that must authenticate. */
    ZkClient authenticated(String section) throws Exception {
        ZkClient c = new ZkClient(server.connectString(), Stack.clientProperties(), section);
        KeeperState s = c.awaitSaslOutcome(30);
        if (s != KeeperState.SaslAuthenticated) {
            c.close();
            throw new AssertionError(section + ": expected SaslAuthenticated, got " + s
                    + "\nserver log:\n" + server.tail() + "\ndaemon log:\n" + stack.daemonLog());
        }
        return c;
    }

    static final byte[] DATA = "owned by zk-client".getBytes(StandardCharsets.UTF_8);

    /** Creates {@code path} as zk-client with ACL {@code sasl:zk-client:cdrwa}. */
    void createOwned(ZkClient owner, String path) throws Exception {
        owner.zk.create(path, DATA, ZkClient.ownerAcl(), CreateMode.PERSISTENT);
    }

    @Test
    @Order(1)
    void ownerReadsItsZnodeAndAnotherIdentityGetsNoAuth() throws Exception {
        try (ZkClient owner = authenticated("Client")) {
            assertEquals("sasl:zk-client", owner.whoAmI());
            createOwned(owner, "/acl-by-identity");
            assertArrayEquals(DATA, owner.zk.getData("/acl-by-identity", false, new Stat()));
            assertEquals(ZkClient.ownerAcl(), owner.zk.getACL("/acl-by-identity", new Stat()));
        }
        try (ZkClient other = authenticated("ClientApp2")) {
            assertEquals("sasl:zk-app2", other.whoAmI());
            assertThrows(KeeperException.NoAuthException.class,
                    () -> other.zk.getData("/acl-by-identity", false, null));
            assertThrows(KeeperException.NoAuthException.class,
                    () -> other.zk.setData("/acl-by-identity", new byte[] {1}, -1));
        }
    }

    @Test
    @Order(2)
    void theConfiguredSuperUserReadsEverything() throws Exception {
        try (ZkClient owner = authenticated("Client")) {
            createOwned(owner, "/super-user");
        }
        try (ZkClient admin = authenticated("ClientAdmin")) {
            // zookeeper.superUser=zk-admin adds the `super` id next to sasl:zk-admin.
            assertEquals("sasl:zk-admin,super:", admin.whoAmI());
            assertArrayEquals(DATA, admin.zk.getData("/super-user", false, null));
            admin.zk.setData("/super-user", "changed by the super user".getBytes(StandardCharsets.UTF_8), -1);
        }
    }

    @Test
    @Order(3)
    void enforcedAuthenticationRefusesAClientWithoutSasl() throws Exception {
        try (ZkClient anonymous = new ZkClient(server.connectString(), Stack.clientProperties(), null)) {
            // enforce.auth.enabled=true, enforce.auth.schemes=sasl (zoo.cfg): the first request of
            // a connection without a sasl id closes the session.
            assertThrows(KeeperException.SessionClosedRequireAuthException.class,
                    () -> anonymous.zk.exists("/", false));
        }
        assertTrue(server.log().contains("does not match with any of the expected authentication scheme [sasl]"),
                "the server logs why it closed the session:\n" + server.tail());
    }

    @Test
    @Order(4)
    void srvrReportsThePatchedVersion() {
        String srvr = server.srvr();
        String expected = System.getProperty("zk.expected.version");
        assertTrue(srvr.startsWith("Zookeeper version: " + expected), srvr);
        assertTrue(expected.contains("-saslgate."), "the tested build is the patched one: " + expected);
    }

    @Test
    @Order(10)
    void aSessionOutlivesItsTokenAndReauthenticatesWithARefreshedOneAfterAServerRestart() throws Exception {
        try (ZkClient owner = authenticated("Client")) {
            long loggedInAt = System.currentTimeMillis();
            String firstToken = lastZkClientTokenFingerprint();
            createOwned(owner, "/refresh");
            long sessionId = owner.zk.getSessionId();
            // The token zk-client logged in with lives ZK_CLIENT_TOKEN_SECS; wait until it has
            // expired beyond the issuer's leeway (1 s in the test configuration).
            Thread.sleep(Math.max(0, loggedInAt + (ZK_CLIENT_TOKEN_SECS + 3) * 1000L - System.currentTimeMillis()));
            assertArrayEquals(DATA, owner.zk.getData("/refresh", false, null), "the session outlives the token");

            // A new connection must authenticate again; the expired token would be refused, so
            // success means the login module sent a refreshed one.
            server.restart();
            assertEquals(KeeperState.SaslAuthenticated, owner.awaitSaslOutcome(60),
                    "re-authentication after the restart\n" + server.tail());
            assertEquals(sessionId, owner.zk.getSessionId(), "the same session");
            assertEquals("sasl:zk-client", owner.whoAmI());
            assertArrayEquals(DATA, owner.zk.getData("/refresh", false, null));
            if (transport() == Stack.Transport.SIDECAR) {
                // The daemon's audit events name each token by its fingerprint.
                String secondToken = lastZkClientTokenFingerprint();
                assertTrue(firstToken != null && secondToken != null && !firstToken.equals(secondToken),
                        "a different token after the restart: " + firstToken + " then " + secondToken);
            }
        }
    }

    /**
     * @return the {@code token.fp} of the daemon's last accepted zk-client authentication, or
     *     null (none, or the jni transport: no daemon)
     */
    String lastZkClientTokenFingerprint() throws Exception {
        String fp = null;
        for (String line : stack.daemonLog().split("\n")) {
            if (line.contains("decision=\"allow\"") && line.contains(" authzid=zk-client ")) {
                Matcher m = Pattern.compile(" token\\.fp=\"?([0-9a-f]{16})").matcher(line);
                if (m.find()) {
                    fp = m.group(1);
                }
            }
        }
        return fp;
    }
}
