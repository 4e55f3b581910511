package org.saslgate.internal;

import java.net.URI;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.saslgate.SaslGateOptions;

/**
 * The process-wide backends, one per {@link SaslGateOptions#backendKey()}: a JVM that runs a
 * ZooKeeper server and client shares one daemon connection pool or one native core. Also keeps
 * the options of the last committed {@link org.saslgate.SaslGateLoginModule}, which the SASL
 * factories use when neither SASL properties nor system properties name a backend.
 */
public final class Backends {
    private static final Map<String, Backend> BACKENDS = new ConcurrentHashMap<>();
    private static volatile SaslGateOptions lastLogin;

    private Backends() {}

    /**
     * The backend for these options, created on first use.
     *
     * @param options checked options, never null
     * @return the shared backend, never null
     * @throws IllegalArgumentException configuration error (jni) or bad URL (sidecar)
     * @throws UnsatisfiedLinkError jni transport without the native library
     */
    public static Backend obtain(SaslGateOptions options) {
        return BACKENDS.computeIfAbsent(options.backendKey(), k -> create(options));
    }

    private static Backend create(SaslGateOptions o) {
        if (o.transport().equals("jni")) {
            String text = o.configText();
            return text != null ? new JniBackend(null, text, "<jaas>") : new JniBackend(o.config(), null, null);
        }
        if (o.sidecarUrl() != null) {
            return SidecarBackend.overTcp(URI.create(o.sidecarUrl()), o.timeoutMillis());
        }
        return SidecarBackend.overUnixSocket(Paths.get(o.socket()), o.timeoutMillis());
    }

    /**
     * Records the options of a committed login (used as the default by the SASL factories).
     *
     * @param options the login module's options, never null
     */
    public static void rememberLogin(SaslGateOptions options) {
        lastLogin = options;
    }

    /**
     * The options for a SASL mechanism instance: the {@code saslgate.*} SASL or system
     * properties when any is set, else the last committed login's, else the defaults.
     *
     * @param saslProps the SASL properties, or null
     * @return the options, never null
     * @throws IllegalArgumentException bad property values
     */
    static SaslGateOptions forSasl(Map<String, ?> saslProps) {
        SaslGateOptions login = lastLogin;
        if (login != null && !hasSaslGateProperty(saslProps)) {
            return login;
        }
        return SaslGateOptions.fromProperties(saslProps);
    }

    private static boolean hasSaslGateProperty(Map<String, ?> saslProps) {
        if (saslProps != null) {
            for (String k : saslProps.keySet()) {
                if (k.startsWith(SaslGateOptions.PROPERTY_PREFIX)) {
                    return true;
                }
            }
        }
        for (String k : new String[] {SaslGateOptions.TRANSPORT, SaslGateOptions.SOCKET, SaslGateOptions.SIDECAR_URL,
                SaslGateOptions.CONFIG}) {
            if (System.getProperty(SaslGateOptions.PROPERTY_PREFIX + k) != null) {
                return true;
            }
        }
        return false;
    }

    /** Closes and forgets every backend (tests; a daemon restart does not need it). */
    static void closeAll() {
        for (String k : BACKENDS.keySet()) {
            Backend b = BACKENDS.remove(k);
            if (b != null) {
                b.close();
            }
        }
    }
}
