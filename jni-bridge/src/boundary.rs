//! The one guard every native method goes through, and the argument/result conversions.
//!
//! Every entry of the native table is declared with `native!`, which is jni-rs's
//! `native_method!` with this module's [`ThrowJavaAndDefault`] policy: the generated
//! `extern "system"` wrapper runs the body inside `EnvUnowned::with_env` (which catches panics),
//! and the policy turns an `Err(BridgeError)` into the Java exception of
//! [`crate::exceptions`] and a panic into `IllegalStateException("saslgate internal error")`,
//! returning `0`/`null` to Java in both cases. No error, panic or JNI failure crosses into the
//! JVM any other way (STYLE §5).

use crate::exceptions::{self, BridgeError};
use jni::errors::ErrorPolicy;
use jni::objects::{JByteArray, JObjectArray, JString};
use jni::refs::Reference;
use jni::Env;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Declares one native method of `org.saslgate.internal.Native` with the bridge's error policy
/// (panics caught, errors thrown as the mapped Java exception).
///
/// Takes the `native_method!` shorthand and properties, for example
/// `native! { static fn core_load(config_path: JString) -> jlong, fn = natives::core::load }`.
macro_rules! native {
    ($($tt:tt)*) => {
        ::jni::native_method! {
            error_policy = ThrowJavaAndDefault,
            catch_unwind = true,
            $($tt)*
        }
    };
}

/// The error policy of every native method: errors become the Java exception their
/// [`BridgeError::kind`] names, panics become `IllegalStateException("saslgate internal
/// error")`; the method then returns `T::default()` (`0`, `false`, `null`).
#[derive(Debug, Default)]
pub(crate) struct ThrowJavaAndDefault;

impl<T: Default> ErrorPolicy<T, BridgeError> for ThrowJavaAndDefault {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut Self::Captures<'unowned_env_local, 'native_method>,
        err: BridgeError,
    ) -> jni::errors::Result<T> {
        exceptions::throw(env, &err);
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut Self::Captures<'unowned_env_local, 'native_method>,
        payload: Box<dyn Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        tracing::error!(
            panic = %panic_message(payload.as_ref()),
            "saslgate: a native call panicked (bug); reported to Java as IllegalStateException"
        );
        // Dropping a payload may itself panic; forget it then.
        if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
            std::mem::forget(again);
        }
        // A panic replaces whatever the body may have left pending.
        if env.exception_check() {
            env.exception_clear();
        }
        exceptions::throw(env, &BridgeError::Panic);
        Ok(T::default())
    }

    fn on_internal_jni_error<'unowned_env_local: 'native_method, 'native_method>(
        _captures: &mut Self::Captures<'unowned_env_local, 'native_method>,
        _err: jni::errors::Error,
    ) -> T {
        T::default()
    }

    fn on_internal_panic<'unowned_env_local: 'native_method, 'native_method>(
        _captures: &mut Self::Captures<'unowned_env_local, 'native_method>,
        payload: Box<dyn Any + Send + 'static>,
    ) -> T {
        std::mem::forget(payload);
        T::default()
    }
}

/// The text of a panic payload (`&str` or `String`), else a placeholder.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "non-string panic payload"
    }
}

/// A required `String` argument named `name`.
///
/// # Errors
/// [`BridgeError::Null`] for `null`; [`BridgeError::Jni`] when the string cannot be read.
pub(crate) fn string_arg(
    env: &Env<'_>,
    value: &JString<'_>,
    name: &'static str,
) -> Result<String, BridgeError> {
    if value.is_null() {
        return Err(BridgeError::Null(name));
    }
    Ok(value.try_to_string(env)?)
}

/// An optional `String` argument (`null` → `None`).
///
/// # Errors
/// [`BridgeError::Jni`] when the string cannot be read.
pub(crate) fn opt_string_arg(
    env: &Env<'_>,
    value: &JString<'_>,
) -> Result<Option<String>, BridgeError> {
    if value.is_null() {
        return Ok(None);
    }
    Ok(Some(value.try_to_string(env)?))
}

/// A required `byte[]` argument named `name`, copied out of the JVM.
///
/// # Errors
/// [`BridgeError::Null`] for `null`; [`BridgeError::Jni`] when the array cannot be read.
pub(crate) fn bytes_arg(
    env: &Env<'_>,
    value: &JByteArray<'_>,
    name: &'static str,
) -> Result<Vec<u8>, BridgeError> {
    if value.is_null() {
        return Err(BridgeError::Null(name));
    }
    Ok(env.convert_byte_array(value)?)
}

/// A new Java `String` (or `null` for `None`).
///
/// # Errors
/// [`BridgeError::Jni`] when the JVM cannot allocate it.
pub(crate) fn new_string<'local>(
    env: &mut Env<'local>,
    value: Option<&str>,
) -> Result<JString<'local>, BridgeError> {
    match value {
        Some(v) => Ok(JString::from_str(env, v)?),
        None => Ok(JString::null()),
    }
}

/// A new Java `byte[]` holding `value`.
///
/// # Errors
/// [`BridgeError::Jni`] when the JVM cannot allocate it.
pub(crate) fn new_bytes<'local>(
    env: &mut Env<'local>,
    value: &[u8],
) -> Result<JByteArray<'local>, BridgeError> {
    Ok(env.byte_array_from_slice(value)?)
}

/// A new Java `String[]` holding `values`.
///
/// # Errors
/// [`BridgeError::Jni`] when the JVM cannot allocate it.
pub(crate) fn new_string_array<'local, S: AsRef<str>>(
    env: &mut Env<'local>,
    values: &[S],
) -> Result<JObjectArray<'local, JString<'local>>, BridgeError> {
    let array = JObjectArray::<JString>::new(env, values.len(), JString::null())?;
    for (i, value) in values.iter().enumerate() {
        let s = JString::from_str(env, value.as_ref())?;
        array.set_element(env, i, &s)?;
        env.delete_local_ref(s);
    }
    Ok(array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        let s: Box<dyn Any + Send> = Box::new("static");
        assert_eq!(panic_message(s.as_ref()), "static");
        let s: Box<dyn Any + Send> = Box::new(String::from("owned"));
        assert_eq!(panic_message(s.as_ref()), "owned");
        let s: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(s.as_ref()), "non-string panic payload");
    }
}
