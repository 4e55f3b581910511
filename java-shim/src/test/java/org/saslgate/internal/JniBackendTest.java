package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.saslgate.SaslGateOptions;

/**
 * The backend contract ({@link BackendContractTest}, and with it {@link KafkaInteropTest}) over
 * the in-process core, {@link JniBackend}. The core loads the daemon's own development
 * configuration ({@code configs/dev.toml} rendered with the running {@code saslgate dev
 * --serve-only}'s issuer URL and secrets directory), so both backends authenticate against the
 * same development issuer and the contract asserts the same values for both. Skipped when the
 * native library is absent, unless {@code -Dsaslgate.requireJni=true}.
 */
class JniBackendTest extends BackendContractTest {
    private DaemonFixture daemon;
    private Path config;

    @Override
    void startBackend() throws Exception {
        JniSupport.assumeLibrary();
        daemon = DaemonFixture.start();
        config = JniSupport.writeDevConfig(daemon);
    }

    @Override
    void stopBackend() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Override
    Map<String, String> backendProperties() {
        return Map.of("saslgate.transport", "jni", "saslgate.config", config.toString());
    }

    @Override
    Map<String, String> jaasOptions() {
        return Map.of("transport", "jni", "config", config.toString());
    }

    private static void assertSameValidation(Backend.Validation jni, Backend.Validation sidecar, String what) {
        assertEquals(sidecar.valid, jni.valid, what + ": valid");
        assertEquals(sidecar.authorizationId, jni.authorizationId, what + ": authorization id");
        assertArrayEquals(sidecar.groups, jni.groups, what + ": groups");
        assertEquals(sidecar.reason, jni.reason, what + ": reason");
        assertEquals(sidecar.message, jni.message, what + ": message");
    }

    /** Flips one character in the middle of the signature. */
    private static byte[] tamper(byte[] token) {
        String t = new String(token, StandardCharsets.US_ASCII);
        int sig = t.lastIndexOf('.') + 1;
        int i = sig + (t.length() - sig) / 2;
        char c = t.charAt(i) == 'A' ? 'B' : 'A';
        return (t.substring(0, i) + c + t.substring(i + 1)).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void theInProcessCoreAndTheDaemonGiveIdenticalVerdictsOnTheSameTokens() throws Exception {
        Backend jni = Backends.obtain(SaslGateOptions.fromJaas(jaasOptions()));
        Backend sidecar = Backends.obtain(SaslGateOptions.fromJaas(
                Map.of("transport", "sidecar", "socket", daemon.socket.toString())));
        // Tokens from each side's own client-credentials fetch, validated by both.
        byte[][] tokens = {
            jni.tokenAcquire("zk-client").value,
            sidecar.tokenAcquire("zk-client").value,
            jni.tokenAcquire("zk-other").value,
            tamper(jni.tokenAcquire("zk-client").value),
            "not-a-jwt".getBytes(StandardCharsets.US_ASCII),
            Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[300]).getBytes(StandardCharsets.US_ASCII),
        };
        String[] expectedReason = {null, null, "insufficient_scope", "bad_signature", null, null};
        for (int i = 0; i < tokens.length; i++) {
            Backend.Validation a = jni.validate("zookeeper", tokens[i]);
            Backend.Validation b = sidecar.validate("zookeeper", tokens[i]);
            assertSameValidation(a, b, "token #" + i);
            if (i < 2) {
                assertTrue(a.valid, "token #" + i + " is accepted");
                assertEquals("zk-client", a.authorizationId);
                assertArrayEquals(new String[] {"zk-writer"}, a.groups);
            } else {
                assertFalse(a.valid, "token #" + i + " is refused");
                if (expectedReason[i] != null) {
                    assertEquals(expectedReason[i], a.reason);
                }
            }
        }
    }
}
