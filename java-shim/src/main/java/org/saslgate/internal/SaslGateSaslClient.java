package org.saslgate.internal;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.security.AccessController;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.callback.CallbackHandler;
import javax.security.sasl.AuthenticationException;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslClientFactory;
import javax.security.sasl.SaslException;
import org.saslgate.SaslGateOptions;
import org.saslgate.SaslGateTokenCredential;

/**
 * The client side of SASL OAUTHBEARER (RFC 7628 §3). The token is the
 * {@link SaslGateTokenCredential} in the current {@link Subject}'s private credentials (put there
 * by {@link org.saslgate.SaslGateLoginModule}), else the configured identity's token fetched by
 * the backend on demand ({@code saslgate.identity} SASL or system property). The initial response
 * is built by the core ({@link Backend#clientInitialResponse}).
 *
 * <p>States (RFC 7628 §3.2): initial response sent → an empty server message completes the
 * exchange ({@code evaluateChallenge} returns null); an error challenge is answered with
 * {@code %x01} (built by the backend), and the next {@code evaluateChallenge} throws
 * {@link AuthenticationException} naming the server's status. {@code wrap}/{@code unwrap}
 * throw {@link IllegalStateException} (no security layer). Not thread-safe.
 */
public final class SaslGateSaslClient implements SaslClient {
    private enum State { INITIAL, SENT, ERROR_RECEIVED, COMPLETE, FAILED }

    private final Backend backend;
    private final String identity;
    private final SaslGateTokenCredential credential;
    private final String authzid;
    private final String serverName;
    private State state = State.INITIAL;
    private String serverStatus;

    /**
     * @param backend the core, never null
     * @param identity the identity whose token to fetch when there is no credential, or null
     * @param credential the token credential, or null
     * @param authzid the requested authorization identity, or null
     * @param serverName the server host name (sent as {@code host}), or null
     */
    public SaslGateSaslClient(Backend backend, String identity, SaslGateTokenCredential credential, String authzid,
            String serverName) {
        this.backend = backend;
        this.identity = identity;
        this.credential = credential;
        this.authzid = authzid == null || authzid.isEmpty() ? null : authzid;
        this.serverName = serverName;
    }

    @Override
    public String getMechanismName() {
        return SaslGateSaslServer.MECHANISM;
    }

    /** @return true: OAUTHBEARER starts with the client's message */
    @Override
    public boolean hasInitialResponse() {
        return true;
    }

    /**
     * @param challenge the server's message (empty for the initial response), never null
     * @return the initial response, {@code %x01} after an error challenge, or null on success
     * @throws AuthenticationException after the server's error challenge
     * @throws SaslException no token, malformed challenge, internal failure
     * @throws IllegalStateException after completion
     */
    @Override
    public byte[] evaluateChallenge(byte[] challenge) throws SaslException {
        byte[] c = challenge == null ? new byte[0] : challenge;
        switch (state) {
            case INITIAL: {
                if (c.length != 0) {
                    state = State.FAILED;
                    throw new SaslException("saslgate: unexpected server challenge before the initial response");
                }
                byte[] token = null;
                String id = identity;
                if (credential != null) {
                    token = credential.tokenBytes();
                    id = credential.identity();
                }
                try {
                    byte[] r = backend.clientInitialResponse(id, token, authzid, serverName, -1);
                    state = State.SENT;
                    return r;
                } catch (SaslException | RuntimeException e) {
                    state = State.FAILED;
                    throw e;
                }
            }
            case SENT: {
                byte[] reply;
                try {
                    reply = backend.clientEvaluateChallenge(c);
                } catch (SaslException | RuntimeException e) {
                    state = State.FAILED;
                    throw e;
                }
                if (reply == null) {
                    state = State.COMPLETE;
                    return null;
                }
                serverStatus = statusOf(c);
                state = State.ERROR_RECEIVED;
                return reply;
            }
            case ERROR_RECEIVED:
                state = State.FAILED;
                throw new AuthenticationException("saslgate: the server refused the token (status "
                        + serverStatus + ", RFC 7628 §3.2.2)");
            default:
                throw new IllegalStateException("saslgate: the OAUTHBEARER exchange is already complete");
        }
    }

    private static String statusOf(byte[] errorJson) {
        try {
            return Json.string(Json.parseObject(new String(errorJson, StandardCharsets.UTF_8)), "status");
        } catch (Json.JsonException e) {
            return "unknown";
        }
    }

