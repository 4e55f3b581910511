package org.saslgate.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A minimal, strict HTTP/1.1 client over a Unix domain socket, for the saslgate daemon's API only
 * (DESIGN §6). The JDK has no HTTP client for Unix sockets and the shim may have no dependencies,
 * so this class is deliberately small: it is not a general HTTP client.
 *
 * <p>What it does: one request per connection at a time, {@code Connection: keep-alive} with a
 * small pool of idle connections (at most {@value #MAX_IDLE}); request bodies with
 * {@code Content-Length}; responses must carry {@code Content-Length} (or be 204/304) — chunked
 * transfer coding, 1xx responses, header folding and bare LF line ends are refused. Every read
 * and write is bounded by the timeout (milliseconds, per operation) and the response (headers at
 * most 16 KiB, body at most {@code maxResponseBytes}). Connection failures before the request
 * is written raise {@link HttpTransport.NotSentException} (safe to retry).
 *
 * <p>This is the Java 16+ version (multi-release layer {@code META-INF/versions/16}); the Java 11
 * base version refuses Unix sockets.
 */
final class HttpOverUnixSocket implements HttpTransport {
    private static final int MAX_IDLE = 8;
    private static final int MAX_HEADER_BYTES = 16 * 1024;

    private final UnixDomainSocketAddress address;
    private final long timeoutMillis;
    private final int maxResponseBytes;
    private final ConcurrentLinkedDeque<SocketChannel> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    /**
     * @param socket the daemon's socket path, never null
     * @param timeoutMillis the bound of each connect, write and read, in milliseconds (&gt; 0)
     * @param maxResponseBytes the largest response body accepted, in bytes
     */
    HttpOverUnixSocket(Path socket, long timeoutMillis, int maxResponseBytes) {
        this.address = UnixDomainSocketAddress.of(socket);
        this.timeoutMillis = timeoutMillis;
        this.maxResponseBytes = maxResponseBytes;
    }

    @Override
    public Response send(String method, String path, String jsonBody) throws IOException {
        if (closed) {
            throw new NotSentException("saslgate: transport closed", null);
        }
        byte[] body = jsonBody == null ? new byte[0] : jsonBody.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder();
        head.append(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                .append("Host: localhost\r\n")
                .append("Connection: keep-alive\r\n")
                .append("Accept: application/json\r\n");
        if (jsonBody != null) {
            head.append("Content-Type: application/json\r\n");
        }
        if (jsonBody != null || !method.equals("GET")) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
        ByteBuffer request = ByteBuffer.allocate(headBytes.length + body.length);
        request.put(headBytes).put(body).flip();

        SocketChannel ch = idle.pollFirst();
        boolean reused = ch != null;
        if (ch == null) {
            ch = connect();
        }
        try (Selector selector = Selector.open()) {
            ch.register(selector, 0);
            try {
                write(ch, selector, request);
            } catch (IOException e) {
                if (reused) {
                    // The daemon closed an idle connection (restart, idle timeout): retry once on
                    // a fresh one; nothing was processed.
                    closeQuietly(ch);
                    return sendOnce(method, path, request.rewind());
                }
                throw e;
            }
            Parsed parsed;
            try {
                parsed = read(ch, selector);
            } catch (EofBeforeResponse e) {
                closeQuietly(ch);
                if (reused) {
                    return sendOnce(method, path, request.rewind());
                }
                throw e;
            }
            ch.keyFor(selector).cancel();
            selector.selectNow();
            if (parsed.keepAlive && !closed && idle.size() < MAX_IDLE) {
                idle.addFirst(ch);
            } else {
                closeQuietly(ch);
            }
            return parsed.response;
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private Response sendOnce(String method, String path, ByteBuffer request) throws IOException {
        SocketChannel ch = connect();
        try (Selector selector = Selector.open()) {
            ch.register(selector, 0);
            write(ch, selector, request);
            Parsed parsed = read(ch, selector);
            ch.keyFor(selector).cancel();
            selector.selectNow();
            if (parsed.keepAlive && !closed && idle.size() < MAX_IDLE) {
                idle.addFirst(ch);
            } else {
                closeQuietly(ch);
            }
            return parsed.response;
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private SocketChannel connect() throws IOException {
        SocketChannel ch = null;
        try {
            // Connecting a Unix socket does not block on the network: the kernel accepts into the
            // listener's backlog or refuses at once.
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(address);
            ch.configureBlocking(false);
            return ch;
        } catch (IOException e) {
            if (ch != null) {
                closeQuietly(ch);
            }
            throw new NotSentException(
                    "saslgate: cannot connect to the daemon at " + address.getPath() + ": " + e.getMessage(), e);
        }
    }

    private void write(SocketChannel ch, Selector selector, ByteBuffer buf) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (buf.hasRemaining()) {
            if (ch.write(buf) == 0) {
                await(ch, selector, SelectionKey.OP_WRITE, deadline);
            }
        }
    }

    private void await(SocketChannel ch, Selector selector, int op, long deadline) throws IOException {
        long left = (deadline - System.nanoTime()) / 1_000_000L;
        if (left <= 0) {
            throw new IOException("saslgate: daemon did not answer within " + timeoutMillis + " ms");
        }
        ch.keyFor(selector).interestOps(op);
        selector.select(left);
        selector.selectedKeys().clear();
    }

    /** The peer closed the connection before sending any byte of a response. */
    private static final class EofBeforeResponse extends IOException {
        private static final long serialVersionUID = 1L;

        EofBeforeResponse() {
            super("saslgate: the daemon closed the connection without a response");
        }
    }

    private static final class Parsed {
        final Response response;
        final boolean keepAlive;

        Parsed(Response response, boolean keepAlive) {
            this.response = response;
            this.keepAlive = keepAlive;
        }
    }

    private Parsed read(SocketChannel ch, Selector selector) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        ByteArrayOutputStream acc = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(8192);
        int headerEnd = -1;
        while (headerEnd < 0) {
            int n = readSome(ch, selector, buf, deadline);
            if (n < 0) {
                if (acc.size() == 0) {
                    throw new EofBeforeResponse();
                }
                throw new IOException("saslgate: connection closed inside the response headers");
            }
            acc.write(buf.array(), 0, n);
            headerEnd = indexOfCrlfCrlf(acc.toByteArray());
            if (headerEnd < 0 && acc.size() > MAX_HEADER_BYTES) {
                throw new IOException("saslgate: response headers larger than " + MAX_HEADER_BYTES + " bytes");
            }
        }
        byte[] all = acc.toByteArray();
        String head = new String(all, 0, headerEnd, StandardCharsets.ISO_8859_1);
        String[] lines = head.split("\r\n", -1);
        int status = statusCode(lines[0]);
        long contentLength = -1;
        boolean keepAlive = true;
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            int colon = line.indexOf(':');
            if (colon <= 0 || line.charAt(0) == ' ' || line.charAt(0) == '\t' || line.indexOf('\n') >= 0) {
                throw new IOException("saslgate: malformed response header line");
            }
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim();
            if (name.equals("content-length")) {
                long v;
                try {
                    v = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    throw new IOException("saslgate: malformed Content-Length");
                }
                if (v < 0 || (contentLength >= 0 && contentLength != v)) {
                    throw new IOException("saslgate: malformed Content-Length");
                }
                contentLength = v;
            } else if (name.equals("transfer-encoding")) {
                throw new IOException("saslgate: Transfer-Encoding is not supported (Content-Length only)");
            } else if (name.equals("connection") && value.toLowerCase(Locale.ROOT).contains("close")) {
                keepAlive = false;
            }
        }
        if (contentLength < 0) {
            if (status == 204 || status == 304) {
                contentLength = 0;
            } else {
                throw new IOException("saslgate: response without Content-Length");
            }
        }
        if (contentLength > maxResponseBytes) {
            throw new IOException("saslgate: response larger than " + maxResponseBytes + " bytes");
        }
        int bodyStart = headerEnd + 4;
        ByteArrayOutputStream body = new ByteArrayOutputStream((int) contentLength);
        body.write(all, bodyStart, all.length - bodyStart);
        while (body.size() < contentLength) {
            int n = readSome(ch, selector, buf, deadline);
            if (n < 0) {
                throw new IOException("saslgate: connection closed inside the response body");
            }
            body.write(buf.array(), 0, n);
        }
        if (body.size() != contentLength) {
            // Bytes beyond the body: a protocol violation (we never pipeline).
            throw new IOException("saslgate: response longer than its Content-Length");
        }
        return new Parsed(new Response(status, body.toString(StandardCharsets.UTF_8)), keepAlive);
    }

    private int readSome(SocketChannel ch, Selector selector, ByteBuffer buf, long deadline) throws IOException {
        buf.clear();
        while (true) {
            int n = ch.read(buf);
            if (n != 0) {
                return n;
            }
            await(ch, selector, SelectionKey.OP_READ, deadline);
        }
    }

    private static int statusCode(String statusLine) throws IOException {
        // "HTTP/1.1 200 OK"
        if (!statusLine.startsWith("HTTP/1.1 ") || statusLine.length() < 12) {
            throw new IOException("saslgate: malformed status line");
        }
        int code;
        try {
            code = Integer.parseInt(statusLine.substring(9, 12));
        } catch (NumberFormatException e) {
            throw new IOException("saslgate: malformed status line");
        }
        if (code < 200 || code > 599) {
            throw new IOException("saslgate: unexpected status " + code);
        }
        return code;
    }

    private static int indexOfCrlfCrlf(byte[] b) {
        for (int i = 0; i + 3 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    @Override
    public void close() {
        closed = true;
        SocketChannel ch;
        while ((ch = idle.pollFirst()) != null) {
            closeQuietly(ch);
        }
    }
}
