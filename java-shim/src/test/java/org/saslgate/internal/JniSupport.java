package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Assumptions;

/**
 * Finds {@code libsaslgate_jni} for the JNI tests: the system property
 * {@value NativeLoader#PATH_PROPERTY} (the pom sets it to
 * {@code ${env.CARGO_TARGET_DIR}/debug/libsaslgate_jni.so}, built with
 * {@code cargo build -p saslgate-jni --features testing}), else the library inside the jar.
 * When neither loads, the calling test is skipped with a JUnit assumption, unless
 * {@code -Dsaslgate.requireJni=true} (set by {@code scripts/test.sh}), which makes it fail.
 */
final class JniSupport {
    private JniSupport() {}

    /** @return whether a missing library fails the tests instead of skipping them */
    static boolean required() {
        return Boolean.getBoolean("saslgate.requireJni");
    }

    /**
     * Loads the native library, or skips (fails when {@link #required()}) the calling test.
     * A property naming no file (an unresolved {@code ${env.…}} or a missing build) is cleared
     * so that the loader falls back to the jar's resource.
     */
    static synchronized void assumeLibrary() {
        String path = System.getProperty(NativeLoader.PATH_PROPERTY, "");
        String why = "";
        if (path.isEmpty() || path.contains("${")) {
            why = NativeLoader.PATH_PROPERTY + " is not set (set CARGO_TARGET_DIR or -D" + NativeLoader.PATH_PROPERTY + ")";
            System.clearProperty(NativeLoader.PATH_PROPERTY);
        } else if (!Files.isRegularFile(Paths.get(path))) {
            why = NativeLoader.PATH_PROPERTY + " names no file: " + path
                    + " (cargo build -p saslgate-jni --features testing)";
            System.clearProperty(NativeLoader.PATH_PROPERTY);
        }
        try {
            NativeLoader.load();
        } catch (UnsatisfiedLinkError e) {
            String message = "libsaslgate_jni is not available: " + (why.isEmpty() ? "" : why + "; ") + e.getMessage();
            if (required()) {
                fail("saslgate.requireJni=true but " + message, e);
            }
            Assumptions.assumeTrue(false, message);
        }
    }

    /** Loads the library and checks that it was built with the {@code testing} feature. */
    static void assumeTestingNatives() {
        assumeLibrary();
        try {
            Native.testingLiveHandles();
        } catch (UnsatisfiedLinkError e) {
            String message = "libsaslgate_jni was built without the testing feature"
                    + " (cargo build -p saslgate-jni --features testing): " + e.getMessage();
            if (required()) {
                fail("saslgate.requireJni=true but " + message, e);
            }
            Assumptions.assumeTrue(false, message);
        }
    }

    /**
     * Writes the daemon's development configuration, rendered for an in-process core, to an
     * owner-only file in the daemon's private directory.
     *
     * @return the file
     */
    static Path writeDevConfig(DaemonFixture daemon) throws IOException {
        Path file = daemon.dir.resolve("saslgate-jni.toml");
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, daemon.devConfig(daemon.dir.resolve("jni-core-does-not-listen.sock")));
        return file;
    }

    /** @return {@code {cores, server sessions}} live in the library */
    static long[] liveHandles() {
        return Native.testingLiveHandles();
    }
}
