package org.saslgate.internal;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.security.auth.login.LoginException;
import javax.security.sasl.SaslException;

/**
 * The sidecar backend: the saslgate daemon's {@code /v1} HTTP API ({@code docs/openapi.json},
 * DESIGN §6) over its Unix socket ({@link HttpOverUnixSocket}, Java 16+) or loopback TCP
 * ({@link HttpOverTcp}). Bytes travel as standard base64.
 *
 * <p>Failures: a daemon that cannot be reached, times out or answers 5xx/garbage gives a
 * {@link SaslException} (prefix {@value #INTERNAL}), or a {@link LoginException} for tokens;
 * the next call tries again, so a restarted daemon is picked up without reconfiguration.
 * Idempotent calls (token, initial response, validate, delete) are retried up to
 * {@value #ATTEMPTS} times with exponential backoff ({@value #BACKOFF_MILLIS} ms, doubled);
 * session creation only when the request was certainly not sent; steps never.
 *
 * <p>Over TCP the daemon refuses the token and initial-response calls (they carry a bearer
 * token); use the Unix socket (Java 16+) for clients.
 */
public final class SidecarBackend implements Backend {
    /** Prefix of internal-failure messages (as the JNI contract's). */
    static final String INTERNAL = "saslgate: authentication could not be performed: ";
    static final int ATTEMPTS = 3;
    static final long BACKOFF_MILLIS = 50;
    /** Responses carry at most one token in base64 plus small JSON: 4 MiB is ample. */
    static final int MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

    private final HttpTransport http;
    private final String endpoint;

    /**
     * Talks to the daemon over its Unix socket.
     *
     * @param socket the socket path ({@code daemon.socket}), never null
     * @param timeoutMillis per-operation timeout, in milliseconds
     * @return the backend, never null
     */
    public static SidecarBackend overUnixSocket(Path socket, long timeoutMillis) {
        return new SidecarBackend(new HttpOverUnixSocket(socket, timeoutMillis, MAX_RESPONSE_BYTES), socket.toString());
    }

    /**
     * Talks to the daemon over loopback TCP ({@code daemon.tcp_listen}).
     *
     * @param url {@code http://127.0.0.1:<port>}, never null
     * @param timeoutMillis connect and request timeout, in milliseconds
     * @return the backend, never null
     * @throws IllegalArgumentException if the URL is not loopback http
     */
    public static SidecarBackend overTcp(URI url, long timeoutMillis) {
        return new SidecarBackend(new HttpOverTcp(url, timeoutMillis, MAX_RESPONSE_BYTES), url.toString());
    }

    SidecarBackend(HttpTransport http, String endpoint) {
        this.http = http;
        this.endpoint = endpoint;
    }

    /** What a call may retry. */
    private enum Retry { IF_NOT_SENT, ALWAYS, NEVER }

    /** A daemon error body {@code {"error": code, "message": text}} with its HTTP status. */
    static final class ApiError extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final String code;

