//! `clientInitialResponse` and `clientEvaluateChallenge`: stateless helpers over
//! [`saslgate::ClientSession`] (RFC 7628 §3.1, §3.2).

use crate::boundary::{bytes_arg, new_bytes, opt_string_arg};
use crate::exceptions::BridgeError;
use jni::objects::{JByteArray, JClass, JString};
use jni::sys::jint;
use jni::Env;
use saslgate::sasl::ClientOutcome;
use saslgate::ClientSession;
use secrecy::SecretString;

/// `Native.clientInitialResponse(token, authzid, host, port)`.
pub(crate) fn initial_response<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    token: JByteArray<'local>,
    authzid: JString<'local>,
    host: JString<'local>,
    port: jint,
) -> Result<JByteArray<'local>, BridgeError> {
    let token = bytes_arg(env, &token, "token")?;
    let token = String::from_utf8(token).map_err(|_| {
        BridgeError::Sasl("the token is not a valid bearer token (not UTF-8)".into())
    })?;
    let authzid = opt_string_arg(env, &authzid)?;
    let host = opt_string_arg(env, &host)?;
    let port =
        if port < 0 {
            None
        } else {
            Some(u16::try_from(port).map_err(|_| {
                BridgeError::Sasl(format!("port {port} is out of range (0..=65535)"))
            })?)
        };
    let mut session =
        ClientSession::new(SecretString::from(token), authzid, host, port, Vec::new());
    let message = session.initial_response()?;
    new_bytes(env, &message)
}

/// `Native.clientEvaluateChallenge(challenge)`: `null` after success (empty challenge), the
/// `%x01` reply after an RFC 7628 error challenge.
pub(crate) fn evaluate_challenge<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    challenge: JByteArray<'local>,
) -> Result<JByteArray<'local>, BridgeError> {
    let challenge = bytes_arg(env, &challenge, "challenge")?;
    // The reading of the challenge does not depend on the token sent, so a session with a
    // placeholder token is brought to the state after the initial response.
    let mut session = ClientSession::new(
        SecretString::from("x".to_string()),
        None,
        None,
        None,
        Vec::new(),
    );
    session.initial_response()?;
    let step = session.step(&challenge)?;
    match step.outcome {
        ClientOutcome::Success => Ok(JByteArray::default()),
        ClientOutcome::ServerError(error) => {
            tracing::debug!(?error, "the server refused the token");
            new_bytes(env, &step.response)
        }
        _ => new_bytes(env, &step.response),
    }
}
