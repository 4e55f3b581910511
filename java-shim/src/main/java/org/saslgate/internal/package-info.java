/**
 * Internals of saslgate for Java, not part of the public API: the OAUTHBEARER
 * {@code SaslClient}/{@code SaslServer} (factories nested), the {@code Backend} interface with
 * its JNI and sidecar implementations, the JNI natives and loader, and the small HTTP/1.1 and
 * JSON codecs the sidecar needs (the shim has no runtime dependencies).
 */
package org.saslgate.internal;
