package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.sasl.AuthenticationException;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.auth.SaslExtensions;
import org.apache.kafka.common.security.auth.SaslExtensionsCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerExtensionsValidatorCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback;
import org.apache.kafka.common.security.oauthbearer.internals.OAuthBearerSaslClient;
import org.apache.kafka.common.security.oauthbearer.internals.OAuthBearerSaslServer;
import org.junit.jupiter.api.Test;

/**
 * Interoperability with an independent RFC 7628 implementation: Apache Kafka's own OAUTHBEARER
 * {@link OAuthBearerSaslClient} and {@link OAuthBearerSaslServer} (kafka-clients, test scope),
 * against saslgate's server and client. Mixed into {@link BackendContractTest}, so it runs once
 * per backend, on the dev configuration ({@code zk-client} accepted by service {@code zookeeper},
 * {@code zk-other} refused with {@code insufficient_scope}).
 *
 * <p>Differences found, all deliberate (see the package documentation of
 * {@code org.saslgate.internal}):
 * <ul>
 *   <li>Kafka's server treats every kvpair other than {@code auth} as a SASL extension,
 *       including RFC 7628's {@code host} (which saslgate's client sends): it hands it to the
 *       {@link OAuthBearerExtensionsValidatorCallback} and ignores it unless validated, so the
 *       exchange succeeds.</li>
 *   <li>saslgate's server refuses an extension its service does not list in
 *       {@code allowed_extensions} ({@code unknown_extension}), where Kafka's server ignores
 *       unvalidated extensions.</li>
 * </ul>
 */
interface KafkaInteropTest {
    /** @return the backend under test (token acquisition, validation) */
    Backend interopBackend();

    /** @return saslgate's OAUTHBEARER server for service {@code zookeeper}, from {@code Sasl.createSaslServer} */
    SaslServer saslgateServer() throws SaslException;

    /** @return saslgate's OAUTHBEARER client for the identity, from {@code Sasl.createSaslClient} */
    SaslClient saslgateClient(String identity) throws SaslException;

    /** An {@link OAuthBearerToken} carrying a real token; only {@code value()} matters to Kafka's client. */
    final class Token implements OAuthBearerToken {
        final String value;
        final String principalName;
        final long lifetimeMs;

        Token(String value, String principalName, long lifetimeMs) {
            this.value = value;
            this.principalName = principalName;
            this.lifetimeMs = lifetimeMs;
        }

        @Override
        public String value() {
            return value;
        }

        @Override
        public Set<String> scope() {
            return Set.of();
        }

        @Override
        public long lifetimeMs() {
            return lifetimeMs;
        }

        @Override
        public String principalName() {
            return principalName;
        }

        @Override
        public Long startTimeMs() {
            return null;
        }
    }

    /** Base of the two Kafka callback handlers (Kafka requires {@link AuthenticateCallbackHandler}). */
    abstract class Handler implements AuthenticateCallbackHandler {
        @Override
        public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaas) {}

