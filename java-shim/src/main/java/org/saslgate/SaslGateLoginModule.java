package org.saslgate;

import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.security.auth.Subject;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.login.LoginException;
import javax.security.auth.spi.LoginModule;
import org.saslgate.internal.Backend;
import org.saslgate.internal.Backends;

/**
 * JAAS login module that obtains this node's OAuth 2.0 access token for OAUTHBEARER
 * (RFC 7628) from the saslgate core (JNI) or daemon (sidecar), following Kafka's
 * {@code OAuthBearerLoginModule} two-phase commit: {@link #login()} obtains the token,
 * {@link #commit()} adds a {@link SaslGatePrincipal} and a {@link SaslGateTokenCredential} to the
 * Subject and starts a daemon thread that replaces the credential {@code refreshBufferSeconds}
 * before expiry, {@link #abort()} discards, {@link #logout()} removes exactly what was added.
 * It also installs {@link SaslGateProvider}.
 *
 * <p>Options (strings; see {@link SaslGateOptions} for the constants):
 * <table>
 *   <caption>JAAS options</caption>
 *   <tr><th>Option</th><th>Default</th><th>Meaning</th></tr>
 *   <tr><td>{@code identity}</td><td>(none: a server-only login)</td><td>{@code [[identities]] name} whose token to use; a JVM that only accepts authentications (a ZooKeeper or Hadoop server) leaves it out</td></tr>
 *   <tr><td>{@code transport}</td><td>{@code sidecar}</td><td>{@code jni} (in-process core) or {@code sidecar} (daemon)</td></tr>
 *   <tr><td>{@code config}</td><td>{@code /etc/saslgate/saslgate.toml}</td><td>TOML configuration (jni)</td></tr>
 *   <tr><td>{@code socket}</td><td>{@code /run/saslgate/saslgate.sock}</td><td>daemon's Unix socket (sidecar, Java 16+)</td></tr>
 *   <tr><td>{@code sidecarUrl}</td><td>(none)</td><td>{@code http://127.0.0.1:<port>}: loopback TCP (sidecar; server side only)</td></tr>
 *   <tr><td>{@code refreshBufferSeconds}</td><td>60</td><td>refresh this many seconds before expiry (0–3600)</td></tr>
 *   <tr><td>{@code timeoutMillis}</td><td>10000</td><td>timeout of each daemon request, milliseconds</td></tr>
 *   <tr><td>{@code debug}</td><td>{@code false}</td><td>{@code "true"} logs steps (never tokens) at INFO</td></tr>
 *   <tr><td>{@code whoAmI}, {@code issuer}, {@code clientId}, {@code clientSecret}, {@code verifyTokensBy},
 *       {@code endpoint.*}</td><td></td><td>mishmash {@code misc/openid} names: {@code whoAmI} = {@code identity};
 *       the others build the configuration for the jni transport and are refused with the sidecar
 *       ({@code clientSecret} in particular: secrets stay in the daemon, DESIGN §9)</td></tr>
 * </table>
 *
 * <p>Errors: invalid options and token failures are {@link LoginException}s naming the option
 * or the identity; a token is never logged.
 */
public final class SaslGateLoginModule implements LoginModule {
    private static final Logger LOG = Logger.getLogger(SaslGateLoginModule.class.getName());
    /** Shortest wait between refresh attempts, in seconds. */
    private static final long MIN_REFRESH_SECS = 5;

    private enum LoginState { NOT_LOGGED_IN, LOGGED_IN_NOT_COMMITTED, COMMITTED }

    private Subject subject;
    private SaslGateOptions options;
    private IllegalArgumentException optionsError;
    private LoginState state = LoginState.NOT_LOGGED_IN;
    private Backend.Token pending;
    private SaslGatePrincipal principal;
    private SaslGateTokenCredential credential;
    private Thread refresher;

    /** Public no-argument constructor for JAAS. */
    public SaslGateLoginModule() {}

    /**
     * @param subject the Subject to populate, never null
     * @param callbackHandler unused
     * @param sharedState unused
     * @param options the JAAS options (table above), never null
     */
    @Override
    public void initialize(Subject subject, CallbackHandler callbackHandler, Map<String, ?> sharedState,
            Map<String, ?> options) {
        this.subject = subject;
        SaslGateProvider.install();
        try {
            this.options = SaslGateOptions.fromJaas(options);
        } catch (IllegalArgumentException e) {
            this.optionsError = e;
        }
    }

    /**
     * Obtains the token.
     *
     * @return true
     * Without an {@code identity} option this is a server-only login: no token is obtained, only
     * the backend is checked, and SASL servers created afterwards use it.
     *
     * @throws LoginException invalid options, or the token cannot be obtained
     */
    @Override
    public boolean login() throws LoginException {
        if (optionsError != null) {
            throw new LoginException(optionsError.getMessage());
        }
        if (options.identity() == null) {
            // A server-only login (ZooKeeper's Server section, a Hadoop RPC server): no token of
            // its own is needed; the backend is checked now so a bad option fails the login.
            backend();
            state = LoginState.LOGGED_IN_NOT_COMMITTED;
            debug("server-only login (no identity): the backend is ready");
            return true;
        }
        pending = backend().tokenAcquire(options.identity());
        state = LoginState.LOGGED_IN_NOT_COMMITTED;
        debug("token obtained for identity " + options.identity() + ", expires at " + pending.expiresAtSecs);
        return true;
    }

