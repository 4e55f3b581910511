package org.saslgate.testsupport;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an end-to-end test class runs against, the part {@code tests/zookeeper} and
 * {@code tests/hadoop} share (each module's {@code Stack} extends it with its own rendering):
 * a private temporary directory (0700), a Keycloak realm of its own imported from the module's
 * fixture ({@link Keycloak#createRealm}), the realm clients' secrets in 0600 files, and
 * {@code configs/<module>/saslgate.toml} rendered for this run: issuer URL, socket, secrets
 * directory, {@code leeway_secs} 1 (tests wait for a token's expiry), and an
 * {@code [[identities]]} entry for each realm client the file does not list, copied from the
 * entry of the layout's template identity. Everything else is the file as shipped, so the
 * examples stay valid. With the sidecar transport it also runs {@code saslgate serve} on the
 * rendered configuration ({@link Daemon}). {@link #close()} stops the daemon, deletes the realm
 * and the directory.
 */
public abstract class BaseStack implements AutoCloseable {
    /** The transports of {@code SaslGateLoginModule}. */
    public enum Transport {
        SIDECAR, JNI;

        /** @return the JAAS example of this transport in {@code configs/<module>/} */
        public String jaasFile() {
            return this == SIDECAR ? "jaas-sidecar.conf" : "jaas-jni.conf";
        }
    }

    /**
     * What a module's stack looks like.
     *
     * @param module names {@code configs/<module>/}, the realm fixture
     *     ({@link Keycloak#createRealm}) and the issuer URL {@code https://keycloak.example.org/realms/<module>}
     *     of its {@code saslgate.toml}
     * @param tempPrefix the temporary directory's name starts with it
     * @param identities the realm's confidential clients; each secret is {@code <client>-secret}
     * @param templateIdentity whose {@code [[identities]]} entry is copied for the unlisted clients
     * @param probeIdentity whose login shows the daemon is ready ({@link Daemon#start})
     */
    public record Layout(String module, String tempPrefix, List<String> identities, String templateIdentity,
            String probeIdentity) {}

    /** Makes a module's stack from the shared parts (its constructor). */
    public interface Maker<S extends BaseStack> {
        /** @return a stack on {@code dir}; {@code kc} and {@code realm} are null without Keycloak */
        S make(Transport transport, Path dir, Keycloak kc, String realm);
    }

    /** Writes a daemon configuration for a stack: its socket is {@code s.socket}. */
    public interface Renderer<S extends BaseStack> {
        /** @return the text of {@code saslgate.toml} for {@code s} */
        String render(S s) throws Exception;
    }

    public final Transport transport;
    public final Path dir;
    public final Path socket;
    public final Path toml;
    public final Keycloak kc;
    public final String realm;
    private Daemon daemon;

    protected BaseStack(Transport transport, Path dir, Keycloak kc, String realm) {
        this.transport = transport;
        this.dir = dir;
        this.socket = dir.resolve("saslgate.sock");
        this.toml = dir.resolve("saslgate.toml");
        this.kc = kc;
        this.realm = realm;
    }

    /** Imports a realm, writes the secrets and {@code saslgate.toml}, starts the daemon (sidecar). */
    protected static <S extends BaseStack> S start(Layout layout, Transport transport, String prefix, Maker<S> maker)
            throws Exception {
        Keycloak kc = Keycloak.fromEnv();
        Path dir = tempDir(layout.tempPrefix() + prefix + "-");
        S made = maker.make(transport, dir, kc, kc.createRealm(layout.module(), prefix));
        BaseStack s = made;
        try {
            Path secrets = Files.createDirectory(dir.resolve("secrets"));
            for (String id : layout.identities()) {
                Path f = secrets.resolve(id + ".secret");
                Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.writeString(f, id + "-secret\n");
            }
            Files.writeString(s.toml, s.renderToml(layout, secrets));
            if (transport == Transport.SIDECAR) {
                s.daemon = Daemon.start(s.toml, s.socket, dir.resolve("daemon.log"), layout.probeIdentity());
            }
            return made;
        } catch (Exception | Error e) {
            s.close();
            throw e;
        }
    }

    /**
     * A sidecar stack without Keycloak: writes the configuration {@code render} returns and
     * starts the daemon on it.
     *
     * @param env added to the daemon's environment ({@link Daemon#start(Path, Path, Path, String, Map)})
     */
    protected static <S extends BaseStack> S startDaemon(Layout layout, String prefix, Maker<S> maker,
            Renderer<S> render, Map<String, String> env) throws Exception {
        S made = maker.make(Transport.SIDECAR, tempDir(layout.tempPrefix() + prefix + "-"), null, null);
        BaseStack s = made;
        try {
            Files.writeString(s.toml, render.render(made));
            s.daemon = Daemon.start(s.toml, s.socket, s.dir.resolve("daemon.log"), layout.probeIdentity(), env);
            return made;
        } catch (Exception | Error e) {
            s.close();
            throw e;
        }
    }

    /** @return a new temporary directory only the owner may enter (0700) */
    private static Path tempDir(String prefix) throws Exception {
        return Files.createTempDirectory(prefix,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    /** Skips (or, with {@code saslgate.requireJni=true}, fails) when the JNI library is missing. */
    public static void assumeJni() {
        String lib = System.getProperty("saslgate.native.path", "");
        boolean present = !lib.isEmpty() && !lib.contains("${") && Files.isReadable(Paths.get(lib));
        if (!present && Boolean.getBoolean("saslgate.requireJni")) {
            fail("saslgate.requireJni=true but saslgate.native.path is not a readable library: " + lib);
        }
        assumeTrue(present, "libsaslgate_jni is not available (set saslgate.native.path)");
    }

    private String renderToml(Layout layout, Path secrets) throws Exception {
        String file = "configs/" + layout.module() + "/saslgate.toml";
        String template = layout.templateIdentity();
        String t = Files.readString(Repo.path(file));
        t = replaceOnce(t, "https://keycloak.example.org/realms/" + layout.module(), kc.issuer(realm));
        t = replaceOnce(t, "/run/saslgate/saslgate.sock", socket.toString());
        t = t.replace("/etc/saslgate/secrets/", secrets + "/");
        t = replaceOnce(t, "leeway_secs = 30", "leeway_secs = 1");
        Matcher m = Pattern.compile("(?m)^\\[\\[identities\\]\\]\\nname = \"" + Pattern.quote(template)
                + "\"\\n(?:[^\\n]+\\n)+").matcher(t);
        if (!m.find()) {
            fail(file + ": no [[identities]] entry for " + template);
        }
        StringBuilder extra = new StringBuilder();
        for (String id : layout.identities()) {
            if (!t.contains("name = \"" + id + "\"")) {
                extra.append('\n').append(m.group().replace(template, id));
            }
        }
        return t + extra;
    }

    /**
     * @return {@code configs/<module>/jaas-<transport>.conf} with this stack's socket and
     *     {@code saslgate.toml} paths filled in
     */
    protected String jaasTemplate(String module) throws Exception {
        return Files.readString(Repo.path("configs/" + module + "/" + transport.jaasFile()))
                .replace("/run/saslgate/saslgate.sock", socket.toString())
                .replace("/etc/saslgate/saslgate.toml", toml.toString());
    }

    /**
     * @return the JAAS section {@code name { ... };} of {@code jaas}; fails the test unless
     *     there is one and it names {@code identity}
     */
    protected String jaasSection(String jaas, String name, String identity) {
        Matcher section = Pattern.compile("(?ms)^" + Pattern.quote(name) + " \\{.*?^\\};").matcher(jaas);
        if (!section.find()) {
            fail(transport.jaasFile() + ": no " + name + " section");
        }
        String s = section.group();
        if (!s.contains("identity=\"" + identity + "\"")) {
            fail(transport.jaasFile() + ": the " + name + " section does not name identity " + identity);
        }
        return s;
    }

    /** @return the daemon's log so far; empty without a daemon (jni transport) */
    public String daemonLog() throws Exception {
        return daemon == null ? "" : daemon.log();
    }

    /** @return {@code text} with every {@code from} replaced; fails the test when there is none */
    public static String replaceOnce(String text, String from, String to) {
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
        if (kc != null) {
            kc.deleteRealm(realm);
        }
        Repo.deleteTree(dir);
    }
}
