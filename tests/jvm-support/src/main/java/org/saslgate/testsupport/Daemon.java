package org.saslgate.testsupport;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.security.auth.Subject;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;

/**
 * The real daemon, {@code saslgate serve --config <file>} (binary: system property
 * {@code saslgate.binary}). Ready when a {@code SaslGateLoginModule} login (sidecar transport)
 * of a probe identity over its socket succeeds, i.e. it answers and holds that identity's token
 * (a Keycloak token, or an AWS proof in ZooKeeper's {@code AwsRoleTest}). Its stdout and stderr go
 * to a log file, which {@link #log()} reads. Stopped by {@link #close()} (SIGTERM, then SIGKILL
 * after 15 s) and, as a backstop, when the test JVM exits.
 *
 * <p>Shared by the end-to-end modules {@code tests/zookeeper} and {@code tests/hadoop}.
 */
public final class Daemon implements AutoCloseable {
    private final Process process;
    private final Path log;

    private Daemon(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** As {@link #start(Path, Path, Path, String, Map)} with the inherited environment. */
    public static Daemon start(Path config, Path socket, Path log, String probe) throws Exception {
        return start(config, socket, log, probe, Map.of());
    }

    /**
     * Starts {@code saslgate serve} and waits (at most 60 s) until it is ready; fails the test
     * (and stops the process) when it exits or is not ready in time.
     *
     * @param probe the identity whose login shows the daemon is ready
     * @param env set in the daemon's environment (e.g. the AWS credential chain's variables);
     *     with any {@code AWS_*} key, every inherited {@code AWS_*} variable is removed first
     */
    public static Daemon start(Path config, Path socket, Path log, String probe, Map<String, String> env) throws Exception {
        String bin = System.getProperty("saslgate.binary", "");
        if (bin.isEmpty() || bin.contains("${") || !Files.isExecutable(Paths.get(bin))) {
            fail("saslgate.binary does not name an executable: " + bin + " (cargo build --bin saslgate; set CARGO_TARGET_DIR)");
        }
        ProcessBuilder pb = new ProcessBuilder(bin, "serve", "--config", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        if (env.keySet().stream().anyMatch(k -> k.startsWith("AWS_"))) {
            pb.environment().keySet().removeIf(k -> k.startsWith("AWS_"));
        }
        pb.environment().putAll(env);
        Process p = pb.start();
        // A backstop: the daemon does not outlive the test JVM, whatever happens to the test.
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
        Daemon d = new Daemon(p, log);
        try {
            d.awaitReady(socket, probe);
            return d;
        } catch (Exception | Error e) {
            // Whatever went wrong (even a class that cannot load), the process must not outlive us.
            d.close();
            throw e;
        }
    }

    private void awaitReady(Path socket, String probe) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        LoginException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                fail("saslgate serve exited with " + process.exitValue() + ": " + log());
            }
            if (Files.exists(socket)) {
                try {
                    login(socket, probe);
                    return;
                } catch (LoginException e) {
                    last = e;
                }
            }
            Thread.sleep(100);
        }
        fail("saslgate serve did not become ready (" + last + "): " + log());
    }

    /** A JAAS login of {@code identity} through the daemon, with a configuration of its own. */
    private static void login(Path socket, String identity) throws LoginException {
        Configuration one = new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] {new AppConfigurationEntry("org.saslgate.SaslGateLoginModule",
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED,
                        Map.of("transport", "sidecar", "socket", socket.toString(), "identity", identity))};
            }
        };
        LoginContext lc = new LoginContext("probe", new Subject(), null, one);
        lc.login();
        lc.logout();
    }

    /** @return the daemon's output so far, or {@code (no log)} */
    public String log() throws Exception {
        return Files.exists(log) ? Files.readString(log) : "(no log)";
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
