package org.saslgate.zktest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.saslgate.testsupport.Repo;

/**
 * The patched build says so: {@code VersionInfoMain} (what {@code zkServer.sh version} runs) in a
 * JVM of its own prints the saslgate version; {@code srvr} is checked by
 * {@link StandaloneServerTest#srvrReportsThePatchedVersion()}.
 */
class VersionTest {
    @Test
    void versionInfoMainPrintsThePatchedVersion() throws Exception {
        Process p = new ProcessBuilder(List.of(Repo.java(), "-cp", Repo.jvmClasspath(),
                "org.apache.zookeeper.version.VersionInfoMain"))
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        String expected = System.getProperty("zk.expected.version");
        assertTrue(out.startsWith("Apache ZooKeeper, version " + expected), out);
        assertTrue(expected.contains("-saslgate."), expected);
    }
}
