//! Forwards `tracing` events of the core to `java.util.logging` (logger `org.saslgate`), with
//! the maximum level set from Java (`Native.setLogLevel`).
//!
//! | `setLogLevel` | tracing level | JUL level |
//! |---------------|---------------|-----------|
//! | 0             | (off)         |           |
//! | 1             | `ERROR`       | `SEVERE`  |
//! | 2 (default)   | `WARN`        | `WARNING` |
//! | 3             | `INFO`        | `INFO`    |
//! | 4             | `DEBUG`       | `FINE`    |
//! | 5             | `TRACE`       | `FINER`   |
//!
//! Records are forwarded from threads attached to the JVM: Java threads inside a native call,
//! and the runtime's worker threads, which [`crate::runtime`] attaches as daemon threads. An
//! event on any other thread, or one raised while a Java exception is pending, is dropped. The
//! forwarding never throws into Java and never panics: a failure drops the record (and clears
//! only an exception the logging call itself raised). The core never logs tokens or secrets
//! (it logs fingerprints), so records can be forwarded as they are.

use jni::objects::{JObject, JValue};
use jni::strings::JNIString;
use jni::vm::JavaVM;
use jni::{jni_sig, jni_str, Env};
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

/// The maximum level forwarded, as set by [`set_level`] (0 off … 5 trace).
static MAX_LEVEL: AtomicU8 = AtomicU8::new(2);

/// Sets the maximum level forwarded: 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace (values
/// outside 0..=5 are clamped).
pub(crate) fn set_level(level: i32) {
    MAX_LEVEL.store(level.clamp(0, 5) as u8, Ordering::Relaxed);
}

/// The `setLogLevel` number of a tracing level.
fn level_number(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// Whether an event at `level` passes the level set from Java.
fn allows(level: &Level) -> bool {
    level_number(level) <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// The name of the `java.util.logging.Level` constant for a tracing level.
fn jul_level(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "SEVERE",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG => "FINE",
        Level::TRACE => "FINER",
    }
}

/// Installs the forwarding subscriber as the process-wide default (once; later calls and a
/// subscriber installed by someone else are left alone).
pub(crate) fn install() {
    let layer = JulLayer.with_filter(filter_fn(|meta| allows(meta.level())));
    let subscriber = tracing_subscriber::registry().with(layer);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The layer forwarding each event to `java.util.logging`.
struct JulLayer;

impl<S: Subscriber> Layer<S> for JulLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        // Logging must never unwind into the core (or through a JNI frame).
        let _ = catch_unwind(AssertUnwindSafe(|| forward(event)));
    }
}

/// Formats `event` and hands it to JUL if this thread is attached; drops it otherwise.
fn forward(event: &Event<'_>) {
    let meta = event.metadata();
    let text = format_event(meta.target(), event);
    let Ok(vm) = JavaVM::singleton() else {
        return;
    };
    let level = jul_level(meta.level());
    let _ = vm.with_local_frame(8, |env| -> jni::errors::Result<()> {
        if env.exception_check() {
            // Calling into Java now would be illegal, and the pending exception is not ours.
            return Ok(());
        }
        let result = log_to_jul(env, level, &text);
        if env.exception_check() {
            env.exception_clear();
        }
        result
    });
}

/// `Logger.getLogger("org.saslgate").log(Level.<level>, text)`.
fn log_to_jul(env: &mut Env<'_>, level: &str, text: &str) -> jni::errors::Result<()> {
    let name = env.new_string("org.saslgate")?;
    let logger = env
        .call_static_method(
            jni_str!("java/util/logging/Logger"),
            jni_str!("getLogger"),
            jni_sig!((java.lang.String) -> java.util.logging.Logger),
            &[JValue::Object(&name)],
        )?
        .l()?;
    let level = env
        .get_static_field(
            jni_str!("java/util/logging/Level"),
            JNIString::new(level),
            jni_sig!(java.util.logging.Level),
        )?
        .l()?;
    let message: JObject = env.new_string(text)?.into();
    env.call_method(
        &logger,
        jni_str!("log"),
        jni_sig!((java.util.logging.Level, java.lang.String) -> void),
        &[JValue::Object(&level), JValue::Object(&message)],
    )?;
    Ok(())
}

/// `target: message key=value …`.
fn format_event(target: &str, event: &Event<'_>) -> String {
    let mut visitor = Fields::default();
    event.record(&mut visitor);
    let mut text = format!("{target}: {}", visitor.message);
    text.push_str(&visitor.fields);
    text
}

/// Collects the `message` field and the other fields of an event.
#[derive(Default)]
struct Fields {
    message: String,
    fields: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_tracing_levels_to_jul_levels() {
        assert_eq!(jul_level(&Level::ERROR), "SEVERE");
        assert_eq!(jul_level(&Level::WARN), "WARNING");
        assert_eq!(jul_level(&Level::INFO), "INFO");
        assert_eq!(jul_level(&Level::DEBUG), "FINE");
        assert_eq!(jul_level(&Level::TRACE), "FINER");
    }

    #[test]
    fn the_level_set_from_java_bounds_what_is_forwarded() {
        set_level(0);
        assert!(!allows(&Level::ERROR));
        set_level(3);
        assert!(allows(&Level::ERROR));
        assert!(allows(&Level::INFO));
        assert!(!allows(&Level::DEBUG));
        set_level(99);
        assert!(allows(&Level::TRACE));
        set_level(-4);
        assert!(!allows(&Level::ERROR));
        set_level(2);
    }
}
