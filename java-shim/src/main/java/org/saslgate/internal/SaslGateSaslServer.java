package org.saslgate.internal;

import java.io.IOException;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.sasl.AuthenticationException;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import javax.security.sasl.SaslServerFactory;

/**
 * The server side of SASL OAUTHBEARER (RFC 7628 §3): every message goes to the saslgate core
 * through a {@link Backend}; Java never parses or builds the protocol bytes.
 *
 * <p>Exchange: the client's initial response is validated by the core. On success the host's
 * {@link CallbackHandler} receives an {@link AuthorizeCallback} (authentication id = the mapped
 * identity, authorization id = the same), so ZooKeeper's and Hadoop's authorisation hooks keep
 * working; a refusal ends the exchange with {@link AuthenticationException}. On a rejected token
 * the core's RFC 7628 §3.2.2 error JSON is returned as the challenge, and the client's
 * {@code %x01} then ends the exchange with {@link AuthenticationException} whose message is the
 * reason name and message (safe to show the client; never the token). A success also records
 * the identity's groups until the token's expiry in {@link GroupRegistry#shared()} (read by
 * Hadoop through {@link org.saslgate.SaslGateGroupsMapping}).
 *
 * <p>Exceptions (after Kafka's {@code OAuthBearerSaslServer}): rejections →
 * {@link AuthenticationException}; internal failures → plain {@link SaslException};
 * misuse (asking for results before completion, {@code wrap}/{@code unwrap}: there is no
 * security layer) → {@link IllegalStateException}. Not thread-safe (one exchange, one thread).
 */
public final class SaslGateSaslServer implements SaslServer {
    /** The mechanism name, RFC 7628 §3. */
    public static final String MECHANISM = "OAUTHBEARER";

    private final Backend backend;
    private final String protocol;
    private final String serverName;
    private final CallbackHandler callbackHandler;
    private Backend.ServerSession session;
    private boolean complete;
    private boolean disposed;
    private String authorizationId;

    /**
     * @param backend the core, never null
     * @param protocol the SASL protocol (the configured service name, e.g. {@code zookeeper}), never null
     * @param serverName the server's host name, never null
     * @param callbackHandler the host's handler for {@link AuthorizeCallback}, or null to accept the core's decision
     */
    public SaslGateSaslServer(Backend backend, String protocol, String serverName, CallbackHandler callbackHandler) {
        this.backend = backend;
        this.protocol = protocol;
        this.serverName = serverName == null ? "" : serverName;
        this.callbackHandler = callbackHandler;
    }

    @Override
    public String getMechanismName() {
        return MECHANISM;
    }

    /**
     * @param response the client's message (null is refused as a malformed message)
     * @return the challenge: empty after success, the RFC 7628 error JSON after a rejection
     * @throws AuthenticationException the exchange ended in failure (token rejected, a null
     *     response, or the host's {@code AuthorizeCallback} refused)
     * @throws SaslException internal failure (core or daemon unreachable)
     * @throws IllegalStateException after completion or {@link #dispose()}
     */
    @Override
    public byte[] evaluateResponse(byte[] response) throws SaslException {
        if (complete || disposed) {
            throw new IllegalStateException("saslgate: the OAUTHBEARER exchange is already complete");
        }
        if (response == null) {
            // Bad client input, not a host bug: ZooKeeper's jute decodes a length of -1 as null.
            complete = true;
            release();
            throw new AuthenticationException("saslgate: authentication failed: malformed_message: the client's response is null");
        }
        try {
            if (session == null) {
                session = backend.serverCreate(protocol, serverName);
            }
            byte[] challenge = session.step(response);
            int state = session.state();
            if (state == Backend.RUNNING) {
                return challenge;
            }
            complete = true;
            if (state == Backend.SUCCESS) {
                String id = session.authorizationId();
                String[] groups = session.groups();
                long expiresAtSecs = session.expiresAtSecs();
                release();
                authorizationId = authorize(id);
                GroupRegistry.shared().record(authorizationId, groups, expiresAtSecs);
                return challenge;
            }
            String reason = session.failureReason();
            String message = session.failureMessage();
            release();
            throw new AuthenticationException("saslgate: authentication failed: " + reason
                    + (message == null ? "" : ": " + message));
        } catch (IllegalArgumentException e) {
            complete = true;
            release();
            throw new SaslException("saslgate: authentication could not be performed: " + e.getMessage(), e);
        } catch (SaslException e) {
            complete = true;
            release();
            throw e;
        }
    }