    /** @return true after success or failure */
    @Override
    public boolean isComplete() {
        return state == State.COMPLETE || state == State.FAILED;
    }

    /** @throws IllegalStateException always: OAUTHBEARER has no security layer */
    @Override
    public byte[] unwrap(byte[] incoming, int offset, int len) {
        throw new IllegalStateException("saslgate: OAUTHBEARER has no security layer");
    }

    /** @throws IllegalStateException always: OAUTHBEARER has no security layer */
    @Override
    public byte[] wrap(byte[] outgoing, int offset, int len) {
        throw new IllegalStateException("saslgate: OAUTHBEARER has no security layer");
    }

    /**
     * @return {@code "auth"} for {@code javax.security.sasl.qop}, else null
     * @throws IllegalStateException before completion
     */
    @Override
    public Object getNegotiatedProperty(String propName) {
        if (state != State.COMPLETE) {
            throw new IllegalStateException("saslgate: the OAUTHBEARER exchange is not complete");
        }
        return javax.security.sasl.Sasl.QOP.equals(propName) ? "auth" : null;
    }

    /** Nothing to release: the client side holds no native or daemon state. */
    @Override
    public void dispose() {}

    /**
     * The current Subject: {@code Subject.current()} where the JVM has it (Java 18+; the only
     * way on Java 23+), else {@code Subject.getSubject(AccessController.getContext())}, the
     * standard on Java 11 hosts (ZooKeeper, Hadoop run clients inside {@code Subject.doAs}).
     *
     * @return the Subject, or null
     */
    @SuppressWarnings({"removal", "deprecation"}) // getSubject/AccessController: deprecated in newer JDKs, the Java 11 standard
    static Subject currentSubject() {
        try {
            Method current = Subject.class.getMethod("current");
            return (Subject) current.invoke(null);
        } catch (NoSuchMethodException e) {
            return Subject.getSubject(AccessController.getContext());
        } catch (IllegalAccessException | InvocationTargetException e) {
            return null;
        }
    }

    /**
     * The factory registered by {@link org.saslgate.SaslGateProvider}. Token source: the current
     * Subject's {@link SaslGateTokenCredential} (and the backend of the login that made it), else
     * {@code saslgate.identity} with the backend of the {@code saslgate.*} properties.
     * Policy: see {@link Policy}.
     */
    public static final class Factory implements SaslClientFactory {
        /** Public no-argument constructor for {@code java.security.Provider}. */
        public Factory() {}

        /**
         * @return a client, or null when OAUTHBEARER is not among the mechanisms or the policy excludes it
         * @throws SaslException when neither a credential nor an identity is available, or the backend cannot be created
         */
        @Override
        public SaslClient createSaslClient(String[] mechanisms, String authorizationId, String protocol,
                String serverName, Map<String, ?> props, CallbackHandler cbh) throws SaslException {
            boolean wanted = false;
            for (String m : mechanisms) {
                wanted |= SaslGateSaslServer.MECHANISM.equals(m);
            }
            if (!wanted || !Policy.allows(props)) {
                return null;
            }
            try {
                SaslGateTokenCredential credential = null;
                Subject subject = currentSubject();
                if (subject != null) {
                    for (SaslGateTokenCredential c : subject.getPrivateCredentials(SaslGateTokenCredential.class)) {
                        if (!c.isDestroyed()) {
                            credential = c;
                        }
                    }
                }
                if (credential != null) {
                    return new SaslGateSaslClient(Backends.obtain(credential.options()), credential.identity(),
                            credential, authorizationId, serverName);
                }
                SaslGateOptions options = Backends.forSasl(props);
                if (options.identity() == null) {
                    throw new SaslException("saslgate: no OAUTHBEARER token: the Subject has no SaslGateTokenCredential"
                            + " (SaslGateLoginModule) and no identity is configured (saslgate.identity)");
                }
                return new SaslGateSaslClient(Backends.obtain(options), options.identity(), null, authorizationId,
                        serverName);
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                throw new SaslException("saslgate: cannot create the OAUTHBEARER client: " + e.getMessage(), e);
            }
        }

        @Override
        public String[] getMechanismNames(Map<String, ?> props) {
            return Policy.allows(props) ? new String[] {SaslGateSaslServer.MECHANISM} : new String[0];
        }
    }
}
