//! The bridge's error type and the one table mapping errors to Java exceptions. This is the only
//! file that names Java exception classes (STYLE §5, house rule 14).
//!
//! | error                                   | Java exception                                  |
//! |-----------------------------------------|-------------------------------------------------|
//! | configuration refused, unknown service  | `java.lang.IllegalArgumentException`            |
//! | unknown/disposed handle, misuse, panic  | `java.lang.IllegalStateException`               |
//! | token acquisition failed                | `javax.security.auth.login.LoginException`      |
//! | validation could not be performed       | `javax.security.sasl.SaslException`             |
//! | `null` where not allowed                | `java.lang.NullPointerException`                |
//!
//! Nothing derived from `java.lang.Error` is thrown from a native method: an `Error` can end a
//! ZooKeeper or Hadoop thread. The one exception is [`throw_link_error`], used by `JNI_OnLoad`
//! when the Java class does not match the native table, where `System.load` is expected to fail
//! with `UnsatisfiedLinkError`.
//!
//! A rejected token is not an exception here: the server step returns the RFC 7628 error
//! challenge and the Java `SaslServer` throws `AuthenticationException` itself.

use jni::strings::JNIString;
use jni::Env;
use saslgate::acquire::AcquireError;
use saslgate::config::ConfigError;
use saslgate::sasl::SaslError;

/// The message prefix of every internal failure (`SaslException`).
pub(crate) const INTERNAL_PREFIX: &str = "saslgate: authentication could not be performed: ";

