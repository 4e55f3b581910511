//! JNI bridge: exposes the saslgate core to the Java shim as the static natives of
//! `org.saslgate.internal.Native` (see `JNI-CONTRACT.md` and DESIGN §4.1).
//!
//! ```text
//!  Java thread ── Native.serverStep(id, bytes) ──► native table (registered in JNI_OnLoad)
//!                                                   │ boundary: catch_unwind + error policy
//!                                                   ▼
//!                                     natives::server::step (glue)
//!                                       handles: id → Arc<ServerEntry>
//!                                       poll once on the calling thread (cache hit),
//!                                       else block on the library's Tokio runtime
//!                                                   ▼
//!                                     saslgate::ServerSession::step
//! ```
//!
//! - `JNI_OnLoad` registers the native table with `RegisterNatives` (jni-rs `native_method!`,
//!   descriptors checked at compile time); a Java class that does not match fails
//!   `System.load` with an `UnsatisfiedLinkError` naming the method.
//! - One multi-thread Tokio runtime (2 workers) serves the whole library; it is created on first
//!   use and its threads are attached to the JVM as daemon threads so that log records of
//!   background tasks reach `java.util.logging` without keeping the JVM alive.
//! - The `testing` feature registers `testingPanic`, `testingThrow` and `testingLiveHandles`.
//!
//! `unsafe` appears only in this crate (the core forbids it); each block says why it is sound.

#![deny(clippy::unwrap_used)]
#![warn(missing_docs)]

#[macro_use]
mod boundary;
mod exceptions;
mod handles;
mod logging;
mod natives;

use boundary::ThrowJavaAndDefault;
use exceptions::BridgeError;
use jni::sys::{jint, JNI_ERR, JNI_VERSION_1_8};
use jni::vm::JavaVM;
use jni::{jni_str, Env, NativeMethod};
use std::ffi::c_void;
use std::future::Future;
use std::sync::OnceLock;

/// The library's version string, as returned by `Native.version()`.
pub const VERSION: &str = concat!("saslgate-jni ", env!("CARGO_PKG_VERSION"));

/// The natives of `org.saslgate.internal.Native`, in contract order.
const NATIVES: &[NativeMethod] = &[
    native! { static fn version() -> JString, fn = natives::core::version },
    native! { static fn set_log_level(level: jint), fn = natives::core::set_log_level },
    native! { static fn core_load(config_path: JString) -> jlong, fn = natives::core::load },
    native! {
        static fn core_load_text(toml: JString, origin: JString) -> jlong,
        fn = natives::core::load_text,
    },
    native! {
        static fn core_reload(core: jlong, config_path_or_null: JString),
        fn = natives::core::reload,
    },
    native! { static fn core_release(core: jlong), fn = natives::core::release },
    native! {
        static fn server_create(core: jlong, service: JString, server_name: JString) -> jlong,
        fn = natives::server::create,
    },
    native! {
        static fn server_step(session: jlong, response: jbyte[]) -> jbyte[],
        fn = natives::server::step,
    },
    native! { static fn server_state(session: jlong) -> jint, fn = natives::server::state },
    native! {
        static fn server_authorization_id(session: jlong) -> JString,
        fn = natives::server::authorization_id,
    },
    native! {
        static fn server_groups(session: jlong) -> JString[],
        fn = natives::server::groups,
    },
    native! {
        static fn server_expires_at_secs(session: jlong) -> jlong,
        fn = natives::server::expires_at_secs,
    },
    native! {
        static fn server_failure_reason(session: jlong) -> JString,
        fn = natives::server::failure_reason,
    },
    native! {
        static fn server_failure_message(session: jlong) -> JString,
        fn = natives::server::failure_message,
    },
    native! { static fn server_dispose(session: jlong), fn = natives::server::dispose },
    native! {
        static fn client_initial_response(
            token: jbyte[], authzid: JString, host: JString, port: jint
        ) -> jbyte[],
        fn = natives::client::initial_response,
    },
    native! {
        static fn client_evaluate_challenge(challenge: jbyte[]) -> jbyte[],
        fn = natives::client::evaluate_challenge,
    },
    native! {
        static fn token_acquire(core: jlong, identity: JString) -> jbyte[],
        fn = natives::token::acquire,
    },
    native! {
        static fn token_expires_at_secs(core: jlong, identity: JString) -> jlong,
        fn = natives::token::expires_at_secs,
    },
    native! {
        static fn validate(core: jlong, service: JString, token: jbyte[]) -> JString[],
        fn = natives::token::validate,
    },
];

/// The testing natives (only with the `testing` feature).
#[cfg(feature = "testing")]
const TESTING_NATIVES: &[NativeMethod] = &[
    native! { static fn testing_panic(), fn = natives::testing::panic },
    native! { static fn testing_throw(kind: jint), fn = natives::testing::throw },
    native! {
        static fn testing_live_handles() -> jlong[],
        fn = natives::testing::live_handles,
    },
];