        @Override
        public void close() {}
    }

    /** Kafka's client side: supplies the token and, when given, SASL extensions. */
    final class TokenSupplier extends Handler {
        final OAuthBearerToken token;
        final Map<String, String> extensions;

        TokenSupplier(OAuthBearerToken token, Map<String, String> extensions) {
            this.token = token;
            this.extensions = extensions;
        }

        @Override
        public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
            for (Callback c : callbacks) {
                if (c instanceof OAuthBearerTokenCallback) {
                    ((OAuthBearerTokenCallback) c).token(token);
                } else if (c instanceof SaslExtensionsCallback) {
                    ((SaslExtensionsCallback) c).extensions(new SaslExtensions(extensions));
                } else {
                    throw new UnsupportedCallbackException(c);
                }
            }
        }
    }

    /**
     * Kafka's server side: validates the token with saslgate ({@link Backend#validate}, service
     * {@code zookeeper}) and reports saslgate's authorization identity as the principal, or
     * saslgate's reason as the RFC 7628 status. Records the extensions Kafka parsed.
     */
    final class SaslGateValidator extends Handler {
        final Backend backend;
        final List<Map<String, String>> extensionsSeen = new ArrayList<>();
        Backend.Validation last;

        SaslGateValidator(Backend backend) {
            this.backend = backend;
        }

        @Override
        public void handle(Callback[] callbacks) throws IOException, UnsupportedCallbackException {
            for (Callback c : callbacks) {
                if (c instanceof OAuthBearerValidatorCallback) {
                    OAuthBearerValidatorCallback v = (OAuthBearerValidatorCallback) c;
                    Backend.Validation r = backend.validate("zookeeper", v.tokenValue().getBytes(StandardCharsets.UTF_8));
                    last = r;
                    if (r.valid) {
                        v.token(new Token(v.tokenValue(), r.authorizationId, expiryMillis(v.tokenValue())));
                    } else {
                        v.error(r.reason, null, null);
                    }
                } else if (c instanceof OAuthBearerExtensionsValidatorCallback) {
                    // Validate none: Kafka then ignores them (OAuthBearerSaslServer.processExtensions).
                    extensionsSeen.add(((OAuthBearerExtensionsValidatorCallback) c).inputExtensions().map());
                } else {
                    throw new UnsupportedCallbackException(c);
                }
            }
        }
    }

    /**
     * The {@code exp} claim of an already validated JWT, in milliseconds, for Kafka's
     * {@code lifetimeMs()} (only read, never trusted: saslgate validated the token).
     */
    static long expiryMillis(String jwt) throws IOException {
        String[] parts = jwt.split("\\.");
        if (parts.length != 3) {
            throw new IOException("not a compact JWT");
        }
        try {
            Map<String, Object> claims = Json.parseObject(
                    new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
            return ((Number) claims.get("exp")).longValue() * 1000;
        } catch (Json.JsonException | RuntimeException e) {
            throw new IOException("no numeric exp claim", e);
        }
    }

    private Token tokenFor(String identity) throws Exception {
        Backend.Token t = interopBackend().tokenAcquire(identity);
        return new Token(new String(t.value, StandardCharsets.UTF_8), identity, t.expiresAtSecs * 1000);
    }

    private static OAuthBearerSaslClient kafkaClient(OAuthBearerToken token, Map<String, String> extensions) {
        return new OAuthBearerSaslClient(new TokenSupplier(token, extensions));
    }

    @Test
    default void kafkaClientAuthenticatesToSaslgateServer() throws Exception {
        SaslServer server = saslgateServer();
        assertInstanceOf(SaslGateSaslServer.class, server);
        OAuthBearerSaslClient client = kafkaClient(tokenFor("zk-client"), Map.of());
        assertTrue(client.hasInitialResponse());
        byte[] initial = client.evaluateChallenge(new byte[0]);
        assertTrue(new String(initial, StandardCharsets.UTF_8).startsWith("n,,\u0001auth=Bearer "),
                "Kafka sends no authzid and no host/port");
        byte[] challenge = server.evaluateResponse(initial);
        assertTrue(server.isComplete());
        assertArrayEquals(new byte[0], challenge);
        assertNull(client.evaluateChallenge(challenge));
        assertTrue(client.isComplete());
        assertEquals("zk-client", server.getAuthorizationID());
        server.dispose();
    }

    @Test
    default void saslgateServerRefusesKafkaClientWithInsufficientScope() throws Exception {
        SaslServer server = saslgateServer();
        OAuthBearerSaslClient client = kafkaClient(tokenFor("zk-other"), Map.of());
        byte[] errorChallenge = server.evaluateResponse(client.evaluateChallenge(new byte[0]));
        assertFalse(server.isComplete());
        Map<String, Object> error = Json.parseObject(new String(errorChallenge, StandardCharsets.UTF_8));
        assertEquals("insufficient_scope", Json.string(error, "status"));
        assertEquals("zookeeper", Json.string(error, "scope"));
        byte[] abort = client.evaluateChallenge(errorChallenge);
        assertArrayEquals(new byte[] {0x01}, abort, "Kafka's client answers the error JSON with %x01");
        AuthenticationException e = assertThrows(AuthenticationException.class, () -> server.evaluateResponse(abort));
        assertTrue(e.getMessage().contains("insufficient_scope"), e.getMessage());
        assertTrue(server.isComplete());
        assertThrows(IllegalStateException.class, server::getAuthorizationID);
    }

    /** Deliberate strictness: an extension the service does not allow fails the exchange. */
    @Test
    default void saslgateServerRefusesAKafkaExtensionTheServiceDoesNotAllow() throws Exception {
        SaslServer server = saslgateServer();
        OAuthBearerSaslClient client = kafkaClient(tokenFor("zk-client"), Map.of("traceid", "abc"));
        byte[] initial = client.evaluateChallenge(new byte[0]);
        assertTrue(new String(initial, StandardCharsets.UTF_8).contains("\u0001traceid=abc\u0001"));
        byte[] errorChallenge = server.evaluateResponse(initial);
        assertFalse(server.isComplete());
        assertEquals("invalid_request",
                Json.string(Json.parseObject(new String(errorChallenge, StandardCharsets.UTF_8)), "status"));
        byte[] abort = client.evaluateChallenge(errorChallenge);
        AuthenticationException e = assertThrows(AuthenticationException.class, () -> server.evaluateResponse(abort));
        assertTrue(e.getMessage().contains("unknown_extension"), e.getMessage());
    }

    @Test
    default void saslgateClientAuthenticatesToKafkaServer() throws Exception {
        SaslGateValidator validator = new SaslGateValidator(interopBackend());
        OAuthBearerSaslServer server = new OAuthBearerSaslServer(validator);
        SaslClient client = saslgateClient("zk-client");
        assertInstanceOf(SaslGateSaslClient.class, client);
        byte[] initial = client.evaluateChallenge(new byte[0]);
        assertTrue(new String(initial, StandardCharsets.UTF_8).startsWith("n,,\u0001"),
                "no authzid in the GS2 header, so Kafka's authzid = principal check does not apply");
        byte[] challenge = server.evaluateResponse(initial);
        assertTrue(server.isComplete());
        assertArrayEquals(new byte[0], challenge);
        assertNull(client.evaluateChallenge(challenge));
        assertTrue(client.isComplete());
        assertEquals("zk-client", server.getAuthorizationID());
        assertTrue(validator.last.valid);
        // RFC 7628 host is an extension to Kafka; unvalidated, hence ignored (not negotiated).
        assertEquals(List.of(Map.of("host", "localhost")), validator.extensionsSeen);
        assertNull(server.getNegotiatedProperty("host"));
        long lifetimeMs = (Long) server.getNegotiatedProperty("CREDENTIAL.LIFETIME.MS");
        assertTrue(lifetimeMs > System.currentTimeMillis(), "the token's exp is in the future");
        server.dispose();
    }

    @Test
    default void kafkaServerRefusesSaslgateClientWhichAnswersWithControlA() throws Exception {
        SaslGateValidator validator = new SaslGateValidator(interopBackend());
        OAuthBearerSaslServer server = new OAuthBearerSaslServer(validator);
        SaslClient client = saslgateClient("zk-other");
        byte[] errorChallenge = server.evaluateResponse(client.evaluateChallenge(new byte[0]));
        assertFalse(server.isComplete());
        assertEquals("{\"status\":\"insufficient_scope\"}", new String(errorChallenge, StandardCharsets.UTF_8));
        assertEquals("insufficient_scope", validator.last.reason);
        byte[] abort = client.evaluateChallenge(errorChallenge);
        assertArrayEquals(new byte[] {0x01}, abort);
        SaslAuthenticationException k = assertThrows(SaslAuthenticationException.class,
                () -> server.evaluateResponse(abort));
        assertTrue(k.getMessage().contains("insufficient_scope"), k.getMessage());
        // The host reports the failure; the next step of saslgate's client then fails.
        AuthenticationException e = assertThrows(AuthenticationException.class,
                () -> client.evaluateChallenge(new byte[0]));
        assertTrue(e.getMessage().contains("insufficient_scope"), e.getMessage());
        assertTrue(client.isComplete());
    }
}