/// Why a native call failed; each variant maps to one Java exception class
/// ([`BridgeError::kind`]).
#[derive(Debug, thiserror::Error)]
pub(crate) enum BridgeError {
    /// The configuration was refused (the core's `ConfigError` text: file, key, problem), or an
    /// argument names something the configuration does not have (an unknown service).
    #[error("{0}")]
    InvalidArgument(String),
    /// A handle is 0, stale, disposed or of another kind.
    #[error(transparent)]
    Handle(#[from] crate::handles::HandleError),
    /// The call is not allowed in the object's state (a step after completion).
    #[error("saslgate: {0}")]
    Misuse(String),
    /// This node's token could not be acquired.
    #[error("saslgate: {0}")]
    Login(String),
    /// The operation could not be performed for a reason that is not the peer's fault (IdP
    /// unreachable, validation impossible).
    #[error("{INTERNAL_PREFIX}{0}")]
    Internal(String),
    /// A SASL message could not be built or read (a client field that cannot be sent, a
    /// malformed server challenge).
    #[error("saslgate: {0}")]
    Sasl(String),
    /// A `null` argument where none is allowed; holds the parameter name.
    #[error("{0} is null")]
    Null(&'static str),
    /// A Rust panic was caught at the boundary.
    #[error("saslgate internal error")]
    Panic,
    /// A JNI call failed (a pending Java exception is left to propagate).
    #[error("saslgate: JNI call failed: {0}")]
    Jni(#[from] jni::errors::Error),
}

/// The Java exception classes the bridge throws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExceptionKind {
    /// `java.lang.IllegalArgumentException`
    IllegalArgument,
    /// `java.lang.IllegalStateException`
    IllegalState,
    /// `javax.security.auth.login.LoginException`
    Login,
    /// `javax.security.sasl.SaslException`
    Sasl,
    /// `java.lang.NullPointerException`
    NullPointer,
}

impl ExceptionKind {
    /// The JNI class name (slash-separated binary name).
    pub(crate) fn class_name(self) -> &'static str {
        match self {
            ExceptionKind::IllegalArgument => "java/lang/IllegalArgumentException",
            ExceptionKind::IllegalState => "java/lang/IllegalStateException",
            ExceptionKind::Login => "javax/security/auth/login/LoginException",
            ExceptionKind::Sasl => "javax/security/sasl/SaslException",
            ExceptionKind::NullPointer => "java/lang/NullPointerException",
        }
    }
}

impl BridgeError {
    /// The Java exception class this error is thrown as.
    pub(crate) fn kind(&self) -> ExceptionKind {
        match self {
            BridgeError::InvalidArgument(_) => ExceptionKind::IllegalArgument,
            BridgeError::Handle(_) | BridgeError::Misuse(_) | BridgeError::Panic => {
                ExceptionKind::IllegalState
            }
            BridgeError::Jni(_) => ExceptionKind::IllegalState,
            BridgeError::Login(_) => ExceptionKind::Login,
            BridgeError::Internal(_) | BridgeError::Sasl(_) => ExceptionKind::Sasl,
            BridgeError::Null(_) => ExceptionKind::NullPointer,
        }
    }
}

impl From<ConfigError> for BridgeError {
    fn from(e: ConfigError) -> Self {
        BridgeError::InvalidArgument(e.to_string())
    }
}

impl From<AcquireError> for BridgeError {
    fn from(e: AcquireError) -> Self {
        BridgeError::Login(e.to_string())
    }
}

impl From<SaslError> for BridgeError {
    fn from(e: SaslError) -> Self {
        match e {
            SaslError::Complete => BridgeError::Misuse(e.to_string()),
            SaslError::ApiMisuse(m) => BridgeError::Misuse(m.to_string()),
            SaslError::Internal(m) => BridgeError::Internal(m),
            SaslError::UnknownService(_) => BridgeError::InvalidArgument(e.to_string()),
            other => BridgeError::Sasl(other.to_string()),
        }
    }
}

/// Throws `err` as its Java exception, unless a Java exception is already pending (that one
/// then propagates). If the class cannot be thrown (not loadable in this JVM), falls back to
/// `IllegalStateException` with the same message. Never panics.
pub(crate) fn throw(env: &mut Env<'_>, err: &BridgeError) {
    if env.exception_check() {
        return;
    }
    let message = JNIString::new(err.to_string());
    throw_class(env, err.kind().class_name(), &message);
}

fn throw_class(env: &mut Env<'_>, class: &str, message: &JNIString) {
    // `throw_new` reports `Err(JavaException)` once the exception is pending, so success is
    // judged by `exception_check`.
    let _ = env.throw_new(JNIString::new(class), message);
    if !env.exception_check() {
        let _ = env.throw_new(
            JNIString::new(ExceptionKind::IllegalState.class_name()),
            message,
        );
    }
}

/// Throws `java.lang.UnsatisfiedLinkError` with `message` (only for `JNI_OnLoad`, where
/// `System.load` reports it to the caller). Never panics.
pub(crate) fn throw_link_error(env: &mut Env<'_>, message: &str) {
    if env.exception_check() {
        env.exception_clear();
    }
    throw_class(
        env,
        "java/lang/UnsatisfiedLinkError",
        &JNIString::new(message),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handles::HandleError;

    #[test]
    fn config_errors_become_illegal_argument_with_the_core_message() {
        let e: BridgeError = saslgate::Config::from_toml_str("nope = [", "<jaas>")
            .expect_err("bad toml")
            .into();
        assert_eq!(e.kind().class_name(), "java/lang/IllegalArgumentException");
        assert!(e.to_string().starts_with("<jaas>: "), "{e}");
    }

    #[test]
    fn unknown_handles_become_illegal_state_naming_the_kind() {
        let e: BridgeError = HandleError::Unknown {
            kind: "server session",
        }
        .into();
        assert_eq!(e.kind().class_name(), "java/lang/IllegalStateException");
        assert_eq!(
            e.to_string(),
            "saslgate: unknown or disposed server session handle"
        );
    }

    #[test]
    fn a_step_after_completion_becomes_illegal_state() {
        let e: BridgeError = SaslError::Complete.into();
        assert_eq!(e.kind(), ExceptionKind::IllegalState);
        assert_eq!(
            e.to_string(),
            "saslgate: the SASL exchange is already complete"
        );
    }

    #[test]
    fn internal_failures_become_sasl_exception_with_the_contract_prefix() {
        let e: BridgeError = SaslError::Internal("issuer kc unreachable".into()).into();
        assert_eq!(e.kind().class_name(), "javax/security/sasl/SaslException");
        assert_eq!(
            e.to_string(),
            "saslgate: authentication could not be performed: issuer kc unreachable"
        );
    }

    #[test]
    fn acquisition_failures_become_login_exception() {
        let e: BridgeError = AcquireError::UnknownIdentity("zk".into()).into();
        assert_eq!(
            e.kind().class_name(),
            "javax/security/auth/login/LoginException"
        );
        assert_eq!(e.to_string(), "saslgate: no identity is named \"zk\"");
    }

    #[test]
    fn unknown_services_become_illegal_argument() {
        let e: BridgeError = SaslError::UnknownService("hdfs".into()).into();
        assert_eq!(e.kind(), ExceptionKind::IllegalArgument);
        assert_eq!(e.to_string(), "service \"hdfs\" is not configured");
    }

    #[test]
    fn client_side_message_errors_become_sasl_exception() {
        let e: BridgeError = SaslError::MalformedChallenge("not JSON".into()).into();
        assert_eq!(e.kind(), ExceptionKind::Sasl);
        let e: BridgeError = SaslError::InvalidClientRequest("empty authzid".into()).into();
        assert_eq!(e.kind(), ExceptionKind::Sasl);
    }

    #[test]
    fn nulls_become_null_pointer_naming_the_parameter() {
        let e = BridgeError::Null("response");
        assert_eq!(e.kind().class_name(), "java/lang/NullPointerException");
        assert_eq!(e.to_string(), "response is null");
    }

    #[test]
    fn panics_become_illegal_state_never_an_error() {
        let e = BridgeError::Panic;
        assert_eq!(e.kind().class_name(), "java/lang/IllegalStateException");
        assert_eq!(e.to_string(), "saslgate internal error");
    }

    #[test]
    fn no_mapped_class_is_a_java_lang_error() {
        for kind in [
            ExceptionKind::IllegalArgument,
            ExceptionKind::IllegalState,
            ExceptionKind::Login,
            ExceptionKind::Sasl,
            ExceptionKind::NullPointer,
        ] {
            assert!(kind.class_name().ends_with("Exception"), "{kind:?}");
        }
    }
}
