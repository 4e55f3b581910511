package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.URIParameter;
import java.util.Map;
import java.util.Properties;
import javax.security.auth.Subject;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.saslgate.SaslGateLoginModule;
import org.saslgate.SaslGateOptions;
import org.saslgate.SaslGatePrincipal;
import org.saslgate.SaslGateProvider;
import org.saslgate.SaslGateTokenCredential;

/**
 * Keeps the examples in {@code configs/jvm/} valid: the JDK's own JAAS parser reads both JAAS
 * files, every option passes {@link SaslGateOptions}, {@code jaas-sidecar.conf} logs in against
 * the real daemon (socket path substituted), and {@code java.security} names the next free
 * provider number of the running JDK. (StaticProviderTest loads that {@code java.security} file.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JvmConfigExamplesTest {
    static final Path DIR = Paths.get(System.getProperty("basedir", ".")).resolve("../configs/jvm").normalize();
    private DaemonFixture daemon;

    @BeforeAll
    void start() throws Exception {
        SaslGateProvider.install();
        daemon = DaemonFixture.start();
    }

    @AfterAll
    void stop() throws Exception {
        Backends.closeAll();
        if (daemon != null) {
            daemon.close();
        }
    }

    static Configuration jaasFile(Path file) throws Exception {
        return Configuration.getInstance("JavaLoginConfig", new URIParameter(file.toUri()));
    }

    /** @return the single entry of the section, checked to be SaslGateLoginModule, required */
    static Map<String, ?> entry(Configuration c, String section) {
        AppConfigurationEntry[] entries = c.getAppConfigurationEntry(section);
        assertNotNull(entries, "section " + section);
        assertEquals(1, entries.length, section);
        assertEquals(SaslGateLoginModule.class.getName(), entries[0].getLoginModuleName());
        assertEquals(AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, entries[0].getControlFlag());
        SaslGateOptions.fromJaas(entries[0].getOptions()); // every option is known and valid
        return entries[0].getOptions();
    }

    @Test
    void sidecarJaasFileHasClientAndServerSectionsWithValidOptions() throws Exception {
        Configuration c = jaasFile(DIR.resolve("jaas-sidecar.conf"));
        assertEquals(Map.of("transport", "sidecar", "socket", "/run/saslgate/saslgate.sock", "identity", "zk-client"),
                entry(c, "Client"));
        assertEquals(Map.of("transport", "sidecar", "socket", "/run/saslgate/saslgate.sock"),
                entry(c, "Server"));
        assertNull(c.getAppConfigurationEntry("Other"));
        SaslGateOptions o = SaslGateOptions.fromJaas(entry(c, "Client"));
        assertEquals("sidecar-unix:/run/saslgate/saslgate.sock", o.backendKey());
    }

    @Test
    void jniJaasFileHasClientAndServerSectionsWithValidOptions() throws Exception {
        Configuration c = jaasFile(DIR.resolve("jaas-jni.conf"));
        assertEquals(Map.of("transport", "jni", "config", "/etc/saslgate/saslgate.toml", "identity", "zk-client"),
                entry(c, "Client"));
        assertEquals(Map.of("transport", "jni", "config", "/etc/saslgate/saslgate.toml"),
                entry(c, "Server"));
        SaslGateOptions client = SaslGateOptions.fromJaas(entry(c, "Client"));
        SaslGateOptions server = SaslGateOptions.fromJaas(entry(c, "Server"));
        assertEquals("jni-file:/etc/saslgate/saslgate.toml", client.backendKey());
        assertEquals(client.backendKey(), server.backendKey(), "both sections share one core");
    }

    @Test
    void javaSecuritySnippetNamesTheNextFreeProviderNumberOfThisJdk() throws Exception {
        Properties snippet = new Properties();
        try (var in = Files.newBufferedReader(DIR.resolve("java.security"), StandardCharsets.ISO_8859_1)) {
            snippet.load(in);
        }
        assertEquals(1, snippet.size(), snippet.toString());
        String key = snippet.stringPropertyNames().iterator().next();
        assertEquals(SaslGateProvider.class.getName(), snippet.getProperty(key));
        Properties jdk = new Properties();
        Path jdkFile = Paths.get(System.getProperty("java.home"), "conf", "security", "java.security");
        try (var in = Files.newBufferedReader(jdkFile, StandardCharsets.ISO_8859_1)) {
            jdk.load(in);
        }
        int n = 1;
        while (jdk.getProperty("security.provider." + n) != null) {
            n++;
        }
        assertEquals("security.provider." + n, key, "the next free number after the JDK's own list");
    }

    @Test
    void sidecarJaasFileLogsInAgainstTheDaemonAndFeedsTheClient() throws Exception {
        String text = Files.readString(DIR.resolve("jaas-sidecar.conf"));
        assertTrue(text.contains("\"/run/saslgate/saslgate.sock\""));
        Path local = daemon.dir.resolve("jaas-sidecar.conf");
        Files.writeString(local, text.replace("/run/saslgate/saslgate.sock", daemon.socket.toString()));
        Configuration c = jaasFile(local);

        Subject subject = new Subject();
        LoginContext lc = new LoginContext("Client", subject, null, c);
        lc.login();
        assertEquals(java.util.Set.of(new SaslGatePrincipal("zk-client")), subject.getPrincipals());
        assertEquals(1, subject.getPrivateCredentials(SaslGateTokenCredential.class).size());

        // The Server section logs in without an identity (no token), and the SaslServer created
        // without SASL properties, as ZooKeeper creates it, uses that login's backend.
        Subject serverSubject = new Subject();
        new LoginContext("Server", serverSubject, null, c).login();
        assertTrue(serverSubject.getPrivateCredentials(SaslGateTokenCredential.class).isEmpty());
        SaslServer server = Sasl.createSaslServer("OAUTHBEARER", "zookeeper", "localhost", null, null);
        java.security.PrivilegedExceptionAction<SaslClient> create = () -> Sasl.createSaslClient(
                new String[] {"OAUTHBEARER"}, null, "zookeeper", "localhost", null, null);
        @SuppressWarnings("removal")
        SaslClient client = Subject.doAs(subject, create);
        byte[] challenge = server.evaluateResponse(client.evaluateChallenge(new byte[0]));
        assertNull(client.evaluateChallenge(challenge));
        assertEquals("zk-client", server.getAuthorizationID());
        server.dispose();
        lc.logout();
        assertTrue(subject.getPrivateCredentials(SaslGateTokenCredential.class).isEmpty());
    }
}
