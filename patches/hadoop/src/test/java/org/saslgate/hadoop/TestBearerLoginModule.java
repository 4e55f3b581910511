package org.saslgate.hadoop;

import java.util.Map;

import javax.security.auth.Subject;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.spi.LoginModule;

/**
 * A test-only JAAS login module standing in for {@code org.saslgate.SaslGateLoginModule}: on
 * commit it adds a {@link TestBearerPrincipal} (option {@code identity}) and a
 * {@link TestBearerToken} ({@code id:<identity>}) to the Subject.
 */
public final class TestBearerLoginModule implements LoginModule {
    private Subject subject;
    private String identity;

    @Override
    public void initialize(Subject subject, CallbackHandler callbackHandler, Map<String, ?> sharedState,
            Map<String, ?> options) {
        this.subject = subject;
        this.identity = (String) options.get("identity");
    }

    @Override
    public boolean login() {
        return true;
    }

    @Override
    public boolean commit() {
        subject.getPrincipals().add(new TestBearerPrincipal(identity));
        subject.getPrivateCredentials().add(new TestBearerToken("id:" + identity));
        return true;
    }

    @Override
    public boolean abort() {
        return true;
    }

    @Override
    public boolean logout() {
        return true;
    }
}