/// Called by the JVM when `System.load` loads this library: registers the natives of
/// `org.saslgate.internal.Native` and installs the log forwarding.
///
/// Returns `JNI_VERSION_1_8`, or `JNI_ERR` with an `UnsatisfiedLinkError` pending when the
/// class cannot be found or does not declare a native of the table with the same descriptor.
///
/// # Safety
/// Only the JVM calls this, with a pointer to itself (JNI specification, "JNI_OnLoad").
#[no_mangle]
pub unsafe extern "system" fn JNI_OnLoad(
    vm: *mut jni::sys::JavaVM,
    _reserved: *mut c_void,
) -> jint {
    if vm.is_null() {
        return JNI_ERR;
    }
    let outcome = std::panic::catch_unwind(|| {
        // SAFETY: the JVM passes JNI_OnLoad a valid, non-null pointer to itself, which stays
        // valid for as long as this library is loaded.
        let vm = unsafe { JavaVM::from_raw(vm) };
        // The loading thread is attached (it is running System.load). `with_local_frame` does
        // not catch Java exceptions, so the UnsatisfiedLinkError stays pending for System.load.
        vm.with_local_frame(16, |env| -> Result<jint, BridgeError> {
            match register_natives(env) {
                Ok(()) => Ok(JNI_VERSION_1_8),
                Err(e) => {
                    let message = format!(
                        "{VERSION}: cannot register the natives of \
                         org.saslgate.internal.Native ({e}); the Java shim and the native \
                         library do not match"
                    );
                    exceptions::throw_link_error(env, &message);
                    Ok(JNI_ERR)
                }
            }
        })
    });
    match outcome {
        Ok(Ok(version)) => {
            if version == JNI_VERSION_1_8 {
                logging::install();
            }
            version
        }
        Ok(Err(_)) | Err(_) => JNI_ERR,
    }
}

/// Registers [`NATIVES`] (and the testing natives) on `org.saslgate.internal.Native`.
fn register_natives(env: &mut Env<'_>) -> Result<(), BridgeError> {
    let class = env.find_class(jni_str!("org/saslgate/internal/Native"))?;
    // SAFETY: every entry is built by `native_method!`, whose wrapper has the `extern "system"`
    // signature of its JNI descriptor, and every entry is declared `static` (the class receives
    // a `jclass`), matching the contract's `static native` declarations; the macro's ABI check
    // verifies the static-ness again on first call.
    unsafe { env.register_native_methods(&class, NATIVES)? };
    #[cfg(feature = "testing")]
    // SAFETY: as above.
    unsafe {
        env.register_native_methods(&class, TESTING_NATIVES)?
    };
    Ok(())
}

/// The library's Tokio runtime, or why it could not be built.
static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();

/// The library's single multi-thread Tokio runtime (2 workers), built on first use.
///
/// # Errors
/// [`BridgeError::Internal`] when the runtime cannot be built (threads cannot be spawned).
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime, BridgeError> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("saslgate-jni")
                .enable_all()
                .on_thread_start(attach_daemon)
                .on_thread_stop(detach)
                .build()
                .map_err(|e| format!("cannot start the Tokio runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| BridgeError::Internal(e.clone()))
}

/// Runs `future` to completion for a Java thread: polls it once on the calling thread (inside
/// the runtime's context, so a cached result never leaves the thread), and only if it is
/// pending blocks the calling thread on the runtime until it completes.
///
/// Must not be called from a runtime thread (Java threads never are; a violation panics and is
/// reported as `IllegalStateException`).
///
/// # Errors
/// [`BridgeError::Internal`] when the runtime cannot be built.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output, BridgeError> {
    use futures_util::FutureExt as _;
    let runtime = runtime()?;
    let mut future = std::pin::pin!(future);
    {
        let _context = runtime.enter();
        if let Some(output) = future.as_mut().now_or_never() {
            return Ok(output);
        }
    }
    Ok(runtime.block_on(future))
}

/// Attaches a runtime thread to the JVM as a daemon thread (so it never keeps the JVM alive),
/// letting log records of background tasks reach `java.util.logging`. Does nothing outside a
/// JVM (unit tests).
fn attach_daemon() {
    let Ok(vm) = JavaVM::singleton() else {
        return;
    };
    let raw = vm.get_raw();
    let mut env: *mut c_void = std::ptr::null_mut();
    // SAFETY: `raw` is the JavaVM pointer given to JNI_OnLoad, valid while the library is
    // loaded; AttachCurrentThreadAsDaemon (JNI 1.4) accepts a null args pointer, and `env` is
    // a valid out-pointer. A failed attach only means records from this thread are dropped.
    unsafe {
        ((*(*raw)).v1_4.AttachCurrentThreadAsDaemon)(raw, &mut env, std::ptr::null_mut());
    }
}

/// Detaches a runtime thread from the JVM before it exits (a no-op if it is not attached).
fn detach() {
    let Ok(vm) = JavaVM::singleton() else {
        return;
    };
    let raw = vm.get_raw();
    // SAFETY: as in `attach_daemon`; DetachCurrentThread is called on the exiting runtime
    // thread itself, which holds no JNI frames at this point (no Java call is on its stack).
    unsafe {
        ((*(*raw)).v1_1.DetachCurrentThread)(raw);
    }
}
