package org.saslgate.hadooptest;

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
 * {@code saslgate.binary}). Ready when a {@code SaslGateLoginModule} login of identity
 * {@code hdfs-client} over its socket succeeds, i.e. it answers and holds a Keycloak token.
 */
final class Daemon implements AutoCloseable {
    private final Process process;
    private final Path log;

    private Daemon(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static Daemon start(Path config, Path socket, Path log) throws Exception {
        String bin = System.getProperty("saslgate.binary", "");
        if (bin.isEmpty() || bin.contains("${") || !Files.isExecutable(Paths.get(bin))) {
            fail("saslgate.binary does not name an executable: " + bin + " (cargo build --bin saslgate; set CARGO_TARGET_DIR)");
        }
        Process p = new ProcessBuilder(bin, "serve", "--config", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        Daemon d = new Daemon(p, log);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        LoginException last = null;
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail("saslgate serve exited with " + p.exitValue() + ": " + d.log());
            }
            if (Files.exists(socket)) {
                try {
                    login(socket);
                    return d;
                } catch (LoginException e) {
                    last = e;
                }
            }
            Thread.sleep(100);
        }
        d.close();
        fail("saslgate serve did not become ready (" + last + "): " + d.log());
        return d;
    }

    /** A JAAS login of identity hdfs-client through the daemon, with a configuration of its own. */
    private static void login(Path socket) throws LoginException {
        Configuration one = new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] {new AppConfigurationEntry("org.saslgate.SaslGateLoginModule",
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED,
                        Map.of("transport", "sidecar", "socket", socket.toString(), "identity", "hdfs-client"))};
            }
        };
        LoginContext lc = new LoginContext("probe", new Subject(), null, one);
        lc.login();
        lc.logout();
    }

    String log() throws Exception {
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
