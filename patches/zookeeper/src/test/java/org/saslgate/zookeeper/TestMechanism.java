package org.saslgate.zookeeper;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.security.AccessController;
import java.security.Provider;
import java.security.Security;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslClientFactory;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import javax.security.sasl.SaslServerFactory;

/**
 * A test-only SASL mechanism, {@value #NAME}, registered as a {@link java.security.Provider}.
 *
 * <p>Client: one message, the token of the current Subject's private {@link Token} credential
 * (an object, not a String), or, when the Subject has none, the password the callback handler
 * gives for a {@link PasswordCallback}. It is complete after the server's (empty) answer.
 * Server: looks the token up in {@link #IDENTITIES}, calls the host's {@link AuthorizeCallback}
 * with (identity, identity) and reports the authorized ID; {@value #BUG_TOKEN} makes it throw an
 * {@link IllegalStateException} (a mechanism bug); {@value #TWO_STEP_TOKEN} leaves the exchange
 * open after a challenge ({@link #OPEN_EXCHANGES} counts such exchanges until they end or are
 * disposed). Both factories record what they were created
 * with ({@link #lastClient}, {@link #lastServer}) so tests can check the Subject and arguments.
 *
 * <p>This is a stand-in for a real provider (the saslgate shim is exercised by the end-to-end
 * suite); the ZooKeeper servers and clients around it are real.
 */
public final class TestMechanism {

    /** The mechanism name. */
    public static final String NAME = "X-SASLGATE-TEST";
    /** Token that makes the server mechanism throw a RuntimeException. */
    public static final String BUG_TOKEN = "tok-boom";
    /**
     * Token the server answers with the challenge {@value #MORE_CHALLENGE} without completing: the
     * exchange stays open until the next message or {@code dispose()}.
     */
    public static final String TWO_STEP_TOKEN = "tok-2step";
    /** The challenge sent for {@link #TWO_STEP_TOKEN}. */
    public static final String MORE_CHALLENGE = "more";
    /** Server exchanges left open (after {@link #TWO_STEP_TOKEN}) and not yet disposed. */
    public static final java.util.concurrent.atomic.AtomicInteger OPEN_EXCHANGES = new java.util.concurrent.atomic.AtomicInteger();
    /** Token -> authorization ID the server reports. */
    public static final Map<String, String> IDENTITIES;

    static {
        Map<String, String> m = new HashMap<>();
        m.put("tok-alice", "alice@example.com");
        m.put("tok-bob", "bob@example.com");
        m.put("tok-arn", "arn:aws:iam::123456789012:role/zk-writers");
        m.put("tok-zkclient", "zk-client");
        m.put("tok-admin", "zk-admin");
        m.put("tok-admin-near", "zk-admin@example.com");
        m.put("tok-mallory", "mallory");
        m.put("tok-zk1", "zk-server-1");
        m.put("tok-zk2", "zk-server-2");
        m.put("tok-intruder", "zk-intruder");
        IDENTITIES = Collections.unmodifiableMap(m);
    }

    /** What a factory was called with. */
    public static final class Creation {
        public final Subject subject;
        public final String protocol;
        public final String serverName;
        public final String authorizationId;
        public final String callbackHandlerClass;

        Creation(Subject subject, String protocol, String serverName, String authorizationId, CallbackHandler cbh) {
            this.subject = subject;
            this.protocol = protocol;
            this.serverName = serverName;
            this.authorizationId = authorizationId;
            this.callbackHandlerClass = cbh == null ? null : cbh.getClass().getName();
        }
    }

    /** Last client creation, keyed by the token it sent (or "none"). */
    public static final Map<String, Creation> lastClient = new ConcurrentHashMap<>();
    /** Last server creation, keyed by protocol. */
    public static final Map<String, Creation> lastServer = new ConcurrentHashMap<>();

    private TestMechanism() {
    }

    /** Registers the provider once (idempotent). */
    public static synchronized void register() {
        if (Security.getProvider(TestProvider.PROVIDER_NAME) == null) {
            Security.addProvider(new TestProvider());
        }
    }

    /** A private credential holding a token: deliberately not a String. */
    public static final class Token {
        final String value;

        public Token(String value) {
            this.value = value;
        }

        @Override
        public String toString() {
            return "Token(redacted)";
        }
    }

    /** A non-String public credential, as a token login module may add. */
    public static final class Marker {
        public final String value;

        public Marker(String value) {
            this.value = value;
        }
    }

    /** The java.security.Provider offering both factories. */
    public static final class TestProvider extends Provider {
        static final String PROVIDER_NAME = "SaslGateZooKeeperTest";
        private static final long serialVersionUID = 1L;

        @SuppressWarnings("deprecation")
        public TestProvider() {
            super(PROVIDER_NAME, 1.0, "test-only SASL mechanism " + NAME);
            put("SaslClientFactory." + NAME, ClientFactory.class.getName());
            put("SaslServerFactory." + NAME, ServerFactory.class.getName());
        }
    }

    /** The Subject bound by Subject.doAs: Subject.current() where it exists (Java 18+), else the access control context. */
    @SuppressWarnings("removal")
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

