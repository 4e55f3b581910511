package org.saslgate.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Starts the real daemon, {@code saslgate dev --serve-only --socket <tmp>}, which serves the
 * service {@code zookeeper} with identities {@code zk-client} (accepted) and {@code zk-other}
 * (refused: {@code insufficient_scope}) from the built-in development issuer
 * ({@code configs/dev.toml}). The binary comes from the system property {@code saslgate.binary}
 * (set by the pom from {@code CARGO_TARGET_DIR}). Waits until {@code /readyz} answers 200; stops
 * the process on {@link #close()}.
 */
final class DaemonFixture implements AutoCloseable {
    final Path dir;
    final Path socket;
    private Process process;

    private DaemonFixture(Path dir) {
        this.dir = dir;
        this.socket = dir.resolve("saslgate.sock");
    }

    /** @return the binary path, or null when the property is unset or the file is missing */
    static Path binary() {
        String b = System.getProperty("saslgate.binary", "");
        if (b.isEmpty() || b.startsWith("${") || b.contains("${env.")) {
            return null;
        }
        Path p = Paths.get(b);
        return Files.isExecutable(p) ? p : null;
    }

    static DaemonFixture start() throws Exception {
        Path bin = binary();
        if (bin == null) {
            throw new IllegalStateException("saslgate.binary does not name an executable: "
                    + System.getProperty("saslgate.binary") + " (cargo build --bin saslgate; set CARGO_TARGET_DIR)");
        }
        Path dir = Files.createTempDirectory("saslgate-shim-test-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        DaemonFixture f = new DaemonFixture(dir);
        f.launch(bin);
        return f;
    }

    /** Starts (or restarts) the daemon on the same socket path and waits for readiness. */
    void launch(Path bin) throws Exception {
        Files.deleteIfExists(socket);
        process = new ProcessBuilder(bin.toString(), "dev", "--serve-only", "--socket", socket.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("daemon.log").toFile())
                .start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (HttpOverUnixSocket http = new HttpOverUnixSocket(socket, 2000, 1 << 20)) {
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("saslgate dev exited with " + process.exitValue() + ": " + log());
                }
                if (Files.exists(socket)) {
                    try {
                        if (http.send("GET", "/readyz", null).status == 200) {
                            return;
                        }
                    } catch (IOException e) {
                        // not yet
                    }
                }
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("saslgate dev did not become ready: " + log());
    }

    void restart() throws Exception {
        stop();
        launch(binary());
    }

    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    /**
     * @return the development issuer's URL, from the {@code issuer: <url>} line that
     *     {@code saslgate dev --serve-only} prints before serving
     * @throws IllegalStateException if the line is missing
     */
    String issuer() {
        return printed("issuer: ", "");
    }

    /**
     * @return the daemon's private directory holding one {@code <client>.secret} file per
     *     development client, from the {@code identities: … (client secrets in <dir>)} line
     * @throws IllegalStateException if the line is missing
     */
    Path secretsDir() {
        return Paths.get(printed("identities: ", "(client secrets in ").replaceFirst("\\)$", ""));
    }

    /**
     * Renders the daemon's own configuration ({@code configs/dev.toml}, the same template
     * {@code saslgate dev} embeds) with this daemon's issuer URL and secrets directory, so an
     * in-process (jni) core authenticates against the same development issuer and policy.
     *
     * @param socket the value for {@code {{socket}}} (the core does not listen on it)
     * @return the TOML text, without placeholders
     * @throws IOException if {@code configs/dev.toml} cannot be read
     */
    String devConfig(Path socket) throws IOException {
        Path template = Paths.get(System.getProperty("basedir", ".")).resolve("../configs/dev.toml").normalize();
        String text = Files.readString(template)
                .replace("{{issuer}}", issuer())
                .replace("{{socket}}", socket.toString())
                .replace("{{secrets_dir}}", secretsDir().toString());
        if (text.contains("{{")) {
            throw new IllegalStateException("placeholder left in the rendered " + template);
        }
        return text;
    }

    /** The text after {@code marker} on the first log line starting with {@code prefix}. */
    private String printed(String prefix, String marker) {
        for (String line : log().split("\n")) {
            if (line.startsWith(prefix)) {
                int i = marker.isEmpty() ? prefix.length() : line.indexOf(marker);
                if (i >= 0) {
                    return line.substring(i + (marker.isEmpty() ? 0 : marker.length())).trim();
                }
            }
        }
        throw new IllegalStateException("saslgate dev did not print a line starting with '" + prefix + "': " + log());
    }

    String log() {
        try {
            return Files.readString(dir.resolve("daemon.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    @Override
    public void close() throws Exception {
        stop();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
