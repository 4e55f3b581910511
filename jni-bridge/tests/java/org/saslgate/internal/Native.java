// Test copy of the contract's declarations (JNI-CONTRACT.md), for the bridge's JVM smoke test.
// The shim's real class is java-shim/src/main/java/org/saslgate/internal/Native.java.
package org.saslgate.internal;

final class Native {
    // --- library ---
    /** Version string of the native library, e.g. "saslgate-jni 0.1.0". */
    static native String version();
    /** Sets the maximum level forwarded to java.util.logging: 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace. */
    static native void setLogLevel(int level);

    // --- core (one per configuration) ---
    /** Loads and checks the TOML configuration file, builds a Core and starts it (loads JWKS,
     *  starts refreshers) on the library's single Tokio runtime. Returns a core handle.
     *  @throws IllegalArgumentException config error */
    static native long coreLoad(String configPath);
    /** Same, from TOML text; origin names it in error messages (e.g. "<jaas>"). */
    static native long coreLoadText(String toml, String origin);
    /** Reloads: builds a new core from the same file (or the given path if non-null) and swaps
     *  it in; sessions already created keep the old one. On error the old one stays.
     *  @throws IllegalArgumentException config error */
    static native void coreReload(long core, String configPathOrNull);
    /** Releases the core handle (background tasks stop once no session uses it). */
    static native void coreRelease(long core);

    // --- server sessions ---
    /** Creates a server session for SASL service (protocol) and server name.
     *  @throws IllegalArgumentException if the service is not configured */
    static native long serverCreate(long core, String service, String serverName);
    /** One step: the client's message in, the challenge out (empty array after success, the
     *  RFC 7628 error JSON after a rejection, empty array after the client's %x01).
     *  Blocks the calling thread only when the token is not in the validation cache (on a cache
     *  hit the step runs on the calling thread without entering the runtime).
     *  @throws IllegalStateException after completion; SaslException internal error */
    static native byte[] serverStep(long session, byte[] response);
    /** 0 = running (more input expected), 1 = success, 2 = failure. */
    static native int serverState(long session);
    /** The authorization identity after success, else null. */
    static native String serverAuthorizationId(long session);
    /** Groups of the mapped principal after success, else null. */
    static native String[] serverGroups(long session);
    /** Token expiry in Unix seconds after success, else -1. */
    static native long serverExpiresAtSecs(long session);
    /** The rejection reason name (e.g. "bad_signature") after failure, else null. */
    static native String serverFailureReason(long session);
    /** The rejection's human message after failure, else null. */
    static native String serverFailureMessage(long session);
    /** Disposes the session (idempotent; 0 ignored). */
    static native void serverDispose(long session);

    // --- client ---
    /** Builds an OAUTHBEARER initial client response (RFC 7628 §3.1) with the given token
     *  (raw bytes of the bearer token, without "Bearer "). authzid/host may be null; port < 0
     *  means absent. @throws SaslException if a field cannot be sent */
    static native byte[] clientInitialResponse(byte[] token, String authzid, String host, int port);
    /** Interprets a server challenge after the initial response: returns null when the
     *  exchange succeeded (empty challenge), or the client's reply (the single byte 0x01) after
     *  an RFC 7628 error JSON. @throws SaslException malformed challenge */
    static native byte[] clientEvaluateChallenge(byte[] challenge);

    // --- tokens ---
    /** This node's current token for the configured identity (fetching/refreshing as needed).
     *  Returns the token bytes. @throws LoginException */
    static native byte[] tokenAcquire(long core, String identity);
    /** Expiry (Unix seconds) of the token tokenAcquire would return now, or -1 if unknown. */
    static native long tokenExpiresAtSecs(long core, String identity);
    /** Validates a token for a service. Returns String[3]: {"valid", authzid, groups joined by
     *  "\n"} or {"invalid", reason name, human message}.
     *  @throws SaslException internal error; IllegalArgumentException unknown service */
    static native String[] validate(long core, String service, byte[] token);

    // --- testing (compiled only with the jni-bridge `testing` feature; the Java methods exist
    //     always and throw UnsatisfiedLinkError when not registered) ---
    static native void testingPanic();
    /** kind: 0 config error, 1 unknown handle, 2 login, 3 internal, 4 null pointer. */
    static native void testingThrow(int kind);
    /** Number of live handles of each kind {cores, server sessions}, for leak tests. */
    static native long[] testingLiveHandles();
}
