//! The `/v1` wire types: JSON request and response bodies, the one error body
//! (`{ "error": code, "message": text }`), and the one mapping from module errors to HTTP status.
//!
//! SASL messages and challenges travel as base64 strings (RFC 4648 §4, standard alphabet, with
//! padding). Times are seconds since the Unix epoch (`expires_at`).

use crate::acquire::AcquireError;
use crate::config::ConfigError;
use crate::sasl::SaslError;
use crate::validate::ValidateError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// `POST /v1/sasl/server/sessions`: start a server SASL session.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CreateSessionRequest {
    /// The SASL mechanism; only `OAUTHBEARER` (RFC 7628) is offered.
    pub mechanism: String,
    /// The SASL service (protocol) name, matched against `[[services]] name`.
    pub service: String,
    /// The server's fully qualified host name, as the host system passes it to its SASL server.
    pub server_name: String,
    /// Optional: the client's initial response, base64 (standard alphabet). OAUTHBEARER always
    /// starts with one (RFC 7628 §3.1), so passing it here runs the first step at once and
    /// saves a round trip; the result is in [`CreateSessionResponse::step`].
    #[serde(default)]
    pub response: Option<String>,
}

/// Reply to [`CreateSessionRequest`] (HTTP 201).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CreateSessionResponse {
    /// The opaque session id (128 random bits, hex) for the `step` and `DELETE` calls.
    pub session_id: String,
    /// The result of the first step, when the request carried the initial response. When it
    /// completed the exchange the session is already gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepResponse>,
}

/// `POST /v1/sasl/server/sessions/{id}/step`: one client message.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StepRequest {
    /// The client's SASL message, base64 (standard alphabet). The empty string is an empty
    /// message (for example before the client's initial response).
    pub response: String,
}

/// Reply to [`StepRequest`].
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[non_exhaustive]
pub struct StepResponse {
    /// The server challenge to pass to the client, base64 (the RFC 7628 §3.2.2 error JSON after
    /// a rejection; empty otherwise).
    pub challenge: String,
    /// True when the exchange has ended (the session is then gone).
    pub complete: bool,
    /// True when the exchange ended with a successful authentication.
    pub success: bool,
    /// The authorization identity the host system should use (on success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_id: Option<String>,
    /// The groups of the authenticated principal (on success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Expiry of the token, seconds since the Unix epoch (on success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The rejection reason (`expired_token`, `audience_mismatch`, …) on failure, and already
    /// with the error challenge that precedes it (the exchange then completes on the client's
    /// `%x01`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /v1/sasl/client/initial-response`: build an OAUTHBEARER initial client response
/// (RFC 7628 §3.1) with the current token of a configured identity.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct InitialResponseRequest {
    /// The `[[identities]] name` whose token is sent.
    pub identity: String,
    /// The authorization identity to request (`a=` in the GS2 header), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authzid: Option<String>,
    /// The server host name (`host=` key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The server port (`port=` key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The SASL service name of the target; accepted for forward compatibility (per-service
    /// token selection), currently unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// Reply to [`InitialResponseRequest`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct InitialResponseResponse {
    /// The initial client response, base64 (standard alphabet).
    pub response: String,
}

/// `POST /v1/tokens/validate`: validate a bearer token for a service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ValidateRequest {
    /// The `[[services]] name` whose policy applies.
    pub service: String,
    /// The bearer token (a compact JWT or an opaque token), without a `Bearer ` prefix.
    pub token: String,
}

/// Reply to [`ValidateRequest`] (HTTP 200 whether valid or not).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ValidateResponse {
    /// True when the token passed every check.
    pub valid: bool,
    /// The mapped authorization identity (when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_id: Option<String>,
    /// The principal's groups (when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// The configured issuer name (when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The token's `sub` (when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Token expiry, seconds since the Unix epoch (when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The rejection reason code (when not valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rejection, in words (when not valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Reply to `GET /v1/identities/{id}/token`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Expiry, seconds since the Unix epoch, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// One issuer's or identity's start-up state in `/readyz` and reload replies.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComponentStatus {
    /// The configured name.
    pub name: String,
    /// `pending` (not attempted yet), `ok`, `error`, or `unknown` (attempted, but the core
    /// reported no result for it).
    pub status: String,
    /// Why it failed (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reply to `GET /readyz` (HTTP 200 when ready, 503 before).
///
/// Ready means every issuer's discovery and JWKS load, and every identity's first token, has
/// been *attempted* for the current configuration. Failures do not hold readiness back (the core
/// retries them in the background and validations report precise errors); they are listed here.
/// Readiness is a latch: once ready, the daemon stays ready across reloads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ReadyResponse {
    /// True once the latch is released.
    pub ready: bool,
    /// Per-issuer state.
    pub issuers: Vec<ComponentStatus>,
    /// Per-identity state.
    pub identities: Vec<ComponentStatus>,
}

/// Reply to a successful `POST /v1/admin/reload`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ReloadResponse {
    /// A one-line summary of the configuration now in use.
    pub summary: String,
    /// Per-issuer state after starting the new configuration.
    pub issuers: Vec<ComponentStatus>,
    /// Warnings (unknown `SASLGATE_*` variables, `[danger]` settings).
    pub warnings: Vec<String>,
}

