package org.saslgate.zookeeper;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.zookeeper.server.ZooKeeperServer;
import org.apache.zookeeper.server.auth.ProviderRegistry;

/**
 * A real ZooKeeper server in this JVM (standalone, NIO, 127.0.0.1 on a port from the OS, data in a
 * temporary directory), started with the given Java system properties set and restored on
 * {@link #close()}. The server reads SASL settings (JAAS section, mechanism, callback handler,
 * enforce.auth, superUser) from system properties, so tests set them here.
 */
public final class ZkServer implements AutoCloseable {

    /** The {@code zookeeper.authProvider.N} line that enables {@code sasl:} ACLs. */
    public static final String SASL_PROVIDER_KEY = "zookeeper.authProvider.saslgateTest";

    private final Map<String, String> saved = new HashMap<>();
    private final Path dir;
    private final ZooKeeperServer zks;
    private final ServerCnxnFactory factory;

    /**
     * @param properties system properties to set while the server lives (null value: clear)
     * @throws IOException when the server cannot start (e.g. a SASL configuration error)
     */
    public ZkServer(Map<String, String> properties) throws IOException, InterruptedException {
        TestJaas.install();
        Map<String, String> all = new HashMap<>(properties);
        all.put(SASL_PROVIDER_KEY, "org.apache.zookeeper.server.auth.SASLAuthenticationProvider");
        for (Map.Entry<String, String> e : all.entrySet()) {
            saved.put(e.getKey(), System.getProperty(e.getKey()));
            set(e.getKey(), e.getValue());
        }
        ProviderRegistry.addOrUpdateProvider(SASL_PROVIDER_KEY);
        dir = Files.createTempDirectory("saslgate-zk");
        ServerCnxnFactory f = null;
        ZooKeeperServer z = null;
        try {
            File d = dir.toFile();
            z = new ZooKeeperServer(d, d, 2000);
            f = ServerCnxnFactory.createFactory(new InetSocketAddress("127.0.0.1", 0), 100);
            f.startup(z);
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (f != null) {
                f.shutdown();
            }
            if (z != null) {
                z.shutdown();
            }
            restore();
            deleteDir();
            throw e;
        }
        zks = z;
        factory = f;
    }

    /** @return {@code 127.0.0.1:<port>} */
    public String connectString() {
        return "127.0.0.1:" + factory.getLocalPort();
    }

    /** @return whether the server still serves */
    public boolean isRunning() {
        return zks.isRunning();
    }

    /**
     * Opens a session and waits for the SASL outcome.
     *
     * @param config client configuration (section, mechanism, ...)
     * @return the session; {@link Session#saslState} is SaslAuthenticated, AuthFailed, or
     *     SyncConnected when no SASL ran
     */
    public Session connect(ZKClientConfig config) throws IOException, InterruptedException {
        return new Session(connectString(), config);
    }

    @Override
    public void close() throws InterruptedException {
        factory.shutdown();
        zks.shutdown();
        restore();
        deleteDir();
    }

    private void restore() {
        for (Map.Entry<String, String> e : saved.entrySet()) {
            set(e.getKey(), e.getValue());
        }
    }

    private void deleteDir() {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a left-over temporary directory is harmless
        }
    }

    static void set(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    /** A client session and the connection-state events it received. */
    public static final class Session implements AutoCloseable {
        public final ZooKeeper zk;
        public final KeeperState saslState;
        private final BlockingQueue<KeeperState> events = new LinkedBlockingQueue<>();

        Session(String connectString, ZKClientConfig config) throws IOException, InterruptedException {
            zk = new ZooKeeper(connectString, 30000, e -> {
                if (e.getType() == org.apache.zookeeper.Watcher.Event.EventType.None) {
                    events.add(e.getState());
                }
            }, config);
            saslState = awaitSaslOutcome(config.isSaslClientEnabled());
        }

        private KeeperState awaitSaslOutcome(boolean saslEnabled) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            boolean connected = false;
            while (System.nanoTime() < deadline) {
                KeeperState s = events.poll(connected ? 2 : 20, TimeUnit.SECONDS);
                if (s == null) {
                    // connected and no SASL event within 2 s: no SASL ran
                    return connected ? KeeperState.SyncConnected : null;
                }
                if (s == KeeperState.SaslAuthenticated || s == KeeperState.AuthFailed) {
                    return s;
                }
                connected |= s == KeeperState.SyncConnected;
                if (connected && !saslEnabled) {
                    return KeeperState.SyncConnected;
                }
            }
            return null;
        }

        @Override
        public void close() throws InterruptedException {
            zk.close();
        }
    }
}
