package org.saslgate.zookeeper;

import java.util.concurrent.atomic.AtomicInteger;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.sasl.AuthorizeCallback;

/** CallbackHandlers named by the {@code *.callbackHandler} properties in the tests. */
public final class TestCallbackHandlers {

    private TestCallbackHandlers() {
    }

    /** Client side: answers the test mechanism's PasswordCallback with the token {@code tok-zkclient}. */
    public static final class ClientTokenHandler implements CallbackHandler {
        @Override
        public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
            for (Callback c : callbacks) {
                if (c instanceof PasswordCallback) {
                    ((PasswordCallback) c).setPassword("tok-zkclient".toCharArray());
                } else {
                    throw new UnsupportedCallbackException(c);
                }
            }
        }
    }

    /**
     * Server side: authorizes every identity except {@code mallory}, and counts AuthorizeCallbacks;
     * answers a PasswordCallback (from the JAAS login) with {@code server-handler}.
     */
    public static final class ServerRefuseMallory implements CallbackHandler {
        public static final AtomicInteger AUTHORIZE_CALLS = new AtomicInteger();

        @Override
        public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
            for (Callback c : callbacks) {
                if (c instanceof PasswordCallback) {
                    ((PasswordCallback) c).setPassword("server-handler".toCharArray());
                } else if (c instanceof AuthorizeCallback) {
                    AUTHORIZE_CALLS.incrementAndGet();
                    AuthorizeCallback ac = (AuthorizeCallback) c;
                    boolean ok = !"mallory".equals(ac.getAuthenticationID())
                                 && ac.getAuthenticationID().equals(ac.getAuthorizationID());
                    ac.setAuthorized(ok);
                    if (ok) {
                        ac.setAuthorizedID(ac.getAuthenticationID());
                    }
                } else {
                    throw new UnsupportedCallbackException(c);
                }
            }
        }
    }
}
