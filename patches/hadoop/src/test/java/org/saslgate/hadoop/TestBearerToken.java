package org.saslgate.hadoop;

/**
 * The test provider's credential: a private credential of the client's {@code Subject} whose
 * value is sent as the bearer token ({@code id:<identity>} is accepted by the test server).
 *
 * @param value the token text, never null
 */
public record TestBearerToken(String value) {
}
