package org.saslgate.internal;

import java.util.Map;
import javax.security.sasl.Sasl;

/**
 * Which {@code Sasl.POLICY_*} properties exclude OAUTHBEARER, following Kafka's
 * {@code OAuthBearerSaslServer.mechanismNamesCompatibleWithPolicy}:
 * <ul>
 *   <li>{@link Sasl#POLICY_NOPLAINTEXT}{@code =true} excludes it: the bearer token travels in
 *       clear and can be replayed until it expires (DESIGN §9);</li>
 *   <li>{@link Sasl#POLICY_NOANONYMOUS}: allowed (the client is authenticated);</li>
 *   <li>{@link Sasl#POLICY_NOACTIVE}, {@link Sasl#POLICY_NODICTIONARY},
 *       {@link Sasl#POLICY_FORWARD_SECRECY}, {@link Sasl#POLICY_PASS_CREDENTIALS}: ignored, as
 *       Kafka does (the token is not derived from a password, so dictionary attacks do not apply;
 *       the active-attack and forward-secrecy risks are those of any clear-text bearer credential
 *       and are covered by {@code POLICY_NOPLAINTEXT}). The JDK's PLAIN is stricter; hosts that
 *       want that set {@code POLICY_NOPLAINTEXT}.</li>
 * </ul>
 */
final class Policy {
    private Policy() {}

    /**
     * @param props the SASL properties, or null
     * @return true when OAUTHBEARER may be offered
     */
    static boolean allows(Map<String, ?> props) {
        return props == null || !"true".equalsIgnoreCase(String.valueOf(props.get(Sasl.POLICY_NOPLAINTEXT)));
    }
}
