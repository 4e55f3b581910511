package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;
import javax.security.sasl.AuthenticationException;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.saslgate.SaslGateLoginModule;
import org.saslgate.SaslGatePrincipal;
import org.saslgate.SaslGateProvider;
import org.saslgate.SaslGateTokenCredential;

/**
 * The contract every {@link Backend} meets, exercised through the public JDK entry points
 * ({@code Sasl.createSaslClient}/{@code createSaslServer}, JAAS {@code LoginContext}) against
 * the dev configuration (service {@code zookeeper}; {@code zk-client} accepted, {@code zk-other}
 * refused with {@code insufficient_scope}). Subclasses start the backend. Interoperability with
 * Apache Kafka's OAUTHBEARER client and server ({@link KafkaInteropTest}) runs per backend too.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class BackendContractTest implements KafkaInteropTest {
    /** Starts whatever the backend needs. */
    abstract void startBackend() throws Exception;

    /** Stops it. */
    abstract void stopBackend() throws Exception;

    /** The saslgate.* SASL properties selecting the backend (transport, socket, …). */
    abstract Map<String, String> backendProperties();

    /** The JAAS options selecting the backend. */
    abstract Map<String, String> jaasOptions();

    @BeforeAll
    void start() throws Exception {
        SaslGateProvider.install();
        startBackend();
    }

    @AfterAll
    void stop() throws Exception {
        Backends.closeAll();
        stopBackend();
    }

    Map<String, Object> props(String identity) {
        Map<String, Object> p = new HashMap<>(backendProperties());
        if (identity != null) {
            p.put("saslgate.identity", identity);
        }
        return p;
    }

    /** Records AuthorizeCallbacks and answers with {@code authorize}. */
    static final class RecordingHandler implements CallbackHandler {
        final List<String[]> seen = new ArrayList<>();
        final boolean authorize;

        RecordingHandler(boolean authorize) {
            this.authorize = authorize;
        }

        @Override
        public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
            for (Callback c : callbacks) {
                if (!(c instanceof AuthorizeCallback)) {
                    throw new UnsupportedCallbackException(c);
                }
                AuthorizeCallback ac = (AuthorizeCallback) c;
                seen.add(new String[] {ac.getAuthenticationID(), ac.getAuthorizationID()});
                ac.setAuthorized(authorize);
            }
        }
    }

    SaslServer server(CallbackHandler handler) throws SaslException {
        SaslServer s = Sasl.createSaslServer("OAUTHBEARER", "zookeeper", "localhost", props(null), handler);
        assertNotNull(s, "the provider offers an OAUTHBEARER server");
        return s;
    }

    @Override
    public Backend interopBackend() {
        return Backends.obtain(org.saslgate.SaslGateOptions.fromJaas(jaasOptions()));
    }

    @Override
    public SaslServer saslgateServer() throws SaslException {
        return server(new RecordingHandler(true));
    }

    @Override
    public SaslClient saslgateClient(String identity) throws SaslException {
        return client(identity);
    }

    SaslClient client(String identity) throws SaslException {
        SaslClient c = Sasl.createSaslClient(new String[] {"OAUTHBEARER"}, null, "zookeeper", "localhost",
                props(identity), null);
        assertNotNull(c, "the provider offers an OAUTHBEARER client");
        return c;
    }

    @Test
    void fullExchangeYieldsTheMappedAuthorizationIdentity() throws Exception {
        RecordingHandler handler = new RecordingHandler(true);
        SaslServer server = server(handler);
        SaslClient client = client("zk-client");
        assertTrue(client.hasInitialResponse());
        byte[] initial = client.evaluateChallenge(new byte[0]);
        String text = new String(initial, StandardCharsets.UTF_8);
        assertTrue(text.startsWith("n,,\u0001") && text.contains("\u0001auth=Bearer ") && text.endsWith("\u0001\u0001"), "RFC 7628 §3.1 shape");
        byte[] challenge = server.evaluateResponse(initial);
        assertTrue(server.isComplete());
        assertArrayEquals(new byte[0], challenge);
        assertNull(client.evaluateChallenge(challenge));
        assertTrue(client.isComplete());
        assertEquals("zk-client", server.getAuthorizationID());
        assertEquals("auth", server.getNegotiatedProperty(Sasl.QOP));
        assertEquals(1, handler.seen.size());
        assertArrayEquals(new String[] {"zk-client", "zk-client"}, handler.seen.get(0));
        assertThrows(IllegalStateException.class, () -> server.wrap(new byte[1], 0, 1));
        assertThrows(IllegalStateException.class, () -> server.unwrap(new byte[1], 0, 1));
        assertThrows(IllegalStateException.class, () -> server.evaluateResponse(initial));
        server.dispose();
        server.dispose();
    }

    @Test
    void refusedIdentityEndsWithAuthenticationExceptionNamingTheReason() throws Exception {
        RecordingHandler handler = new RecordingHandler(true);
        SaslServer server = server(handler);
        SaslClient client = client("zk-other");
        byte[] errorChallenge = server.evaluateResponse(client.evaluateChallenge(new byte[0]));
        assertFalse(server.isComplete());
        String json = new String(errorChallenge, StandardCharsets.UTF_8);
        assertEquals("insufficient_scope", Json.string(Json.parseObject(json), "status"), json);
        byte[] abort = client.evaluateChallenge(errorChallenge);
        assertArrayEquals(new byte[] {0x01}, abort);
        AuthenticationException e = assertThrows(AuthenticationException.class, () -> server.evaluateResponse(abort));
        assertTrue(e.getMessage().contains("insufficient_scope"), e.getMessage());
        assertTrue(server.isComplete());
        assertThrows(IllegalStateException.class, server::getAuthorizationID);
        assertEquals(0, handler.seen.size());
        AuthenticationException c = assertThrows(AuthenticationException.class,
                () -> client.evaluateChallenge(new byte[0]));
        assertTrue(c.getMessage().contains("insufficient_scope"), c.getMessage());
        assertTrue(client.isComplete());
    }

    @Test
    void hostRefusalInAuthorizeCallbackFailsTheExchange() throws Exception {
        RecordingHandler handler = new RecordingHandler(false);
        SaslServer server = server(handler);
        SaslClient client = client("zk-client");
        byte[] initial = client.evaluateChallenge(new byte[0]);
        AuthenticationException e = assertThrows(AuthenticationException.class, () -> server.evaluateResponse(initial));
        assertEquals("saslgate: zk-client is not authorized by the host", e.getMessage());
        assertEquals(1, handler.seen.size());
        assertThrows(IllegalStateException.class, server::getAuthorizationID);
    }

    @Test
    void resultsBeforeCompletionAreMisuse() throws Exception {
        SaslServer server = server(new RecordingHandler(true));
        assertThrows(IllegalStateException.class, server::getAuthorizationID);
        assertThrows(IllegalStateException.class, () -> server.getNegotiatedProperty(Sasl.QOP));
        assertThrows(IllegalStateException.class, () -> server.wrap(new byte[1], 0, 1));
        server.dispose();
        SaslClient client = client("zk-client");
        assertThrows(IllegalStateException.class, () -> client.getNegotiatedProperty(Sasl.QOP));
        assertThrows(IllegalStateException.class, () -> client.wrap(new byte[1], 0, 1));
    }

    @Test
    void noPlaintextPolicyHidesTheMechanism() throws Exception {
        Map<String, Object> p = props("zk-client");
        p.put(Sasl.POLICY_NOPLAINTEXT, "true");
        assertNull(Sasl.createSaslServer("OAUTHBEARER", "zookeeper", "localhost", p, null));
        assertNull(Sasl.createSaslClient(new String[] {"OAUTHBEARER"}, null, "zookeeper", "localhost", p, null));
        p.put(Sasl.POLICY_NOPLAINTEXT, "false");
        p.put(Sasl.POLICY_NOANONYMOUS, "true");
        assertNotNull(Sasl.createSaslServer("OAUTHBEARER", "zookeeper", "localhost", p, null));
    }

    @Test
    void unknownServiceIsAnInternalSaslException() throws Exception {
        SaslServer s = Sasl.createSaslServer("OAUTHBEARER", "no-such-service", "localhost", props(null), null);
        SaslClient client = client("zk-client");
        byte[] initial = client.evaluateChallenge(new byte[0]);
        SaslException e = assertThrows(SaslException.class, () -> s.evaluateResponse(initial));
        assertFalse(e instanceof AuthenticationException);
        assertTrue(e.getMessage().startsWith("saslgate: authentication could not be performed: "), e.getMessage());
    }

    static Configuration jaas(Map<String, String> options) {
        return new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] {new AppConfigurationEntry(SaslGateLoginModule.class.getName(),
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, options)};
            }
        };
    }

    @Test
    void loginModuleFeedsTheClientThroughTheSubject() throws Exception {
        Map<String, String> options = new HashMap<>(jaasOptions());
        options.put("identity", "zk-client");
        options.put("debug", "true");
        Subject subject = new Subject();
        LoginContext lc = new LoginContext("Client", subject, null, jaas(options));
        lc.login();
        assertTrue(subject.getPrincipals().contains(new SaslGatePrincipal("zk-client")));
        SaslGateTokenCredential cred = subject.getPrivateCredentials(SaslGateTokenCredential.class).iterator().next();
        assertTrue(cred.expiresAtSecs() > System.currentTimeMillis() / 1000, "expiry in the future");
        assertFalse(cred.toString().contains(new String(cred.tokenBytes(), StandardCharsets.UTF_8)));

        RecordingHandler handler = new RecordingHandler(true);
        SaslServer server = server(handler);
        PrivilegedExceptionAction<SaslClient> create = () -> Sasl.createSaslClient(new String[] {"OAUTHBEARER"},
                null, "zookeeper", "localhost", null, null);
        @SuppressWarnings("removal")
        SaslClient client = Subject.doAs(subject, create);
        byte[] challenge = server.evaluateResponse(client.evaluateChallenge(new byte[0]));
        assertNull(client.evaluateChallenge(challenge));
        assertEquals("zk-client", server.getAuthorizationID());

        lc.logout();
        assertTrue(subject.getPrivateCredentials(SaslGateTokenCredential.class).isEmpty());
        assertTrue(subject.getPrincipals(SaslGatePrincipal.class).isEmpty());
        assertTrue(cred.isDestroyed());
    }

    @Test
    void aServerOnlyLoginNeedsNoIdentityAndServesExchanges() throws Exception {
        Subject serverSubject = new Subject();
        LoginContext lc = new LoginContext("Server", serverSubject, null, jaas(new HashMap<>(jaasOptions())));
        lc.login();
        assertTrue(serverSubject.getPrivateCredentials(SaslGateTokenCredential.class).isEmpty());
        assertTrue(serverSubject.getPrincipals(SaslGatePrincipal.class).isEmpty());
        // A server created after the login authenticates a client of the same configuration.
        Map<String, String> clientOptions = new HashMap<>(jaasOptions());
        clientOptions.put("identity", "zk-client");
        Subject clientSubject = new Subject();
        new LoginContext("Client", clientSubject, null, jaas(clientOptions)).login();
        SaslServer server = server(new RecordingHandler(true));
        PrivilegedExceptionAction<SaslClient> create = () -> Sasl.createSaslClient(new String[] {"OAUTHBEARER"},
                null, "zookeeper", "localhost", null, null);
        @SuppressWarnings("removal")
        SaslClient client = Subject.doAs(clientSubject, create);
        byte[] challenge = server.evaluateResponse(client.evaluateChallenge(new byte[0]));
        assertNull(client.evaluateChallenge(challenge));
        assertEquals("zk-client", server.getAuthorizationID());
        lc.logout();
    }

    @Test
    void loginModuleRefusesAnUnknownIdentity() {
        Map<String, String> options = new HashMap<>(jaasOptions());
        options.put("identity", "nobody");
        LoginException e = assertThrows(LoginException.class,
                () -> new LoginContext("Client", new Subject(), null, jaas(options)).login());
        assertTrue(e.getMessage().contains("nobody"), e.getMessage());
    }

    @Test
    void validateAcceptsAndRefusesTokens() throws Exception {
        Backend backend = Backends.obtain(org.saslgate.SaslGateOptions.fromJaas(jaasOptions()));
        Backend.Validation ok = backend.validate("zookeeper", backend.tokenAcquire("zk-client").value);
        assertTrue(ok.valid);
        assertEquals("zk-client", ok.authorizationId);
        Backend.Validation refused = backend.validate("zookeeper", backend.tokenAcquire("zk-other").value);
        assertFalse(refused.valid);
        assertEquals("insufficient_scope", refused.reason);
    }
}
