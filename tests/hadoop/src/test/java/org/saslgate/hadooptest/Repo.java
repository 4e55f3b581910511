package org.saslgate.hadooptest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.stream.Stream;

/** Paths in the repository and the build, from the system properties the pom sets. */
final class Repo {
    private Repo() {}

    /** @return {@code relative} under the repository root ({@code hadooptest.repo.root}) */
    static Path path(String relative) {
        return Paths.get(System.getProperty("hadooptest.repo.root", "../..")).resolve(relative).toAbsolutePath().normalize();
    }

    /** @return the class path of the server JVMs: the test classes and the test-scope dependencies */
    static String jvmClasspath() throws Exception {
        String deps = Files.readString(Paths.get(System.getProperty("hadooptest.classpath.file"))).trim();
        return System.getProperty("hadooptest.classes.dir") + ":" + deps;
    }

    /** @return the {@code java} of the running JVM */
    static String java() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Deletes a directory tree; missing is fine. */
    static void deleteTree(Path dir) throws Exception {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
