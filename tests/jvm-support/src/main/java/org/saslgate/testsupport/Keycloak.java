package org.saslgate.testsupport;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The running Keycloak (started by {@code scripts/keycloak.sh start}), found like
 * {@code tests/common/keycloak.rs} and java-shim's {@code KeycloakJvmTest} find it: the variables
 * {@code SASLGATE_TEST_KEYCLOAK_URL}, {@code _ADMIN_USER}, {@code _ADMIN_PASSWORD}, else the env
 * file {@code $SASLGATE_TEST_KEYCLOAK_ENV_FILE} (default
 * {@code ${SASLGATE_CACHE:-$HOME/.cache/saslgate}/run/keycloak.env}). Without one the calling test
 * class is skipped, unless {@code SASLGATE_REQUIRE_KEYCLOAK=1}, which fails it.
 *
 * <p>Realms are imported from a template {@code tests/fixtures/keycloak/<fixture>-realm.json}
 * (realm {@code saslgate-<fixture>-template}; {@code hadoop}, {@code zookeeper}) under a unique
 * name through the admin REST API (admin token: password grant of the master realm's
 * {@code admin-cli}) and deleted afterwards.
 *
 * <p>Shared by the end-to-end modules {@code tests/zookeeper} and {@code tests/hadoop}.
 */
