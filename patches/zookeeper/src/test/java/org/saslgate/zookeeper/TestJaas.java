package org.saslgate.zookeeper;

import java.io.IOException;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.AppConfigurationEntry.LoginModuleControlFlag;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginException;
import javax.security.auth.spi.LoginModule;

/**
 * The JAAS configuration of the tests, installed JVM-wide with
 * {@link Configuration#setConfiguration}. Sections:
 * <ul>
 * <li>{@code Server}, {@code QuorumServer}: {@link TokenLoginModule} with a marker and no token, no principal
 *     (like saslgate's login module in a server section);</li>
 * <li>{@code Client-<token>}, {@code QuorumLearner-<token>}: {@link TokenLoginModule} adding a
 *     {@link TestMechanism.Token} private credential and a {@link TestMechanism.Marker} public one;</li>
 * <li>{@code ClientNoToken}: {@link TokenLoginModule} with nothing;</li>
 * <li>{@code DigestServer}, {@code DigestClient}, {@code DigestClientWrong}: ZooKeeper's
 *     {@code DigestLoginModule} (user {@code bob}, password {@code bobsecret}).</li>
 * </ul>
 */
public final class TestJaas extends Configuration {

    private static final String DIGEST = "org.apache.zookeeper.server.auth.DigestLoginModule";

    private TestJaas() {
    }

    /** Installs this configuration and the test provider (idempotent). */
    public static synchronized void install() {
        TestMechanism.register();
        if (!(Configuration.getConfiguration() instanceof TestJaas)) {
            Configuration.setConfiguration(new TestJaas());
        }
    }

    @Override
    public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
        Map<String, String> options = new HashMap<>();
        String module = TokenLoginModule.class.getName();
        if (name.equals("Server") || name.equals("QuorumServer")) {
            options.put("marker", name);
        } else if (name.startsWith("Client-")) {
            options.put("token", name.substring("Client-".length()));
        } else if (name.startsWith("QuorumLearner-")) {
            options.put("token", name.substring("QuorumLearner-".length()));
        } else if (name.equals("ClientNoToken")) {
            options.put("marker", name);
        } else if (name.equals("DigestServer")) {
            module = DIGEST;
            options.put("user_bob", "bobsecret");
        } else if (name.equals("DigestClient") || name.equals("DigestClientWrong")) {
            module = DIGEST;
            options.put("username", "bob");
            options.put("password", name.equals("DigestClient") ? "bobsecret" : "wrong");
        } else {
            return null;
        }
        return new AppConfigurationEntry[]{
            new AppConfigurationEntry(module, LoginModuleControlFlag.REQUIRED, options)};
    }

    /**
     * A JAAS login module that puts a {@link TestMechanism.Token} (option {@code token}) into the
     * Subject's private credentials and a {@link TestMechanism.Marker} into its public ones; it adds
     * no principal. With a marker (and no token) it asks the login's CallbackHandler for a password
     * and records the answer in {@link #HANDLER_ANSWERS} (JAAS wraps the handler, so the answer is
     * what shows which handler ZooKeeper gave the login).
     */
    public static final class TokenLoginModule implements LoginModule {
        /** marker option -> the password the login's CallbackHandler gave ("none" if none). */
        public static final Map<String, String> HANDLER_ANSWERS = new ConcurrentHashMap<>();
        private Subject subject;
        private CallbackHandler callbackHandler;
        private Map<String, ?> options = Collections.emptyMap();

        @Override
        public void initialize(Subject subject, CallbackHandler callbackHandler, Map<String, ?> sharedState,
                Map<String, ?> options) {
            this.subject = subject;
            this.callbackHandler = callbackHandler;
            this.options = options;
        }

        @Override
        public boolean login() throws LoginException {
            Object marker = options.get("marker");
            if (marker != null && callbackHandler != null) {
                PasswordCallback pc = new PasswordCallback("password", false);
                try {
                    callbackHandler.handle(new Callback[]{pc});
                } catch (IOException | UnsupportedCallbackException e) {
                    throw new LoginException("the callback handler failed: " + e);
                }
                HANDLER_ANSWERS.put(marker.toString(), pc.getPassword() == null ? "none" : new String(pc.getPassword()));
            }
            return true;
        }

        @Override
        public boolean commit() {
            Object token = options.get("token");
            if (token != null) {
                subject.getPrivateCredentials().add(new TestMechanism.Token(token.toString()));
                subject.getPublicCredentials().add(new TestMechanism.Marker("public-" + token));
            }
            Object marker = options.get("marker");
            if (marker != null) {
                subject.getPrivateCredentials().add(new TestMechanism.Marker(marker.toString()));
            }
            return true;
        }

        @Override
        public boolean abort() {
            return true;
        }

        @Override
        public boolean logout() {
            subject.getPrivateCredentials().clear();
            subject.getPublicCredentials().clear();
            return true;
        }
    }
}
