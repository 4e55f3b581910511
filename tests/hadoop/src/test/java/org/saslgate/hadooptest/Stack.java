package org.saslgate.hadooptest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.saslgate.testsupport.BaseStack;
import org.saslgate.testsupport.Keycloak;

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
 * configuration. The parts shared with {@code tests/zookeeper} (realm, secrets,
 * {@code saslgate.toml}, daemon, cleanup) are {@link BaseStack}'s.
 */
final class Stack extends BaseStack {
    /** The realm's confidential clients; each secret is {@code <client>-secret}. */
    static final List<String> IDENTITIES = List.of("hdfs-client", "hadoop-server", "etl-service", "intruder",
            "short-lived");

    private static final Layout LAYOUT = new Layout("hadoop", "saslgate-hadoop-", IDENTITIES, "hadoop-server",
            "hdfs-client");

    private Stack(Transport transport, Path dir, Keycloak kc, String realm) {
        super(transport, dir, kc, realm);
    }

    /** Imports a realm, writes the secrets and {@code saslgate.toml}, starts the daemon (sidecar). */
    static Stack start(Transport transport, String prefix) throws Exception {
        assumeJni(); // both classes send hand-made tokens through the jni client backend
        return start(LAYOUT, transport, prefix, Stack::new);
    }

    /**
     * Renders {@code jaas-<transport>.conf} for one JVM: section {@code SaslGate} with
     * {@code identity}, plus a section {@code SaslGate-<id>} for every realm identity.
     *
     * @return the rendered file
     */
    Path jaas(String identity) throws Exception {
        String t = jaasTemplate("hadoop");
        String s = jaasSection(t, "SaslGate", "hdfs-client");
        StringBuilder out = new StringBuilder(t.replace(s, s.replace("\"hdfs-client\"", "\"" + identity + "\"")));
        for (String id : IDENTITIES) {
            out.append('\n').append(s.replace("SaslGate {", "SaslGate-" + id + " {")
                    .replace("\"hdfs-client\"", "\"" + id + "\"")).append('\n');
        }
        Path file = dir.resolve("jaas-" + identity + ".conf");
        Files.writeString(file, out.toString());
        return file;
    }
}
