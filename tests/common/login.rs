//! In-process OAUTHBEARER logins (RFC 7628) against a [`Core`] built from a configuration
//! text, for the end-to-end tests against real identity providers.
//!
//! Included with `#[path = "common/login.rs"] mod login;` by the test binaries that need it
//! (next to `mod common;`), so the shared `common` module stays unchanged.

#![allow(dead_code)]

use base64::Engine as _;
use saslgate::sasl::{Authenticated, ClientOutcome, StepState};
use saslgate::validate::Clock;
use saslgate::{ClientSession, Config, Core, Rejection, ServerSession};
use secrecy::SecretString;
use std::sync::Arc;

/// The SASL service name every test configuration defines.
pub const SERVICE: &str = "zookeeper";

/// The host name the client names and the server runs on.
pub const SERVER_NAME: &str = "zk1.example";

/// Parses `text`, builds a [`Core`] with the system clock and starts it (discovery and JWKS).
///
/// # Panics
///
/// If the configuration is invalid or an issuer cannot be loaded: the test set it up to work.
pub async fn core(text: &str) -> Arc<Core> {
    core_with_clock(text, Clock::system()).await
}

/// As [`core`], with the validator reading "now" from `clock`.
///
/// # Panics
///
/// As [`core`].
pub async fn core_with_clock(text: &str, clock: Clock) -> Arc<Core> {
    let config = Config::from_toml_str(text, "e2e.toml")
        .unwrap_or_else(|e| panic!("configuration refused: {e}\n{text}"));
    let core = Core::new_with_clock(Arc::new(config), clock).expect("core");
    for (issuer, result) in core.start().await {
        if let Err(e) = result {
            panic!("issuer {issuer} did not start: {e}");
        }
    }
    core
}

/// Runs one OAUTHBEARER exchange for [`SERVICE`]: a [`ClientSession`] sending `token` (and
/// `authzid`, if any) against a [`ServerSession`] on `core`.
///
/// Returns the server's [`Authenticated`] on success, or the [`Rejection`] it failed the
/// exchange with, after checking that both sides agree (the client saw an empty final
/// challenge on success, and the RFC 7628 §3.2.2 error with the rejection's status on
/// failure).
///
/// # Panics
///
/// On a SASL error (internal validation failure, protocol misuse): the tests expect a verdict.
pub async fn login(
    core: &Arc<Core>,
    token: &str,
    authzid: Option<&str>,
) -> Result<Authenticated, Rejection> {
    let mut client = ClientSession::new(
        SecretString::from(token.to_owned()),
        authzid.map(str::to_owned),
        Some(SERVER_NAME.to_owned()),
        Some(2181),
        Vec::new(),
    );
    let initial = client.initial_response().expect("client initial response");
    let mut server =
        ServerSession::new(core.clone(), SERVICE, SERVER_NAME).expect("server session");
    let first = server
        .step(&initial)
        .await
        .unwrap_or_else(|e| panic!("server step failed: {e}"));
    let reply = client
        .step(&first.challenge)
        .expect("client reads the challenge");
    match first.state {
        StepState::Success(auth) => {
            assert_eq!(reply.outcome, ClientOutcome::Success);
            assert!(server.is_complete());
            Ok(*auth)
        }
        StepState::Continue => {
            let ClientOutcome::ServerError(error) = reply.outcome else {
                panic!("server continued, client saw {:?}", reply.outcome);
            };
            let last = server
                .step(&reply.response)
                .await
                .unwrap_or_else(|e| panic!("server step after the error failed: {e}"));
            match last.state {
                StepState::Failure(rejection) => {
                    assert_eq!(error.status, rejection.rfc7628_status(), "{rejection}");
                    Err(rejection)
                }
                other => panic!("after %x01 the server is in {other:?}"),
            }
        }
        StepState::Failure(rejection) => Err(rejection),
        other => panic!("unexpected server state {other:?}"),
    }
}

/// Returns `token` (a compact JWS) with `claim` in its payload set to `value`, keeping the
/// original header and signature: a forgery the signature check must catch.
pub fn tamper(token: &str, claim: &str, value: serde_json::Value) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS");
    let mut claims: serde_json::Value =
        serde_json::from_slice(&engine.decode(parts[1]).expect("base64url payload"))
            .expect("JSON payload");
    claims[claim] = value;
    let payload = engine.encode(serde_json::to_vec(&claims).expect("serialize"));
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// The `exp` claim of a compact JWT, in seconds since the Unix epoch.
pub fn exp_of(token: &str) -> u64 {
    crate::common::jwt_claims(token)["exp"]
        .as_u64()
        .expect("exp is a number")
}
