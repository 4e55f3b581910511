package org.saslgate;

import java.io.Serializable;
import java.security.Principal;
import java.util.Objects;

/**
 * The identity this node authenticates as ({@code [[identities]] name}), added to the
 * {@code Subject} by {@link SaslGateLoginModule#commit()}. Immutable; equal when the names are.
 */
public final class SaslGatePrincipal implements Principal, Serializable {
    private static final long serialVersionUID = 1L;
    private final String name;

    /**
     * @param name the identity name, never null or empty
     * @throws IllegalArgumentException if the name is null or empty
     */
    public SaslGatePrincipal(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("saslgate: principal name is null or empty");
        }
        this.name = name;
    }

    /** @return the identity name, never null */
    @Override
    public String getName() {
        return name;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SaslGatePrincipal && ((SaslGatePrincipal) o).name.equals(name);
    }

    @Override
    public int hashCode() {
        return Objects.hash(SaslGatePrincipal.class, name);
    }

    @Override
    public String toString() {
        return "SaslGatePrincipal[" + name + "]";
    }
}
