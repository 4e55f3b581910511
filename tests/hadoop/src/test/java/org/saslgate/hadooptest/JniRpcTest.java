package org.saslgate.hadooptest;

/** {@link HadoopRpcE2E} with the jni transport (the saslgate core in every JVM, jaas-jni.conf). */
class JniRpcTest extends HadoopRpcE2E {
    @Override
    Stack.Transport transport() {
        return Stack.Transport.JNI;
    }
}
