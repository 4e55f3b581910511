package org.saslgate;

import java.util.Arrays;
import javax.security.auth.Destroyable;

/**
 * A bearer token (RFC 6750) of a configured identity, kept in the {@code Subject}'s private
 * credentials by {@link SaslGateLoginModule} and read by the OAUTHBEARER {@code SaslClient}.
 * Replaced by a fresh instance before expiry; {@link #destroy()} zeroes the token bytes.
 * {@link #toString()} never shows the token. Thread-safe.
 */
public final class SaslGateTokenCredential implements Destroyable {
    private final String identity;
    private final long expiresAtSecs;
    private final SaslGateOptions options;
    private byte[] token;

    /**
     * @param identity the identity name, never null
     * @param token the token bytes (copied), never null
     * @param expiresAtSecs expiry in Unix seconds, or -1 when unknown
     * @param options the options of the login that obtained it (selects the backend), never null
     */
    public SaslGateTokenCredential(String identity, byte[] token, long expiresAtSecs, SaslGateOptions options) {
        this.identity = identity;
        this.token = token.clone();
        this.expiresAtSecs = expiresAtSecs;
        this.options = options;
    }

    /** @return the identity name, never null */
    public String identity() {
        return identity;
    }

    /**
     * @return a copy of the token bytes, never null
     * @throws IllegalStateException after {@link #destroy()}
     */
    public synchronized byte[] tokenBytes() {
        if (token == null) {
            throw new IllegalStateException("saslgate: the token credential was destroyed");
        }
        return token.clone();
    }

    /** @return the expiry in Unix seconds, or -1 when unknown */
    public long expiresAtSecs() {
        return expiresAtSecs;
    }

    /** @return the options of the login that obtained the token (no secret is shown by its toString), never null */
    public SaslGateOptions options() {
        return options;
    }

    /** Zeroes and drops the token (idempotent). */
    @Override
    public synchronized void destroy() {
        if (token != null) {
            Arrays.fill(token, (byte) 0);
            token = null;
        }
    }

    @Override
    public synchronized boolean isDestroyed() {
        return token == null;
    }

    @Override
    public String toString() {
        return "SaslGateTokenCredential[identity=" + identity + ", expiresAtSecs=" + expiresAtSecs + "]";
    }
}