    /** Client factory. */
    public static final class ClientFactory implements SaslClientFactory {
        @Override
        public SaslClient createSaslClient(String[] mechanisms, String authorizationId, String protocol,
                String serverName, Map<String, ?> props, CallbackHandler cbh) throws SaslException {
            boolean wanted = false;
            for (String m : mechanisms) {
                wanted |= NAME.equals(m);
            }
            if (!wanted) {
                return null;
            }
            Subject subject = currentSubject();
            String token = null;
            if (subject != null) {
                for (Token t : subject.getPrivateCredentials(Token.class)) {
                    token = t.value;
                }
            }
            if (token == null && cbh != null) {
                PasswordCallback pc = new PasswordCallback(NAME + " token", false);
                try {
                    cbh.handle(new Callback[]{pc});
                } catch (IOException | UnsupportedCallbackException e) {
                    throw new SaslException(NAME + ": the callback handler gave no token", e);
                }
                token = pc.getPassword() == null ? null : new String(pc.getPassword());
            }
            lastClient.put(token == null ? "none" : token,
                new Creation(subject, protocol, serverName, authorizationId, cbh));
            if (token == null) {
                throw new SaslException(NAME + ": no token: the Subject has no Token credential and the callback handler gave none");
            }
            return new Client(token);
        }

        @Override
        public String[] getMechanismNames(Map<String, ?> props) {
            return new String[]{NAME};
        }
    }

    static final class Client extends NoSecurityLayer implements SaslClient {
        private final String token;
        private boolean sent;
        private boolean complete;

        Client(String token) {
            this.token = token;
        }

        @Override
        public String getMechanismName() {
            return NAME;
        }

        @Override
        public boolean hasInitialResponse() {
            return true;
        }

        @Override
        public byte[] evaluateChallenge(byte[] challenge) throws SaslException {
            if (!sent) {
                sent = true;
                return token.getBytes(StandardCharsets.UTF_8);
            }
            complete = true;
            if (challenge != null && challenge.length > 0) {
                throw new SaslException(NAME + ": unexpected server message");
            }
            return null;
        }

        @Override
        public boolean isComplete() {
            return complete;
        }

        @Override
        public void dispose() {
        }
    }

    /** Server factory. */
    public static final class ServerFactory implements SaslServerFactory {
        @Override
        public SaslServer createSaslServer(String mechanism, String protocol, String serverName,
                Map<String, ?> props, CallbackHandler cbh) {
            if (!NAME.equals(mechanism)) {
                return null;
            }
            lastServer.put(protocol, new Creation(currentSubject(), protocol, serverName, null, cbh));
            return new Server(cbh);
        }

        @Override
        public String[] getMechanismNames(Map<String, ?> props) {
            return new String[]{NAME};
        }
    }

    static final class Server extends NoSecurityLayer implements SaslServer {
        private final CallbackHandler cbh;
        private boolean complete;
        private boolean open;
        private String authorizationId;

        Server(CallbackHandler cbh) {
            this.cbh = cbh;
        }

        @Override
        public String getMechanismName() {
            return NAME;
        }

        @Override
        public byte[] evaluateResponse(byte[] response) throws SaslException {
            if (complete) {
                throw new IllegalStateException(NAME + ": already complete");
            }
            if (open) {
                // the message after the challenge ends the exchange in failure
                open = false;
                OPEN_EXCHANGES.decrementAndGet();
                complete = true;
                throw new SaslException(NAME + ": exchange ended after the challenge");
            }
            String token = new String(response, StandardCharsets.UTF_8);
            if (TWO_STEP_TOKEN.equals(token)) {
                open = true;
                OPEN_EXCHANGES.incrementAndGet();
                return MORE_CHALLENGE.getBytes(StandardCharsets.UTF_8);
            }
            complete = true;
            if (BUG_TOKEN.equals(token)) {
                throw new IllegalStateException(NAME + " bug while handling token " + token);
            }
            String id = IDENTITIES.get(token);
            if (id == null) {
                throw new SaslException(NAME + ": unknown token");
            }
            AuthorizeCallback ac = new AuthorizeCallback(id, id);
            try {
                cbh.handle(new Callback[]{ac});
            } catch (IOException | UnsupportedCallbackException e) {
                throw new SaslException(NAME + ": the AuthorizeCallback failed", e);
            }
            if (!ac.isAuthorized()) {
                throw new SaslException(NAME + ": " + id + " is not authorized");
            }
            authorizationId = ac.getAuthorizedID() != null ? ac.getAuthorizedID() : id;
            return new byte[0];
        }

        @Override
        public boolean isComplete() {
            return complete;
        }

        @Override
        public String getAuthorizationID() {
            return authorizationId;
        }

        @Override
        public void dispose() {
            if (open) {
                open = false;
                OPEN_EXCHANGES.decrementAndGet();
            }
        }
    }

    /**
     * What the test mechanism's client and server share: no security layer, no negotiated
     * properties. The subclasses' interfaces take these methods as theirs.
     */
    abstract static class NoSecurityLayer {
        public byte[] unwrap(byte[] incoming, int offset, int len) {
            throw new IllegalStateException("no security layer");
        }

        public byte[] wrap(byte[] outgoing, int offset, int len) {
            throw new IllegalStateException("no security layer");
        }

        public Object getNegotiatedProperty(String propName) {
            return null;
        }
    }
}