/// The one error body of the API: a stable machine code and a human message.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorBody {
    /// Stable lower_snake code (`unknown_service`, `malformed_json`, …).
    pub error: String,
    /// What went wrong, in words (never a token or secret).
    pub message: String,
}

/// An error answer: HTTP status plus [`ErrorBody`]. Every handler error becomes one of these,
/// and every module error is mapped here and nowhere else.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with `status`, machine `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: code.to_string(),
                message: message.into(),
            },
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `unknown_session`.
    pub fn unknown_session() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_session",
            "no such SASL session (unknown id, expired after daemon.session_idle_secs, or already complete)",
        )
    }

    /// 413 `payload_too_large` naming the limit in bytes.
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "request body exceeds {limit_bytes} bytes (limits.max_token_bytes plus SASL framing, base64-encoded)"
            ),
        )
    }

    /// 503 `shutting_down`.
    pub fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the daemon is draining and accepts no new sessions",
        )
    }

    /// 503 `too_many_sessions`: `daemon.max_sessions` sessions are open.
    pub fn too_many_sessions() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sessions",
            "daemon.max_sessions server sessions are open; retry later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

impl From<SaslError> for ApiError {
    fn from(e: SaslError) -> Self {
        let message = e.to_string();
        match e {
            SaslError::UnknownService(_) => Self::bad_request("unknown_service", message),
            SaslError::Complete => Self::new(StatusCode::CONFLICT, "session_complete", message),
            SaslError::ApiMisuse(_) => Self::new(StatusCode::CONFLICT, "session_misuse", message),
            SaslError::InvalidClientRequest(_) => {
                Self::bad_request("invalid_client_request", message)
            }
            SaslError::MalformedChallenge(_) => {
                Self::new(StatusCode::BAD_GATEWAY, "malformed_challenge", message)
            }
            SaslError::Internal(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "internal", message)
            }
        }
    }
}

impl From<AcquireError> for ApiError {
    fn from(e: AcquireError) -> Self {
        let message = e.to_string();
        match e {
            AcquireError::UnknownIdentity(_) => {
                Self::new(StatusCode::NOT_FOUND, "unknown_identity", message)
            }
            AcquireError::Failed { .. } | AcquireError::Rejected { .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "acquire_failed", message)
            }
            AcquireError::Setup { .. } => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "identity_setup", message)
            }
        }
    }
}

impl From<ValidateError> for ApiError {
    /// Only [`ValidateError::Internal`] reaches here in practice: rejections are a 200
    /// [`ValidateResponse`] with `valid: false`.
    fn from(e: ValidateError) -> Self {
        let message = e.to_string();
        match e {
            ValidateError::Rejected(r) => Self::bad_request(r.as_str(), message),
            ValidateError::Internal(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "validation_unavailable",
                message,
            ),
        }
    }
}

impl From<ConfigError> for ApiError {
    fn from(e: ConfigError) -> Self {
        let message = e.to_string();
        match e {
            ConfigError::Read { .. } => Self::bad_request("config_unreadable", message),
            _ => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_config", message),
        }
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Config(e) => e.into(),
            crate::Error::Validate(e) => e.into(),
            crate::Error::Sasl(e) => e.into(),
            crate::Error::Acquire(e) => e.into(),
        }
    }
}

/// Decodes a base64 field (standard alphabet, padded).
///
/// # Errors
/// 400 `malformed_base64` naming `field`.
pub fn decode_base64(field: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|e| ApiError::bad_request("malformed_base64", format!("{field}: {e}")))
}

/// Encodes bytes as base64 (standard alphabet, padded).
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_service_maps_to_400_with_its_code() {
        let e = ApiError::from(SaslError::UnknownService("zk".into()));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.body.error, "unknown_service");
        assert_eq!(e.body.message, "service \"zk\" is not configured");
    }

    #[test]
    fn unknown_identity_maps_to_404() {
        let e = ApiError::from(AcquireError::UnknownIdentity("node".into()));
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.body.error, "unknown_identity");
    }

    #[test]
    fn config_errors_other_than_read_map_to_422() {
        let e = ApiError::from(ConfigError::Parse {
            file: "/etc/s.toml".into(),
            key: "<document>".into(),
            message: "expected `=`".into(),
        });
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body.error, "invalid_config");
        assert!(e.body.message.starts_with("/etc/s.toml: <document>:"));
    }

    #[test]
    fn rejects_base64_with_url_alphabet_and_names_the_field() {
        let e = decode_base64("response", "a-_b").expect_err("url alphabet is not standard");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.body.error, "malformed_base64");
        assert!(
            e.body.message.starts_with("response: "),
            "{}",
            e.body.message
        );
    }

    #[test]
    fn base64_round_trips_bytes_with_control_characters() {
        let bytes = b"n,,\x01auth=Bearer x\x01\x01";
        assert_eq!(
            decode_base64("r", &encode_base64(bytes)).expect("valid"),
            bytes.to_vec()
        );
    }

    #[test]
    fn step_response_omits_absent_fields() {
        let r = StepResponse {
            challenge: String::new(),
            complete: false,
            success: false,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&r).expect("serializes"),
            r#"{"challenge":"","complete":false,"success":false}"#
        );
    }
}
