//! JNI bridge: exposes the saslgate core to the Java shim (built out in the Java shim issue).
