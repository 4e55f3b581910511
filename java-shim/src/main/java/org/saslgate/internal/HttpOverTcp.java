package org.saslgate.internal;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * HTTP/1.1 to the daemon's loopback TCP listener ({@code daemon.tcp_listen}) with the JDK's
 * {@link HttpClient}. Only loopback URLs are accepted: the daemon's TCP API has no TLS unless
 * configured, and bearer tokens must not cross a network in clear (DESIGN §9). Over TCP the
 * daemon refuses token and initial-response requests (they carry tokens); server sessions and
 * validation work.
 */
final class HttpOverTcp implements HttpTransport {
    private final HttpClient client;
    private final URI base;
    private final Duration timeout;
    private final int maxResponseBytes;

    /**
     * @param base {@code http://127.0.0.1:<port>} or {@code http://[::1]:<port>}, never null
     * @param timeoutMillis connect and request timeout, in milliseconds
     * @param maxResponseBytes the largest response body accepted, in bytes
     * @throws IllegalArgumentException if the URL is not http on a loopback address
     */
    HttpOverTcp(URI base, long timeoutMillis, int maxResponseBytes) {
        if (!"http".equals(base.getScheme())
                || base.getHost() == null
                || !(base.getHost().equals("127.0.0.1") || base.getHost().equals("[::1]") || base.getHost().equals("localhost"))
                || base.getPort() <= 0) {
            throw new IllegalArgumentException(
                    "saslgate: sidecarUrl must be http://127.0.0.1:<port> (loopback only), got " + base);
        }
        this.base = base;
        this.timeout = Duration.ofMillis(timeoutMillis);
        this.maxResponseBytes = maxResponseBytes;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(timeout)
                .build();
    }

    @Override
    public Response send(String method, String path, String jsonBody) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout);
        if (jsonBody != null) {
            b.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(jsonBody, StandardCharsets.UTF_8));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<byte[]> r;
        try {
            r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (ConnectException e) {
            throw new NotSentException("saslgate: cannot connect to " + base + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("saslgate: interrupted", e);
        }
        if (r.body().length > maxResponseBytes) {
            throw new IOException("saslgate: response larger than " + maxResponseBytes + " bytes");
        }
        return new Response(r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        // HttpClient has no close() before Java 21; its connections time out on their own.
    }
}
