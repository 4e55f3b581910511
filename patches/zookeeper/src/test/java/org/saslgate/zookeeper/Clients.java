package org.saslgate.zookeeper;

import java.util.ArrayList;
import java.util.List;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ClientInfo;

/** Client configurations and identity look-ups shared by the tests. */
final class Clients {

    private Clients() {
    }

    /**
     * @param section JAAS section of the client login (see {@link TestJaas})
     * @param mechanism {@code zookeeper.sasl.client.mechanism}, or null to leave it unset
     */
    static ZKClientConfig config(String section, String mechanism) {
        ZKClientConfig c = new ZKClientConfig();
        c.setProperty(ZKClientConfig.LOGIN_CONTEXT_NAME_KEY, section);
        c.setProperty(ZKClientConfig.ZK_SASL_CLIENT_CANONICALIZE_HOSTNAME, "false");
        if (mechanism != null) {
            c.setProperty(ZKClientConfig.ZK_SASL_CLIENT_MECHANISM, mechanism);
        }
        return c;
    }

    /** A client with the test mechanism and the token {@code token} in its Subject. */
    static ZKClientConfig token(String token) {
        return config("Client-" + token, TestMechanism.NAME);
    }

    /** A client that does not attempt SASL at all. */
    static ZKClientConfig anonymous() {
        ZKClientConfig c = new ZKClientConfig();
        c.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        return c;
    }

    /** @return the session's identities as {@code scheme:user}, from the server (whoAmI) */
    static List<String> whoAmI(ZooKeeper zk) throws InterruptedException {
        List<String> ids = new ArrayList<>();
        for (ClientInfo i : zk.whoAmI()) {
            ids.add(i.getAuthScheme() + ":" + i.getUser());
        }
        return ids;
    }
}
