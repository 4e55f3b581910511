package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar alone loads the native library: no {@value NativeLoader#PATH_PROPERTY}, no
 * {@code java.library.path}; {@link NativeLoader} extracts {@code META-INF/native/<platform>/}
 * from the jar into an owner-only directory under a name carrying the SHA-256 and loads it. Runs
 * in its own surefire execution ({@code jar-native}, a fresh JVM without the path property).
 * Skipped when the jar carries no library (a plain {@code mvn verify} without
 * {@code scripts/build.sh} or the copy in {@code scripts/test.sh}), unless
 * {@code -Dsaslgate.requireJarNative=true}.
 */
class NativeJarLoadTest {
    @Test
    void theJarAloneExtractsVerifiesAndLoadsTheLibrary() throws Exception {
        // Maven passes its -D user properties to every fork; this JVM must not use them.
        System.clearProperty(NativeLoader.PATH_PROPERTY);
        System.clearProperty(NativeLoader.USE_LIBRARY_PATH_PROPERTY);
        String resource = NativeLoader.resourceName();
        byte[] bytes;
        try (InputStream in = NativeLoader.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                String message = "the jar has no " + resource + " (scripts/build.sh puts it there)";
                if (Boolean.getBoolean("saslgate.requireJarNative")) {
                    fail("saslgate.requireJarNative=true but " + message);
                }
                Assumptions.assumeTrue(false, message);
            }
            bytes = in.readAllBytes();
        }
        String url = String.valueOf(NativeLoader.class.getClassLoader().getResource(resource));
        assertTrue(url.startsWith("jar:file:") && url.contains(".jar!/"), "the library comes from the jar: " + url);

        NativeLoader.load();
        assertTrue(Native.version().startsWith("saslgate-jni "), Native.version());

        StringBuilder sha = new StringBuilder();
        for (byte b : MessageDigest.getInstance("SHA-256").digest(bytes)) {
            sha.append(String.format("%02x", b));
        }
        List<String> mapped = Files.readAllLines(Paths.get("/proc/self/maps")).stream()
                .filter(l -> l.contains("libsaslgate_jni"))
                .map(l -> l.substring(l.indexOf('/')))
                .distinct()
                .collect(Collectors.toList());
        assertEquals(1, mapped.size(), "one libsaslgate_jni mapped: " + mapped);
        Path file = Paths.get(mapped.get(0));
        assertEquals("libsaslgate_jni-" + sha + ".so", file.getFileName().toString());
        assertNotNull(file.getParent());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
        System.out.println("NativeJarLoadTest: loaded " + Native.version() + " from " + file + " (" + bytes.length + " bytes)");
    }
}
