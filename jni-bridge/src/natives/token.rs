//! `tokenAcquire`, `tokenExpiresAtSecs` and `validate`.

use crate::boundary::{bytes_arg, new_bytes, new_string_array, string_arg};
use crate::exceptions::BridgeError;
use jni::objects::{JByteArray, JClass, JObjectArray, JString};
use jni::sys::jlong;
use jni::Env;
use saslgate::validate::ValidateError;
use secrecy::ExposeSecret as _;

/// `Native.tokenAcquire(core, identity)`: the token bytes.
pub(crate) fn acquire<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    core: jlong,
    identity: JString<'local>,
) -> Result<JByteArray<'local>, BridgeError> {
    let core = super::core::lookup(core)?.core();
    let identity = string_arg(env, &identity, "identity")?;
    let token = crate::block_on(core.tokens().token(&identity))??;
    new_bytes(env, token.secret.expose_secret().as_bytes())
}

/// `Native.tokenExpiresAtSecs(core, identity)`: the expiry of the current token, or -1 when it
/// is unknown or no token can be had.
pub(crate) fn expires_at_secs<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    core: jlong,
    identity: JString<'local>,
) -> Result<jlong, BridgeError> {
    let core = super::core::lookup(core)?.core();
    let identity = string_arg(env, &identity, "identity")?;
    match crate::block_on(core.tokens().token(&identity))? {
        Ok(token) => Ok(token
            .expires_at
            .and_then(|exp| jlong::try_from(exp).ok())
            .unwrap_or(-1)),
        Err(e) => {
            tracing::debug!(identity = %identity, error = %e, "no token to report an expiry for");
            Ok(-1)
        }
    }
}

/// `Native.validate(core, service, token)`: `{"valid", authzid, groups joined by "\n"}` or
/// `{"invalid", reason, message}`.
pub(crate) fn validate<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    core: jlong,
    service: JString<'local>,
    token: JByteArray<'local>,
) -> Result<JObjectArray<'local, JString<'local>>, BridgeError> {
    let core = super::core::lookup(core)?.core();
    let service = string_arg(env, &service, "service")?;
    let token = bytes_arg(env, &token, "token")?;
    if core.config().service(&service).is_none() {
        return Err(BridgeError::InvalidArgument(format!(
            "service {service:?} is not configured"
        )));
    }
    let Ok(token) = String::from_utf8(token) else {
        return new_string_array(
            env,
            &["invalid", "malformed_token", "the token is not UTF-8"],
        );
    };
    match crate::block_on(core.validator().validate(&service, &token))? {
        Ok(verified) => new_string_array(
            env,
            &[
                "valid".to_string(),
                verified.principal.authzid.clone(),
                verified.principal.groups.join("\n"),
            ],
        ),
        Err(ValidateError::Rejected(r)) => new_string_array(
            env,
            &["invalid".to_string(), r.as_str().to_string(), r.to_string()],
        ),
        Err(e) => Err(BridgeError::Internal(e.to_string())),
    }
}
