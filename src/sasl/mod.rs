//! OAUTHBEARER (RFC 7628) client and server sessions, built on `rsasl`.
//!
//! TODO(sasl+principal helper): codec (GS2 header, `=2C`/`=3D` escaping, kvpairs), rsasl-driven
//! sessions split into parse → async validate → finish, the error JSON and the `%x01` reply.

use crate::core::Core;
use crate::principal::Principal;
use crate::validate::{Rejection, VerifiedToken};
use std::sync::Arc;

/// Why a SASL step could not be performed (as opposed to an authentication that failed, which is
/// a [`ServerStep`] with [`StepState::Failure`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The service named for the session is not configured.
    #[error("service {0:?} is not configured")]
    UnknownService(String),
    /// The session is already complete (success or failure); no more steps are taken.
    #[error("the SASL exchange is already complete")]
    Complete,
    /// The server's message could not be understood by the client.
    #[error("malformed server message: {0}")]
    MalformedChallenge(String),
    /// The token could not be validated for a reason that is not the peer's fault.
    #[error("internal error: {0}")]
    Internal(String),
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

/// The server side of one OAUTHBEARER exchange.
#[derive(Debug)]
pub struct ServerSession {
    core: Arc<Core>,
    service: String,
    server_name: String,
}

impl ServerSession {
    /// Starts a server session for `service` (the SASL protocol name, matched against
    /// `[[services]] name`) on `server_name` (the host's fully qualified name).
    ///
    /// # Errors
    /// [`SaslError::UnknownService`] when the service is not configured.
    pub fn new(core: Arc<Core>, service: &str, server_name: &str) -> Result<Self, SaslError> {
        if core.config().service(service).is_none() {
            return Err(SaslError::UnknownService(service.to_string()));
        }
        Ok(Self {
            core,
            service: service.to_string(),
            server_name: server_name.to_string(),
        })
    }

    /// Processes one client message.
    ///
    /// # Errors
    /// [`SaslError::Complete`] after the exchange ended; [`SaslError::Internal`] when the token
    /// cannot be validated for a reason that is not the client's fault.
    pub async fn step(&mut self, input: &[u8]) -> Result<ServerStep, SaslError> {
        let _ = (&self.core, &self.service, &self.server_name, input);
        Err(SaslError::Internal("not implemented".into()))
    }
}

/// The client side of one OAUTHBEARER exchange.
#[derive(Debug)]
pub struct ClientSession {
    _private: (),
}
