package org.saslgate.zookeeper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.security.sasl.SaslException;
import org.apache.zookeeper.server.quorum.QuorumPeerConfig;
import org.apache.zookeeper.server.quorum.auth.SaslQuorumAuthLearner;
import org.apache.zookeeper.server.quorum.auth.SaslQuorumAuthServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Patch 0005: {@code quorum.auth.sasl.mechanism} and {@code quorum.auth.sasl.authorizedIds}. The
 * real SaslQuorumAuthServer and SaslQuorumAuthLearner talk over a loopback socket, as
 * QuorumCnxManager makes them do (the e2e suite runs a 3-server ensemble).
 */
class QuorumSaslTest {

    private static final Set<String> PEERS = new LinkedHashSet<>(Arrays.asList("zk-server-1", "zk-server-2"));
    private static ExecutorService executor;

    @BeforeAll
    static void setUp() {
        TestJaas.install();
        executor = Executors.newSingleThreadExecutor();
    }

    @AfterAll
    static void tearDown() {
        executor.shutdownNow();
    }

    @Test
    void configParsesTheNewKeys() throws Exception {
        Path dir = Files.createTempDirectory("saslgate-zk-cfg");
        try {
            Properties p = new Properties();
            p.setProperty("dataDir", dir.toString());
            p.setProperty("clientPort", "2181");
            p.setProperty("quorum.auth.enableSasl", "true");
            p.setProperty("quorum.auth.sasl.mechanism", TestMechanism.NAME);
            p.setProperty("quorum.auth.sasl.authorizedIds", " zk-server-1, zk-server-2 ,, ");
            QuorumPeerConfig config = new QuorumPeerConfig();
            config.parseProperties(p);
            assertEquals(TestMechanism.NAME, config.getQuorumSaslMechanism());
            assertEquals(Arrays.asList("zk-server-1", "zk-server-2"), Arrays.asList(config.getQuorumSaslAuthorizedIds().toArray()));
            // consumed, not copied to a "zookeeper." system property like unknown keys
            assertNull(System.getProperty("zookeeper.quorum.auth.sasl.mechanism"));

            Properties defaults = new Properties();
            defaults.setProperty("dataDir", dir.toString());
            defaults.setProperty("clientPort", "2181");
            QuorumPeerConfig plain = new QuorumPeerConfig();
            plain.parseProperties(defaults);
            assertNull(plain.getQuorumSaslMechanism());
            assertTrue(plain.getQuorumSaslAuthorizedIds().isEmpty());
        } finally {
            Files.delete(dir);
        }
    }

    /** Runs one quorum authentication: the server side in a thread, the learner here. */
    private static void authenticate(Set<String> authorizedIds, String learnerToken) throws Exception {
        SaslQuorumAuthServer authServer = new SaslQuorumAuthServer(true, "QuorumServer",
            Collections.singleton("peer1.example.com"), TestMechanism.NAME, authorizedIds);
        SaslQuorumAuthLearner authLearner = new SaslQuorumAuthLearner(true, "zkquorum/_HOST",
            "QuorumLearner-" + learnerToken, TestMechanism.NAME);
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Future<Void> serverSide = executor.submit(() -> {
                try (Socket s = listener.accept()) {
                    s.setSoTimeout(10000);
                    authServer.authenticate(s, new DataInputStream(new BufferedInputStream(s.getInputStream())));
                }
                return null;
            });
            SaslException learnerFailure = null;
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
                s.setSoTimeout(10000);
                authLearner.authenticate(s, "peer1.example.com");
            } catch (SaslException e) {
                learnerFailure = e;
            }
            try {
                serverSide.get(20, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                assertNotNull(learnerFailure, "server refused but the learner did not notice");
                throw (Exception) e.getCause();
            }
            if (learnerFailure != null) {
                throw learnerFailure;
            }
        }
    }

    @Test
    void listedLearnerIsAccepted() throws Exception {
        TestMechanism.lastClient.remove("tok-zk1");
        TestMechanism.lastServer.remove("zookeeper-quorum");
        authenticate(PEERS, "tok-zk1");
        TestMechanism.Creation learner = TestMechanism.lastClient.get("tok-zk1");
        assertNotNull(learner.subject, "the learner's SaslClient was created outside Subject.doAs");
        assertEquals("zookeeper-quorum", learner.protocol);
        assertEquals("peer1.example.com", learner.serverName);
        TestMechanism.Creation server = TestMechanism.lastServer.get("zookeeper-quorum");
        assertNotNull(server.subject, "the quorum SaslServer was created outside Subject.doAs");
        assertEquals("QuorumServer", server.subject.getPrivateCredentials(TestMechanism.Marker.class).iterator().next().value);
    }

    @Test
    void unlistedLearnerIsRefused() {
        SaslException e = assertThrows(SaslException.class, () -> authenticate(PEERS, "tok-intruder"));
        assertTrue(e.getMessage().contains("Failed to authenticate using SASL"), e.getMessage());
    }

    @Test
    void emptyAllowListRefusesEveryone() {
        assertThrows(SaslException.class, () -> authenticate(Collections.<String>emptySet(), "tok-zk1"));
    }
}
