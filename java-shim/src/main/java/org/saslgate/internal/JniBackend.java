package org.saslgate.internal;

import javax.security.auth.login.LoginException;
import javax.security.sasl.SaslException;

/**
 * The in-process backend: the saslgate core through {@code libsaslgate_jni} ({@link Native}).
 * Holds one core handle (a loaded configuration); the client-side message functions need none.
 */
public final class JniBackend implements Backend {
    private final NativeHandle core;

    /**
     * Loads the library and a configuration.
     *
     * @param configPath the TOML file, or null when {@code configText} is given
     * @param configText TOML text (e.g. built from JAAS options), or null
     * @param origin names the text in error messages (e.g. {@code <jaas>}), used with configText
     * @throws IllegalArgumentException configuration error (the message names file, key, problem)
     * @throws UnsatisfiedLinkError if the native library is unavailable
     */
    public JniBackend(String configPath, String configText, String origin) {
        NativeLoader.load();
        if (configText != null) {
            core = new NativeHandle("core", Native.coreLoadText(configText, origin), Native::coreRelease);
        } else if (configPath != null) {
            core = new NativeHandle("core", Native.coreLoad(configPath), Native::coreRelease);
        } else {
            core = null;
        }
    }

    private long core() {
        if (core == null) {
            throw new IllegalStateException("saslgate: no configuration given for the jni transport (option config)");
        }
        return core.get();
    }

    @Override
    public ServerSession serverCreate(String service, String serverName) {
        return new Session(new NativeHandle("server session",
                Native.serverCreate(core(), service, serverName), Native::serverDispose));
    }

    @Override
    public byte[] clientInitialResponse(String identity, byte[] token, String authzid, String host, int port)
            throws SaslException {
        byte[] t = token;
        if (t == null) {
            if (identity == null) {
                throw new SaslException("saslgate: no token: neither a token credential nor an identity is available");
            }
            try {
                t = tokenAcquire(identity).value;
            } catch (LoginException e) {
                throw new SaslException("saslgate: cannot obtain a token for identity " + identity + ": " + e.getMessage(), e);
            }
        }
        return Native.clientInitialResponse(t, authzid, host, port);
    }

    @Override
    public byte[] clientEvaluateChallenge(byte[] challenge) {
        return Native.clientEvaluateChallenge(challenge);
    }

    @Override
    public Token tokenAcquire(String identity) throws LoginException {
        long c = core();
        byte[] value = Native.tokenAcquire(c, identity);
        return new Token(value, Native.tokenExpiresAtSecs(c, identity));
    }

    @Override
    public Validation validate(String service, byte[] token) {
        String[] r = Native.validate(core(), service, token);
        if ("valid".equals(r[0])) {
            String[] groups = r[2] == null || r[2].isEmpty() ? new String[0] : r[2].split("\n", -1);
            return new Validation(true, r[1], groups, null, null);
        }
        return new Validation(false, null, null, r[1], r[2]);
    }

    @Override
    public void close() {
        if (core != null) {
            core.close();
        }
    }

    private static final class Session implements ServerSession {
        private final NativeHandle handle;

        Session(NativeHandle handle) {
            this.handle = handle;
        }

        @Override
        public byte[] step(byte[] response) {
            return Native.serverStep(handle.get(), response);
        }

        @Override
        public int state() {
            return Native.serverState(handle.get());
        }

        @Override
        public String authorizationId() {
            return Native.serverAuthorizationId(handle.get());
        }

        @Override
        public String[] groups() {
            return Native.serverGroups(handle.get());
        }

        @Override
        public long expiresAtSecs() {
            return Native.serverExpiresAtSecs(handle.get());
        }

        @Override
        public String failureReason() {
            return Native.serverFailureReason(handle.get());
        }

        @Override
        public String failureMessage() {
            return Native.serverFailureMessage(handle.get());
        }

        @Override
        public void close() {
            handle.close();
        }
    }
}
