//! The native methods: glue between JNI values and the saslgate core, nothing else. Each
//! function is one entry of the table in `lib.rs`; arguments arrive already inside the
//! boundary guard, and errors are returned as [`crate::exceptions::BridgeError`].

pub(crate) mod client;
pub(crate) mod core;
pub(crate) mod server;
#[cfg(feature = "testing")]
pub(crate) mod testing;
pub(crate) mod token;

use jni::sys::jlong;

/// A Java `long` handle as the registry's `u64` id (the bits are kept; negative ids are
/// simply unknown).
pub(crate) fn handle_id(handle: jlong) -> u64 {
    handle as u64
}

/// A registry id as a Java `long` (ids are below 2^63, see [`crate::handles`]).
pub(crate) fn handle_long(id: u64) -> jlong {
    id as jlong
}
