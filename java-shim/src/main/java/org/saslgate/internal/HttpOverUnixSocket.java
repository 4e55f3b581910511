package org.saslgate.internal;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The Java 11 base version of the Unix-socket transport: Unix domain sockets need Java 16
 * ({@code java.net.UnixDomainSocketAddress}), whose implementation lives in the multi-release
 * layer {@code META-INF/versions/16}. On Java 11 to 15 every request fails and names the fix:
 * use the daemon's loopback TCP listener ({@code sidecarUrl}).
 */
final class HttpOverUnixSocket implements HttpTransport {
    private final Path socket;

    /**
     * @param socket the daemon's socket path, never null
     * @param timeoutMillis ignored in this version
     * @param maxResponseBytes ignored in this version
     */
    HttpOverUnixSocket(Path socket, long timeoutMillis, int maxResponseBytes) {
        this.socket = socket;
    }

    @Override
    public Response send(String method, String path, String jsonBody) throws IOException {
        throw new NotSentException(
                "saslgate: the Unix socket " + socket + " needs Java 16 or later; on this JVM set the"
                        + " sidecarUrl option to the daemon's loopback TCP listener",
                null);
    }

    @Override
    public void close() {}
}
