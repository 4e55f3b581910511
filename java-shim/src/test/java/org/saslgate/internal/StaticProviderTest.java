package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.security.Provider;
import java.security.Security;
import org.junit.jupiter.api.Test;

/**
 * Runs in its own surefire execution with {@code -Djava.security.properties=configs/jvm/java.security}
 * ({@code security.provider.13=org.saslgate.SaslGateProvider}); nothing calls
 * {@code SaslGateProvider.install()} in that JVM.
 */
class StaticProviderTest {
    @Test
    void providerIsInstalledStaticallyFromAJavaSecurityFile() throws Exception {
        Provider p = Security.getProvider("SaslGate");
        assertNotNull(p, "security.provider.13 loads org.saslgate.SaslGateProvider");
        assertEquals("org.saslgate.internal.SaslGateSaslServer$Factory", p.getProperty("SaslServerFactory.OAUTHBEARER"));
        assertEquals("org.saslgate.internal.SaslGateSaslClient$Factory", p.getProperty("SaslClientFactory.OAUTHBEARER"));
        boolean found = false;
        for (java.util.Enumeration<javax.security.sasl.SaslServerFactory> e = javax.security.sasl.Sasl.getSaslServerFactories();
                e.hasMoreElements();) {
            for (String m : e.nextElement().getMechanismNames(null)) {
                found |= m.equals("OAUTHBEARER");
            }
        }
        assertEquals(true, found, "Sasl finds the OAUTHBEARER server factory");
    }
}