    private String authorize(String id) throws AuthenticationException {
        if (callbackHandler == null) {
            return id;
        }
        AuthorizeCallback cb = new AuthorizeCallback(id, id);
        try {
            callbackHandler.handle(new Callback[] {cb});
        } catch (UnsupportedCallbackException e) {
            // Fail closed (DESIGN §9): a host that cannot authorise must not let everyone in.
            throw new AuthenticationException("saslgate: the host's CallbackHandler does not handle AuthorizeCallback", e);
        } catch (IOException e) {
            throw new AuthenticationException("saslgate: the host's AuthorizeCallback failed: " + e.getMessage(), e);
        }
        if (!cb.isAuthorized()) {
            throw new AuthenticationException("saslgate: " + id + " is not authorized by the host");
        }
        return cb.getAuthorizedID() != null ? cb.getAuthorizedID() : id;
    }

    @Override
    public boolean isComplete() {
        return complete;
    }

    /**
     * @return the mapped authorization identity (as confirmed by the host's {@code AuthorizeCallback}), never null
     * @throws IllegalStateException before a successful completion
     */
    @Override
    public String getAuthorizationID() {
        if (!complete || authorizationId == null) {
            throw new IllegalStateException("saslgate: the OAUTHBEARER exchange has not succeeded");
        }
        return authorizationId;
    }

    /** @throws IllegalStateException always: OAUTHBEARER has no security layer (RFC 7628 §3) */
    @Override
    public byte[] unwrap(byte[] incoming, int offset, int len) {
        throw new IllegalStateException("saslgate: OAUTHBEARER has no security layer");
    }

    /** @throws IllegalStateException always: OAUTHBEARER has no security layer (RFC 7628 §3) */
    @Override
    public byte[] wrap(byte[] outgoing, int offset, int len) {
        throw new IllegalStateException("saslgate: OAUTHBEARER has no security layer");
    }

    /**
     * @param propName a property name
     * @return {@code "auth"} for {@link Sasl#QOP} (no integrity or privacy), else null
     * @throws IllegalStateException before completion
     */
    @Override
    public Object getNegotiatedProperty(String propName) {
        if (!complete) {
            throw new IllegalStateException("saslgate: the OAUTHBEARER exchange is not complete");
        }
        return Sasl.QOP.equals(propName) ? "auth" : null;
    }

    /** Releases the core's or daemon's session (idempotent). */
    @Override
    public void dispose() {
        disposed = true;
        release();
    }

    private void release() {
        if (session != null) {
            session.close();
        }
    }

    /**
     * The factory registered by {@link org.saslgate.SaslGateProvider}. The backend comes from
     * the {@code saslgate.*} SASL properties, else the system properties, else the last
     * committed {@link org.saslgate.SaslGateLoginModule} (see {@link org.saslgate.SaslGateOptions}).
     * Policy: see {@link Policy}.
     */
    public static final class Factory implements SaslServerFactory {
        /** Public no-argument constructor for {@code java.security.Provider}. */
        public Factory() {}

        /**
         * @return a server, or null when the mechanism is not OAUTHBEARER or the policy excludes it
         * @throws SaslException when the backend options are invalid or the backend cannot be created
         */
        @Override
        public SaslServer createSaslServer(String mechanism, String protocol, String serverName, Map<String, ?> props,
                CallbackHandler cbh) throws SaslException {
            if (!MECHANISM.equals(mechanism) || !Policy.allows(props)) {
                return null;
            }
            try {
                return new SaslGateSaslServer(Backends.obtain(Backends.forSasl(props)), protocol, serverName, cbh);
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                throw new SaslException("saslgate: cannot create the OAUTHBEARER server: " + e.getMessage(), e);
            }
        }

        @Override
        public String[] getMechanismNames(Map<String, ?> props) {
            return Policy.allows(props) ? new String[] {MECHANISM} : new String[0];
        }
    }
}
