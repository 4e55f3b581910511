package org.saslgate.zktest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.saslgate.testsupport.Repo;

/**
 * ZooKeeper clients authenticated by AWS IAM roles (issue 6): the clients' credentials come from
 * {@code sts:AssumeRole}, the server learns each role from STS. Everything is real and local:
 * moto ({@link Moto}) plays STS (AssumeRole and GetCallerIdentity), one {@code saslgate serve}
 * ({@link org.saslgate.testsupport.Daemon}) holds the clients' identities and validates for the server, a patched
 * ZooKeeper server runs in its own JVM ({@link ZkServer}), and the ZooKeeper clients run in the
 * test JVM over the sidecar transport.
 *
 * <p>The daemon's configuration is {@code configs/aws/server.toml} with the identity entry of
 * {@code configs/aws/client.toml} once per client, rendered for this run only where the shipped
 * files name production places:
 *
 * <ul>
 *   <li>the socket path, and no {@code socket_group} (the group {@code zookeeper} need not exist);</li>
 *   <li>{@code [danger] allow_http_sts_loopback} and moto's origin as the issuer's
 *       {@code endpoints} and each identity's {@code sts_endpoint} (moto serves http);</li>
 *   <li>the identities' {@code encoding = "vault"}: moto identifies the signer of a
 *       header-signed POST only (a presigned GET it routes to S3);</li>
 *   <li>the commented {@code assume_role_arn} / {@code role_session_name} lines, enabled with
 *       each client's role.</li>
 * </ul>
 *
 * <p>The base credentials of the AWS chain are static environment variables of the daemon
 * (moto accepts any key for AssumeRole). The ZooKeeper side is {@code configs/zookeeper/}'s
 * {@code jaas-sidecar.conf}, {@code zoo.cfg}, {@code java.env} and
 * {@code zookeeper-client.properties}, as {@link StandaloneServerTest} uses them; zoo.cfg's
 * {@code superUser} is the admins' role ARN.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AwsRoleTest {
    /** The writers' role: {@code configs/aws/server.toml} admits {@code role/zk-*}. */
    static final String WRITERS = "arn:aws:iam::" + Moto.ACCOUNT + ":role/zk-writers";
    /** The readers' role, admitted too. */
    static final String READERS = "arn:aws:iam::" + Moto.ACCOUNT + ":role/zk-readers";
    /** The administrators' role, {@code superUser} in zoo.cfg. */
    static final String ADMINS = "arn:aws:iam::" + Moto.ACCOUNT + ":role/zk-admins";
    /** A role of the same account outside the service policy ({@code role/zk-*}). */
    static final String OUTSIDER = "arn:aws:iam::" + Moto.ACCOUNT + ":role/analytics";

    /** The saslgate identities ({@code [[identities]] kind = "aws"}) and the roles they assume. */
    static final Map<String, String> ROLES = new LinkedHashMap<>();

    static {
        // zk-client is the identity of the JAAS Client section (and the daemon's readiness probe).
        ROLES.put("zk-client", WRITERS);
        ROLES.put("zk-reader", READERS);
        ROLES.put("zk-admin", ADMINS);
        ROLES.put("zk-outsider", OUTSIDER);
    }

    static final byte[] DATA = "written by the zk-writers role".getBytes(StandardCharsets.UTF_8);

    Path motoDir;
    Moto moto;
    Stack stack;
    ZkServer server;

    @BeforeAll
    void start() throws Exception {
        Path venv = Moto.venvOrSkip();
        motoDir = Files.createTempDirectory("saslgate-zk-aws-moto-");
        moto = Moto.start(venv, motoDir.resolve("moto.log"));
        Path none = motoDir.resolve("none");
        stack = Stack.startDaemon("aws", this::renderToml, Map.of(
                // The base of the AWS credential chain: static keys (moto accepts any).
                "AWS_ACCESS_KEY_ID", "AKIAZKAWSROLETEST001",
                "AWS_SECRET_ACCESS_KEY", "zk-aws-role-test-secret",
                // Nothing else of the chain: no profile files, no instance metadata.
                "AWS_CONFIG_FILE", none.toString(),
                "AWS_SHARED_CREDENTIALS_FILE", none.toString(),
                "AWS_EC2_METADATA_DISABLED", "true"));
        Path jaas = stack.jaas("zk-server-1", Map.of("ClientReader", "zk-reader",
                "ClientAdmin", "zk-admin", "ClientOutsider", "zk-outsider"));
        Stack.useJaasInThisJvm(jaas);
        int port = ZkServer.freePort();
        Path data = Files.createDirectory(stack.dir.resolve("data"));
        Path cfg = stack.zooCfg("zoo.cfg", "zoo.cfg", Map.of(
                "dataDir", data.toString(),
                "clientPort", Integer.toString(port),
                "superUser", ADMINS), List.of());
        server = new ZkServer("zookeeper", stack.dir, cfg, port, stack.serverFlags(jaas), ZkServer.STANDALONE);
        server.start().awaitServing(Duration.ofSeconds(60));
    }

    @AfterAll
    void stop() throws Exception {
        try {
            if (server != null) {
                server.close();
            }
            if (stack != null) {
                stack.close();
            }
        } finally {
            if (moto != null) {
                moto.close();
            }
            Repo.deleteTree(motoDir);
        }
    }

    /** {@code configs/aws/server.toml} plus one {@code configs/aws/client.toml} identity per role. */
    private String renderToml(Stack s) throws Exception {
        String t = Files.readString(Repo.path("configs/aws/server.toml"));
        t = replaceOnce(t, "socket = \"/run/saslgate/saslgate.sock\"", "socket = \"" + s.socket + "\"");
        t = replaceOnce(t, "socket_group = \"zookeeper\"\n", "");
        t = replaceOnce(t, Pattern.compile("(?m)^# endpoints = \\[.*\\]$"), "endpoints = [\"" + moto.base + "\"]");
        String client = Files.readString(Repo.path("configs/aws/client.toml"));
        int at = client.indexOf("[[identities]]");
        if (at < 0) {
            fail("configs/aws/client.toml: no [[identities]] entry");
        }
        String entry = client.substring(at);
        StringBuilder out = new StringBuilder("[danger]\nallow_http_sts_loopback = true\n\n").append(t);
        for (Map.Entry<String, String> role : ROLES.entrySet()) {
            String e = replaceOnce(entry, "name = \"zk-client\"", "name = \"" + role.getKey() + "\"");
            e = replaceOnce(e, "encoding = \"k8s-aws-v1\"", "encoding = \"vault\"");
            e = replaceOnce(e, Pattern.compile("(?m)^# assume_role_arn = .*$"), "assume_role_arn = \"" + role.getValue() + "\"");
            e = replaceOnce(e, Pattern.compile("(?m)^# role_session_name = .*$"), "role_session_name = \"" + role.getKey() + "-host-1\"");
            out.append('\n').append(e).append("sts_endpoint = \"").append(moto.base).append("\"\n");
        }
        return out.toString();
    }

    private static String replaceOnce(String text, String from, String to) {
        if (!text.contains(from)) {
            fail("template text not found: " + from);
        }
        return text.replace(from, to);
    }

    private static String replaceOnce(String text, Pattern from, String to) {
        Matcher m = from.matcher(text);
        if (!m.find()) {
            fail("template line not found: " + from);
        }
        return m.replaceFirst(Matcher.quoteReplacement(to));
    }

    /** A client of JAAS {@code section} that must authenticate. */
    ZkClient authenticated(String section) throws Exception {
        ZkClient c = new ZkClient(server.connectString(), Stack.clientProperties(), section);
        KeeperState s = c.awaitSaslOutcome(30);
        if (s != KeeperState.SaslAuthenticated) {
            c.close();
            throw new AssertionError(section + ": expected SaslAuthenticated, got " + s
                    + "\nserver log:\n" + server.tail() + "\ndaemon log:\n" + stack.daemonLog());
        }
        return c;
    }

    /** @return {@code sasl:<arn>:cdrwa}, in a mutable list (ZooKeeper.create asks contains(null)) */
    static List<ACL> roleAcl(String arn) {
        return new ArrayList<>(List.of(new ACL(Perms.ALL, new Id("sasl", arn))));
    }

    /**
     * @return the daemon's audit events: the JSON log lines ({@code [log] format = "json"}, fields
     *     flattened into the event) of target {@code saslgate::audit}
     */
    List<JsonNode> auditEvents() throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> events = new ArrayList<>();
        for (String line : stack.daemonLog().split("\n")) {
            if (!line.startsWith("{")) {
                continue;
            }
            JsonNode n = json.readTree(line);
            if ("saslgate::audit".equals(n.path("target").asText())) {
                events.add(n);
            }
        }
        return events;
    }

    @Test
    @Order(1)
    void aWritersRoleCreatesAZnodeWithItsRoleArnAsTheAcl() throws Exception {
        try (ZkClient writer = authenticated("Client")) {
            // The assumed-role ARN (arn:aws:sts::…:assumed-role/zk-writers/zk-client-host-1)
            // canonicalised to the role ARN is the connection's sasl id.
            assertEquals("sasl:" + WRITERS, writer.whoAmI());
            writer.zk.create("/aws-demo", DATA, roleAcl(WRITERS), CreateMode.PERSISTENT);
            assertArrayEquals(DATA, writer.zk.getData("/aws-demo", false, new Stat()));
            assertEquals(roleAcl(WRITERS), writer.zk.getACL("/aws-demo", new Stat()));
            writer.zk.setData("/aws-demo", DATA, -1);
        }
        assertTrue(auditEvents().stream().anyMatch(e -> "allow".equals(e.path("decision").asText())
                        && WRITERS.equals(e.path("authzid").asText())
                        && "aws".equals(e.path("issuer").asText())
                        // The subject is the caller as STS reported it: the session says which host.
                        && ("arn:aws:sts::" + Moto.ACCOUNT + ":assumed-role/zk-writers/zk-client-host-1")
                                .equals(e.path("subject").asText())),
                "the daemon audits the writers' authentication: " + auditEvents());
    }

    @Test
    @Order(2)
    void aReadersRoleAuthenticatesButGetsNoAuthOnTheWritersZnode() throws Exception {
        try (ZkClient reader = authenticated("ClientReader")) {
            assertEquals("sasl:" + READERS, reader.whoAmI());
            assertThrows(KeeperException.NoAuthException.class, () -> reader.zk.getData("/aws-demo", false, null));
            assertThrows(KeeperException.NoAuthException.class, () -> reader.zk.setData("/aws-demo", new byte[] {1}, -1));
            assertThrows(KeeperException.NoAuthException.class,
                    () -> reader.zk.create("/aws-demo/child", DATA, roleAcl(READERS), CreateMode.PERSISTENT));
            assertThrows(KeeperException.NoAuthException.class, () -> reader.zk.setACL("/aws-demo", roleAcl(READERS), -1));
        }
    }

    @Test
    @Order(3)
    void aRoleArnAsTheSuperUserReadsAndWritesTheWritersZnode() throws Exception {
        try (ZkClient admin = authenticated("ClientAdmin")) {
            // zoo.cfg superUser=<role ARN> adds the `super` id next to the sasl id.
            assertEquals("sasl:" + ADMINS + ",super:", admin.whoAmI());
            assertArrayEquals(DATA, admin.zk.getData("/aws-demo", false, null));
            admin.zk.setData("/aws-demo", DATA, -1);
        }
    }

    @Test
    @Order(4)
    void aRoleOutsideTheServicePolicyIsRefusedAtAuthentication() throws Exception {
        try (ZkClient outsider = new ZkClient(server.connectString(), Stack.clientProperties(), "ClientOutsider")) {
            assertEquals(KeeperState.AuthFailed, outsider.awaitSaslOutcome(30),
                    "server log:\n" + server.tail() + "\ndaemon log:\n" + stack.daemonLog());
            assertThrows(KeeperException.AuthFailedException.class, () -> outsider.zk.exists("/aws-demo", false));
        }
        List<JsonNode> denied = auditEvents().stream()
                .filter(e -> "deny".equals(e.path("decision").asText()) && "zookeeper".equals(e.path("service").asText()))
                .toList();
        assertEquals(1, denied.size(), "one refusal: " + denied);
        assertEquals("aws_arn_not_allowed", denied.get(0).path("reason").asText(), denied.toString());
        assertTrue(denied.get(0).path("detail").asText().contains(OUTSIDER), "the detail names the role: " + denied);
    }
}
