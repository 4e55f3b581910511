//! OAUTHBEARER (RFC 7628) client and server sessions, built on `rsasl`.
//!
//! # The exchange
//!
//! OAUTHBEARER is client-first and has at most two round trips:
//!
//! ```text
//! client                                                   server
//!   │ initial response (RFC 7628 §3.1):                        │
//!   │   n,a=<authzid>,^Ahost=<host>^Aport=<port>^A             │
//!   │   <ext>=<value>^A…auth=Bearer <token>^A^A                │
//!   │ ───────────────────────────────────────────────────────► │ parse → validate → finish
//!   │                                                          │
//!   │ success: empty challenge, exchange complete  (§3.2.1)    │
//!   │ ◄─────────────────────────────────────────────────────── │
//!   │                                                          │
//!   │ failure: error JSON challenge (§3.2.2)                   │
//!   │   {"status":"invalid_token","scope":…,                   │
//!   │    "openid-configuration":…}                             │
//!   │ ◄─────────────────────────────────────────────────────── │
//!   │ %x01 (the client's dummy reply, §3.2.3)                  │
//!   │ ───────────────────────────────────────────────────────► │ exchange fails
//! ```
//!
//! (`^A` is the separator `%x01`.)
//!
//! - The **GS2 header** (RFC 5801 §4) is always `n` (no channel binding: `y` and `p=` are
//!   refused) followed by the optional authorization identity, in which `,` and `=` are escaped
//!   as `=2C` and `=3D` (RFC 5801 §4 `saslname`).
//! - The **kvpairs** (§3.1) carry `auth` (an RFC 6750 §2.1 `Authorization` value, `Bearer`
//!   followed by one space and the token), optionally `host` and `port` (§3.1), and any SASL
//!   extension (keys `1*ALPHA`); a service must list extension keys in `allowed_extensions`.
//! - On failure the server sends the **error JSON** of §3.2.2 (`status` from
//!   [`Rejection::rfc7628_status`], `scope` and `openid-configuration` from the service's
//!   `error_scope` and `error_openid_configuration`). The client must answer with a single
//!   `%x01` (§3.2.3), after which the server fails the exchange.
//!
//! # How the server side runs
//!
//! rsasl's callbacks are synchronous, while validation may need the network (JWKS,
//! introspection). [`ServerSession::step`] therefore runs in three parts:
//!
//! 1. **parse** the initial response with our own strict codec (rsasl's parser leaves the
//!    `Bearer ` scheme in the token, does not unescape the authzid and refuses kv values
//!    containing `=`) and check the extensions against the service;
//! 2. **validate** the token asynchronously ([`crate::validate::Validator::validate`]) and
//!    decide the authorization identity ([`crate::principal::authorize`]);
//! 3. **finish**: drive an rsasl server session over the same bytes with a callback that
//!    answers `OAuthBearerValidate` with the precomputed verdict, so rsasl writes the error JSON
//!    and keeps the mechanism's state machine.
//!
//! A cached validation never leaves the calling task.

mod client;
pub(crate) mod codec;
mod server;

pub use client::{ClientOutcome, ClientSession, ClientStep};
pub use codec::ServerError;
pub use server::{Peer, ServerSession};

use crate::principal::Principal;
use crate::validate::{Rejection, VerifiedToken};
use std::sync::Arc;

/// Why a SASL step could not be performed (as opposed to an authentication that failed, which is
/// a [`ServerStep`] with [`StepState::Failure`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// A session method was called out of order (for example a client `step` before
    /// `initial_response`).
    #[error("SASL session misuse: {0}")]
    ApiMisuse(&'static str),
    /// The session is already complete (success or failure); no more steps are taken.
    #[error("the SASL exchange is already complete")]
    Complete,
    /// The token could not be validated for a reason that is not the peer's fault.
    #[error("internal error: {0}")]
    Internal(String),
    /// The client's own inputs (authzid, token, extensions) cannot be sent in an RFC 7628
    /// message.
    #[error("cannot build the initial response: {0}")]
    InvalidClientRequest(String),
    /// The server's message could not be understood by the client.
    #[error("malformed server message: {0}")]
    MalformedChallenge(String),
    /// The service named for the session is not configured.
    #[error("service {0:?} is not configured")]
    UnknownService(String),
}

/// A successful authentication.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Authenticated {
    /// The effective authorization identity (the mapped identity, or an allowed proxy target).
    pub authorization_id: String,
    /// The mapped principal of the token's subject.
    pub principal: Principal,
    /// The verified token.
    pub token: Arc<VerifiedToken>,
    /// The RFC 7628 extensions the client sent (other than `auth`, `host`, `port`).
    pub extensions: Vec<(String, String)>,
}

/// What a server step produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StepState {
    /// More client input is expected (after an error challenge: the client's `%x01`).
    Continue,
    /// The exchange succeeded.
    Success(Box<Authenticated>),
    /// The exchange failed with this reason.
    Failure(Rejection),
}

/// The result of one server step: bytes to send to the client, and the state.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerStep {
    /// The challenge to send (the RFC 7628 error JSON after a rejection; empty otherwise).
    pub challenge: Vec<u8>,
    /// The session state after this step.
    pub state: StepState,
}
