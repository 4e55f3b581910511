package org.saslgate.zkdemo;

import java.nio.charset.StandardCharsets;
import java.security.Provider;
import java.security.Security;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.security.auth.callback.CallbackHandler;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslClientFactory;
import javax.security.sasl.SaslException;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

/**
 * The ZooKeeper client of the main job ({@code scripts/demo.sh}, DESIGN §7): three connections
 * to a patched ZooKeeper server that authenticate with SASL OAUTHBEARER through saslgate.
 *
 * <ol>
 *   <li>{@code owner} (JAAS section {@code Client}, identity {@code zk-client}): authenticates,
 *       creates the znode with the ACL {@code sasl:zk-client:cdrwa} and reads it back;</li>
 *   <li>{@code other} (section {@code ClientApp2}, identity {@code zk-app2}): authenticates,
 *       and reading the znode answers {@code NoAuth};</li>
 *   <li>{@code tampered} (section {@code Client}): {@link TamperingProvider} flips one bit of the
 *       token's signature in the initial response; the server refuses it ({@code AuthFailed}).</li>
 * </ol>
 *
 * <p>Usage: {@code DemoClient <connect string> <znode path> <client properties file>}; the JVM
 * needs {@code -Djava.security.auth.login.config}. Prints one ✓ or ✗ line per check and exits
 * 0 when every check behaved as expected, 1 otherwise, 64 on bad arguments.
 */
public final class DemoClient {
    /** Seconds to wait for the connection and the SASL outcome. */
    static final int AUTH_TIMEOUT_SECS = 20;
    /** ZooKeeper session timeout, in milliseconds. */
    static final int SESSION_TIMEOUT_MS = 10_000;

    private int failures;

    private DemoClient() {}

