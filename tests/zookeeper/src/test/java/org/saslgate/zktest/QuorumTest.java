package org.saslgate.zktest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A three-server ensemble on 127.0.0.1 (three {@code QuorumPeerMain} JVMs) with quorum SASL
 * through saslgate (sidecar transport, one daemon): {@code configs/zookeeper/zoo-ensemble.cfg}
 * with ports and data directories filled in; {@code quorum.auth.sasl.mechanism=OAUTHBEARER},
 * learner and server require SASL, {@code quorum.auth.sasl.authorizedIds} lists zk-server-1..3.
 *
 * <p>Servers 1 and 2 form a quorum; server 3 first runs with the identity {@code zk-intruder}
 * (a valid token for the quorum audience, not on the allow-list) and cannot join, then with
 * {@code zk-server-3} and joins; a client write through server 1 is then read on all three.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QuorumTest {
    Stack stack;
    final List<ZkServer> servers = new ArrayList<>();
    final List<Path> configs = new ArrayList<>();
    final List<List<String>> flags = new ArrayList<>();
    final int[] clientPorts = new int[3];

    @BeforeAll
    void startTwoMembers() throws Exception {
        stack = Stack.start(Stack.Transport.SIDECAR, "zk-quorum");
        Map<String, String> set = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) {
            set.put("server." + i, "127.0.0.1:" + ZkServer.freePort() + ":" + ZkServer.freePort());
        }
        for (int i = 1; i <= 3; i++) {
            Path data = Files.createDirectory(stack.dir.resolve("data" + i));
            Files.writeString(data.resolve("myid"), Integer.toString(i));
            clientPorts[i - 1] = ZkServer.freePort();
            Map<String, String> s = new LinkedHashMap<>(set);
            s.put("dataDir", data.toString());
            s.put("clientPort", Integer.toString(clientPorts[i - 1]));
            s.put("initLimit", "5");
            configs.add(stack.zooCfg("zoo" + i + ".cfg", "zoo-ensemble.cfg", s, List.of("server.")));
        }
        Stack.useJaasInThisJvm(stack.jaas("zk-server-1"));
        for (int i = 1; i <= 2; i++) {
            ZkServer s = member(i, "zk-server-" + i);
            servers.add(s);
            s.start();
        }
        for (ZkServer s : servers) {
            s.awaitServing(Duration.ofSeconds(90));
        }
    }

    ZkServer member(int i, String learnerIdentity) throws Exception {
        Path jaas = stack.jaas(learnerIdentity);
        return new ZkServer("zk" + i + "-" + learnerIdentity, stack.dir, configs.get(i - 1), clientPorts[i - 1],
                stack.serverFlags(jaas), ZkServer.QUORUM);
    }

    @AfterAll
    void stop() throws Exception {
        for (ZkServer s : servers) {
            s.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    @Order(1)
    void aLearnerWithAnIdentityOffTheAllowListCannotJoin() throws Exception {
        String modes = servers.get(0).srvr() + servers.get(1).srvr();
        assertTrue(modes.contains("Mode: leader") && modes.contains("Mode: follower"),
                "servers 1 and 2 form a quorum:\n" + modes);
        ZkServer intruder = member(3, "zk-intruder");
        servers.add(intruder);
        intruder.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(45);
        String refusal = null;
        while (refusal == null && System.nanoTime() < deadline) {
            for (ZkServer s : servers.subList(0, 2)) {
                refusal = s.log().lines()
                        .filter(l -> l.contains("zk-intruder") && l.contains("is not authorized to connect"))
                        .findFirst().orElse(null);
                if (refusal != null) {
                    break;
                }
            }
            Thread.sleep(250);
        }
        if (refusal == null) {
            fail("no member logged the refusal of zk-intruder (\"is not authorized to connect\")\n" + servers.get(0).tail() + "\n" + servers.get(1).tail()
                    + "\ndaemon:\n" + stack.daemonLog());
        }
        assertTrue(refusal.contains("not in"), "refused by the allow-list: " + refusal);
        assertFalse(intruder.srvr().contains("Mode: "), "zk-intruder's server joined:\n" + intruder.srvr());
        // The daemon accepted the token itself (valid signature, quorum audience): the refusal
        // is the allow-list's.
        assertTrue(stack.daemonLog().contains("authzid=zk-intruder"), "the token was valid:\n" + stack.daemonLog());
        intruder.stop();
        servers.remove(intruder);
    }

    @Test
    @Order(2)
    void membersWithAllowedIdentitiesFormTheEnsembleAndSeeAClientWrite() throws Exception {
        ZkServer third = member(3, "zk-server-3");
        servers.add(third);
        third.start();
        third.awaitServing(Duration.ofSeconds(90));
        assertTrue(third.srvr().contains("Mode: follower"), third.srvr());

        byte[] data = "written through server 1".getBytes(StandardCharsets.UTF_8);
        try (ZkClient writer = authenticated(servers.get(0))) {
            writer.zk.create("/ensemble", data, ZkClient.ownerAcl(), CreateMode.PERSISTENT);
        }
        for (ZkServer s : servers) {
            try (ZkClient reader = authenticated(s)) {
                CompletableFuture<Integer> synced = new CompletableFuture<>();
                reader.zk.sync("/ensemble", (rc, path, ctx) -> synced.complete(rc), null);
                assertEquals(0, synced.get(30, TimeUnit.SECONDS));
                assertArrayEquals(data, reader.zk.getData("/ensemble", false, null), s.name);
            }
        }
    }

    ZkClient authenticated(ZkServer s) throws Exception {
        ZkClient c = new ZkClient(s.connectString(), Stack.clientProperties(), "Client");
        KeeperState state = c.awaitSaslOutcome(30);
        if (state != KeeperState.SaslAuthenticated) {
            c.close();
            fail(s.name + ": expected SaslAuthenticated, got " + state + "\n" + s.tail());
        }
        return c;
    }
}
