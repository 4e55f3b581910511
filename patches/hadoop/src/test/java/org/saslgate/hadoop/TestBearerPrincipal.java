package org.saslgate.hadoop;

import java.security.Principal;

/**
 * The identity principal {@link TestBearerLoginModule} adds to the login Subject; the patched
 * {@code HadoopLoginModule} takes the login user's name from it when
 * {@code hadoop.security.oauthbearer.principal.class} names this class.
 *
 * @param name the identity, never null
 */
public record TestBearerPrincipal(String name) implements Principal {
    @Override
    public String getName() {
        return name;
    }
}