    /**
     * @param args connect string, znode path, client properties file
     * @throws Exception never on an expected outcome; unexpected ones end the JVM with exit 1
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: DemoClient <host:port> <znode path> <zookeeper-client.properties>");
            System.exit(64);
        }
        DemoClient demo = new DemoClient();
        try {
            demo.run(args[0], args[1], args[2]);
        } catch (Exception e) {
            demo.fail("unexpected: " + e);
            e.printStackTrace();
        }
        System.exit(demo.failures == 0 ? 0 : 1);
    }

    private void run(String connect, String path, String properties) throws Exception {
        // (1) the owner
        try (Session owner = Session.open(connect, properties, "Client")) {
            if (!owner.authenticated()) {
                fail("zk-client: authentication failed (" + owner.state + ")");
                return;
            }
            ok("zk-client: connected to " + connect + " and authenticated with OAUTHBEARER; the server sees "
                    + whoAmI(owner.zk));
            // A mutable list: ZooKeeper.validateACL asks contains(null), which List.of refuses.
            List<ACL> acl = new ArrayList<>(List.of(new ACL(Perms.ALL, new Id("sasl", "zk-client"))));
            byte[] data = "hello from zk-client".getBytes(StandardCharsets.UTF_8);
            owner.zk.create(path, data, acl, CreateMode.PERSISTENT);
            ok("zk-client: created " + path + " with ACL sasl:zk-client:cdrwa");
            Stat stat = new Stat();
            String back = new String(owner.zk.getData(path, false, stat), StandardCharsets.UTF_8);
            List<ACL> stored = owner.zk.getACL(path, new Stat());
            if (back.equals("hello from zk-client") && stored.equals(acl)) {
                ok("zk-client: read it back: \"" + back + "\" (ACL " + describe(stored) + ")");
            } else {
                fail("zk-client: read back \"" + back + "\" with ACL " + describe(stored));
            }
        }

        // (2) a second identity that authenticates, but is not the owner
        try (Session other = Session.open(connect, properties, "ClientApp2")) {
            if (!other.authenticated()) {
                fail("zk-app2: authentication failed (" + other.state + ")");
            } else {
                ok("zk-app2: connected and authenticated with OAUTHBEARER; the server sees " + whoAmI(other.zk));
                try {
                    other.zk.getData(path, false, null);
                    fail("zk-app2: read " + path + " although its ACL names only zk-client");
                } catch (KeeperException.NoAuthException e) {
                    ok("zk-app2: reading " + path + " is refused: NoAuth (the ACL names only sasl:zk-client)");
                }
            }
        }

        // (3) a tampered token
        Security.insertProviderAt(new TamperingProvider(), 1);
        try (Session tampered = Session.open(connect, properties, "Client")) {
            if (tampered.state == KeeperState.AuthFailed) {
                String shown = TamperingProvider.lastTampered;
                if (shown == null) {
                    // AuthFailed without a tampered token proves nothing about signature checks:
                    // the tampering SaslClient was not used, so the refusal had another cause.
                    fail("tampered token: the connection got AuthFailed, but no tampered token was sent"
                            + " (the tampering provider was not used), so the refusal has another cause;"
                            + " see the daemon's audit log and the client log");
                } else {
                    ok("tampered token: " + shown);
                    ok("tampered token: the server refused the authentication: AuthFailed");
                }
                try {
                    tampered.zk.getData(path, false, null);
                    fail("tampered token: a request succeeded after AuthFailed");
                } catch (KeeperException.AuthFailedException | KeeperException.SessionExpiredException
                        | KeeperException.ConnectionLossException e) {
                    ok("tampered token: requests fail: " + e.code());
                }
            } else {
                fail("tampered token: expected AuthFailed, got " + tampered.state);
            }
        } finally {
            Security.removeProvider(TamperingProvider.NAME);
        }
    }

    private static String whoAmI(ZooKeeper zk) throws KeeperException, InterruptedException {
        StringBuilder b = new StringBuilder();
        for (ClientInfo ci : zk.whoAmI()) {
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(ci.getAuthScheme()).append(':').append(ci.getUser());
        }
        return b.toString();
    }

    private static String describe(List<ACL> acl) {
        StringBuilder b = new StringBuilder();
        for (ACL a : acl) {
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(a.getId().getScheme()).append(':').append(a.getId().getId()).append(':')
                    .append(a.getPerms() == Perms.ALL ? "cdrwa" : Integer.toString(a.getPerms()));
        }
        return b.toString();
    }

    private void ok(String line) {
        System.out.println("   \u2713 " + line);
    }

    private void fail(String line) {
        failures++;
        System.out.println("   \u2717 " + line);
    }

    /** A ZooKeeper handle and the SASL outcome of its first connection. */
    static final class Session implements AutoCloseable {
        final ZooKeeper zk;
        final KeeperState state;

        private Session(ZooKeeper zk, KeeperState state) {
            this.zk = zk;
            this.state = state;
        }

        /**
         * Connects with the client properties file and the JAAS section {@code section}, and waits
         * for {@code SaslAuthenticated} or {@code AuthFailed}.
         *
         * @throws TimeoutException if neither arrives within {@link #AUTH_TIMEOUT_SECS}
         */
        static Session open(String connect, String properties, String section) throws Exception {
            ZKClientConfig config = new ZKClientConfig(properties);
            config.setProperty(ZKClientConfig.LOGIN_CONTEXT_NAME_KEY, section);
            CompletableFuture<KeeperState> outcome = new CompletableFuture<>();
            ZooKeeper zk = new ZooKeeper(connect, SESSION_TIMEOUT_MS, event -> {
                KeeperState s = event.getState();
                if (s == KeeperState.SaslAuthenticated || s == KeeperState.AuthFailed) {
                    outcome.complete(s);
                }
            }, config);
            try {
                return new Session(zk, outcome.get(AUTH_TIMEOUT_SECS, TimeUnit.SECONDS));
            } catch (TimeoutException e) {
                zk.close();
                throw new TimeoutException("no SASL outcome from " + connect + " within " + AUTH_TIMEOUT_SECS + " s");
            }
        }

        boolean authenticated() {
            return state == KeeperState.SaslAuthenticated;
        }

        @Override
        public void close() throws InterruptedException {
            zk.close();
        }
    }

