package org.saslgate.zktest;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;

/**
 * A ZooKeeper client in the test JVM, configured by {@code zookeeper-client.properties} and one
 * JAAS section of the JVM's JAAS configuration; records its connection and SASL events.
 */
final class ZkClient implements AutoCloseable {
    static final int SESSION_TIMEOUT_MS = 30_000;

    final ZooKeeper zk;
    private final BlockingQueue<KeeperState> events = new LinkedBlockingQueue<>();

    /**
     * @param section the JAAS section ({@code Client}, {@code ClientApp2}, ...), or null for a
     *     client without SASL ({@code zookeeper.sasl.client=false})
     */
    ZkClient(String connect, Path properties, String section) throws Exception {
        ZKClientConfig config = new ZKClientConfig(properties.toString());
        if (section == null) {
            config.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        } else {
            config.setProperty(ZKClientConfig.LOGIN_CONTEXT_NAME_KEY, section);
        }
        zk = new ZooKeeper(connect, SESSION_TIMEOUT_MS, e -> {
            if (e.getPath() == null) {
                events.add(e.getState());
            }
        }, config);
    }

    /**
     * Waits for the next {@code SaslAuthenticated} or {@code AuthFailed} event.
     *
     * @return that state, or null after {@code secs} seconds
     */
    KeeperState awaitSaslOutcome(int secs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(secs);
        while (true) {
            long left = deadline - System.nanoTime();
            KeeperState s = left <= 0 ? null : events.poll(left, TimeUnit.NANOSECONDS);
            if (s == null || s == KeeperState.SaslAuthenticated || s == KeeperState.AuthFailed) {
                return s;
            }
        }
    }

    /**
     * @return the server's view of this connection's {@code sasl} and {@code super} ids, sorted,
     *     e.g. {@code sasl:zk-client} (the {@code ip} id every connection has is left out)
     */
    String whoAmI() throws Exception {
        return zk.whoAmI().stream().filter(ci -> !"ip".equals(ci.getAuthScheme()))
                .map(ZkClient::describe).sorted().collect(Collectors.joining(","));
    }

    /**
     * @return the ACL {@code sasl:zk-client:cdrwa}, in a mutable list ({@code ZooKeeper.create}
     *     asks {@code contains(null)}, which {@code List.of} refuses)
     */
    static List<ACL> ownerAcl() {
        return new ArrayList<>(List.of(new ACL(Perms.ALL, new Id("sasl", "zk-client"))));
    }

    private static String describe(ClientInfo ci) {
        return ci.getAuthScheme() + ":" + ci.getUser();
    }

    @Override
    public void close() throws InterruptedException {
        zk.close();
    }
}