    private Backend backend() throws LoginException {
        try {
            return Backends.obtain(options);
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            LoginException le = new LoginException("saslgate: " + e.getMessage());
            le.initCause(e);
            throw le;
        }
    }

    /**
     * Adds the principal and the token credential to the Subject and starts the refresher.
     *
     * @return true if login succeeded, false when there is nothing to commit
     */
    @Override
    public boolean commit() {
        if (state != LoginState.LOGGED_IN_NOT_COMMITTED) {
            return false;
        }
        if (options.identity() == null) {
            // Server-only: SASL servers created from now on use this login's backend.
            Backends.rememberLogin(options);
            state = LoginState.COMMITTED;
            debug("committed a server-only login");
            return true;
        }
        principal = new SaslGatePrincipal(options.identity());
        credential = new SaslGateTokenCredential(options.identity(), pending.value, pending.expiresAtSecs, options);
        java.util.Arrays.fill(pending.value, (byte) 0);
        pending = null;
        subject.getPrincipals().add(principal);
        synchronized (subject.getPrivateCredentials()) {
            subject.getPrivateCredentials().add(credential);
        }
        Backends.rememberLogin(options);
        state = LoginState.COMMITTED;
        startRefresher();
        debug("committed identity " + options.identity());
        return true;
    }

    /**
     * Discards an uncommitted token, or undoes a commit.
     *
     * @return false when login had not happened, else true
     */
    @Override
    public boolean abort() {
        if (state == LoginState.NOT_LOGGED_IN) {
            return false;
        }
        if (state == LoginState.COMMITTED) {
            logout();
        } else {
            if (pending != null) {
                java.util.Arrays.fill(pending.value, (byte) 0);
            }
            pending = null;
            state = LoginState.NOT_LOGGED_IN;
        }
        return true;
    }

    /**
     * Stops the refresher and removes (and destroys) the principal and credential this module added.
     *
     * @return true
     */
    @Override
    public boolean logout() {
        Thread t = refresher;
        refresher = null;
        if (t != null) {
            t.interrupt();
        }
        if (principal != null) {
            subject.getPrincipals().remove(principal);
            principal = null;
        }
        synchronized (this) {
            if (credential != null) {
                Set<Object> creds = subject.getPrivateCredentials();
                synchronized (creds) {
                    creds.remove(credential);
                }
                credential.destroy();
                credential = null;
            }
        }
        state = LoginState.NOT_LOGGED_IN;
        return true;
    }

    private void startRefresher() {
        if (credential.expiresAtSecs() < 0) {
            return;
        }
        Thread t = new Thread(this::refreshLoop, "saslgate-token-refresh-" + options.identity());
        t.setDaemon(true);
        refresher = t;
        t.start();
    }

    /** Sleeps until {@code refreshBufferSeconds} before expiry, replaces the credential, repeats. */
    private void refreshLoop() {
        Thread self = Thread.currentThread();
        long failures = 0;
        while (refresher == self) {
            SaslGateTokenCredential current;
            synchronized (this) {
                current = credential;
            }
            if (current == null) {
                return;
            }
            long nowSecs = System.currentTimeMillis() / 1000;
            long waitSecs = failures > 0
                    ? Math.min(MIN_REFRESH_SECS << Math.min(failures, 6), 300)
                    : Math.max(MIN_REFRESH_SECS, current.expiresAtSecs() - options.refreshBufferSeconds() - nowSecs);
            try {
                Thread.sleep(waitSecs * 1000);
            } catch (InterruptedException e) {
                return;
            }
            if (refresher != self) {
                return;
            }
            try {
                Backend.Token fresh = Backends.obtain(options).tokenAcquire(options.identity());
                SaslGateTokenCredential next = new SaslGateTokenCredential(options.identity(), fresh.value,
                        fresh.expiresAtSecs, options);
                java.util.Arrays.fill(fresh.value, (byte) 0);
                synchronized (this) {
                    if (credential == null || refresher != self) {
                        next.destroy();
                        return;
                    }
                    Set<Object> creds = subject.getPrivateCredentials();
                    synchronized (creds) {
                        creds.add(next);
                        creds.remove(credential);
                    }
                    credential.destroy();
                    credential = next;
                }
                failures = 0;
                debug("token refreshed for identity " + options.identity() + ", expires at " + next.expiresAtSecs());
            } catch (LoginException | RuntimeException e) {
                failures++;
                LOG.log(Level.WARNING, "saslgate: token refresh failed for identity " + options.identity()
                        + " (retrying): " + e.getMessage());
            }
        }
    }

    private void debug(String message) {
        if (options != null && options.debug()) {
            LOG.info("saslgate: " + message);
        }
    }
}
