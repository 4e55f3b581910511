package org.saslgate.internal;

import java.io.IOException;

/**
 * One HTTP/1.1 exchange with the saslgate daemon (DESIGN §6): {@link HttpOverUnixSocket} on the
 * Unix socket, {@link HttpOverTcp} on loopback TCP.
 */
interface HttpTransport extends AutoCloseable {
    /**
     * Sends one request and reads the whole response.
     *
     * @param method {@code GET}, {@code POST} or {@code DELETE}, never null
     * @param path the absolute path with query, e.g. {@code /v1/tokens/validate}, never null
     * @param jsonBody the JSON body, or null for none
     * @return the response, never null
     * @throws IOException on a connection failure, a timeout, or a malformed or oversized
     *     response; {@link NotSentException} when the request certainly did not reach the daemon
     */
    Response send(String method, String path, String jsonBody) throws IOException;

    /** Closes idle connections; in-flight requests finish or fail. */
    @Override
    void close();

    /** A complete response: status code and body (UTF-8 text, possibly empty). */
    final class Response {
        final int status;
        final String body;

        Response(int status, String body) {
            this.status = status;
            this.body = body;
        }
    }

    /** The connection could not be established, so the request was not sent (safe to retry). */
    final class NotSentException extends IOException {
        private static final long serialVersionUID = 1L;

        NotSentException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