public final class Keycloak {
    private static final String ENV_URL = "SASLGATE_TEST_KEYCLOAK_URL";
    private static final String ENV_ADMIN_USER = "SASLGATE_TEST_KEYCLOAK_ADMIN_USER";
    private static final String ENV_ADMIN_PASSWORD = "SASLGATE_TEST_KEYCLOAK_ADMIN_PASSWORD";
    private static final String ENV_FILE = "SASLGATE_TEST_KEYCLOAK_ENV_FILE";
    private static final String ENV_REQUIRE = "SASLGATE_REQUIRE_KEYCLOAK";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Base URL without a trailing slash, e.g. {@code http://127.0.0.1:42687}. */
    public final String baseUrl;
    private final String adminUser;
    private final String adminPassword;
    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();

    private Keycloak(String baseUrl, String adminUser, String adminPassword) {
        this.baseUrl = baseUrl;
        this.adminUser = adminUser;
        this.adminPassword = adminPassword;
    }

    /** @return the running Keycloak; skips or fails the caller (see the class doc) when none */
    public static Keycloak fromEnv() {
        try {
            return locate();
        } catch (IllegalStateException why) {
            if ("1".equals(System.getenv(ENV_REQUIRE))) {
                fail(ENV_REQUIRE + "=1 but no Keycloak is available: " + why.getMessage()
                        + "; start one with `scripts/keycloak.sh start`");
            }
            assumeTrue(false, "no Keycloak (" + why.getMessage() + "); start one with `scripts/keycloak.sh start`");
            throw why;
        }
    }

    private static Keycloak locate() {
        Map<String, String> vars = new HashMap<>();
        String[] names = {ENV_URL, ENV_ADMIN_USER, ENV_ADMIN_PASSWORD};
        if (System.getenv(ENV_URL) != null) {
            for (String name : names) {
                if (System.getenv(name) == null) {
                    throw new IllegalStateException(name + " is not set");
                }
                vars.put(name, System.getenv(name));
            }
        } else {
            Path path = envFilePath();
            try {
                for (String line : Files.readAllLines(path)) {
                    int eq = line.indexOf('=');
                    if (eq > 0) {
                        vars.putIfAbsent(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException(ENV_URL + " is not set and " + path + " is unreadable: " + e);
            }
            for (String name : names) {
                if (!vars.containsKey(name)) {
                    throw new IllegalStateException(name + " missing from " + path);
                }
            }
        }
        String base = vars.get(ENV_URL).replaceAll("/+$", "");
        URI uri = URI.create(base);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(uri.getHost(), uri.getPort() >= 0 ? uri.getPort() : 80), 2000);
        } catch (IOException e) {
            throw new IllegalStateException(base + " does not accept connections");
        }
        return new Keycloak(base, vars.get(ENV_ADMIN_USER), vars.get(ENV_ADMIN_PASSWORD));
    }

    private static Path envFilePath() {
        String file = System.getenv(ENV_FILE);
        if (file != null) {
            return Paths.get(file);
        }
        String cache = System.getenv("SASLGATE_CACHE");
        if (cache == null) {
            cache = System.getProperty("user.home") + "/.cache/saslgate";
        }
        return Paths.get(cache, "run", "keycloak.env");
    }

    /** @return the {@code iss} of {@code realm}'s tokens */
    public String issuer(String realm) {
        return baseUrl + "/realms/" + realm;
    }

    /**
     * Imports the realm template of {@code fixture} as {@code {prefix}-{16 hex digits}}.
     *
     * @param fixture names {@code tests/fixtures/keycloak/<fixture>-realm.json}, whose realm must
     *     be {@code saslgate-<fixture>-template}
     * @return the realm name
     */
    public String createRealm(String fixture, String prefix) throws Exception {
        String file = fixture + "-realm.json";
        String template = "saslgate-" + fixture + "-template";
        byte[] random = new byte[8];
        new SecureRandom().nextBytes(random);
        String name = prefix + "-" + HexFormat.of().formatHex(random);
        ObjectNode rep = (ObjectNode) JSON.readTree(Files.readString(Repo.path("tests/fixtures/keycloak/" + file)));
        if (!template.equals(rep.path("realm").asText())) {
            fail(file + ": realm is not " + template);
        }
        rep.put("realm", name);
        HttpResponse<String> r = admin("POST", "/admin/realms", JSON.writeValueAsString(rep));
        if (r.statusCode() != 201) {
            fail("import realm " + name + ": " + r.statusCode() + " " + r.body());
        }
        return name;
    }

    /** Deletes a realm; a failure is reported on stderr, not thrown (cleanup). */
    public void deleteRealm(String realm) {
        try {
            HttpResponse<String> r = admin("DELETE", "/admin/realms/" + realm, null);
            if (r.statusCode() / 100 != 2) {
                System.err.println("warning: realm " + realm + " not deleted: " + r.statusCode());
            }
        } catch (Exception e) {
            System.err.println("warning: realm " + realm + " not deleted: " + e);
        }
    }

    /**
     * A client-credentials token (RFC 6749 §4.4, HTTP Basic client authentication) straight from
     * the token endpoint, for the cases saslgate's own acquisition would never produce (an
     * expired token).
     *
     * @return the access token and its {@code expires_in} (seconds)
     */
    public Map.Entry<String, Long> clientCredentialsToken(String realm, String clientId, String secret) throws Exception {
        String basic = Base64.getEncoder().encodeToString((URLEncoder.encode(clientId, StandardCharsets.UTF_8) + ":"
                + URLEncoder.encode(secret, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create(issuer(realm) + "/protocol/openid-connect/token"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Authorization", "Basic " + basic)
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials"))
                .build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = JSON.readTree(r.body());
        if (r.statusCode() != 200 || !json.hasNonNull("access_token")) {
            fail("token for " + clientId + ": " + r.statusCode() + " " + json.path("error").asText());
        }
        return Map.entry(json.get("access_token").asText(), json.path("expires_in").asLong(-1));
    }

    private String adminToken() throws Exception {
        String body = Map.of("grant_type", "password", "client_id", "admin-cli",
                        "username", adminUser, "password", adminPassword).entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create(baseUrl + "/realms/master/protocol/openid-connect/token"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = JSON.readTree(r.body());
        if (r.statusCode() != 200 || !json.hasNonNull("access_token")) {
            fail("admin token: " + r.statusCode() + " " + json.path("error").asText());
        }
        return json.get("access_token").asText();
    }

    private HttpResponse<String> admin(String method, String path, String json) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + adminToken());
        if (json != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(json));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