        ApiError(int status, String code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }
    }

    private Map<String, Object> call(String method, String path, Map<String, ?> body, Retry retry)
            throws IOException, ApiError {
        String json = body == null ? null : Json.write(body);
        IOException last = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            if (attempt > 0) {
                try {
                    Thread.sleep(BACKOFF_MILLIS << (attempt - 1));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("saslgate: interrupted", e);
                }
            }
            HttpTransport.Response r;
            try {
                r = http.send(method, path, json);
            } catch (HttpTransport.NotSentException e) {
                last = e;
                if (retry == Retry.NEVER) {
                    break;
                }
                continue;
            } catch (IOException e) {
                last = e;
                if (retry != Retry.ALWAYS) {
                    break;
                }
                continue;
            }
            return decode(r);
        }
        throw last;
    }

    private static Map<String, Object> decode(HttpTransport.Response r) throws IOException, ApiError {
        if (r.status == 204) {
            return Map.of();
        }
        Map<String, Object> o;
        try {
            o = Json.parseObject(r.body);
        } catch (Json.JsonException e) {
            throw new IOException("saslgate: the daemon answered " + r.status + " with a body that is not a JSON object: "
                    + e.getMessage(), e);
        }
        if (r.status >= 200 && r.status < 300) {
            return o;
        }
        try {
            String code = Json.string(o, "error");
            String message = Json.string(o, "message");
            throw new ApiError(r.status, code == null ? "http_" + r.status : code, message == null ? "" : message);
        } catch (Json.JsonException e) {
            throw new IOException("saslgate: malformed error body (status " + r.status + ")", e);
        }
    }

    private SaslException internal(Exception e) {
        String what = e instanceof ApiError
                ? ((ApiError) e).code + ": " + e.getMessage()
                : "daemon at " + endpoint + ": " + e.getMessage();
        return new SaslException(INTERNAL + what, e);
    }

    private static String b64(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    private static byte[] unb64(String s) throws IOException {
        try {
            return Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new IOException("saslgate: malformed base64 from the daemon", e);
        }
    }

    private static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @Override
    public ServerSession serverCreate(String service, String serverName) throws SaslException {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("mechanism", "OAUTHBEARER");
        req.put("service", service);
        req.put("server_name", serverName);
        try {
            Map<String, Object> r = call("POST", "/v1/sasl/server/sessions", req, Retry.IF_NOT_SENT);
            return new Session(Json.requiredString(r, "session_id"));
        } catch (ApiError e) {
            if ("unknown_service".equals(e.code)) {
                throw new IllegalArgumentException("saslgate: " + e.getMessage(), e);
            }
            throw internal(e);
        } catch (IOException | Json.JsonException e) {
            throw internal(e);
        }
    }

    @Override
    public byte[] clientInitialResponse(String identity, byte[] token, String authzid, String host, int port)
            throws SaslException {
        if (identity == null) {
            throw new SaslException("saslgate: the sidecar builds initial responses for a configured identity;"
                    + " none is known (login module option identity, or SASL property saslgate.identity)");
        }
        // The daemon sends its current token for the identity: the same token the login module
        // read from it (tokens stay in the daemon, DESIGN §9).
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("identity", identity);
        if (authzid != null) {
            req.put("authzid", authzid);
        }
        if (host != null) {
            req.put("host", host);
        }
        if (port >= 0) {
            req.put("port", port);
        }
        try {
            Map<String, Object> r = call("POST", "/v1/sasl/client/initial-response", req, Retry.ALWAYS);
            return unb64(Json.requiredString(r, "response"));
        } catch (IOException | ApiError | Json.JsonException e) {
            throw internal(e);
        }
    }

    /**
     * RFC 7628 §3.2.2/§3.2.3: an empty challenge ends the exchange with success; an error
     * challenge (a JSON object with {@code status}) is answered with the dummy {@code %x01}.
     * The daemon has no endpoint for this one-byte rule, so it is applied here; the challenge is
     * only parsed, never built.
     */
    @Override
    public byte[] clientEvaluateChallenge(byte[] challenge) throws SaslException {
        if (challenge.length == 0) {
            return null;
        }
        try {
            Map<String, Object> error = Json.parseObject(new String(challenge, StandardCharsets.UTF_8));
            Json.requiredString(error, "status");
        } catch (Json.JsonException e) {
            throw new SaslException("saslgate: malformed server challenge (RFC 7628 §3.2.2): " + e.getMessage(), e);
        }
        return new byte[] {0x01};
    }

    @Override
    public Token tokenAcquire(String identity) throws LoginException {
        try {
            Map<String, Object> r = call("GET", "/v1/identities/" + segment(identity) + "/token", null, Retry.ALWAYS);
            return new Token(Json.requiredString(r, "access_token").getBytes(StandardCharsets.UTF_8),
                    Json.integer(r, "expires_at", -1));
        } catch (ApiError e) {
            throw login("saslgate: no token for identity " + identity + ": " + e.code + ": " + e.getMessage(), e);
        } catch (IOException | Json.JsonException e) {
            throw login("saslgate: no token for identity " + identity + " from the daemon at " + endpoint + ": "
                    + e.getMessage(), e);
        }
    }

    private static LoginException login(String message, Exception cause) {
        LoginException e = new LoginException(message);
        e.initCause(cause);
        return e;
    }

    @Override
    public Validation validate(String service, byte[] token) throws SaslException {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("service", service);
        req.put("token", new String(token, StandardCharsets.UTF_8));
        try {
            Map<String, Object> r = call("POST", "/v1/tokens/validate", req, Retry.ALWAYS);
            if (Json.requiredBoolean(r, "valid")) {
                String[] groups = Json.strings(r, "groups");
                return new Validation(true, Json.string(r, "authorization_id"),
                        groups == null ? new String[0] : groups, null, null);
            }
            return new Validation(false, null, null, Json.string(r, "reason"), Json.string(r, "message"));
        } catch (ApiError e) {
            if ("unknown_service".equals(e.code)) {
                throw new IllegalArgumentException("saslgate: " + e.getMessage(), e);
            }
            throw internal(e);
        } catch (IOException | Json.JsonException e) {
            throw internal(e);
        }
    }

    @Override
    public void close() {
        http.close();
    }

    /** A daemon-side session; the daemon removes it once complete, {@link #close()} deletes it otherwise. */
    private final class Session implements ServerSession {
        private final String id;
        private int state = RUNNING;
        private boolean gone;
        private String authorizationId;
        private String[] groups;
        private long expiresAtSecs = -1;
        private String reason;
        private String message;

        Session(String id) {
            this.id = id;
        }

        @Override
        public byte[] step(byte[] response) throws SaslException {
            if (state != RUNNING || gone) {
                throw new IllegalStateException("saslgate: the exchange is already complete");
            }
            Map<String, Object> req = new LinkedHashMap<>();
            req.put("response", b64(response));
            try {
                Map<String, Object> r = call("POST", "/v1/sasl/server/sessions/" + segment(id) + "/step", req, Retry.NEVER);
                byte[] challenge = unb64(Json.requiredString(r, "challenge"));
                if (Json.requiredBoolean(r, "complete")) {
                    gone = true;
                    if (Json.requiredBoolean(r, "success")) {
                        authorizationId = Json.requiredString(r, "authorization_id");
                        String[] g = Json.strings(r, "groups");
                        groups = g == null ? new String[0] : g;
                        expiresAtSecs = Json.integer(r, "expires_at", -1);
                        state = SUCCESS;
                    } else {
                        reason = Json.string(r, "reason");
                        if (reason == null) {
                            reason = "unknown";
                        }
                        message = "the token was refused (" + reason + ")";
                        state = FAILURE;
                    }
                }
                return challenge;
            } catch (ApiError e) {
                // 404/409/400: the daemon no longer knows the session (restart, expiry) or refused
                // the message; the exchange cannot go on.
                gone = true;
                throw internal(e);
            } catch (IOException | Json.JsonException e) {
                gone = true;
                throw internal(e);
            }
        }

        @Override
        public int state() {
            return state;
        }

        @Override
        public String authorizationId() {
            return authorizationId;
        }

        @Override
        public String[] groups() {
            return groups == null ? null : groups.clone();
        }

        @Override
        public long expiresAtSecs() {
            return expiresAtSecs;
        }

        @Override
        public String failureReason() {
            return reason;
        }

        @Override
        public String failureMessage() {
            return message;
        }

        @Override
        public void close() {
            if (gone) {
                return;
            }
            gone = true;
            try {
                call("DELETE", "/v1/sasl/server/sessions/" + segment(id), null, Retry.ALWAYS);
            } catch (IOException | ApiError e) {
                // The daemon expires idle sessions (daemon.session_idle_secs) on its own.
            }
        }
    }
}
