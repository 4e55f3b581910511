package org.saslgate.hadooptest;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a Hadoop test class runs against: a Keycloak realm of its own
 * ({@code tests/fixtures/keycloak/hadoop-realm.json}), the client secrets in 0600 files, and the
 * files of {@code configs/hadoop/} rendered for this run. Rendering fills in only paths, the
 * realm's issuer URL and the identity of one JVM; everything else is the file as shipped, so
 * the examples stay valid:
 *
 * <ul>
 *   <li>{@code saslgate.toml}: issuer URL, socket, secrets directory; {@code leeway_secs} 1 (the
 *       expired-token case waits for expiry); an {@code [[identities]]} entry for each realm
 *       client the file does not list, copied from its {@code hadoop-server} entry;</li>
 *   <li>{@code jaas-<transport>.conf}: socket and config paths; the {@code SaslGate} section's
 *       identity; extra sections {@code SaslGate-<client>} for the other identities, copied from
 *       {@code SaslGate};</li>
 *   <li>{@code core-site.xml} and {@code hadoop-policy.xml}: used as they are.</li>
 * </ul>
 *
 * <p>With the sidecar transport it also runs {@code saslgate serve} on the rendered
 * configuration ({@link Daemon}).
 */
final class Stack implements AutoCloseable {
    /** The transports of {@code SaslGateLoginModule}. */
    enum Transport {
        SIDECAR, JNI;

        String jaasFile() {
            return this == SIDECAR ? "jaas-sidecar.conf" : "jaas-jni.conf";
        }
    }

    /** The realm's confidential clients; each secret is {@code <client>-secret}. */
    static final List<String> IDENTITIES = List.of("hdfs-client", "hadoop-server", "etl-service", "intruder",
            "short-lived");

    final Transport transport;
    final Path dir;
    final Path socket;
    final Path toml;
    final Keycloak kc;
    final String realm;
    private Daemon daemon;

    private Stack(Transport transport, Path dir, Keycloak kc, String realm) {
        this.transport = transport;
        this.dir = dir;
        this.socket = dir.resolve("saslgate.sock");
        this.toml = dir.resolve("saslgate.toml");
        this.kc = kc;
        this.realm = realm;
    }

    /** Imports a realm, writes the secrets and {@code saslgate.toml}, starts the daemon (sidecar). */
    static Stack start(Transport transport, String prefix) throws Exception {
        assumeJni(); // both classes send hand-made tokens through the jni client backend
        Keycloak kc = Keycloak.fromEnv();
        Path dir = Files.createTempDirectory("saslgate-hadoop-" + prefix + "-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Stack s = new Stack(transport, dir, kc, kc.createRealm(prefix));
        try {
            Path secrets = Files.createDirectory(dir.resolve("secrets"));
            for (String id : IDENTITIES) {
                Path f = secrets.resolve(id + ".secret");
                Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.writeString(f, id + "-secret\n");
            }
            Files.writeString(s.toml, s.renderToml(secrets));
            if (transport == Transport.SIDECAR) {
                s.daemon = Daemon.start(s.toml, s.socket, dir.resolve("daemon.log"));
            }
            return s;
        } catch (Exception | Error e) {
            s.close();
            throw e;
        }
    }

    /** Skips (or, with {@code saslgate.requireJni=true}, fails) when the JNI library is missing. */
    static void assumeJni() {
        String lib = System.getProperty("saslgate.native.path", "");
        boolean present = !lib.isEmpty() && !lib.contains("${") && Files.isReadable(Paths.get(lib));
        if (!present && Boolean.getBoolean("saslgate.requireJni")) {
            fail("saslgate.requireJni=true but saslgate.native.path is not a readable library: " + lib);
        }
        assumeTrue(present, "libsaslgate_jni is not available (set saslgate.native.path)");
    }

    private String renderToml(Path secrets) throws Exception {
        String t = Files.readString(Repo.path("configs/hadoop/saslgate.toml"));
        t = replaceOnce(t, "https://keycloak.example.org/realms/hadoop", kc.issuer(realm));
        t = replaceOnce(t, "/run/saslgate/saslgate.sock", socket.toString());
        t = t.replace("/etc/saslgate/secrets/", secrets + "/");
        t = replaceOnce(t, "leeway_secs = 30", "leeway_secs = 1");
        Matcher m = Pattern.compile("(?m)^\\[\\[identities\\]\\]\\nname = \"hadoop-server\"\\n(?:[^\\n]+\\n)+").matcher(t);
        if (!m.find()) {
            fail("configs/hadoop/saslgate.toml: no [[identities]] entry for hadoop-server");
        }
        StringBuilder extra = new StringBuilder();
        for (String id : IDENTITIES) {
            if (!t.contains("name = \"" + id + "\"")) {
                extra.append('\n').append(m.group().replace("hadoop-server", id));
            }
        }
        return t + extra;
    }

    /**
     * Renders {@code jaas-<transport>.conf} for one JVM: section {@code SaslGate} with
     * {@code identity}, plus a section {@code SaslGate-<id>} for every realm identity.
     *
     * @return the rendered file
     */
    Path jaas(String identity) throws Exception {
        String t = Files.readString(Repo.path("configs/hadoop/" + transport.jaasFile()));
        t = t.replace("/run/saslgate/saslgate.sock", socket.toString())
                .replace("/etc/saslgate/saslgate.toml", toml.toString());
        Matcher section = Pattern.compile("(?ms)^SaslGate \\{.*?^\\};").matcher(t);
        if (!section.find()) {
            fail(transport.jaasFile() + ": no SaslGate section");
        }
        String s = section.group();
        if (!s.contains("identity=\"hdfs-client\"")) {
            fail(transport.jaasFile() + ": the SaslGate section does not name identity hdfs-client");
        }
        StringBuilder out = new StringBuilder(t.replace(s, s.replace("\"hdfs-client\"", "\"" + identity + "\"")));
        for (String id : IDENTITIES) {
            out.append('\n').append(s.replace("SaslGate {", "SaslGate-" + id + " {")
                    .replace("\"hdfs-client\"", "\"" + id + "\"")).append('\n');
        }
        Path file = dir.resolve("jaas-" + identity + ".conf");
        Files.writeString(file, out.toString());
        return file;
    }

    String daemonLog() throws Exception {
        return daemon == null ? "" : daemon.log();
    }

    private static String replaceOnce(String text, String from, String to) {
        if (!text.contains(from)) {
            fail("template text not found: " + from);
        }
        return text.replace(from, to);
    }

    @Override
    public void close() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
        kc.deleteRealm(realm);
        Repo.deleteTree(dir);
    }
}
