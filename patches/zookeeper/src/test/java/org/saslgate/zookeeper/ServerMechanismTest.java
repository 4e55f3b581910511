package org.saslgate.zookeeper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.server.ZooKeeperSaslServer;
import org.junit.jupiter.api.Test;

/**
 * Patches 0003 and 0004: the server's SASL mechanism ({@code zookeeper.sasl.server.mechanism}) and
 * callback handler ({@code zookeeper.sasl.server.callbackHandler}), and a mechanism that throws.
 */
class ServerMechanismTest {

    private static Map<String, String> props(String... kv) {
        Map<String, String> m = new HashMap<>();
        m.put(ZooKeeperSaslServer.SASL_MECHANISM_NAME, TestMechanism.NAME);
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void saslServerIsCreatedInsideDoAsWithProtocolZookeeper() throws Exception {
        try (ZkServer server = new ZkServer(props())) {
            TestMechanism.lastServer.remove("zookeeper");
            try (ZkServer.Session s = server.connect(Clients.token("tok-alice"))) {
                assertEquals(KeeperState.SaslAuthenticated, s.saslState);
            }
            TestMechanism.Creation c = TestMechanism.lastServer.get("zookeeper");
            assertNotNull(c, "the server factory was not called with protocol zookeeper");
            assertNotNull(c.subject, "the SaslServer factory ran outside Subject.doAs");
            // the JAAS Server section: a non-Digest login module, no principal
            assertEquals(0, c.subject.getPrincipals().size());
            assertEquals("Server", c.subject.getPrivateCredentials(TestMechanism.Marker.class).iterator().next().value);
            assertEquals("zk-sasl-md5", c.serverName);
            assertEquals("org.apache.zookeeper.server.auth.SaslServerCallbackHandler", c.callbackHandlerClass);
        }
    }

    @Test
    void mechanismRuntimeExceptionEndsTheSessionWithAuthFailedAndTheServerStaysUp() throws Exception {
        try (ZkServer server = new ZkServer(props())) {
            try (ZkServer.Session s = server.connect(Clients.token(TestMechanism.BUG_TOKEN))) {
                assertEquals(KeeperState.AuthFailed, s.saslState);
            }
            assertTrue(server.isRunning());
            try (ZkServer.Session s = server.connect(Clients.token("tok-alice"))) {
                assertEquals(KeeperState.SaslAuthenticated, s.saslState);
                s.zk.create("/after-bug", new byte[]{7}, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
                assertArrayEquals(new byte[]{7}, s.zk.getData("/after-bug", false, null));
            }
        }
    }

    @Test
    void refusedTokenGivesAuthFailed() throws Exception {
        try (ZkServer server = new ZkServer(props())) {
            try (ZkServer.Session s = server.connect(Clients.token("tok-unknown"))) {
                assertEquals(KeeperState.AuthFailed, s.saslState);
            }
        }
    }

    @Test
    void serverCallbackHandlerReplacesSaslServerCallbackHandler() throws Exception {
        String handler = TestCallbackHandlers.ServerRefuseMallory.class.getName();
        try (ZkServer server = new ZkServer(props(ZooKeeperSaslServer.CALLBACK_HANDLER_KEY, handler))) {
            assertEquals("server-handler", TestJaas.TokenLoginModule.HANDLER_ANSWERS.get("Server"), "the JAAS login's handler");
            int before = TestCallbackHandlers.ServerRefuseMallory.AUTHORIZE_CALLS.get();
            try (ZkServer.Session s = server.connect(Clients.token("tok-mallory"))) {
                assertEquals(KeeperState.AuthFailed, s.saslState);
            }
            try (ZkServer.Session s = server.connect(Clients.token("tok-alice"))) {
                assertEquals(KeeperState.SaslAuthenticated, s.saslState);
            }
            assertEquals(before + 2, TestCallbackHandlers.ServerRefuseMallory.AUTHORIZE_CALLS.get());
            assertEquals(handler, TestMechanism.lastServer.get("zookeeper").callbackHandlerClass);
        }
    }

    @Test
    void unusableServerCallbackHandlerFailsStartup() {
        IOException e = assertThrows(IOException.class,
            () -> new ZkServer(props(ZooKeeperSaslServer.CALLBACK_HANDLER_KEY, "java.lang.String")).close());
        assertTrue(e.getMessage().contains("zookeeper.sasl.server.callbackHandler=java.lang.String"), e.getMessage());
    }

    @Test
    void mechanismWithoutJaasSectionFailsStartup() {
        IOException e = assertThrows(IOException.class,
            () -> new ZkServer(props(ZooKeeperSaslServer.LOGIN_CONTEXT_NAME_KEY, "NoSuchSection")).close());
        assertTrue(e.getMessage().contains("zookeeper.sasl.server.mechanism=" + TestMechanism.NAME), e.getMessage());
        assertTrue(e.getMessage().contains("'NoSuchSection'"), e.getMessage());
    }
}
