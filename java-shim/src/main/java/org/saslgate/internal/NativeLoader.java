package org.saslgate.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Locale;

/**
 * Loads {@code libsaslgate_jni} once per class loader, as the JNI contract says, in this order:
 * <ol>
 *   <li>system property {@value #PATH_PROPERTY}: {@code System.load} of that file;</li>
 *   <li>system property {@value #USE_LIBRARY_PATH_PROPERTY}{@code =true}:
 *       {@code System.loadLibrary("saslgate_jni")} from {@code java.library.path};</li>
 *   <li>else the jar resource {@code META-INF/native/<os>-<arch>/libsaslgate_jni.so}, copied to
 *       a fresh owner-only ({@code 0700}) temporary directory under a file name that carries the
 *       resource's SHA-256, re-hashed after writing, then {@code System.load}ed.</li>
 * </ol>
 * Failures are remembered and rethrown as {@link UnsatisfiedLinkError} with the cause's message.
 */
public final class NativeLoader {
    /** System property: the path of a {@code .so} to load directly. */
    public static final String PATH_PROPERTY = "saslgate.native.path";
    /** System property: {@code true} to load from {@code java.library.path}. */
    public static final String USE_LIBRARY_PATH_PROPERTY = "saslgate.native.useLibraryPath";
    private static final String LIBRARY = "saslgate_jni";

    private static Throwable failure;
    private static boolean loaded;

    private NativeLoader() {}

    /**
     * Loads the library if not yet loaded (thread-safe, idempotent).
     *
     * @throws UnsatisfiedLinkError if it cannot be found, verified or loaded
     */
    public static synchronized void load() {
        if (loaded) {
            return;
        }
        if (failure != null) {
            throw linkError(failure);
        }
        try {
            String path = System.getProperty(PATH_PROPERTY, "");
            if (!path.isEmpty()) {
                System.load(Paths.get(path).toAbsolutePath().toString());
            } else if (Boolean.getBoolean(USE_LIBRARY_PATH_PROPERTY)) {
                System.loadLibrary(LIBRARY);
            } else {
                System.load(extract().toString());
            }
            loaded = true;
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            failure = e;
            throw linkError(e);
        }
    }

    /**
     * @return true when the library can be loaded (loading it if needed); never throws
     */
    public static boolean isAvailable() {
        try {
            load();
            return true;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    /** @return the jar resource name for this platform, e.g. {@code META-INF/native/linux-x86_64/libsaslgate_jni.so} */
    static String resourceName() {
        return "META-INF/native/" + platform() + "/" + System.mapLibraryName(LIBRARY);
    }

    /** @return {@code <os>-<arch>}: {@code linux-x86_64}, {@code linux-aarch64}, … */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "macos" : os.replace(' ', '_');
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64"
                : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : arch;
        return o + "-" + a;
    }

    private static Path extract() throws IOException {
        String name = resourceName();
        byte[] bytes;
        try (InputStream in = NativeLoader.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("saslgate: the jar has no native library for " + platform()
                        + " (" + name + "); set -D" + PATH_PROPERTY + "=<file> or -D"
                        + USE_LIBRARY_PATH_PROPERTY + "=true");
            }
            bytes = in.readAllBytes();
        }
        byte[] digest = sha256(bytes);
        Path dir = Files.createTempDirectory("saslgate-jni-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path file = dir.resolve("libsaslgate_jni-" + hex(digest) + ".so");
        Path tmp = dir.resolve("partial.so");
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        if (!Arrays.equals(digest, sha256(Files.readAllBytes(file)))) {
            throw new IOException("saslgate: the extracted native library " + file + " does not match its SHA-256");
        }
        // deleteOnExit runs in reverse order of registration: the file first, then its directory.
        dir.toFile().deleteOnExit();
        file.toFile().deleteOnExit();
        return file;
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return sb.toString();
    }

    private static UnsatisfiedLinkError linkError(Throwable cause) {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("saslgate: cannot load the native library: " + cause.getMessage());
        e.initCause(cause);
        return e;
    }
}
