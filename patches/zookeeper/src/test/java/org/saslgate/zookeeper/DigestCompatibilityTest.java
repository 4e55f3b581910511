package org.saslgate.zookeeper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.ZooKeeperSaslServer;
import org.junit.jupiter.api.Test;

/**
 * Old behaviour kept: with no mechanism property on either side, a principal-less JAAS login
 * (ZooKeeper's DigestLoginModule, as in upstream's SaslAuthTest) still uses DIGEST-MD5.
 */
class DigestCompatibilityTest {

    private static ZKClientConfig digestClient(String section) {
        ZKClientConfig c = Clients.config(section, null);
        c.setProperty("zookeeper.fips-mode", "false");
        return c;
    }

    @Test
    void digestMd5WithoutMechanismProperties() throws Exception {
        Map<String, String> p = new HashMap<>();
        p.put(ZooKeeperSaslServer.SASL_MECHANISM_NAME, null);
        p.put(ZKClientConfig.ZK_SASL_CLIENT_MECHANISM, null);
        p.put(ZooKeeperSaslServer.LOGIN_CONTEXT_NAME_KEY, "DigestServer");
        try (ZkServer server = new ZkServer(p)) {
            try (ZkServer.Session bob = server.connect(digestClient("DigestClient"))) {
                assertEquals(KeeperState.SaslAuthenticated, bob.saslState);
                assertTrue(Clients.whoAmI(bob.zk).contains("sasl:bob"), Clients.whoAmI(bob.zk).toString());
                bob.zk.create("/digest", new byte[]{3}, Collections.singletonList(new ACL(ZooDefs.Perms.ALL, new Id("sasl", "bob"))),
                    CreateMode.PERSISTENT);
                assertArrayEquals(new byte[]{3}, bob.zk.getData("/digest", false, null));
            }
            try (ZkServer.Session wrong = server.connect(digestClient("DigestClientWrong"))) {
                assertEquals(KeeperState.AuthFailed, wrong.saslState);
            }
        }
    }
}
