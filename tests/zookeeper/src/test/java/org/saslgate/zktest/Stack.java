package org.saslgate.zktest;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.security.auth.login.Configuration;
import org.saslgate.testsupport.BaseStack;
import org.saslgate.testsupport.Keycloak;
import org.saslgate.testsupport.Repo;

/**
 * What a ZooKeeper test class runs against: a Keycloak realm of its own
 * ({@code tests/fixtures/keycloak/zookeeper-realm.json}), the client secrets in 0600 files, and
 * the files of {@code configs/zookeeper/} rendered for this run. Rendering only fills in ports,
 * paths, the realm's issuer URL and the identity names of one host; everything else is the
 * file as shipped, so the examples stay valid:
 *
 * <ul>
 *   <li>{@code saslgate.toml}: issuer URL, socket, secrets directory; {@code leeway_secs} 1
 *       (the token-refresh test waits for expiry); one {@code [[identities]]} entry per realm
 *       client, copied from the template's {@code zk-server-1} entry;</li>
 *   <li>{@code jaas-<transport>.conf}: socket and config paths; the {@code QuorumLearner}
 *       identity; extra client sections {@code ClientApp2} ({@code zk-app2}) and
 *       {@code ClientAdmin} ({@code zk-admin}) copied from {@code Client};</li>
 *   <li>{@code zoo.cfg} / {@code zoo-ensemble.cfg}: {@code dataDir}, ports, server lines;</li>
 *   <li>{@code java.env}: {@code SERVER_JVMFLAGS} with {@code /etc/saslgate} replaced.</li>
 * </ul>
 *
 * <p>With the sidecar transport it also runs {@code saslgate serve} on the rendered
 * configuration. {@link #startDaemon} makes a stack without Keycloak, on a configuration the
 * caller renders ({@link AwsRoleTest}). The parts shared with {@code tests/hadoop} (realm,
 * secrets, {@code saslgate.toml}, daemon, cleanup) are {@link BaseStack}'s.
 */
final class Stack extends BaseStack {
    /** The realm's confidential clients; each secret is {@code <client>-secret}. */
    static final List<String> IDENTITIES = List.of("zk-client", "zk-app2", "zk-admin",
            "zk-server-1", "zk-server-2", "zk-server-3", "zk-intruder");

    private static final Layout LAYOUT = new Layout("zookeeper", "saslgate-zk-", IDENTITIES, "zk-server-1", "zk-client");

    private Stack(Transport transport, Path dir, Keycloak kc, String realm) {
        super(transport, dir, kc, realm);
    }

    /** Imports a realm, writes the secrets and {@code saslgate.toml}, starts the daemon (sidecar). */
    static Stack start(Transport transport, String prefix) throws Exception {
        if (transport == Transport.JNI) {
            assumeJni();
        }
        return start(LAYOUT, transport, prefix, Stack::new);
    }

    /**
     * A sidecar stack without Keycloak (e.g. {@link AwsRoleTest}): writes the configuration
     * {@code render} returns and starts the daemon on it.
     *
     * @param env added to the daemon's environment
     */
    static Stack startDaemon(String prefix, Renderer<Stack> render, Map<String, String> env) throws Exception {
        return startDaemon(LAYOUT, prefix, Stack::new, render, env);
    }

    /**
     * Renders {@code jaas-<transport>.conf} for one JVM and makes it the JAAS configuration of
     * the test JVM too (its client sections).
     *
     * @param learner the {@code QuorumLearner} identity of this host
     * @return the rendered file
     */
    Path jaas(String learner) throws Exception {
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put("ClientApp2", "zk-app2");
        extra.put("ClientAdmin", "zk-admin");
        return jaas(learner, extra);
    }

    /**
     * As {@link #jaas(String)}, with other extra client sections.
     *
     * @param clients section name to identity: each a copy of the {@code Client} section
     */
    Path jaas(String learner, Map<String, String> clients) throws Exception {
        String t = replaceOnce(jaasTemplate("zookeeper"), "identity=\"zk-server-1\"", "identity=\"" + learner + "\"");
        String section = jaasSection(t, "Client", "zk-client");
        StringBuilder sections = new StringBuilder();
        clients.forEach((name, identity) -> sections.append('\n')
                .append(section.replace("Client {", name + " {").replace("\"zk-client\"", "\"" + identity + "\"")));
        t += sections + "\n";
        Path out = dir.resolve("jaas-" + learner + ".conf");
        Files.writeString(out, t);
        return out;
    }

    /** Makes {@code jaas} the test JVM's JAAS configuration (ZooKeeper clients read it). */
    static void useJaasInThisJvm(Path jaas) {
        System.setProperty("java.security.auth.login.config", jaas.toString());
        Configuration.getConfiguration().refresh();
    }

    /**
     * Renders a zoo.cfg template.
     *
     * @param template {@code zoo.cfg} or {@code zoo-ensemble.cfg}
     * @param set keys whose values are replaced (or appended when the key is absent or commented)
     * @param drop key prefixes whose lines are removed (e.g. {@code server.})
     */
    Path zooCfg(String name, String template, Map<String, String> set, List<String> drop) throws Exception {
        List<String> out = new ArrayList<>();
        Map<String, String> pending = new LinkedHashMap<>(set);
        for (String line : Files.readAllLines(Repo.path("configs/zookeeper/" + template))) {
            int eq = line.indexOf('=');
            String key = !line.startsWith("#") && eq > 0 ? line.substring(0, eq).trim() : null;
            if (key != null && drop.stream().anyMatch(key::startsWith)) {
                continue;
            }
            if (key != null && pending.containsKey(key)) {
                out.add(key + "=" + pending.remove(key));
            } else {
                out.add(line);
            }
        }
        pending.forEach((k, v) -> out.add(k + "=" + v));
        Path cfg = dir.resolve(name);
        Files.write(cfg, out);
        return cfg;
    }

    /**
     * @param jaas the JAAS file for {@code /etc/saslgate/jaas-<transport>.conf}
     * @return the {@code -D} options of {@code SERVER_JVMFLAGS} in {@code configs/zookeeper/java.env}
     */
    List<String> serverFlags(Path jaas) throws Exception {
        List<String> flags = new ArrayList<>();
        Matcher m = Pattern.compile("SERVER_JVMFLAGS=\"\\$SERVER_JVMFLAGS (-D[^\"]+)\"")
                .matcher(Files.readString(Repo.path("configs/zookeeper/java.env")));
        while (m.find()) {
            String f = m.group(1);
            f = f.replace("/etc/saslgate/jaas-sidecar.conf", jaas.toString())
                    .replace("/etc/saslgate/java.security", Repo.path("configs/zookeeper/java.security").toString());
            if (f.contains("/etc/saslgate")) {
                fail("java.env: unexpected path in " + f);
            }
            flags.add(f);
        }
        if (flags.isEmpty()) {
            fail("configs/zookeeper/java.env has no SERVER_JVMFLAGS -D options");
        }
        return flags;
    }

    /** @return {@code configs/zookeeper/zookeeper-client.properties} (used as is) */
    static Path clientProperties() {
        return Repo.path("configs/zookeeper/zookeeper-client.properties");
    }
}
