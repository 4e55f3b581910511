package org.saslgate.hadooptest;

/**
 * {@link HadoopRpcE2E} with the sidecar transport: every JVM's login module and the servers'
 * SaslServers talk to one real {@code saslgate serve} over its Unix socket (jaas-sidecar.conf).
 */
class SidecarRpcTest extends HadoopRpcE2E {
    @Override
    Stack.Transport transport() {
        return Stack.Transport.SIDECAR;
    }
}
