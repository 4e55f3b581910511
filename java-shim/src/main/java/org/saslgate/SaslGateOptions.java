package org.saslgate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The options of saslgate, each with its name, default and doc (after Kafka's
 * {@code SaslConfigs}), and their parsed, checked values.
 *
 * <p>The same names are used as JAAS options of {@link SaslGateLoginModule} and, prefixed with
 * {@value #PROPERTY_PREFIX}, as SASL properties ({@code props} of
 * {@code Sasl.createSaslServer}/{@code createSaslClient}) and system properties; the SASL
 * properties win over the system properties. Option values are strings (JAAS convention: booleans
 * as {@code "true"}/{@code "false"}). Units are in the names ({@code refreshBufferSeconds}).
 *
 * <p>Names accepted from mishmash {@code misc/openid} for users moving over: {@code whoAmI}
 * (= {@code identity}), {@code issuer}, {@code clientId}, {@code clientSecret},
 * {@code verifyTokensBy} ({@code jwt}|{@code jwks}|{@code introspection}), {@code endpoint.token},
 * {@code endpoint.jwks}, {@code endpoint.introspection}, {@code endpoint.discovery}. With the
 * {@code jni} transport they become a TOML configuration ({@link #configText()}); with the
 * {@code sidecar} transport {@code clientSecret} is refused, because secrets stay in the daemon
 * (DESIGN §9), and the others are refused too because the daemon's configuration governs.
 *
 * <p>Instances are immutable; {@link #toString()} never shows a secret.
 */
public final class SaslGateOptions {
    /** Prefix of the SASL and system property names ({@code saslgate.transport}, …). */
    public static final String PROPERTY_PREFIX = "saslgate.";

    /** Option: the configured identity ({@code [[identities]] name}) whose token this node sends. */
    public static final String IDENTITY = "identity";
    /** Default of {@link #IDENTITY}: none (server-only use). */
    public static final String IDENTITY_DEFAULT = null;
    /** Doc of {@link #IDENTITY}. */
    public static final String IDENTITY_DOC = "The [[identities]] name whose token this node sends; required by the login module.";

    /** Option: {@code jni} (in-process core) or {@code sidecar} (the daemon). */
    public static final String TRANSPORT = "transport";
    /** Default of {@link #TRANSPORT}. */
    public static final String TRANSPORT_DEFAULT = "sidecar";
    /** Doc of {@link #TRANSPORT}. */
    public static final String TRANSPORT_DOC = "jni: the core runs in this JVM (libsaslgate_jni); sidecar: the saslgate daemon's API.";

    /** Option: the TOML configuration file (jni transport). */
    public static final String CONFIG = "config";
    /** Default of {@link #CONFIG}. */
    public static final String CONFIG_DEFAULT = "/etc/saslgate/saslgate.toml";
    /** Doc of {@link #CONFIG}. */
    public static final String CONFIG_DOC = "Path of the saslgate TOML configuration, for the jni transport.";

    /** Option: the daemon's Unix socket (sidecar transport, Java 16+). */
    public static final String SOCKET = "socket";
    /** Default of {@link #SOCKET}. */
    public static final String SOCKET_DEFAULT = "/run/saslgate/saslgate.sock";
    /** Doc of {@link #SOCKET}. */
    public static final String SOCKET_DOC = "The daemon's Unix socket path (sidecar transport; needs Java 16 or later).";

    /** Option: the daemon's loopback TCP URL (sidecar transport); overrides {@link #SOCKET}. */
    public static final String SIDECAR_URL = "sidecarUrl";
    /** Default of {@link #SIDECAR_URL}: none (use the socket). */
    public static final String SIDECAR_URL_DEFAULT = null;
    /** Doc of {@link #SIDECAR_URL}. */
    public static final String SIDECAR_URL_DOC = "http://127.0.0.1:<port> of daemon.tcp_listen, for Java 11-15 (server side only: tokens are served on the socket only).";

    /** Option: how long before the token's expiry the login module refreshes it, in seconds. */
    public static final String REFRESH_BUFFER_SECONDS = "refreshBufferSeconds";
    /** Default of {@link #REFRESH_BUFFER_SECONDS}, in seconds. */
    public static final long REFRESH_BUFFER_SECONDS_DEFAULT = 60;
    /** Doc of {@link #REFRESH_BUFFER_SECONDS}. */
    public static final String REFRESH_BUFFER_SECONDS_DOC = "Seconds before the token's expiry at which the login module refreshes it (0 to 3600).";

    /** Option: {@code "true"} logs the login module's steps at INFO ({@code java.util.logging}). */
    public static final String DEBUG = "debug";
    /** Default of {@link #DEBUG}. */
    public static final boolean DEBUG_DEFAULT = false;
    /** Doc of {@link #DEBUG}. */
    public static final String DEBUG_DOC = "\"true\" logs the login module's steps (never tokens).";

    /** Option: the per-operation timeout towards the daemon, in milliseconds. */
    public static final String TIMEOUT_MILLIS = "timeoutMillis";
    /** Default of {@link #TIMEOUT_MILLIS}, in milliseconds. */
    public static final long TIMEOUT_MILLIS_DEFAULT = 10_000;
    /** Doc of {@link #TIMEOUT_MILLIS}. */
    public static final String TIMEOUT_MILLIS_DOC = "Timeout of each request to the daemon, in milliseconds.";

    /** mishmash alias of {@link #IDENTITY}. */
    public static final String MISHMASH_WHO_AM_I = "whoAmI";
    /** mishmash: the issuer URL (jni transport only). */
    public static final String MISHMASH_ISSUER = "issuer";
    /** mishmash: the OAuth client id (jni transport only). */
    public static final String MISHMASH_CLIENT_ID = "clientId";
    /** mishmash: the OAuth client secret (jni transport only; refused with the sidecar). */
    public static final String MISHMASH_CLIENT_SECRET = "clientSecret";
    /** mishmash: {@code jwt}/{@code jwks} or {@code introspection} (jni transport only). */
    public static final String MISHMASH_VERIFY_TOKENS_BY = "verifyTokensBy";
    /** mishmash: prefix of endpoint overrides ({@code endpoint.token}, {@code .jwks}, {@code .introspection}, {@code .discovery}). */
    public static final String MISHMASH_ENDPOINT_PREFIX = "endpoint.";

    private static final String[] KNOWN = {
        IDENTITY, TRANSPORT, CONFIG, SOCKET, SIDECAR_URL, REFRESH_BUFFER_SECONDS, DEBUG, TIMEOUT_MILLIS,
        MISHMASH_WHO_AM_I, MISHMASH_ISSUER, MISHMASH_CLIENT_ID, MISHMASH_CLIENT_SECRET, MISHMASH_VERIFY_TOKENS_BY,
    };
    private static final String[] ENDPOINTS = {"token", "jwks", "introspection", "discovery"};

    private final Map<String, String> values;
    private final String configText;

    private SaslGateOptions(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(values);
        this.configText = buildConfigText();
    }

    /**
     * Parses and checks JAAS options.
     *
     * @param options the JAAS options (values are converted with {@code String.valueOf}), never null
     * @return the checked options, never null
     * @throws IllegalArgumentException naming the option and the problem: unknown name, bad
     *     value, {@code clientSecret} with the sidecar transport
     */
    public static SaslGateOptions fromJaas(Map<String, ?> options) {
        Map<String, String> v = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : options.entrySet()) {
            if (e.getValue() != null) {
                v.put(e.getKey(), String.valueOf(e.getValue()));
            }
        }
        return new SaslGateOptions(check(v));
    }

    /**
     * Reads the {@value #PROPERTY_PREFIX}-prefixed system properties, overridden by the
     * prefixed SASL properties. Unprefixed keys (e.g. {@code javax.security.sasl.*}) and
     * unknown system properties are ignored; an unknown prefixed SASL property is refused.
     *
     * @param saslProps the SASL properties, or null
     * @return the checked options, never null
     * @throws IllegalArgumentException as {@link #fromJaas}
     */
    public static SaslGateOptions fromProperties(Map<String, ?> saslProps) {
        Map<String, String> v = new LinkedHashMap<>();
        for (String name : System.getProperties().stringPropertyNames()) {
            // Other saslgate.* system properties (saslgate.native.path, …) belong to other parts.
            if (name.startsWith(PROPERTY_PREFIX) && isKnown(name.substring(PROPERTY_PREFIX.length()))) {
                v.put(name.substring(PROPERTY_PREFIX.length()), System.getProperty(name));
            }
        }
        if (saslProps != null) {
            for (Map.Entry<String, ?> e : saslProps.entrySet()) {
                if (e.getKey().startsWith(PROPERTY_PREFIX) && e.getValue() != null) {
                    v.put(e.getKey().substring(PROPERTY_PREFIX.length()), String.valueOf(e.getValue()));
                }
            }
        }
        return new SaslGateOptions(check(v));
    }

    private static Map<String, String> check(Map<String, String> v) {
        for (String k : v.keySet()) {
            if (!isKnown(k)) {
                throw new IllegalArgumentException("saslgate: unknown option " + k);
            }
        }
        if (v.containsKey(IDENTITY) && v.containsKey(MISHMASH_WHO_AM_I) && !v.get(IDENTITY).equals(v.get(MISHMASH_WHO_AM_I))) {
            throw new IllegalArgumentException("saslgate: options identity and whoAmI disagree; set one");
        }
        String transport = v.getOrDefault(TRANSPORT, TRANSPORT_DEFAULT);
        if (!transport.equals("jni") && !transport.equals("sidecar")) {
            throw new IllegalArgumentException("saslgate: option transport must be jni or sidecar, got " + transport);
        }
        if (transport.equals("sidecar")) {
            if (v.containsKey(MISHMASH_CLIENT_SECRET)) {
                throw new IllegalArgumentException("saslgate: option clientSecret is refused with the sidecar transport:"
                        + " secrets stay in the daemon's configuration (client_secret_file), never in JAAS");
            }
            for (String k : v.keySet()) {
                if (k.equals(MISHMASH_ISSUER) || k.equals(MISHMASH_CLIENT_ID) || k.equals(MISHMASH_VERIFY_TOKENS_BY)
                        || k.startsWith(MISHMASH_ENDPOINT_PREFIX)) {
                    throw new IllegalArgumentException("saslgate: option " + k + " applies to the jni transport only;"
                            + " with the sidecar the daemon's configuration governs");
                }
            }
        }
        String vb = v.get(MISHMASH_VERIFY_TOKENS_BY);
        if (vb != null && !vb.equals("jwt") && !vb.equals("jwks") && !vb.equals("introspection")) {
            throw new IllegalArgumentException("saslgate: option verifyTokensBy must be jwt, jwks or introspection, got " + vb);
        }
        long refresh = number(v, REFRESH_BUFFER_SECONDS, REFRESH_BUFFER_SECONDS_DEFAULT);
        if (refresh < 0 || refresh > 3600) {
            throw new IllegalArgumentException("saslgate: option refreshBufferSeconds must be 0 to 3600, got " + refresh);
        }
        long timeout = number(v, TIMEOUT_MILLIS, TIMEOUT_MILLIS_DEFAULT);
        if (timeout <= 0 || timeout > 600_000) {
            throw new IllegalArgumentException("saslgate: option timeoutMillis must be 1 to 600000, got " + timeout);
        }
        String debug = v.get(DEBUG);
        if (debug != null && !debug.equalsIgnoreCase("true") && !debug.equalsIgnoreCase("false")) {
            throw new IllegalArgumentException("saslgate: option debug must be \"true\" or \"false\", got " + debug);
        }
        return v;
    }

    private static boolean isKnown(String k) {
        for (String n : KNOWN) {
            if (n.equals(k)) {
                return true;
            }
        }
        if (k.startsWith(MISHMASH_ENDPOINT_PREFIX)) {
            for (String e : ENDPOINTS) {
                if (k.equals(MISHMASH_ENDPOINT_PREFIX + e)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static long number(Map<String, String> v, String key, long dflt) {
        String s = v.get(key);
        if (s == null) {
            return dflt;
        }
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("saslgate: option " + key + " must be an integer, got " + s);
        }
    }

    /** @return the identity ({@code identity}, else {@code whoAmI}), or null when not set */
    public String identity() {
        return values.getOrDefault(IDENTITY, values.get(MISHMASH_WHO_AM_I));
    }

    /** @return {@code jni} or {@code sidecar}, never null */
    public String transport() {
        return values.getOrDefault(TRANSPORT, TRANSPORT_DEFAULT);
    }

    /** @return the TOML configuration path, never null (default {@value #CONFIG_DEFAULT}) */
    public String config() {
        return values.getOrDefault(CONFIG, CONFIG_DEFAULT);
    }

    /** @return the daemon's socket path, never null (default {@value #SOCKET_DEFAULT}) */
    public String socket() {
        return values.getOrDefault(SOCKET, SOCKET_DEFAULT);
    }

    /** @return the daemon's loopback URL, or null to use the socket */
    public String sidecarUrl() {
        return values.get(SIDECAR_URL);
    }

    /** @return the refresh buffer, in seconds (0 to 3600) */
    public long refreshBufferSeconds() {
        return number(values, REFRESH_BUFFER_SECONDS, REFRESH_BUFFER_SECONDS_DEFAULT);
    }

    /** @return the per-request timeout towards the daemon, in milliseconds */
    public long timeoutMillis() {
        return number(values, TIMEOUT_MILLIS, TIMEOUT_MILLIS_DEFAULT);
    }

    /** @return true when {@code debug="true"} */
    public boolean debug() {
        return Boolean.parseBoolean(values.getOrDefault(DEBUG, String.valueOf(DEBUG_DEFAULT)));
    }

    /**
     * The TOML configuration built from the mishmash options for the jni transport, or null
     * when {@code issuer} is not set (then {@link #config()} is loaded).
     *
     * @return TOML text (it may contain the client secret: never log it), or null
     */
    public String configText() {
        return configText;
    }

    /**
     * A key identifying the backend these options select (transport and endpoint, or the
     * configuration's SHA-256 for inline TOML); equal keys share one backend. Never contains a
     * secret.
     *
     * @return the key, never null
     */
    public String backendKey() {
        if (transport().equals("sidecar")) {
            return sidecarUrl() != null ? "sidecar-tcp:" + sidecarUrl() : "sidecar-unix:" + socket();
        }
        if (configText != null) {
            return "jni-text:" + sha256Hex(configText);
        }
        return "jni-file:" + config();
    }

    private String buildConfigText() {
        String issuer = values.get(MISHMASH_ISSUER);
        if (issuer == null || !transport().equals("jni")) {
            return null;
        }
        String clientId = values.get(MISHMASH_CLIENT_ID);
        String identity = identity() != null ? identity() : clientId;
        StringBuilder t = new StringBuilder();
        t.append("# Built by saslgate from JAAS options (mishmash misc/openid names).\n");
        t.append("[[issuers]]\nname = \"jaas\"\n");
        t.append("issuer = ").append(tomlString(issuer)).append('\n');
        if (clientId != null) {
            t.append("audiences = [").append(tomlString(clientId)).append("]\n");
        }
        if (values.containsKey(MISHMASH_ENDPOINT_PREFIX + "discovery")) {
            t.append("discovery_url = ").append(tomlString(values.get(MISHMASH_ENDPOINT_PREFIX + "discovery"))).append('\n');
        }
        if (values.containsKey(MISHMASH_ENDPOINT_PREFIX + "jwks")) {
            t.append("jwks_uri = ").append(tomlString(values.get(MISHMASH_ENDPOINT_PREFIX + "jwks"))).append('\n');
        }
        String by = values.getOrDefault(MISHMASH_VERIFY_TOKENS_BY, "jwt");
        t.append("validation = ").append(tomlString(by.equals("introspection") ? "introspection" : "jwt")).append('\n');
        if (by.equals("introspection") || values.containsKey(MISHMASH_ENDPOINT_PREFIX + "introspection")) {
            t.append("[issuers.introspection]\n");
            if (values.containsKey(MISHMASH_ENDPOINT_PREFIX + "introspection")) {
                t.append("endpoint = ").append(tomlString(values.get(MISHMASH_ENDPOINT_PREFIX + "introspection"))).append('\n');
            }
            if (clientId != null) {
                t.append("client_id = ").append(tomlString(clientId)).append('\n');
            }
            if (values.containsKey(MISHMASH_CLIENT_SECRET)) {
                t.append("client_secret = ").append(tomlString(values.get(MISHMASH_CLIENT_SECRET))).append('\n');
            }
        }
        if (identity != null && clientId != null) {
            t.append("\n[[identities]]\nname = ").append(tomlString(identity)).append('\n');
            t.append("kind = \"client_credentials\"\nissuer = \"jaas\"\n");
            t.append("client_id = ").append(tomlString(clientId)).append('\n');
            if (values.containsKey(MISHMASH_CLIENT_SECRET)) {
                t.append("client_secret = ").append(tomlString(values.get(MISHMASH_CLIENT_SECRET))).append('\n');
            }
            if (values.containsKey(MISHMASH_ENDPOINT_PREFIX + "token")) {
                t.append("token_endpoint = ").append(tomlString(values.get(MISHMASH_ENDPOINT_PREFIX + "token"))).append('\n');
            }
        }
        return t.toString();
    }

    /** A TOML basic string (TOML 1.0 §String): quotes, backslashes and control characters escaped. */
    static String tomlString(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                out.append(String.format(Locale.ROOT, "\\u%04X", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    private static String sha256Hex(String s) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder();
            for (byte b : d) {
                sb.append(String.format("%02x", b));
            }
            return sb.toString();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    /** @return the options with {@code clientSecret} masked */
    @Override
    public String toString() {
        Map<String, String> shown = new LinkedHashMap<>(values);
        shown.computeIfPresent(MISHMASH_CLIENT_SECRET, (k, v) -> "***");
        return "SaslGateOptions" + shown;
    }
}