    /**
     * A SASL provider, first in the JVM's list, whose OAUTHBEARER client is saslgate's with one
     * change: in the initial response (RFC 7628 §3.1, {@code auth=Bearer <JWT>}) the first bit of
     * the JWT's signature is flipped, header and payload unchanged. Used only by the demo's third
     * connection, to show a token that is refused for its signature.
     */
    public static final class TamperingProvider extends Provider {
        private static final long serialVersionUID = 1L;
        static final String NAME = "SaslGateDemoTampering";
        /** What the last tampering did, for the demo's output. */
        static volatile String lastTampered;

        /** Registers {@link Factory} for {@code SaslClientFactory.OAUTHBEARER}. */
        public TamperingProvider() {
            super(NAME, "1.0", "saslgate demo: OAUTHBEARER client that tampers with the token signature");
            put("SaslClientFactory.OAUTHBEARER", Factory.class.getName());
        }

        /** Wraps the next provider's OAUTHBEARER client (saslgate's). */
        public static final class Factory implements SaslClientFactory {
            /** Public no-argument constructor, for the provider framework. */
            public Factory() {}

            @Override
            public SaslClient createSaslClient(String[] mechanisms, String authorizationId, String protocol,
                    String serverName, Map<String, ?> props, CallbackHandler cbh) throws SaslException {
                Enumeration<SaslClientFactory> all = Sasl.getSaslClientFactories();
                while (all.hasMoreElements()) {
                    SaslClientFactory f = all.nextElement();
                    if (f instanceof Factory) {
                        continue;
                    }
                    SaslClient inner = f.createSaslClient(mechanisms, authorizationId, protocol, serverName, props, cbh);
                    if (inner != null) {
                        return new Tampering(inner);
                    }
                }
                return null;
            }

            @Override
            public String[] getMechanismNames(Map<String, ?> props) {
                return new String[] {"OAUTHBEARER"};
            }
        }

        private static final class Tampering implements SaslClient {
            private final SaslClient inner;
            private boolean first = true;

            Tampering(SaslClient inner) {
                this.inner = inner;
            }

            @Override
            public byte[] evaluateChallenge(byte[] challenge) throws SaslException {
                byte[] r = inner.evaluateChallenge(challenge);
                if (first && r != null) {
                    first = false;
                    return tamper(r);
                }
                return r;
            }

            /** Flips the first bit of the JWT signature inside {@code auth=Bearer <JWT>}. */
            private static byte[] tamper(byte[] response) throws SaslException {
                String s = new String(response, StandardCharsets.UTF_8);
                int start = s.indexOf("auth=Bearer ");
                if (start < 0) {
                    throw new SaslException("demo: no bearer token in the initial response");
                }
                start += "auth=Bearer ".length();
                int end = s.indexOf('\u0001', start);
                String jwt = s.substring(start, end);
                String[] parts = jwt.split("\\.");
                if (parts.length != 3) {
                    throw new SaslException("demo: the bearer token is not a compact JWT");
                }
                byte[] sig = Base64.getUrlDecoder().decode(parts[2]);
                sig[0] ^= (byte) 0x80;
                String forged = parts[0] + "." + parts[1] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(sig);
                lastTampered = "zk-client's token with the first bit of its " + sig.length
                        + "-byte signature flipped (header and payload unchanged) was sent";
                return (s.substring(0, start) + forged + s.substring(end)).getBytes(StandardCharsets.UTF_8);
            }

            @Override
            public String getMechanismName() {
                return inner.getMechanismName();
            }

            @Override
            public boolean hasInitialResponse() {
                return inner.hasInitialResponse();
            }

            @Override
            public boolean isComplete() {
                return inner.isComplete();
            }

            @Override
            public byte[] unwrap(byte[] incoming, int offset, int len) throws SaslException {
                return inner.unwrap(incoming, offset, len);
            }

            @Override
            public byte[] wrap(byte[] outgoing, int offset, int len) throws SaslException {
                return inner.wrap(outgoing, offset, len);
            }

            @Override
            public Object getNegotiatedProperty(String propName) {
                return inner.getNegotiatedProperty(propName);
            }

            @Override
            public void dispose() throws SaslException {
                inner.dispose();
            }
        }
    }

    static {
        // Keep ZooKeeper's own client logging (slf4j-simple) to warnings in the demo's output.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
    }
}
