package org.saslgate;

import java.security.Provider;
import java.security.Security;

/**
 * The saslgate security provider: registers the SASL OAUTHBEARER (RFC 7628) client and server
 * factories by class name and holds no logic (after Kafka's {@code OAuthBearerSaslServerProvider}).
 *
 * <p>Install it at run time with {@link #install()}, or statically with a line
 * {@code security.provider.N=org.saslgate.SaslGateProvider} in {@code java.security} (or a file
 * given by {@code -Djava.security.properties=}); it is listed in
 * {@code META-INF/services/java.security.Provider} for that. {@link SaslGateLoginModule} installs
 * it too.
 */
public final class SaslGateProvider extends Provider {
    private static final long serialVersionUID = 1L;
    /** The provider name. */
    public static final String NAME = "SaslGate";

    /** Creates the provider (public no-argument constructor for static installation). */
    public SaslGateProvider() {
        super(NAME, "0.1", "saslgate SASL OAUTHBEARER (RFC 7628) client and server");
        put("SaslClientFactory.OAUTHBEARER", "org.saslgate.internal.SaslGateSaslClient$Factory");
        put("SaslServerFactory.OAUTHBEARER", "org.saslgate.internal.SaslGateSaslServer$Factory");
    }

    /**
     * Adds the provider at the lowest preference if no provider named {@value #NAME} is
     * installed (idempotent, thread-safe).
     *
     * @return true when this call added it
     */
    public static synchronized boolean install() {
        if (Security.getProvider(NAME) != null) {
            return false;
        }
        return Security.addProvider(new SaslGateProvider()) != -1;
    }
}
