package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import javax.security.auth.login.LoginException;
import javax.security.sasl.SaslException;
import org.junit.jupiter.api.Test;

/**
 * Every {@code native} method of {@link Native} is bound by the library's
 * {@code RegisterNatives} table: each is called once with harmless arguments (handle 0, an
 * unknown config path, empty arrays), and the only failure is an {@link UnsatisfiedLinkError}.
 * The testing natives are registered only when the library is built with the jni-bridge
 * {@code testing} feature, which the test build uses
 * ({@code cargo build -p saslgate-jni --features testing}, see {@code scripts/test.sh}).
 */
class NativeBindingsTest {
    /** What a call with harmless arguments may end in, besides returning: the contract's exceptions. */
    private static final Set<Class<?>> CONTRACT_EXCEPTIONS = Set.of(IllegalStateException.class,
            IllegalArgumentException.class, NullPointerException.class, SaslException.class, LoginException.class);

    /** The natives of JNI-CONTRACT.md: 20 functions and 3 testing functions. */
    private static final int CONTRACT_NATIVES = 23;

    private static Object harmless(Method m, Class<?> type) {
        if (type == long.class) {
            return 0L; // never a valid handle; the release functions ignore it
        }
        if (type == int.class) {
            switch (m.getName()) {
                case "setLogLevel":
                    return 2; // the library's default (warn)
                case "testingThrow":
                    return 99; // not a kind: returns normally
                default:
                    return -1; // clientInitialResponse: port absent
            }
        }
        if (type == String.class) {
            return "/nonexistent/saslgate-bindings-test.toml";
        }
        if (type == byte[].class) {
            return new byte[0];
        }
        throw new AssertionError("no harmless value for " + type + " in " + m);
    }

    @Test
    void everyNativeMethodOfNativeIsBound() throws Exception {
        JniSupport.assumeTestingNatives();
        List<Method> natives = new ArrayList<>();
        for (Method m : Native.class.getDeclaredMethods()) {
            if (Modifier.isNative(m.getModifiers())) {
                natives.add(m);
            }
        }
        natives.sort(Comparator.comparing(Method::getName));
        assertEquals(CONTRACT_NATIVES, natives.size(), "natives declared: " + natives);
        List<String> unbound = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        for (Method m : natives) {
            assertTrue(Modifier.isStatic(m.getModifiers()), m + " is static");
            m.setAccessible(true);
            Object[] args = Arrays.stream(m.getParameterTypes()).map(t -> harmless(m, t)).toArray();
            try {
                m.invoke(null, args);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                if (cause instanceof UnsatisfiedLinkError) {
                    unbound.add(m.getName() + ": " + cause.getMessage());
                } else if (!CONTRACT_EXCEPTIONS.contains(cause.getClass())) {
                    unexpected.add(m.getName() + ": " + cause);
                }
            }
        }
        assertEquals(List.of(), unbound, "natives not registered by the library");
        assertEquals(List.of(), unexpected, "calls that ended outside the contract's exceptions");
    }

    @Test
    void harmlessCallsEndInTheContractsExceptions() {
        JniSupport.assumeTestingNatives();
        assertTrue(Native.version().startsWith("saslgate-jni "), Native.version());
        IllegalStateException stale = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> Native.serverState(0));
        assertTrue(stale.getMessage().startsWith("saslgate: unknown or disposed"), stale.getMessage());
        Native.serverDispose(0);
        Native.coreRelease(0);
        IllegalArgumentException config = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Native.coreLoad("/nonexistent/saslgate-bindings-test.toml"));
        assertTrue(config.getMessage().contains("/nonexistent/saslgate-bindings-test.toml"), config.getMessage());
        NullPointerException npe = org.junit.jupiter.api.Assertions.assertThrows(NullPointerException.class,
                () -> Native.coreLoad(null));
        assertTrue(npe.getMessage().endsWith("is null"), npe.getMessage());
        String[] kinds = {"java.lang.IllegalArgumentException", "java.lang.IllegalStateException",
            "javax.security.auth.login.LoginException", "javax.security.sasl.SaslException",
            "java.lang.NullPointerException"};
        for (int kind = 0; kind < kinds.length; kind++) {
            int k = kind;
            Throwable t = org.junit.jupiter.api.Assertions.assertThrows(Throwable.class, () -> Native.testingThrow(k));
            assertEquals(kinds[kind], t.getClass().getName(), "testingThrow(" + kind + ")");
        }
        assertEquals(2, Native.testingLiveHandles().length);
    }
}
