/**
 * saslgate for Java: a SASL OAUTHBEARER (RFC 7628) provider and a JAAS login module that let
 * ZooKeeper and Hadoop RPC authenticate with OAuth 2.0 bearer tokens, backed by the saslgate
 * core in-process (JNI) or by the saslgate daemon (sidecar). The public API is
 * {@link org.saslgate.SaslGateProvider}, {@link org.saslgate.SaslGateLoginModule},
 * {@link org.saslgate.SaslGatePrincipal}, {@link org.saslgate.SaslGateTokenCredential} and
 * {@link org.saslgate.SaslGateOptions}; everything in {@code org.saslgate.internal} is not API.
 *
 * <p>Interoperability: the mechanism interoperates with Apache Kafka's own OAUTHBEARER client and
 * server (kafka-clients' {@code OAuthBearerSaslClient}/{@code OAuthBearerSaslServer}, tested in
 * both directions), with two deliberate differences:
 * <ul>
 *   <li>saslgate's server refuses a SASL extension (an RFC 7628 kvpair other than {@code auth},
 *       {@code host}, {@code port}) that the service does not list in {@code allowed_extensions}:
 *       the client gets the error challenge (status {@code invalid_request}) and the exchange ends
 *       with reason {@code unknown_extension}. Kafka's server ignores extensions its callback
 *       handler does not validate. Configure Kafka clients without extensions, or allow them.</li>
 *   <li>saslgate's client sends RFC 7628's {@code host} kvpair (the SASL server name); Kafka's
 *       server treats it as an unvalidated extension and ignores it, so the exchange succeeds.
 *       Neither side sends an authzid by default, so Kafka's "authzid equals the token's
 *       principal" check does not apply.</li>
 * </ul>
 */
package org.saslgate;
