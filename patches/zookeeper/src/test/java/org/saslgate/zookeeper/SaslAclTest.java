package org.saslgate.zookeeper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.cli.AclParser;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.ZooKeeperSaslServer;
import org.apache.zookeeper.server.auth.SASLAuthenticationProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Patch 0004: with a custom mechanism the authorization ID is the {@code sasl:} ACL id verbatim
 * (no Kerberos short names even with {@code zookeeper.kerberos.remove*FromPrincipal=true}),
 * {@code zookeeper.superUser} matches exactly, and enforce.auth refuses anonymous clients.
 */
class SaslAclTest {

    private static final String ARN = "arn:aws:iam::123456789012:role/zk-writers";
    private static ZkServer server;

    @BeforeAll
    static void start() throws Exception {
        Map<String, String> p = new HashMap<>();
        p.put(ZooKeeperSaslServer.SASL_MECHANISM_NAME, TestMechanism.NAME);
        p.put("zookeeper.superUser", "zk-admin");
        p.put("zookeeper.kerberos.removeRealmFromPrincipal", "true");
        p.put("zookeeper.kerberos.removeHostFromPrincipal", "true");
        server = new ZkServer(p);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static List<ACL> only(String id) {
        return Collections.singletonList(new ACL(ZooDefs.Perms.ALL, new Id("sasl", id)));
    }

    /** owner creates {@code path} readable only by {@code aclId}; {@code reader} can read, {@code other} gets NoAuth. */
    private static void assertEnforced(String path, String ownerToken, List<ACL> acl, String readerToken, String otherToken)
        throws Exception {
        try (ZkServer.Session owner = server.connect(Clients.token(ownerToken))) {
            assertEquals(KeeperState.SaslAuthenticated, owner.saslState);
            owner.zk.create(path, new byte[]{1, 2}, acl, CreateMode.PERSISTENT);
            assertEquals(acl, owner.zk.getACL(path, null));
        }
        try (ZkServer.Session reader = server.connect(Clients.token(readerToken))) {
            assertArrayEquals(new byte[]{1, 2}, reader.zk.getData(path, false, null));
        }
        try (ZkServer.Session other = server.connect(Clients.token(otherToken))) {
            assertEquals(KeeperState.SaslAuthenticated, other.saslState);
            assertThrows(KeeperException.NoAuthException.class, () -> other.zk.getData(path, false, null));
        }
    }

    @Test
    void emailIdIsUsedVerbatim() throws Exception {
        assertEnforced("/email", "tok-alice", only("alice@example.com"), "tok-alice", "tok-bob");
        // not shortened to "alice" although removeRealmFromPrincipal=true
        try (ZkServer.Session alice = server.connect(Clients.token("tok-alice"))) {
            alice.zk.create("/short", new byte[0], only("alice"), CreateMode.PERSISTENT);
            assertThrows(KeeperException.NoAuthException.class, () -> alice.zk.getData("/short", false, null));
        }
    }

    @Test
    void arnIdFromTheCliAclSyntax() throws Exception {
        List<ACL> acl = AclParser.parse("sasl:" + ARN + ":cdrwa");
        assertEquals(only(ARN), acl);
        assertEnforced("/arn", "tok-arn", acl, "tok-arn", "tok-alice");
        try (ZkServer.Session arn = server.connect(Clients.token("tok-arn"))) {
            arn.zk.setACL("/arn", acl, -1);
        }
    }

    @Test
    void plainIdIsUsedVerbatim() throws Exception {
        assertEnforced("/plain", "tok-zkclient", only("zk-client"), "tok-zkclient", "tok-bob");
    }

    @Test
    void superUserMatchesExactly() throws Exception {
        try (ZkServer.Session alice = server.connect(Clients.token("tok-alice"))) {
            alice.zk.create("/private", new byte[]{9}, only("alice@example.com"), CreateMode.PERSISTENT);
        }
        try (ZkServer.Session admin = server.connect(Clients.token("tok-admin"))) {
            assertTrue(Clients.whoAmI(admin.zk).contains("sasl:zk-admin"));
            assertArrayEquals(new byte[]{9}, admin.zk.getData("/private", false, null));
        }
        try (ZkServer.Session near = server.connect(Clients.token("tok-admin-near"))) {
            assertEquals(KeeperState.SaslAuthenticated, near.saslState);
            assertThrows(KeeperException.NoAuthException.class, () -> near.zk.getData("/private", false, null));
        }
    }

    @Test
    void aclIdValidity() {
        SASLAuthenticationProvider p = new SASLAuthenticationProvider();
        assertTrue(p.isValid("zk-client"));
        assertTrue(p.isValid("alice@example.com"));
        assertTrue(p.isValid(ARN));
        // an id KerberosName cannot parse: valid only with a custom mechanism
        String session = "arn:aws:sts::123456789012:assumed-role/zk-writers/alice@example.com";
        assertTrue(p.isValid(session));
        assertFalse(p.isValid("two@at\n@signs"), "control characters are never valid");
        String old = System.clearProperty(ZooKeeperSaslServer.SASL_MECHANISM_NAME);
        try {
            assertFalse(p.isValid(session));
        } finally {
            ZkServer.set(ZooKeeperSaslServer.SASL_MECHANISM_NAME, old);
        }
    }

    @Test
    void enforcedSaslRefusesAnUnauthenticatedClient() throws Exception {
        Map<String, String> p = new HashMap<>();
        p.put(ZooKeeperSaslServer.SASL_MECHANISM_NAME, TestMechanism.NAME);
        p.put("zookeeper.enforce.auth.enabled", "true");
        p.put("zookeeper.enforce.auth.schemes", "sasl");
        try (ZkServer enforcing = new ZkServer(p)) {
            try (ZkServer.Session anon = enforcing.connect(Clients.anonymous())) {
                KeeperException e = assertThrows(KeeperException.class, () -> anon.zk.getData("/", false, null));
                assertEquals(KeeperException.Code.SESSIONCLOSEDREQUIRESASLAUTH, e.code());
            }
            try (ZkServer.Session alice = enforcing.connect(Clients.token("tok-alice"))) {
                assertEquals(KeeperState.SaslAuthenticated, alice.saslState);
                alice.zk.getData("/", false, null);
            }
        }
    }
}
