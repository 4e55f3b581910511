package org.saslgate.zktest;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.saslgate.testsupport.Repo;

/**
 * A real ZooKeeper server in a JVM of its own ({@code ZooKeeperServerMain} for a standalone
 * server, {@code QuorumPeerMain} for an ensemble member), started with ProcessBuilder on the
 * class path of this module (the patched ZooKeeper and the saslgate shim), its output appended
 * to {@code <name>.log}. {@link #restart()} keeps the port and the data directory.
 */
final class ZkServer implements AutoCloseable {
    static final String STANDALONE = "org.apache.zookeeper.server.ZooKeeperServerMain";
    static final String QUORUM = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

    final String name;
    final int clientPort;
    private final List<String> command;
    private final Path log;
    private Process process;

    ZkServer(String name, Path dir, Path cfg, int clientPort, List<String> jvmFlags, String mainClass) throws Exception {
        this.name = name;
        this.clientPort = clientPort;
        this.log = dir.resolve(name + ".log");
        List<String> c = new ArrayList<>();
        c.add(Repo.java());
        c.add("-cp");
        c.add(Repo.jvmClasspath());
        c.add("-Xmx256m");
        c.addAll(jvmFlags);
        String lib = System.getProperty("saslgate.native.path", "");
        if (!lib.isEmpty() && !lib.contains("${") && Files.isReadable(Paths.get(lib))) {
            c.add("-Dsaslgate.native.path=" + lib);
        }
        c.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
        c.add(mainClass);
        c.add(cfg.toString());
        this.command = List.copyOf(c);
    }

    /** @return a free TCP port on 127.0.0.1 (from the OS) */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    /** Starts the JVM; does not wait. */
    ZkServer start() throws IOException {
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        Process started = process;
        // A backstop: the server does not outlive the test JVM, whatever happens to the test.
        Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly));
        return this;
    }

    /** Waits until {@code srvr} reports a mode (the server serves requests). */
    ZkServer awaitServing(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                fail(name + " exited with " + process.exitValue() + ":\n" + tail());
            }
            last = srvr();
            if (last.contains("Mode: ")) {
                return this;
            }
            Thread.sleep(100);
        }
        fail(name + " is not serving after " + timeout + " (srvr: " + last.trim() + "):\n" + tail());
        return this;
    }

    /** @return the {@code srvr} four-letter word's answer, or "" when nothing answers */
    String srvr() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", clientPort), 1000);
            s.setSoTimeout(2000);
            OutputStream out = s.getOutputStream();
            out.write("srvr".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    String connectString() {
        return "127.0.0.1:" + clientPort;
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** Stops (SIGTERM, then SIGKILL after 15 s). */
    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    /** Stops and starts again on the same port and data directory, and waits until it serves. */
    void restart() throws Exception {
        stop();
        start().awaitServing(Duration.ofSeconds(60));
    }

    String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** The last 60 lines of the log, for failure messages. */
    String tail() throws IOException {
        List<String> lines = log().lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
