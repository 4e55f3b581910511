package org.saslgate.zktest;

/** {@link StandaloneServerTest} over the sidecar transport: a real {@code saslgate serve}. */
class SidecarStandaloneTest extends StandaloneServerTest {
    @Override
    Stack.Transport transport() {
        return Stack.Transport.SIDECAR;
    }
}
