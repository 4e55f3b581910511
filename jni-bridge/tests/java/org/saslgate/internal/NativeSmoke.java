// Throwaway end-to-end harness for the JNI bridge, run by jni-bridge/tests/jvm_smoke.rs.
// Usage: java -cp <classes> org.saslgate.internal.NativeSmoke <libsaslgate_jni.so> <config.toml>
//        <token> <tampered token>
// Prints one line per check and "SMOKE OK" at the end; exits 1 on the first failed check.
package org.saslgate.internal;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

final class NativeSmoke {
    private static final java.util.List<String> LOGGED =
            java.util.Collections.synchronizedList(new java.util.ArrayList<>());

    interface Body {
        void run() throws Exception;
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            System.exit(1);
        }
        System.out.println("ok: " + what);
    }

    static void expectThrows(Class<? extends Throwable> type, String messagePart, Body body,
            String what) {
        try {
            body.run();
        } catch (Throwable t) {
            boolean ok = type.equals(t.getClass())
                    && (messagePart == null || String.valueOf(t.getMessage()).contains(messagePart));
            if (!ok) {
                System.out.println("FAIL: " + what + ": got " + t);
                System.exit(1);
            }
            System.out.println("ok: " + what + " -> " + t);
            return;
        }
        System.out.println("FAIL: " + what + ": nothing thrown");
        System.exit(1);
    }

    public static void main(String[] args) throws Exception {
        System.load(args[0]);
        String toml = new String(Files.readAllBytes(Paths.get(args[1])), StandardCharsets.UTF_8);
        byte[] token = args[2].getBytes(StandardCharsets.US_ASCII);
        byte[] tampered = args[3].getBytes(StandardCharsets.US_ASCII);

        Logger logger = Logger.getLogger("org.saslgate");
        logger.addHandler(new Handler() {
            @Override public void publish(LogRecord r) { LOGGED.add(r.getLevel() + " " + r.getMessage()); }
            @Override public void flush() { }
            @Override public void close() { }
        });

        System.out.println("version: " + Native.version());
        check(Native.version().startsWith("saslgate-jni "), "version string");
        Native.setLogLevel(3);

        expectThrows(IllegalArgumentException.class, "<smoke-bad>",
                () -> Native.coreLoadText("[[issuers]]\nname = 1\n", "<smoke-bad>"),
                "a bad configuration is an IllegalArgumentException naming the origin");
        expectThrows(NullPointerException.class, "toml is null",
                () -> Native.coreLoadText(null, "<x>"), "null toml");

        long core = Native.coreLoadText(toml, "<smoke>");
        check(core != 0, "core loaded from TOML text: handle " + Long.toHexString(core));

        long fileCore = Native.coreLoad(args[1]);
        check(fileCore != 0 && fileCore != core, "core loaded from the file");
        Native.coreReload(fileCore, null);
        check(true, "core reloaded from its file");
        expectThrows(IllegalArgumentException.class, "cannot read",
                () -> Native.coreReload(fileCore, args[1] + ".missing"), "reload from a missing file");
        Native.coreRelease(fileCore);
        expectThrows(IllegalArgumentException.class, "loaded from text",
                () -> Native.coreReload(core, null), "reload of a text core without a path");

        // A full exchange with a valid token.
        byte[] initial = Native.clientInitialResponse(token, null, "localhost", 2181);
        long session = Native.serverCreate(core, "zookeeper", "localhost");
        check(Native.serverState(session) == 0, "new session is running");
        long t0 = System.nanoTime();
        byte[] challenge = Native.serverStep(session, initial);
        long firstMicros = (System.nanoTime() - t0) / 1000;
        check(challenge.length == 0, "success challenge is empty");
        check(Native.serverState(session) == 1, "state is success");
        check("alice".equals(Native.serverAuthorizationId(session)),
                "authzid = " + Native.serverAuthorizationId(session));
        check(Arrays.asList(Native.serverGroups(session)).contains("admins"),
                "groups = " + Arrays.toString(Native.serverGroups(session)));
        check(Native.serverExpiresAtSecs(session) > System.currentTimeMillis() / 1000,
                "expiry in the future: " + Native.serverExpiresAtSecs(session));
        check(Native.serverFailureReason(session) == null, "no failure reason after success");
        check(Native.clientEvaluateChallenge(challenge) == null, "client sees success");
        expectThrows(IllegalStateException.class, "already complete",
                () -> Native.serverStep(session, initial), "step after completion");

        // The same token again: a validation-cache hit.
        long session2 = Native.serverCreate(core, "zookeeper", "localhost");
        t0 = System.nanoTime();
        Native.serverStep(session2, initial);
        long cachedMicros = (System.nanoTime() - t0) / 1000;
        check(Native.serverState(session2) == 1, "cached exchange succeeds");
        System.out.println("first step " + firstMicros + " us, cached step " + cachedMicros + " us");
        Native.serverDispose(session2);

        // A tampered token: error challenge, %x01, failure.
        long bad = Native.serverCreate(core, "zookeeper", "localhost");
        byte[] errorChallenge = Native.serverStep(bad, Native.clientInitialResponse(tampered, null, null, -1));
        String json = new String(errorChallenge, StandardCharsets.UTF_8);
        check(json.contains("\"status\":\"invalid_token\""), "error challenge: " + json);
        check(Native.serverState(bad) == 0, "running until the client's %x01");
        byte[] reply = Native.clientEvaluateChallenge(errorChallenge);
        check(reply != null && reply.length == 1 && reply[0] == 1, "client replies %x01");
        byte[] last = Native.serverStep(bad, reply);
        check(last.length == 0, "empty challenge after %x01");
        check(Native.serverState(bad) == 2, "state is failure");
        check("bad_signature".equals(Native.serverFailureReason(bad)),
                "reason = " + Native.serverFailureReason(bad));
        System.out.println("failure message: " + Native.serverFailureMessage(bad));
        check(Native.serverAuthorizationId(bad) == null, "no authzid after failure");
        check(Native.serverGroups(bad) == null, "no groups after failure");
        check(Native.serverExpiresAtSecs(bad) == -1, "no expiry after failure");
        Native.serverDispose(bad);

        // validate()
        String[] valid = Native.validate(core, "zookeeper", token);
        check(valid[0].equals("valid") && valid[1].equals("alice") && valid[2].contains("admins"),
                "validate: " + Arrays.toString(valid));
        String[] invalid = Native.validate(core, "zookeeper", tampered);
        check(invalid[0].equals("invalid") && invalid[1].equals("bad_signature"),
                "validate tampered: " + Arrays.toString(invalid));
        expectThrows(IllegalArgumentException.class, "hdfs",
                () -> Native.validate(core, "hdfs", token), "validate for an unknown service");
        expectThrows(IllegalArgumentException.class, "hdfs",
                () -> Native.serverCreate(core, "hdfs", "localhost"), "session for an unknown service");
        expectThrows(javax.security.auth.login.LoginException.class, "nobody",
                () -> Native.tokenAcquire(core, "nobody"), "token for an unknown identity");
        check(Native.tokenExpiresAtSecs(core, "nobody") == -1, "no expiry for an unknown identity");
        expectThrows(javax.security.sasl.SaslException.class, null,
                () -> Native.clientEvaluateChallenge("not json".getBytes(StandardCharsets.UTF_8)),
                "a malformed challenge");

        // Disposed and foreign handles.
        Native.serverDispose(session);
        Native.serverDispose(session);
        Native.serverDispose(0);
        expectThrows(IllegalStateException.class, "unknown or disposed server session handle",
                () -> Native.serverStep(session, initial), "step after dispose");
        expectThrows(IllegalStateException.class, "unknown or disposed server session handle",
                () -> Native.serverState(core), "a core handle used as a session");
        expectThrows(IllegalStateException.class, "unknown or disposed core handle",
                () -> Native.serverCreate(0, "zookeeper", "localhost"), "core handle 0");
        expectThrows(NullPointerException.class, "response is null",
                () -> Native.serverStep(Native.serverCreate(core, "zookeeper", "h"), null), "null response");

        // Panics and the exception table.
        expectThrows(IllegalStateException.class, "saslgate internal error", Native::testingPanic,
                "a panic");
        expectThrows(IllegalStateException.class, "saslgate internal error", Native::testingPanic,
                "a second panic (the JVM survived the first)");
        expectThrows(IllegalArgumentException.class, null, () -> Native.testingThrow(0), "kind 0");
        expectThrows(IllegalStateException.class, "unknown or disposed", () -> Native.testingThrow(1), "kind 1");
        expectThrows(javax.security.auth.login.LoginException.class, null, () -> Native.testingThrow(2), "kind 2");
        expectThrows(javax.security.sasl.SaslException.class,
                "saslgate: authentication could not be performed: ", () -> Native.testingThrow(3), "kind 3");
        expectThrows(NullPointerException.class, "testing is null", () -> Native.testingThrow(4), "kind 4");

        // 100,000 create/dispose cycles leave no handle behind.
        long[] before = Native.testingLiveHandles();
        t0 = System.nanoTime();
        for (int i = 0; i < 100_000; i++) {
            long s = Native.serverCreate(core, "zookeeper", "localhost");
            Native.serverDispose(s);
        }
        System.out.println("100000 create/dispose cycles in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        long[] after = Native.testingLiveHandles();
        check(Arrays.equals(before, after), "live handles unchanged: " + Arrays.toString(after));
        // the session leaked by the null-response check above
        check(after[0] == 1 && after[1] == 1, "one core and one session live: " + Arrays.toString(after));

        Native.coreRelease(core);
        Native.coreRelease(core);
        Native.coreRelease(0);
        check(Native.testingLiveHandles()[0] == 0, "core released: " + Arrays.toString(Native.testingLiveHandles()));
        expectThrows(IllegalStateException.class, "unknown or disposed core handle",
                () -> Native.serverCreate(core, "zookeeper", "localhost"), "session on a released core");

        Native.setLogLevel(0);
        synchronized (LOGGED) {
            System.out.println("forwarded log records: " + LOGGED.size());
            for (String line : LOGGED.subList(0, Math.min(5, LOGGED.size()))) {
                System.out.println("  " + line);
            }
            check(LOGGED.stream().anyMatch(l -> l.startsWith("INFO") && l.contains("authentication succeeded")),
                    "audit records reach java.util.logging");
        }
        System.out.println("SMOKE OK");
    }
}
