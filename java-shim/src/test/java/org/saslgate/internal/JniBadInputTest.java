package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.security.sasl.AuthenticationException;
import javax.security.sasl.SaslException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Bad input from Java over JNI (the in-process core only): null, empty, oversized and random
 * client messages end the exchange with {@link AuthenticationException} naming the reason, never
 * a crash; misuse after dispose is {@link IllegalStateException}; concurrent exchanges give
 * correct results; 100,000 sessions leave no handle behind and the RSS flat; a Rust panic is an
 * {@link IllegalStateException} and the JVM goes on; the fuzz seeds (and the local fuzz corpus,
 * when present) replay without a crash. Needs the library built with the {@code testing}
 * feature; skipped without it unless {@code -Dsaslgate.requireJni=true}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JniBadInputTest {
    /** Where the repository's fuzz inputs live, relative to {@code java-shim/}. */
    static final Path FUZZ = Paths.get(System.getProperty("basedir", ".")).resolve("../tests/fuzz").normalize();
    /** How much the RSS may grow between 10,000 and 100,000 created-and-disposed sessions. */
    static final long RSS_GROWTH_BOUND_KIB = 32 * 1024;

    private DaemonFixture daemon;
    private Path config;
    private JniBackend backend;
    private byte[] accepted;
    private byte[] refused;

    @BeforeAll
    void start() throws Exception {
        JniSupport.assumeTestingNatives();
        daemon = DaemonFixture.start();
        config = JniSupport.writeDevConfig(daemon);
        backend = new JniBackend(config.toString(), null, null);
        accepted = backend.clientInitialResponse("zk-client", null, null, "localhost", 2181);
        refused = backend.clientInitialResponse("zk-other", null, null, "localhost", 2181);
    }

    @AfterAll
    void stop() throws Exception {
        if (backend != null) {
            backend.close();
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    private SaslGateSaslServer server() {
        return new SaslGateSaslServer(backend, "zookeeper", "localhost", null);
    }

    /**
     * Runs one exchange on {@code input} that must fail cleanly: either at once, or with the
     * RFC 7628 §3.2.2 error JSON, answered by the client's {@code %x01}.
     *
     * @return the exception that ended it
     */
    private AuthenticationException refusal(byte[] input) throws Exception {
        SaslGateSaslServer s = server();
        try {
            byte[] challenge;
            try {
                challenge = s.evaluateResponse(input);
            } catch (AuthenticationException e) {
                assertTrue(s.isComplete());
                return e;
            } catch (SaslException e) {
                throw new AssertionError("an internal SaslException for a bad client message: " + e, e);
            }
            assertFalse(s.isComplete(), "a bad message was accepted");
            String json = new String(challenge, StandardCharsets.UTF_8);
            assertNotNull(Json.string(Json.parseObject(json), "status"), json);
            AuthenticationException e = assertThrows(AuthenticationException.class,
                    () -> s.evaluateResponse(new byte[] {0x01}));
            assertTrue(s.isComplete());
            return e;
        } finally {
            s.dispose();
        }
    }

    private static void assertReason(String reason, AuthenticationException e) {
        assertTrue(e.getMessage().startsWith("saslgate: authentication failed: " + reason), e.getMessage());
    }

    @Test
    void aNullResponseIsRefusedAsMalformed() throws Exception {
        assertReason("malformed_message", refusal(null));
        long session = Native.serverCreate(coreHandle(), "zookeeper", "localhost");
        try {
            NullPointerException e = assertThrows(NullPointerException.class, () -> Native.serverStep(session, null));
            assertEquals("response is null", e.getMessage());
        } finally {
            Native.serverDispose(session);
        }
    }

    @Test
    void anEmptyResponseIsRefusedAsMalformed() throws Exception {
        AuthenticationException e = refusal(new byte[0]);
        assertReason("malformed_message", e);
    }

    @Test
    void aOneMebibyteResponseIsRefusedWithoutParsingIt() throws Exception {
        byte[] huge = new byte[1 << 20];
        Arrays.fill(huge, (byte) 'A');
        assertReason("malformed_message", refusal(huge));
        byte[] prefix = "n,,\u0001auth=Bearer ".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(prefix, 0, huge, 0, prefix.length);
        huge[huge.length - 2] = 1;
        huge[huge.length - 1] = 1;
        AuthenticationException e = refusal(huge);
        assertReason("malformed_message", e);
        assertTrue(e.getMessage().contains("exceeds the limit"), e.getMessage());
    }

    @Test
    void randomResponsesAreRefusedCleanly() throws Exception {
        Random random = new Random(7628);
        byte[] prefix = "n,,\u0001".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 2000; i++) {
            byte[] input = new byte[random.nextInt(600)];
            random.nextBytes(input);
            if (i % 2 == 1 && input.length >= prefix.length) {
                System.arraycopy(prefix, 0, input, 0, prefix.length); // get past the GS2 header
            }
            AuthenticationException e = refusal(input);
            assertTrue(e.getMessage().startsWith("saslgate: authentication failed: "), e.getMessage());
        }
    }

    @Test
    void evaluatingAfterDisposeIsIllegalState() throws Exception {
        SaslGateSaslServer s = server();
        s.dispose();
        assertThrows(IllegalStateException.class, () -> s.evaluateResponse(accepted));
        long session = Native.serverCreate(coreHandle(), "zookeeper", "localhost");
        Native.serverDispose(session);
        Native.serverDispose(session); // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Native.serverStep(session, accepted));
        assertEquals("saslgate: unknown or disposed server session handle", e.getMessage());
        assertThrows(IllegalStateException.class, () -> Native.serverState(session));
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void sixteenThreadsRunFiveHundredExchangesEachWithCorrectResults() throws Exception {
        int threads = 16;
        int perThread = 500;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long t0 = System.nanoTime();
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < perThread; i++) {
                        if ((i + id) % 2 == 0) {
                            SaslGateSaslServer s = server();
                            assertArrayEquals(new byte[0], s.evaluateResponse(accepted));
                            assertTrue(s.isComplete());
                            assertEquals("zk-client", s.getAuthorizationID());
                            s.dispose();
                        } else {
                            assertReason("insufficient_scope", refusal(refused));
                        }
                        ok++;
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get(240, TimeUnit.SECONDS);
            }
            assertEquals(threads * perThread, total);
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        }
        System.out.printf("JniBadInputTest: %d x %d concurrent exchanges in %d ms%n", threads, perThread,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private long coreHandle() {
        // A core of its own for the raw-native checks, released with the JVM's other handles.
        synchronized (this) {
            if (rawCore == 0) {
                rawCore = Native.coreLoad(config.toString());
            }
            return rawCore;
        }
    }

    private long rawCore;

    /** The resident set size of this process in KiB ({@code VmRSS} of {@code /proc/self/status}). */
    static long rssKib() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void aHundredThousandSessionsLeaveNoHandleAndNoGrowth() throws Exception {
        long core = Native.coreLoad(config.toString());
        long[] before = JniSupport.liveHandles();
        long t0 = System.nanoTime();
        long rssAt10k = 0;
        for (int i = 1; i <= 100_000; i++) {
            long session = Native.serverCreate(core, "zookeeper", "localhost");
            if (i % 10 == 0) {
                // Every tenth session runs a step too (validation cache hit after the first).
                assertArrayEquals(new byte[0], Native.serverStep(session, accepted));
                assertEquals(1, Native.serverState(session));
            }
            Native.serverDispose(session);
            if (i == 10_000) {
                System.gc();
                rssAt10k = rssKib();
            }
        }
        System.gc();
        long rssAt100k = rssKib();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        long[] after = JniSupport.liveHandles();
        Native.coreRelease(core);
        long[] released = JniSupport.liveHandles();
        System.out.printf("JniBadInputTest: 100000 sessions (10000 steps) in %d ms; VmRSS %d KiB at 10k, %d KiB at 100k"
                + " (growth %d KiB, bound %d KiB); live handles before %s, after %s, core released %s%n", ms,
                rssAt10k, rssAt100k, rssAt100k - rssAt10k, RSS_GROWTH_BOUND_KIB, Arrays.toString(before),
                Arrays.toString(after), Arrays.toString(released));
        assertEquals(before[1], after[1], "server sessions left behind");
        assertEquals(before[0] - 1, released[0], "the core handle was released");
        assertTrue(rssAt100k - rssAt10k < RSS_GROWTH_BOUND_KIB,
                "RSS grew by " + (rssAt100k - rssAt10k) + " KiB between 10k and 100k sessions");
    }

    @Test
    void aRustPanicIsAnIllegalStateExceptionAndTheJvmGoesOn() throws Exception {
        for (int i = 0; i < 3; i++) {
            IllegalStateException e = assertThrows(IllegalStateException.class, Native::testingPanic);
            assertEquals("saslgate internal error", e.getMessage());
        }
        SaslGateSaslServer s = server();
        assertArrayEquals(new byte[0], s.evaluateResponse(accepted));
        assertEquals("zk-client", s.getAuthorizationID());
    }

    /** The fuzz inputs: the committed seeds, plus {@code tests/fuzz/corpus/*}{@code /*} when present. */
    static List<Path> fuzzInputs() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String dir : new String[] {"seeds", "corpus"}) {
            Path root = FUZZ.resolve(dir);
            if (Files.isDirectory(root)) {
                try (Stream<Path> s = Files.walk(root, 2)) {
                    files.addAll(s.filter(Files::isRegularFile).sorted().collect(Collectors.toList()));
                }
            }
        }
        return files;
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void theFuzzSeedsReplayThroughJniWithoutACrash() throws Exception {
        List<Path> inputs = fuzzInputs();
        long seeds = inputs.stream().filter(p -> p.startsWith(FUZZ.resolve("seeds/oauthbearer_initial_response"))).count();
        assertTrue(seeds >= 20, "expected at least 20 seeds in " + FUZZ.resolve("seeds/oauthbearer_initial_response")
                + ", found " + seeds);
        int refusedCount = 0;
        for (Path p : inputs) {
            byte[] input = Files.readAllBytes(p);
            SaslGateSaslServer s = server();
            try {
                byte[] challenge = s.evaluateResponse(input);
                if (s.isComplete()) {
                    fail(p + " was accepted: the seeds carry no valid token");
                }
                String json = new String(challenge, StandardCharsets.UTF_8);
                assertNotNull(Json.string(Json.parseObject(json), "status"), p + ": " + json);
                assertThrows(AuthenticationException.class, () -> s.evaluateResponse(new byte[] {0x01}), p.toString());
                refusedCount++;
            } catch (AuthenticationException e) {
                assertTrue(e.getMessage().startsWith("saslgate: authentication failed: "), p + ": " + e.getMessage());
                refusedCount++;
            } catch (SaslException e) {
                fail(p + ": an internal SaslException for a client message: " + e.getMessage(), e);
            } finally {
                s.dispose();
            }
        }
        assertEquals(inputs.size(), refusedCount);
        System.out.printf("JniBadInputTest: replayed %d fuzz inputs (%d seeds)%n", inputs.size(), seeds);
    }

    @AfterAll
    void releaseRawCore() {
        if (rawCore != 0) {
            Native.coreRelease(rawCore);
        }
    }
}
