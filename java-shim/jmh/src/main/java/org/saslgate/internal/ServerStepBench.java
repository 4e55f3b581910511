package org.saslgate.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.saslgate.SaslGateProvider;

/**
 * DESIGN §10 "JNI: a cached server step costs under 0.5 µs more than the same call in Rust".
 *
 * <p>Each server benchmark runs one whole OAUTHBEARER (RFC 7628) server exchange on a
 * validation-cache hit: create the session, step once with a prebuilt initial client response
 * (token of {@code zk-client} from the development issuer), dispose. The Rust counterpart is
 * {@code cargo bench --bench validate -- sasl/server_step_cache_hit} ({@code benches/validate.rs}).
 *
 * <p>Setup (once per fork) starts the real daemon {@code saslgate dev --serve-only} on a Unix
 * socket in a private temporary directory (binary: system property {@code saslgate.binary}, else
 * {@code $CARGO_TARGET_DIR/release/saslgate}), reads the development issuer's URL and the client
 * secrets directory from its output, renders {@code configs/dev.toml} (system property
 * {@code saslgate.devConfig}, else {@code ../../configs/dev.toml} from the working directory) for
 * the in-process core, loads it through {@code libsaslgate_jni} ({@code saslgate.native.path}),
 * obtains a token, builds the initial response, and runs each path once so that every core
 * (the direct one, the public API's, the daemon's) has the token in its validation cache. The
 * daemon is stopped in {@link #tearDown()}. Loopback and Unix socket only.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ServerStepBench {
    private static final String SERVICE = "zookeeper";
    private static final String SERVER_NAME = "zk1.example.org";
    private static final String IDENTITY = "zk-client";
    private static final Pattern ISSUER = Pattern.compile("(?m)^issuer: (\\S+)$");
    private static final Pattern SECRETS = Pattern.compile("\\(client secrets in (.+)\\)");

    private Path dir;
    private Path socket;
    private Process daemon;
    private long core;
    private byte[] initialResponse;
    private Map<String, Object> jniProps;
    private Map<String, Object> sidecarProps;
    private final SaslGateSaslServer.Factory factory = new SaslGateSaslServer.Factory();
    /** A 1 KiB UTF-8 "token" for the floor with a 1 KiB byte[] in and out. */
    private final byte[] kib = filled(1024);
    private final byte[] empty = new byte[0];

    private static byte[] filled(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 'a');
        return b;
    }

    /** Starts the daemon, loads the in-process core, warms every validation cache. */
    @Setup
    public void setUp() throws Exception {
        Path bin = binary();
        dir = Files.createTempDirectory("saslgate-jmh-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        socket = dir.resolve("saslgate.sock");
        Path log = dir.resolve("daemon.log");
        daemon = new ProcessBuilder(bin.toString(), "dev", "--serve-only", "--socket", socket.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        String issuer = null;
        String secretsDir = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (HttpOverUnixSocket http = new HttpOverUnixSocket(socket, 2000, 1 << 20)) {
            while (true) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("saslgate dev did not become ready: " + read(log));
                }
                if (!daemon.isAlive()) {
                    throw new IllegalStateException("saslgate dev exited with " + daemon.exitValue() + ": " + read(log));
                }
                String out = read(log);
                Matcher i = ISSUER.matcher(out);
                Matcher s = SECRETS.matcher(out);
                if (i.find() && s.find() && Files.exists(socket)) {
                    try {
                        if (http.send("GET", "/readyz", null).status == 200) {
                            issuer = i.group(1);
                            secretsDir = s.group(1);
                            break;
                        }
                    } catch (IOException e) {
                        // not yet
                    }
                }
                Thread.sleep(50);
            }
        }

        String template = Files.readString(devConfig());
        String toml = template.replace("{{issuer}}", issuer)
                .replace("{{socket}}", dir.resolve("unused-by-jni.sock").toString())
                .replace("{{secrets_dir}}", secretsDir);
        Path configPath = dir.resolve("jni.toml");
        Files.writeString(configPath, toml);

        NativeLoader.load();
        Native.setLogLevel(1);
        core = Native.coreLoadText(toml, "<jmh>");
        // The token, through the JNI backend (client credentials at the development issuer).
        byte[] token = Native.tokenAcquire(core, IDENTITY);
        initialResponse = Native.clientInitialResponse(token, null, SERVER_NAME, 2181);

        SaslGateProvider.install();
        jniProps = new HashMap<>();
        jniProps.put("saslgate.transport", "jni");
        jniProps.put("saslgate.config", configPath.toString());
        sidecarProps = new HashMap<>();
        sidecarProps.put("saslgate.transport", "sidecar");
        sidecarProps.put("saslgate.socket", socket.toString());

        // Warm every cache and check that each path accepts the token.
        check("jni direct", jniDirectAuthzid());
        check("public api (jni)", publicApiAuthzid(jniProps));
        check("public api (sidecar)", publicApiAuthzid(sidecarProps));
        check("factory (jni)", factoryAuthzid());
        if (Native.clientEvaluateChallenge(empty) != null) {
            throw new IllegalStateException("clientEvaluateChallenge(empty) should return null");
        }
    }

    private static void check(String what, String authzid) {
        if (!IDENTITY.equals(authzid)) {
            throw new IllegalStateException(what + ": expected authorization id " + IDENTITY + ", got " + authzid);
        }
    }

    private String jniDirectAuthzid() {
        long s = Native.serverCreate(core, SERVICE, SERVER_NAME);
        try {
            Native.serverStep(s, initialResponse);
            return Native.serverState(s) == 1 ? Native.serverAuthorizationId(s)
                    : "failure " + Native.serverFailureReason(s) + ": " + Native.serverFailureMessage(s);
        } finally {
            Native.serverDispose(s);
        }
    }

    private String publicApiAuthzid(Map<String, Object> props) throws SaslException {
        SaslServer server = Sasl.createSaslServer("OAUTHBEARER", SERVICE, SERVER_NAME, props, null);
        try {
            server.evaluateResponse(initialResponse);
            return server.isComplete() ? server.getAuthorizationID() : "not complete";
        } finally {
            server.dispose();
        }
    }

    private String factoryAuthzid() throws SaslException {
        SaslServer server = factory.createSaslServer("OAUTHBEARER", SERVICE, SERVER_NAME, jniProps, null);
        try {
            server.evaluateResponse(initialResponse);
            return server.getAuthorizationID();
        } finally {
            server.dispose();
        }
    }

    /** Stops the daemon and removes its directory. */
    @TearDown
    public void tearDown() throws Exception {
        if (core != 0) {
            Native.coreRelease(core);
            core = 0;
        }
        if (daemon != null && daemon.isAlive()) {
            daemon.destroy();
            if (!daemon.waitFor(10, TimeUnit.SECONDS)) {
                daemon.destroyForcibly().waitFor();
            }
        }
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static Path binary() {
        String b = System.getProperty("saslgate.binary");
        if (b == null || b.isEmpty()) {
            String target = System.getenv("CARGO_TARGET_DIR");
            if (target == null || target.isEmpty()) {
                throw new IllegalStateException("set -Dsaslgate.binary=<path of saslgate> or CARGO_TARGET_DIR");
            }
            b = target + "/release/saslgate";
        }
        Path p = Paths.get(b);
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException(p + " is not an executable (cargo build --release --bin saslgate)");
        }
        return p;
    }

    private static Path devConfig() {
        Path p = Paths.get(System.getProperty("saslgate.devConfig", "../../configs/dev.toml"));
        if (!Files.isReadable(p)) {
            throw new IllegalStateException(p.toAbsolutePath() + " is not readable (set -Dsaslgate.devConfig)");
        }
        return p;
    }

    private static String read(Path p) {
        try {
            return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    // ------------------------------------------------------------------ benchmarks

    /** One server exchange through {@link Native} directly: create + step + dispose. */
    @Benchmark
    public byte[] jniCachedServerStep() {
        long s = Native.serverCreate(core, SERVICE, SERVER_NAME);
        try {
            return Native.serverStep(s, initialResponse);
        } finally {
            Native.serverDispose(s);
        }
    }

    /** The same through the public API: {@link Sasl#createSaslServer} (provider lookup) with the jni transport. */
    @Benchmark
    public byte[] jniSaslServer() throws SaslException {
        SaslServer server = Sasl.createSaslServer("OAUTHBEARER", SERVICE, SERVER_NAME, jniProps, null);
        try {
            return server.evaluateResponse(initialResponse);
        } finally {
            server.dispose();
        }
    }

    /** The public API without the JDK's provider lookup: the provider's factory called directly (jni). */
    @Benchmark
    public byte[] jniSaslServerViaFactory() throws SaslException {
        SaslServer server = factory.createSaslServer("OAUTHBEARER", SERVICE, SERVER_NAME, jniProps, null);
        try {
            return server.evaluateResponse(initialResponse);
        } finally {
            server.dispose();
        }
    }

    /** The same through the public API over the sidecar transport (the daemon's Unix socket). */
    @Benchmark
    public byte[] sidecarSaslServer() throws SaslException {
        SaslServer server = Sasl.createSaslServer("OAUTHBEARER", SERVICE, SERVER_NAME, sidecarProps, null);
        try {
            return server.evaluateResponse(initialResponse);
        } finally {
            server.dispose();
        }
    }

    /** Floor: the cheapest native call, {@code serverDispose(0)} (0 is ignored: boundary only, no arguments). */
    @Benchmark
    public void floorJniNoop() {
        Native.serverDispose(0L);
    }

    /** Floor with a byte[]: {@code clientEvaluateChallenge(new byte[0])} returns null (success). */
    @Benchmark
    public byte[] floorJniEmptyChallenge() {
        return Native.clientEvaluateChallenge(empty);
    }

    /**
     * Floor with a 1 KiB byte[] in and about 1 KiB out: {@code clientInitialResponse} of a 1 KiB
     * token (copies the array in, formats the GS2 header, copies the message out).
     */
    @Benchmark
    public byte[] floorJni1KiB() {
        return Native.clientInitialResponse(kib, null, null, -1);
    }
}
