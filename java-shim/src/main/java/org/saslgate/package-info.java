/**
 * saslgate for Java: a SASL OAUTHBEARER (RFC 7628) provider and a JAAS login module that let
 * ZooKeeper and Hadoop RPC authenticate with OAuth 2.0 bearer tokens, backed by the saslgate
 * core in-process (JNI) or by the saslgate daemon (sidecar). The public API is
 * {@link org.saslgate.SaslGateProvider}, {@link org.saslgate.SaslGateLoginModule},
 * {@link org.saslgate.SaslGatePrincipal}, {@link org.saslgate.SaslGateTokenCredential} and
 * {@link org.saslgate.SaslGateOptions}; everything in {@code org.saslgate.internal} is not API.
 */
package org.saslgate;
