package org.saslgate.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Paths in the repository and the build of a test module ({@code tests/zookeeper},
 * {@code tests/hadoop}), from the system properties its pom passes to surefire:
 * {@code saslgate.repo.root} (the repository root), {@code saslgate.jvm.classes.dir} and
 * {@code saslgate.jvm.classpath.file} (the class path of the JVMs the tests start).
 */
public final class Repo {
    private Repo() {}

    /**
     * @return {@code relative} under the repository root ({@code saslgate.repo.root}; default
     *     {@code ../..}, the root seen from a module directory)
     */
    public static Path path(String relative) {
        return Paths.get(System.getProperty("saslgate.repo.root", "../..")).resolve(relative).toAbsolutePath().normalize();
    }

    /**
     * @return the class path of the JVMs a test starts: {@code saslgate.jvm.classes.dir} and the
     *     dependencies listed in {@code saslgate.jvm.classpath.file}
     */
    public static String jvmClasspath() throws Exception {
        String deps = Files.readString(Paths.get(System.getProperty("saslgate.jvm.classpath.file"))).trim();
        return System.getProperty("saslgate.jvm.classes.dir") + ":" + deps;
    }

    /** @return the {@code java} of the running JVM */
    public static String java() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Deletes a directory tree; missing is fine. */
    public static void deleteTree(Path dir) throws Exception {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
