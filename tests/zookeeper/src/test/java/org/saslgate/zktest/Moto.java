package org.saslgate.zktest;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * moto ({@code moto[server]} from PyPI), the AWS emulator, in a process of its own on
 * 127.0.0.1 with a port from the OS; the Java twin of {@code tests/common/moto.rs}.
 * {@code scripts/test.sh} installs it into the virtual environment
 * {@code $SASLGATE_CACHE/aws-venv}; it is found there, or at {@code $SASLGATE_AWS_VENV}, or
 * under {@code ~/.cache/saslgate/aws-venv}. Without it the test class is skipped, unless the
 * environment variable {@code SASLGATE_REQUIRE_AWS_VENV=1} (set by {@code scripts/test.sh})
 * makes that a failure.
 *
 * <p>moto serves http only; the saslgate configurations that reach it set
 * {@code [danger] allow_http_sts_loopback}. Its account is {@value #ACCOUNT}
 * ({@code MOTO_ACCOUNT_ID}).
 */
final class Moto implements AutoCloseable {
    /** The AWS account moto runs as. */
    static final String ACCOUNT = "123456789012";

    /**
     * Runs moto's threaded server on 127.0.0.1 port 0, prints the port, and serves until stdin
     * closes (as tests/common/moto.rs does).
     */
    private static final String LAUNCHER = String.join("\n",
            "import logging, sys",
            "logging.getLogger('werkzeug').setLevel(logging.ERROR)",
            "from moto.moto_server.threaded_moto_server import ThreadedMotoServer",
            "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)",
            "server.start()",
            "print(server.get_host_and_port()[1], flush=True)",
            "sys.stdin.read()",
            "server.stop()",
            "");

    /** moto's origin, {@code http://127.0.0.1:<port>} (no trailing slash). */
    final String base;
    private final Process process;

    private Moto(String base, Process process) {
        this.base = base;
        this.process = process;
    }

    /**
     * @return the virtual environment with {@code bin/moto_server}; skips the calling test (or
     *     fails it when {@code SASLGATE_REQUIRE_AWS_VENV=1}) when there is none
     */
    static Path venvOrSkip() {
        String explicit = System.getenv("SASLGATE_AWS_VENV");
        String cache = System.getenv("SASLGATE_CACHE");
        Path dir = explicit != null && !explicit.isEmpty() ? Paths.get(explicit)
                : cache != null && !cache.isEmpty() ? Paths.get(cache, "aws-venv")
                : Paths.get(System.getProperty("user.home"), ".cache", "saslgate", "aws-venv");
        boolean present = Files.isExecutable(dir.resolve("bin/moto_server"));
        if (!present && "1".equals(System.getenv("SASLGATE_REQUIRE_AWS_VENV"))) {
            fail("SASLGATE_REQUIRE_AWS_VENV=1 but " + dir + " has no bin/moto_server: run scripts/test.sh");
        }
        assumeTrue(present, "no aws-venv with moto at " + dir + " (scripts/test.sh installs it)");
        return dir;
    }

    /**
     * Starts moto from {@code venv} and waits (at most 60 s) until it prints its port.
     *
     * @param log where moto's stderr goes
     */
    static Moto start(Path venv, Path log) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(venv.resolve("bin/python").toString(), "-c", LAUNCHER)
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("MOTO_ACCOUNT_ID", ACCOUNT);
        Process p = pb.start();
        // A backstop: moto does not outlive the test JVM, whatever happens to the test.
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (Exception e) {
                return null;
            }
        });
        try {
            String port = line.get(60, TimeUnit.SECONDS);
            if (port == null || !port.trim().matches("[0-9]{1,5}")) {
                fail("moto did not print its port (got " + port + "): " + Files.readString(log));
            }
            return new Moto("http://127.0.0.1:" + port.trim(), p);
        } catch (Exception | Error e) {
            // Whatever went wrong, moto must not outlive us.
            p.destroyForcibly().waitFor();
            if (e instanceof TimeoutException) {
                fail("moto did not start within 60 s: " + Files.readString(log));
            }
            throw e;
        }
    }

    /** Closes moto's stdin (it stops), then SIGTERM/SIGKILL if it lingers. */
    @Override
    public void close() throws Exception {
        try {
            process.getOutputStream().close();
        } catch (Exception ignored) {
            // Already gone.
        }
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
