package org.saslgate.hadooptest;

import static org.junit.jupiter.api.Assertions.fail;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.saslgate.testsupport.Repo;

/**
 * An {@link RpcServerMain} JVM started with {@link ProcessBuilder}: the test class path, the
 * rendered JAAS file of its identity ({@code -Djava.security.auth.login.config}), the JNI library
 * path, and {@code configs/hadoop/core-site.xml} and {@code hadoop-policy.xml} as they are. Its
 * stdout and stderr go to a log file the tests read (Hadoop's authentication audit lines).
 */
final class ServerProcess implements AutoCloseable {
    private final Process process;
    final Path log;
    final InetSocketAddress address;
    /** The server's login user as {@code UserGroupInformation.toString()} prints it. */
    final String loginUser;

    private ServerProcess(Process process, Path log, InetSocketAddress address, String loginUser) {
        this.process = process;
        this.log = log;
        this.address = address;
        this.loginUser = loginUser;
    }

    /**
     * @param mode {@code oauthbearer} or {@code mixed} (see {@link RpcServerMain})
     * @param name a name for its files in the stack's directory
     */
    static ServerProcess start(Stack stack, String mode, String name) throws Exception {
        Path jaas = stack.jaas("hadoop-server");
        Path portFile = stack.dir.resolve(name + ".port");
        Path log = stack.dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(List.of(Repo.java(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-Djava.security.auth.login.config=" + jaas,
                "-Dsaslgate.native.path=" + System.getProperty("saslgate.native.path", ""),
                "-cp", Repo.jvmClasspath(),
                RpcServerMain.class.getName(), mode,
                Repo.path("configs/hadoop/core-site.xml").toString(),
                Repo.path("configs/hadoop/hadoop-policy.xml").toString(),
                portFile.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(portFile)) {
                List<String> lines = Files.readAllLines(portFile);
                return new ServerProcess(p, log, new InetSocketAddress("127.0.0.1", Integer.parseInt(lines.get(0).trim())),
                        lines.get(1).trim());
            }
            if (!p.isAlive()) {
                fail("RPC server " + name + " exited with " + p.exitValue() + ":\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        p.destroyForcibly();
        fail("RPC server " + name + " did not listen within 90 s:\n" + Files.readString(log));
        return null;
    }

    /**
     * Waits until the server log contains {@code text} (Hadoop writes its audit line after it
     * answers the client).
     *
     * @return the log
     */
    String awaitLog(String text) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String s = Files.readString(log);
        while (!s.contains(text) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            s = Files.readString(log);
        }
        return s;
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
