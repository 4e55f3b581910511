package org.saslgate.zktest;

/**
 * {@link StandaloneServerTest} over the jni transport: the saslgate core in the server and client
 * JVMs ({@code saslgate.native.path}), no daemon.
 */
class JniStandaloneTest extends StandaloneServerTest {
    @Override
    Stack.Transport transport() {
        return Stack.Transport.JNI;
    }
}
