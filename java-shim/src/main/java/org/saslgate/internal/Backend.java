package org.saslgate.internal;

import javax.security.auth.login.LoginException;
import javax.security.sasl.SaslException;

/**
 * What the SASL mechanism and the login module need from the saslgate core: the JNI bridge
 * ({@link JniBackend}, in-process) or the daemon ({@link SidecarBackend}, DESIGN §6). All
 * protocol bytes (RFC 7628 initial responses and error challenges) are built by the core, never
 * in Java.
 *
 * <p>Implementations are thread-safe; a {@link ServerSession} is used by one thread at a time.
 * Exceptions: internal failures (core or daemon unreachable, IdP unreachable) are
 * {@link SaslException}s whose message starts with
 * {@code "saslgate: authentication could not be performed: "}; misuse is
 * {@link IllegalStateException}; an unknown service is {@link IllegalArgumentException}.
 */
public interface Backend extends AutoCloseable {
    /** {@link ServerSession#state()}: more input expected. */
    int RUNNING = 0;
    /** {@link ServerSession#state()}: authenticated. */
    int SUCCESS = 1;
    /** {@link ServerSession#state()}: refused. */
    int FAILURE = 2;

    /**
     * Starts an OAUTHBEARER server session.
     *
     * @param service the SASL protocol name, a configured {@code [[services]] name}, never null
     * @param serverName the server's fully qualified host name, never null
     * @return the session, never null
     * @throws SaslException internal failure
     * @throws IllegalArgumentException if the service is not configured
     */
    ServerSession serverCreate(String service, String serverName) throws SaslException;

    /**
     * Builds the OAUTHBEARER initial client response (RFC 7628 §3.1).
     *
     * @param identity the configured identity ({@code [[identities]] name}) whose token to send,
     *     or null when {@code token} is given and the backend can use it directly (JNI)
     * @param token the bearer token bytes (without {@code Bearer }), or null to use the
     *     identity's current token
     * @param authzid the requested authorization identity, or null
     * @param host the server host name, or null
     * @param port the server port, or a negative value when absent
     * @return the message bytes, never null
     * @throws SaslException if it cannot be built (no token, a field cannot be sent, internal)
     */
    byte[] clientInitialResponse(String identity, byte[] token, String authzid, String host, int port)
            throws SaslException;

    /**
     * Interprets a server challenge received after the initial response (RFC 7628 §3.2.2).
     *
     * @param challenge the server's message, never null
     * @return null when the exchange succeeded (empty challenge), else the client's reply to an
     *     error challenge (the single byte {@code 0x01})
     * @throws SaslException malformed challenge
     */
    byte[] clientEvaluateChallenge(byte[] challenge) throws SaslException;

    /**
     * This node's current token for a configured identity.
     *
     * @param identity {@code [[identities]] name}, never null
     * @return the token and its expiry, never null
     * @throws LoginException if the token cannot be obtained
     */
    Token tokenAcquire(String identity) throws LoginException;

    /**
     * Validates a bearer token against a service's policy.
     *
     * @param service the service name, never null
     * @param token the token bytes, never null
     * @return the outcome, never null
     * @throws SaslException internal failure
     * @throws IllegalArgumentException unknown service
     */
    Validation validate(String service, byte[] token) throws SaslException;

    /** Releases the backend's resources (idempotent). */
    @Override
    void close();

    /** One server-side OAUTHBEARER exchange. */
    interface ServerSession extends AutoCloseable {
        /**
         * Feeds the client's message.
         *
         * @param response the client's message, never null
         * @return the challenge: empty after success, the RFC 7628 error JSON after a rejection,
         *     empty after the client's {@code %x01}; never null
         * @throws SaslException internal failure
         * @throws IllegalStateException after completion
         */
        byte[] step(byte[] response) throws SaslException;

        /** @return {@link #RUNNING}, {@link #SUCCESS} or {@link #FAILURE} */
        int state();

        /** @return the mapped authorization identity after success, else null */
        String authorizationId();

        /** @return the mapped principal's groups after success, else null */
        String[] groups();

        /** @return the token's expiry in Unix seconds after success, else -1 */
        long expiresAtSecs();

        /** @return the rejection reason name (e.g. {@code insufficient_scope}) after failure, else null */
        String failureReason();

        /** @return the rejection's human message after failure, or null */
        String failureMessage();

        /** Releases the session (idempotent). */
        @Override
        void close();
    }

    /** A bearer token and its expiry. */
    final class Token {
        /** The token bytes (UTF-8 of the compact token), never null. */
        public final byte[] value;
        /** Expiry in Unix seconds, or -1 when unknown. */
        public final long expiresAtSecs;

        /**
         * @param value the token bytes, never null
         * @param expiresAtSecs expiry in Unix seconds, or -1
         */
        public Token(byte[] value, long expiresAtSecs) {
            this.value = value;
            this.expiresAtSecs = expiresAtSecs;
        }
    }

    /** The outcome of {@link #validate}. */
    final class Validation {
        /** True when the token is accepted. */
        public final boolean valid;
        /** The authorization identity when valid, else null. */
        public final String authorizationId;
        /** The groups when valid (possibly empty), else null. */
        public final String[] groups;
        /** The rejection reason name when invalid, else null. */
        public final String reason;
        /** The rejection's message when invalid, else null. */
        public final String message;

        Validation(boolean valid, String authorizationId, String[] groups, String reason, String message) {
            this.valid = valid;
            this.authorizationId = authorizationId;
            this.groups = groups;
            this.reason = reason;
            this.message = message;
        }
    }
}
