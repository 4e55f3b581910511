package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import javax.security.auth.login.LoginException;
import javax.security.auth.Subject;
import javax.security.auth.login.LoginContext;
import javax.security.sasl.SaslException;
import org.junit.jupiter.api.Test;
import org.saslgate.SaslGateOptions;

/** The backend contract over the real daemon's Unix socket, plus sidecar-specific behaviour. */
class SidecarBackendTest extends BackendContractTest {
    private DaemonFixture daemon;

    @Override
    void startBackend() throws Exception {
        daemon = DaemonFixture.start();
    }

    @Override
    void stopBackend() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Override
    Map<String, String> backendProperties() {
        return Map.of("saslgate.transport", "sidecar", "saslgate.socket", daemon.socket.toString());
    }

    @Override
    Map<String, String> jaasOptions() {
        return Map.of("transport", "sidecar", "socket", daemon.socket.toString());
    }

    @Test
    void healthzAnswersOverTheUnixSocketWithKeepAlive() throws Exception {
        try (HttpOverUnixSocket http = new HttpOverUnixSocket(daemon.socket, 2000, 1024)) {
            for (int i = 0; i < 3; i++) {
                HttpTransport.Response r = http.send("GET", "/healthz", null);
                assertEquals(200, r.status);
                assertEquals("ok\n", r.body);
            }
        }
    }

    @Test
    void oversizedResponsesAreRefused() throws Exception {
        try (HttpOverUnixSocket http = new HttpOverUnixSocket(daemon.socket, 2000, 16)) {
            java.io.IOException e = assertThrows(java.io.IOException.class, () -> http.send("GET", "/metrics", null));
            assertTrue(e.getMessage().contains("larger than 16 bytes"), e.getMessage());
        }
    }

    @Test
    void clientSecretIsRefusedWithTheSidecarTransport() {
        Map<String, String> options = Map.of("transport", "sidecar", "socket", daemon.socket.toString(),
                "identity", "zk-client", "clientSecret", "s3cret");
        LoginException e = assertThrows(LoginException.class,
                () -> new LoginContext("Client", new Subject(), null, jaas(options)).login());
        assertTrue(e.getMessage().contains("clientSecret is refused with the sidecar transport"), e.getMessage());
        assertTrue(!e.getMessage().contains("s3cret"));
    }

    @Test
    void aDaemonRestartFailsCleanlyThenRecovers() throws Exception {
        Backend backend = Backends.obtain(SaslGateOptions.fromJaas(jaasOptions()));
        assertTrue(backend.validate("zookeeper", backend.tokenAcquire("zk-client").value).valid);
        daemon.stop();
        SaslException down = assertThrows(SaslException.class,
                () -> backend.serverCreate("zookeeper", "localhost"));
        assertTrue(down.getMessage().startsWith("saslgate: authentication could not be performed: "), down.getMessage());
        daemon.launch(DaemonFixture.binary());
        assertTrue(backend.validate("zookeeper", backend.tokenAcquire("zk-client").value).valid);
    }
}
