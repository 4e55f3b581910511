package org.saslgate.zookeeper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.jute.BinaryInputArchive;
import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.ZooDefs.OpCode;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.proto.ConnectRequest;
import org.apache.zookeeper.proto.ConnectResponse;
import org.apache.zookeeper.proto.GetSASLRequest;
import org.apache.zookeeper.proto.ReplyHeader;
import org.apache.zookeeper.proto.RequestHeader;
import org.apache.zookeeper.proto.SetSASLResponse;
import org.apache.zookeeper.server.ZooKeeperSaslServer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Patch 0006: a connection's SaslServer is disposed when the connection closes (an exchange the
 * client abandoned after a challenge does not stay open in the mechanism), and a SASL request
 * whose token is null is answered AUTHFAILED instead of crashing the request path. Both
 * connection factories (NIO, Netty). The client speaks ZooKeeper's wire protocol directly (jute
 * records over a plain socket), because ZooKeeper's own client never abandons an exchange or
 * sends a null token.
 */
class AbandonedExchangeTest {

    private static Map<String, String> props(String factory) {
        Map<String, String> m = new HashMap<>();
        m.put(ZooKeeperSaslServer.SASL_MECHANISM_NAME, TestMechanism.NAME);
        m.put("zookeeper.serverCnxnFactory", factory);
        return m;
    }

    @ParameterizedTest
    @ValueSource(strings = {"org.apache.zookeeper.server.NIOServerCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory"})
    void exchangeAbandonedAfterTheChallengeIsDisposedWhenTheConnectionCloses(String factory) throws Exception {
        try (ZkServer server = new ZkServer(props(factory))) {
            int before = TestMechanism.OPEN_EXCHANGES.get();
            try (RawClient c = new RawClient(server)) {
                Reply r = c.sasl(TestMechanism.TWO_STEP_TOKEN.getBytes(StandardCharsets.UTF_8));
                assertEquals(Code.OK.intValue(), r.err);
                assertEquals(TestMechanism.MORE_CHALLENGE, r.token);
                assertEquals(before + 1, TestMechanism.OPEN_EXCHANGES.get(), "the exchange is open while the client is connected");
            }
            // the client went away without its next message
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (TestMechanism.OPEN_EXCHANGES.get() != before && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(before, TestMechanism.OPEN_EXCHANGES.get(), "the abandoned exchange was not disposed");
            assertTrue(server.isRunning());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"org.apache.zookeeper.server.NIOServerCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory"})
    void nullTokenIsAnsweredAuthFailedAndTheServerStaysUp(String factory) throws Exception {
        try (ZkServer server = new ZkServer(props(factory))) {
            try (RawClient c = new RawClient(server)) {
                Reply r = c.sasl(null);
                assertEquals(Code.AUTHFAILED.intValue(), r.err);
            }
            try (ZkServer.Session s = server.connect(Clients.token("tok-alice"))) {
                assertEquals(KeeperState.SaslAuthenticated, s.saslState);
            }
        }
    }

    /** A server reply: the error code and the SASL token as UTF-8 (null when absent). */
    static final class Reply {
        final int err;
        final String token;

        Reply(int err, String token) {
            this.err = err;
            this.token = token;
        }
    }

    /** ZooKeeper's wire protocol over a plain socket: a session, then raw SASL requests. */
    static final class RawClient implements AutoCloseable {
        private final Socket socket;
        private final DataInputStream in;
        private final DataOutputStream out;
        private int xid = 1;

        RawClient(ZkServer server) throws IOException {
            String[] hostPort = server.connectString().split(":");
            socket = new Socket(hostPort[0], Integer.parseInt(hostPort[1]));
            socket.setSoTimeout(20_000);
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            out = new DataOutputStream(socket.getOutputStream());
            send(new ConnectRequest(0, 0, 30_000, 0, new byte[16], false));
            ConnectResponse cr = new ConnectResponse();
            cr.deserialize(BinaryInputArchive.getArchive(new ByteArrayInputStream(receive())), "connect");
            assertTrue(cr.getSessionId() != 0, "no session");
        }

        /** Sends a GetSASLRequest (OpCode.sasl) with {@code token} (null: jute length -1). */
        Reply sasl(byte[] token) throws IOException {
            send(new RequestHeader(xid++, OpCode.sasl), new GetSASLRequest(token));
            BinaryInputArchive a = BinaryInputArchive.getArchive(new ByteArrayInputStream(receive()));
            ReplyHeader h = new ReplyHeader();
            h.deserialize(a, "header");
            SetSASLResponse r = new SetSASLResponse();
            r.deserialize(a, "response");
            return new Reply(h.getErr(), r.getToken() == null ? null : new String(r.getToken(), StandardCharsets.UTF_8));
        }

        private void send(Record... records) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            BinaryOutputArchive a = BinaryOutputArchive.getArchive(b);
            for (Record r : records) {
                r.serialize(a, "r");
            }
            out.writeInt(b.size());
            out.write(b.toByteArray());
            out.flush();
        }

        private byte[] receive() throws IOException {
            byte[] d = new byte[in.readInt()];
            in.readFully(d);
            return d;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
