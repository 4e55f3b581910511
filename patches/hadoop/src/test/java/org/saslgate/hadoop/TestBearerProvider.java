package org.saslgate.hadoop;

import java.nio.charset.StandardCharsets;
import java.security.AccessController;
import java.security.Provider;
import java.util.Map;

import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.sasl.AuthenticationException;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslClientFactory;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import javax.security.sasl.SaslServerFactory;

/**
 * A test-only SASL provider for the mechanism name "OAUTHBEARER", standing in for the saslgate
 * shim so the patched Hadoop RPC can be tested without an IdP (the Keycloak end-to-end tests
 * use the real shim). It is NOT an OAuth implementation and validates nothing: the "token" is
 * {@code id:<identity>} (accepted as that identity) or anything else (refused).
 *
 * <p>Wire format: the RFC 7628 section 3.1 initial client response
 * ({@code n,,^Aauth=Bearer <token>^A^A}); the server completes after it with no final
 * challenge, as the saslgate server does on success. Like the saslgate shim, both sides report
 * QOP {@code auth} whatever was asked (no security layer), the client takes its token from the
 * private {@link TestBearerToken} of the current {@code Subject} and returns null without one,
 * and the server asks its host an {@code AuthorizeCallback(id, id)}.
 */
public final class TestBearerProvider extends Provider {
    private static final long serialVersionUID = 1L;
    /** The provider name, for {@code Security.removeProvider}. */
    public static final String NAME = "SaslGateHadoopTestBearer";
    static final String MECHANISM = "OAUTHBEARER";

    /** Registers both factories by class name. */
    public TestBearerProvider() {
        super(NAME, "1.0", "test-only OAUTHBEARER stand-in (patches/hadoop tests)");
        put("SaslClientFactory." + MECHANISM, ClientFactory.class.getName());
        put("SaslServerFactory." + MECHANISM, ServerFactory.class.getName());
    }

    /** Client factory: null when the current Subject holds no {@link TestBearerToken}. */
    public static final class ClientFactory implements SaslClientFactory {
        @Override
        public SaslClient createSaslClient(String[] mechanisms, String authorizationId, String protocol,
                String serverName, Map<String, ?> props, CallbackHandler cbh) {
            @SuppressWarnings("removal")
            Subject subject = Subject.getSubject(AccessController.getContext());
            if (subject == null) {
                return null;
            }
            for (TestBearerToken token : subject.getPrivateCredentials(TestBearerToken.class)) {
                return new Client(token.value());
            }
            return null;
        }

        @Override
        public String[] getMechanismNames(Map<String, ?> props) {
            return new String[] {MECHANISM};
        }
    }

    /** Server factory. */
    public static final class ServerFactory implements SaslServerFactory {
        @Override
        public SaslServer createSaslServer(String mechanism, String protocol, String serverName,
                Map<String, ?> props, CallbackHandler cbh) {
            return MECHANISM.equals(mechanism) ? new Server(cbh) : null;
        }

        @Override
        public String[] getMechanismNames(Map<String, ?> props) {
            return new String[] {MECHANISM};
        }
    }

    private static final class Client extends NoSecurityLayer implements SaslClient {
        private final String token;
        private boolean complete;

        Client(String token) {
            this.token = token;
        }

        @Override
        public String getMechanismName() {
            return MECHANISM;
        }

        @Override
        public boolean hasInitialResponse() {
            return true;
        }

        @Override
        public byte[] evaluateChallenge(byte[] challenge) throws SaslException {
            if (complete) {
                throw new SaslException("test bearer client: unexpected challenge after completion");
            }
            complete = true;
            return ("n,,\u0001auth=Bearer " + token + "\u0001\u0001").getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public boolean isComplete() {
            return complete;
        }

    }

    private static final class Server extends NoSecurityLayer implements SaslServer {
        private final CallbackHandler cbh;
        private String authorizationId;

        Server(CallbackHandler cbh) {
            this.cbh = cbh;
        }

        @Override
        public String getMechanismName() {
            return MECHANISM;
        }

        @Override
        public byte[] evaluateResponse(byte[] response) throws SaslException {
            String message = new String(response, StandardCharsets.UTF_8);
            String prefix = "n,,\u0001auth=Bearer ";
            if (!message.startsWith(prefix) || !message.endsWith("\u0001\u0001")) {
                throw new SaslException("test bearer server: malformed initial response");
            }
            String token = message.substring(prefix.length(), message.length() - 2);
            if (!token.startsWith("id:")) {
                throw new AuthenticationException("test bearer server: invalid_token");
            }
            String id = token.substring(3);
            AuthorizeCallback ac = new AuthorizeCallback(id, id);
            try {
                cbh.handle(new Callback[] {ac});
            } catch (Exception e) {
                throw new SaslException("test bearer server: authorize callback failed", e);
            }
            if (!ac.isAuthorized()) {
                throw new AuthenticationException("test bearer server: " + id + " not authorized");
            }
            authorizationId = ac.getAuthorizedID() != null ? ac.getAuthorizedID() : id;
            return null;
        }

        @Override
        public boolean isComplete() {
            return authorizationId != null;
        }

        @Override
        public String getAuthorizationID() {
            if (authorizationId == null) {
                throw new IllegalStateException("exchange not complete");
            }
            return authorizationId;
        }

    }

    /**
     * What OAUTHBEARER's client and server share: no security layer (RFC 7628 §3), so QOP
     * {@code auth}, and nothing to dispose. The subclasses' interfaces take these methods as theirs.
     */
    private abstract static class NoSecurityLayer {
        public byte[] unwrap(byte[] incoming, int offset, int len) {
            throw new IllegalStateException("OAUTHBEARER has no security layer");
        }

        public byte[] wrap(byte[] outgoing, int offset, int len) {
            throw new IllegalStateException("OAUTHBEARER has no security layer");
        }

        public Object getNegotiatedProperty(String propName) {
            return Sasl.QOP.equals(propName) ? "auth" : null;
        }

        public void dispose() {
        }
    }
}
