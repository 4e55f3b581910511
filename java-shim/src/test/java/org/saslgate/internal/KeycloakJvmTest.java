package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivilegedExceptionAction;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.security.auth.Subject;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.LoginContext;
import javax.security.sasl.AuthenticationException;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.saslgate.SaslGateOptions;
import org.saslgate.SaslGateProvider;
import org.saslgate.SaslGateTokenCredential;
import org.saslgate.internal.BackendContractTest.RecordingHandler;

/**
 * The Java shim's "done when": a plain JVM validates a Keycloak-issued access token through
 * {@code javax.security.sasl} OAUTHBEARER (RFC 7628) with saslgate in both modes, the in-process
 * core ({@link JniBackend}) and the daemon ({@link SidecarBackend} over {@code saslgate serve}).
 *
 * <p>Needs a running Keycloak ({@code scripts/keycloak.sh start}), found like the Rust fixture
 * {@code tests/common/keycloak.rs} does: the variables {@code SASLGATE_TEST_KEYCLOAK_URL},
 * {@code SASLGATE_TEST_KEYCLOAK_ADMIN_USER}, {@code SASLGATE_TEST_KEYCLOAK_ADMIN_PASSWORD}, else
 * the env file {@code $SASLGATE_TEST_KEYCLOAK_ENV_FILE} (default
 * {@code ${SASLGATE_CACHE:-$HOME/.cache/saslgate}/run/keycloak.env}). Without one the class is
 * skipped, unless {@code SASLGATE_REQUIRE_KEYCLOAK=1}, which makes it fail. The JNI tests are
 * skipped when {@code libsaslgate_jni} cannot be loaded, unless the system property
 * {@code saslgate.requireJni=true}.
 *
 * <p>The class imports its own realm from {@code tests/fixtures/keycloak/realm.json} under a
 * unique name through Keycloak's admin REST API (admin token: password grant of the
 * {@code master} realm's {@code admin-cli}), writes a saslgate configuration for it (issuer with
 * discovery, {@code kind = "keycloak"}, audience {@code zookeeper}, {@code typ = "Bearer"};
 * identity {@code zk-client} by client credentials, RFC 6749 §4.4; service {@code zookeeper}),
 * and deletes the realm afterwards. The template's {@code zk-client} service account maps to
 * {@code service-account-zk-client} (its {@code preferred_username}) with group {@code zk-admin}
 * (its realm role); {@code other-client}'s tokens have no {@code zookeeper} audience.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeycloakJvmTest {
    static final String ENV_URL = "SASLGATE_TEST_KEYCLOAK_URL";
    static final String ENV_ADMIN_USER = "SASLGATE_TEST_KEYCLOAK_ADMIN_USER";
    static final String ENV_ADMIN_PASSWORD = "SASLGATE_TEST_KEYCLOAK_ADMIN_PASSWORD";
    static final String ENV_FILE = "SASLGATE_TEST_KEYCLOAK_ENV_FILE";
    static final String ENV_REQUIRE = "SASLGATE_REQUIRE_KEYCLOAK";

    static final String SERVICE = "zookeeper";
    static final String SERVER_NAME = "zk1.example.org";
    static final String IDENTITY = "zk-client";
    static final String ZK_CLIENT_SECRET = "zk-client-secret";
    static final String OTHER_CLIENT = "other-client";
    static final String OTHER_CLIENT_SECRET = "other-client-secret";
    static final String EXPECTED_AUTHZID = "service-account-zk-client";
    static final List<String> EXPECTED_GROUPS = List.of("zk-admin");

    private Keycloak kc;
    private String realm;
    private Path dir;
    private Path config;
    private Path socket;
    private Process daemon;

    @BeforeAll
    void setUp() throws Exception {
        kc = Keycloak.fromEnv();
        SaslGateProvider.install();
        realm = kc.createRealm("jvm");
        dir = Files.createTempDirectory("saslgate-keycloak-jvm-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        socket = dir.resolve("saslgate.sock");
        Path secret = dir.resolve("zk-client.secret");
        Files.createFile(secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(secret, ZK_CLIENT_SECRET + "\n");
        config = dir.resolve("saslgate.toml");
        Files.writeString(config, configToml(issuer(), socket, secret));
    }

    @AfterAll
    void tearDown() throws Exception {
        Backends.closeAll();
        if (daemon != null && daemon.isAlive()) {
            daemon.destroy();
            if (!daemon.waitFor(10, TimeUnit.SECONDS)) {
                daemon.destroyForcibly().waitFor();
            }
        }
        if (kc != null && realm != null) {
            kc.deleteRealm(realm);
        }
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The {@code iss} of the realm's tokens. */
    String issuer() {
        return kc.baseUrl + "/realms/" + realm;
    }

    /** The saslgate configuration for the realm; the daemon reads the same file. */
    static String configToml(String issuer, Path socket, Path secret) {
        return "[daemon]\n"
                + "socket = " + toml(socket.toString()) + "\n"
                + "socket_mode = \"0600\"\n"
                + "shutdown_grace_secs = 1\n"
                + "\n[log]\nfilter = \"info\"\n"
                + "\n[[issuers]]\n"
                + "name = \"kc\"\n"
                + "kind = \"keycloak\"\n"
                + "issuer = " + toml(issuer) + "\n"
                + "discovery = true\n"
                + "audiences = [\"zookeeper\"]\n"
                + "typ = \"Bearer\"\n"
                + "\n[[identities]]\n"
                + "name = \"" + IDENTITY + "\"\n"
                + "kind = \"client_credentials\"\n"
                + "issuer = \"kc\"\n"
                + "client_id = \"zk-client\"\n"
                + "client_secret_file = " + toml(secret.toString()) + "\n"
                + "\n[[services]]\n"
                + "name = \"" + SERVICE + "\"\n"
                + "issuers = [\"kc\"]\n";
    }

    /** A TOML basic string for a path or URL (quotes and backslashes escaped). */
    static String toml(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    // --- the two modes ---

    void assumeJni() {
        if (!NativeLoader.isAvailable()) {
            if (Boolean.getBoolean("saslgate.requireJni")) {
                fail("saslgate.requireJni=true but libsaslgate_jni cannot be loaded (saslgate.native.path="
                        + System.getProperty("saslgate.native.path") + ")");
            }
            assumeTrue(false, "libsaslgate_jni is not available (set saslgate.native.path)");
        }
    }

    Map<String, String> jniOptions() {
        assumeJni();
        return Map.of("transport", "jni", "config", config.toString());
    }

    Map<String, String> sidecarOptions() throws Exception {
        startDaemon();
        return Map.of("transport", "sidecar", "socket", socket.toString());
    }

    /** The JAAS options as SASL properties ({@code saslgate.*}). */
    static Map<String, Object> saslProps(Map<String, String> options) {
        Map<String, Object> p = new HashMap<>();
        options.forEach((k, v) -> p.put(SaslGateOptions.PROPERTY_PREFIX + k, v));
        return p;
    }

    /** Starts {@code saslgate serve --config <config>} once and waits until {@code /readyz} answers 200. */
    synchronized void startDaemon() throws Exception {
        if (daemon != null && daemon.isAlive()) {
            return;
        }
        Path bin = DaemonFixture.binary();
        if (bin == null) {
            fail("saslgate.binary does not name an executable: " + System.getProperty("saslgate.binary")
                    + " (cargo build --bin saslgate; set CARGO_TARGET_DIR)");
        }
        Files.deleteIfExists(socket);
        Path log = dir.resolve("daemon.log");
        daemon = new ProcessBuilder(bin.toString(), "serve", "--config", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (HttpOverUnixSocket http = new HttpOverUnixSocket(socket, 2000, 1 << 20)) {
            while (System.nanoTime() < deadline) {
                if (!daemon.isAlive()) {
                    fail("saslgate serve exited with " + daemon.exitValue() + ": " + Files.readString(log));
                }
                if (Files.exists(socket)) {
                    try {
                        if (http.send("GET", "/readyz", null).status == 200) {
                            return;
                        }
                    } catch (IOException e) {
                        // not yet
                    }
                }
                Thread.sleep(50);
            }
        }
        fail("saslgate serve did not become ready: " + Files.readString(log));
    }

    // --- tests ---

    @Test
    void jniModeValidatesAKeycloakTokenThroughJavaxSecuritySasl() throws Exception {
        Map<String, String> options = jniOptions();
        assertInstanceOf(JniBackend.class, Backends.obtain(SaslGateOptions.fromJaas(options)));
        Outcome o = loginAndExchange(options);
        assertEquals(EXPECTED_AUTHZID, o.authorizationId);
        assertEquals(EXPECTED_GROUPS, o.groups);
    }

    @Test
    void jniModeRefusesATokenWithoutTheZookeeperAudience() throws Exception {
        Map<String, String> options = jniOptions();
        byte[] other = kc.clientCredentialsToken(realm, OTHER_CLIENT, OTHER_CLIENT_SECRET)
                .getBytes(StandardCharsets.UTF_8);
        // The other client's token in a Subject, sent by the JDK SASL client (the JNI core
        // builds the initial response from it).
        Subject subject = new Subject();
        subject.getPrivateCredentials().add(new SaslGateTokenCredential(OTHER_CLIENT, other,
                System.currentTimeMillis() / 1000 + 60, SaslGateOptions.fromJaas(options)));
        SaslClient client = createClient(subject, saslProps(options));
        byte[] initial = client.evaluateChallenge(new byte[0]);
        assertTrue(initialResponseCarries(initial, other), "the Subject's token is sent");

        String json = assertRefusedForAudience(saslProps(options), initial, client);
        assertEquals("insufficient_scope", Json.string(Json.parseObject(json), "status"), json);

        Backend.Validation v = Backends.obtain(SaslGateOptions.fromJaas(options)).validate(SERVICE, other);
        assertFalse(v.valid);
        assertEquals("audience_mismatch", v.reason);
    }

    @Test
    void sidecarModeValidatesAKeycloakTokenThroughJavaxSecuritySasl() throws Exception {
        Map<String, String> options = sidecarOptions();
        assertInstanceOf(SidecarBackend.class, Backends.obtain(SaslGateOptions.fromJaas(options)));
        Outcome o = loginAndExchange(options);
        assertEquals(EXPECTED_AUTHZID, o.authorizationId);
        assertEquals(EXPECTED_GROUPS, o.groups);
    }

    @Test
    void sidecarModeRefusesATokenWithoutTheZookeeperAudience() throws Exception {
        Map<String, String> options = sidecarOptions();
        byte[] other = kc.clientCredentialsToken(realm, OTHER_CLIENT, OTHER_CLIENT_SECRET)
                .getBytes(StandardCharsets.UTF_8);
        // The daemon's client sends only the tokens of its configured identities (DESIGN §9), so
        // the foreign token arrives as a peer would send it: an RFC 7628 §3.1 initial response.
        byte[] initial = ("n,,\u0001host=" + SERVER_NAME + "\u0001auth=Bearer "
                + new String(other, StandardCharsets.UTF_8) + "\u0001\u0001").getBytes(StandardCharsets.UTF_8);
        assertRefusedForAudience(saslProps(options), initial, null);

        Backend.Validation v = Backends.obtain(SaslGateOptions.fromJaas(options)).validate(SERVICE, other);
        assertFalse(v.valid);
        assertEquals("audience_mismatch", v.reason);
    }

    @Test
    void bothModesGiveTheSameAuthorizationIdAndGroups() throws Exception {
        Outcome jni = loginAndExchange(jniOptions());
        Outcome sidecar = loginAndExchange(sidecarOptions());
        assertEquals(jni.authorizationId, sidecar.authorizationId);
        assertEquals(jni.groups, sidecar.groups);
        assertEquals(EXPECTED_AUTHZID, jni.authorizationId);
        assertEquals(EXPECTED_GROUPS, jni.groups);
    }

    // --- the exchange ---

    /** What a successful exchange gave. */
    static final class Outcome {
        final String authorizationId;
        final List<String> groups;

        Outcome(String authorizationId, List<String> groups) {
            this.authorizationId = authorizationId;
            this.groups = groups;
        }
    }

    /** A client CallbackHandler that fails the test if called: the token comes from the Subject. */
    static final CallbackHandler NO_CALLBACKS = callbacks -> {
        throw new UnsupportedCallbackException(callbacks[0], "the OAUTHBEARER client needs no callbacks");
    };

    @SuppressWarnings("removal") // Subject.doAs: the Java 11 way hosts (ZooKeeper, Hadoop) run clients
    static SaslClient createClient(Subject subject, Map<String, Object> props) throws Exception {
        PrivilegedExceptionAction<SaslClient> create = () -> Sasl.createSaslClient(new String[] {"OAUTHBEARER"},
                null, SERVICE, SERVER_NAME, props, NO_CALLBACKS);
        SaslClient client = Subject.doAs(subject, create);
        assertNotNull(client, "the provider offers an OAUTHBEARER client");
        return client;
    }

    /**
     * Logs in with {@code SaslGateLoginModule} as {@code zk-client} (a Keycloak token in the
     * Subject), runs a JDK SASL client inside {@code Subject.doAs} against a JDK SASL server of
     * the same backend, and checks the result against the token's claims.
     */
    Outcome loginAndExchange(Map<String, String> backendOptions) throws Exception {
        Map<String, String> options = new HashMap<>(backendOptions);
        options.put("identity", IDENTITY);
        Subject subject = new Subject();
        LoginContext lc = new LoginContext("Client", subject, null, BackendContractTest.jaas(options));
        lc.login();
        try {
            Set<SaslGateTokenCredential> creds = subject.getPrivateCredentials(SaslGateTokenCredential.class);
            assertEquals(1, creds.size());
            SaslGateTokenCredential cred = creds.iterator().next();
            byte[] token = cred.tokenBytes();
            Map<String, Object> claims = jwtClaims(token);
            assertEquals(issuer(), Json.string(claims, "iss"), "a token of the test realm");
            assertEquals("zk-client", Json.string(claims, "azp"));
            assertEquals(EXPECTED_AUTHZID, Json.string(claims, "preferred_username"));
            long exp = Json.integer(claims, "exp", -1);
            assertEquals(exp, cred.expiresAtSecs(), "the credential's expiry is the token's exp");

            Map<String, Object> props = saslProps(backendOptions);
            RecordingHandler handler = new RecordingHandler(true);
            SaslServer server = Sasl.createSaslServer("OAUTHBEARER", SERVICE, SERVER_NAME, props, handler);
            assertNotNull(server, "the provider offers an OAUTHBEARER server");
            SaslClient client = createClient(subject, props);
            assertTrue(client.hasInitialResponse());
            byte[] initial = client.evaluateChallenge(new byte[0]);
            assertTrue(initialResponseCarries(initial, token), "the login module's Keycloak token is sent");
            byte[] challenge = server.evaluateResponse(initial);
            assertTrue(server.isComplete());
            assertArrayEquals(new byte[0], challenge);
            assertNull(client.evaluateChallenge(challenge));
            assertTrue(client.isComplete());
            String authzid = server.getAuthorizationID();
            assertEquals(1, handler.seen.size());
            assertArrayEquals(new String[] {authzid, authzid}, handler.seen.get(0));
            server.dispose();

            // Groups and expiry are not part of the SaslServer interface: read them from a
            // backend session fed the same initial response, and from validate().
            Backend backend = Backends.obtain(SaslGateOptions.fromJaas(backendOptions));
            Backend.ServerSession session = backend.serverCreate(SERVICE, SERVER_NAME);
            List<String> groups;
            try {
                assertArrayEquals(new byte[0], session.step(initial));
                assertEquals(Backend.SUCCESS, session.state());
                assertEquals(authzid, session.authorizationId());
                assertEquals(exp, session.expiresAtSecs());
                groups = List.of(session.groups());
            } finally {
                session.close();
            }
            Backend.Validation v = backend.validate(SERVICE, token);
            assertTrue(v.valid, () -> v.reason + ": " + v.message);
            assertEquals(authzid, v.authorizationId);
            assertEquals(groups, List.of(v.groups));
            return new Outcome(authzid, groups);
        } finally {
            lc.logout();
        }
    }

    /**
     * Feeds {@code initial} to a JDK SASL server and expects the RFC 7628 §3.2.2 error challenge,
     * then (after the client's {@code %x01}) an {@link AuthenticationException} naming
     * {@code audience_mismatch}. When {@code client} is given, it produces the {@code %x01}.
     *
     * @return the error challenge JSON
     */
    static String assertRefusedForAudience(Map<String, Object> props, byte[] initial, SaslClient client)
            throws Exception {
        RecordingHandler handler = new RecordingHandler(true);
        SaslServer server = Sasl.createSaslServer("OAUTHBEARER", SERVICE, SERVER_NAME, props, handler);
        assertNotNull(server);
        byte[] errorChallenge = server.evaluateResponse(initial);
        assertFalse(server.isComplete());
        String json = new String(errorChallenge, StandardCharsets.UTF_8);
        assertEquals("insufficient_scope", Json.string(Json.parseObject(json), "status"), json);
        byte[] abort = new byte[] {0x01};
        if (client != null) {
            assertArrayEquals(abort, client.evaluateChallenge(errorChallenge));
        }
        AuthenticationException e = assertThrows(AuthenticationException.class, () -> server.evaluateResponse(abort));
        assertTrue(e.getMessage().contains("audience_mismatch"), e.getMessage());
        assertTrue(server.isComplete());
        assertThrows(IllegalStateException.class, server::getAuthorizationID);
        assertEquals(0, handler.seen.size(), "no AuthorizeCallback for a refused token");
        return json;
    }

    /** True if the RFC 7628 §3.1 initial response carries exactly {@code token} as its bearer token. */
    static boolean initialResponseCarries(byte[] initial, byte[] token) {
        String text = new String(initial, StandardCharsets.UTF_8);
        return text.startsWith("n,,\u0001") && text.endsWith("\u0001\u0001")
                && text.contains("\u0001auth=Bearer " + new String(token, StandardCharsets.UTF_8) + "\u0001");
    }

    /** The claims of a JWT (RFC 7519 §7.2: the base64url payload), without verifying anything. */
    static Map<String, Object> jwtClaims(byte[] token) throws Json.JsonException {
        String[] parts = new String(token, StandardCharsets.UTF_8).split("\\.", -1);
        assertEquals(3, parts.length, "a JWS compact serialization");
        return Json.parseObject(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
    }

    // --- Keycloak ---

    /**
     * A running Keycloak and its master-realm admin, found like {@code tests/common/keycloak.rs}
     * finds it. Talks to the admin REST API ({@code /admin/realms}) and the realms' OAuth 2.0
     * token endpoints (RFC 6749 §4.3, §4.4) with the JDK HTTP client.
     */
    static final class Keycloak {
        final String baseUrl;
        private final String adminUser;
        private final String adminPassword;
        private final HttpClient http = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();

        private Keycloak(String baseUrl, String adminUser, String adminPassword) {
            this.baseUrl = baseUrl;
            this.adminUser = adminUser;
            this.adminPassword = adminPassword;
        }

        /**
         * The running Keycloak; skips the calling test class (JUnit assumption) when there is
         * none, or fails it when {@code SASLGATE_REQUIRE_KEYCLOAK=1}.
         */
        static Keycloak fromEnv() {
            try {
                return locate();
            } catch (IllegalStateException why) {
                if ("1".equals(System.getenv(ENV_REQUIRE))) {
                    fail(ENV_REQUIRE + "=1 but no Keycloak is available: " + why.getMessage()
                            + "; start one with `scripts/keycloak.sh start`");
                }
                assumeTrue(false, "no Keycloak (" + why.getMessage() + "); start one with `scripts/keycloak.sh start`");
                throw why;
            }
        }

        private static Keycloak locate() {
            Map<String, String> vars = new HashMap<>();
            if (System.getenv(ENV_URL) != null) {
                for (String name : new String[] {ENV_URL, ENV_ADMIN_USER, ENV_ADMIN_PASSWORD}) {
                    String v = System.getenv(name);
                    if (v == null) {
                        throw new IllegalStateException(name + " is not set");
                    }
                    vars.put(name, v);
                }
            } else {
                Path path = envFilePath();
                List<String> lines;
                try {
                    lines = Files.readAllLines(path);
                } catch (IOException e) {
                    throw new IllegalStateException(ENV_URL + " is not set and " + path + " is unreadable: " + e);
                }
                for (String line : lines) {
                    int eq = line.indexOf('=');
                    if (eq > 0) {
                        vars.putIfAbsent(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
                    }
                }
                for (String name : new String[] {ENV_URL, ENV_ADMIN_USER, ENV_ADMIN_PASSWORD}) {
                    if (!vars.containsKey(name)) {
                        throw new IllegalStateException(name + " missing from " + path);
                    }
                }
            }
            String base = vars.get(ENV_URL).replaceAll("/+$", "");
            URI uri;
            try {
                uri = URI.create(base);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(ENV_URL + "=" + base + ": " + e.getMessage());
            }
            int port = uri.getPort() >= 0 ? uri.getPort() : 80;
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(uri.getHost(), port), 2000);
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalStateException(base + " does not accept connections");
            }
            return new Keycloak(base, vars.get(ENV_ADMIN_USER), vars.get(ENV_ADMIN_PASSWORD));
        }

        /** The env file written by {@code scripts/keycloak.sh start}. */
        private static Path envFilePath() {
            String file = System.getenv(ENV_FILE);
            if (file != null) {
                return Paths.get(file);
            }
            String cache = System.getenv("SASLGATE_CACHE");
            if (cache == null) {
                String home = System.getenv("HOME");
                cache = (home != null ? home : ".") + "/.cache/saslgate";
            }
            return Paths.get(cache, "run", "keycloak.env");
        }

        /** A fresh master-realm admin access token (password grant with {@code admin-cli}). */
        String adminToken() throws Exception {
            return token(baseUrl + "/realms/master/protocol/openid-connect/token", Map.of(
                    "grant_type", "password", "client_id", "admin-cli",
                    "username", adminUser, "password", adminPassword));
        }

        /** An access token by the client-credentials grant (RFC 6749 §4.4) in {@code realm}. */
        String clientCredentialsToken(String realm, String clientId, String secret) throws Exception {
            return token(baseUrl + "/realms/" + realm + "/protocol/openid-connect/token", Map.of(
                    "grant_type", "client_credentials", "client_id", clientId, "client_secret", secret));
        }

        private String token(String url, Map<String, String> form) throws Exception {
            String body = form.entrySet().stream()
                    .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                            + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                    .collect(Collectors.joining("&"));
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url))
                    .timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofString());
            Map<String, Object> json = Json.parseObject(r.body());
            if (r.statusCode() != 200) {
                // RFC 6749 §5.2; the body holds no secret.
                fail("token endpoint " + url + " answered " + r.statusCode() + ": " + Json.string(json, "error")
                        + " (" + Json.string(json, "error_description") + ")");
            }
            return Json.requiredString(json, "access_token");
        }

        /**
         * Imports {@code tests/fixtures/keycloak/realm.json} as {@code {prefix}-{random}}.
         *
         * @return the realm name
         */
        String createRealm(String prefix) throws Exception {
            byte[] random = new byte[8];
            new SecureRandom().nextBytes(random);
            StringBuilder name = new StringBuilder(prefix).append('-');
            for (byte b : random) {
                name.append(String.format("%02x", b));
            }
            String template = Files.readString(realmTemplate());
            String rep = template.replaceFirst("\"realm\"\\s*:\\s*\"saslgate-template\"",
                    "\"realm\": \"" + name + "\"");
            assertEquals(name.toString(), Json.string(Json.parseObject(rep), "realm"), "realm name replaced");
            HttpResponse<String> r = admin("POST", "/admin/realms", rep);
            assertEquals(201, r.statusCode(), () -> "import realm: " + r.body());
            return name.toString();
        }

        /** Deletes a realm; a failure is reported, not thrown (cleanup). */
        void deleteRealm(String realm) {
            try {
                HttpResponse<String> r = admin("DELETE", "/admin/realms/" + realm, null);
                if (r.statusCode() / 100 != 2) {
                    System.err.println("warning: realm " + realm + " not deleted: " + r.statusCode() + " " + r.body());
                }
            } catch (Exception e) {
                System.err.println("warning: realm " + realm + " not deleted: " + e);
            }
        }

        private HttpResponse<String> admin(String method, String path, String json) throws Exception {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path))
                    .timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + adminToken());
            if (json != null) {
                b.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofString(json));
            } else {
                b.method(method, HttpRequest.BodyPublishers.noBody());
            }
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        }

        /** The realm template, found from the Maven module directory (surefire's working directory). */
        private static Path realmTemplate() {
            Path module = Paths.get(System.getProperty("basedir", System.getProperty("user.dir")));
            Path p = module.resolve("../tests/fixtures/keycloak/realm.json").normalize();
            if (!Files.isReadable(p)) {
                fail("realm template not found: " + p);
            }
            return p;
        }
    }
}
