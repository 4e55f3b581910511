//! The HTTP routes (DESIGN §6): the route table, the router built from it, and the handlers.
//!
//! [`ROUTES`] is the single list of `(method, path)` pairs. The router is built by walking it,
//! and a test checks it against `docs/openapi.json`, so the API description cannot drift from
//! what is served.

use super::api::{
    decode_base64, encode_base64, ApiError, CreateSessionRequest, CreateSessionResponse,
    InitialResponseRequest, InitialResponseResponse, StepRequest, StepResponse, TokenResponse,
    ValidateRequest, ValidateResponse,
};
use super::listen::{PeerInfo, Transport};
use super::sessions::{SessionEntry, SessionState};
use super::state::AppState;
use super::DaemonError;
use crate::sasl::{SaslError, ServerSession, StepState};
use crate::validate::ValidateError;
use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, MethodRouter};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Mutex;
use tracing::Instrument;

/// Every route the daemon serves, as `(HTTP method, path template)`.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/v1/sasl/server/sessions"),
    ("POST", "/v1/sasl/server/sessions/{id}/step"),
    ("DELETE", "/v1/sasl/server/sessions/{id}"),
    ("POST", "/v1/sasl/client/initial-response"),
    ("POST", "/v1/tokens/validate"),
    ("GET", "/v1/identities/{id}/token"),
    ("POST", "/v1/admin/reload"),
];

/// The only mechanism offered.
const MECHANISM: &str = "OAUTHBEARER";

fn handler(method: &str, path: &str) -> Option<MethodRouter<AppState>> {
    Some(match (method, path) {
        ("GET", "/healthz") => get(healthz),
        ("GET", "/readyz") => get(readyz),
        ("GET", "/metrics") => get(metrics),
        ("POST", "/v1/sasl/server/sessions") => post(create_session),
        ("POST", "/v1/sasl/server/sessions/{id}/step") => post(step),
        ("DELETE", "/v1/sasl/server/sessions/{id}") => delete(delete_session),
        ("POST", "/v1/sasl/client/initial-response") => post(initial_response),
        ("POST", "/v1/tokens/validate") => post(validate),
        ("GET", "/v1/identities/{id}/token") => get(identity_token),
        ("POST", "/v1/admin/reload") => post(admin_reload),
        _ => return None,
    })
}

/// Builds the router from [`ROUTES`].
///
/// # Errors
/// [`DaemonError::Route`] when a route in the table has no handler (a programming error, caught
/// by the unit tests).
pub(crate) fn router(state: AppState) -> Result<Router, DaemonError> {
    let mut router: Router<AppState> = Router::new();
    for &(method, path) in ROUTES {
        let h = handler(method, path).ok_or(DaemonError::Route { method, path })?;
        router = router.route(
            path,
            h.route_layer(axum::middleware::from_fn_with_state(path, track)),
        );
    }
    Ok(router
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        .with_state(state))
}

/// Records request count and duration by route template.
async fn track(State(route): State<&'static str>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(req).await;
    super::metrics::request(route, response.status().as_u16(), started.elapsed());
    response
}

/// A JSON body read with the current configuration's size limit. Oversized bodies are refused
/// with 413 before they are buffered past the limit; malformed JSON with 400 `malformed_json`.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.body_limit_bytes();
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::payload_too_large(limit));
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|e| {
                if is_length_limit(&e) {
                    ApiError::payload_too_large(limit)
                } else {
                    ApiError::bad_request("unreadable_body", format!("cannot read the body: {e}"))
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    let report = state.readiness.report();
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    super::metrics::sessions(state.sessions.len().await);
    let body = state.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

async fn create_session(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    ApiJson(req): ApiJson<CreateSessionRequest>,
) -> Result<Response, ApiError> {
    if state.draining.load(Ordering::Acquire) {
        return Err(ApiError::shutting_down());
    }
    if !req.mechanism.eq_ignore_ascii_case(MECHANISM) {
        return Err(ApiError::bad_request(
            "unsupported_mechanism",
            format!(
                "mechanism {:?} is not offered; use {MECHANISM}",
                req.mechanism
            ),
        ));
    }
    let initial = match &req.response {
        Some(b64) => Some(decode_base64("response", b64)?),
        None => None,
    };
    let session = ServerSession::new(state.core(), &req.service, &req.server_name)?
        .with_peer(crate::sasl::Peer::new(peer.uid, peer.gid, peer.pid));
    let id = state
        .sessions
        .insert(SessionEntry {
            state: Mutex::new(SessionState {
                session,
                busy: std::time::Duration::ZERO,
            }),
            service: req.service.clone(),
            owner_uid: peer.uid,
            created: Instant::now(),
            awaiting_final: std::sync::atomic::AtomicBool::new(false),
        })
        .await
        .ok_or_else(ApiError::too_many_sessions)?;
    tracing::debug!(session.id = %id, service = %req.service, mechanism = MECHANISM, peer.uid = ?peer.uid, "session created");
    let step = match initial {
        None => None,
        Some(input) => {
            let entry = state
                .sessions
                .get(&id, peer.uid)
                .await
                .ok_or_else(ApiError::unknown_session)?;
            let span = tracing::info_span!("session", session.id = %id, service = %entry.service, mechanism = MECHANISM);
            let Json(step) = run_step(&state, &id, entry, input).instrument(span).await?;
            Some(step)
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(CreateSessionResponse {
            session_id: id,
            step,
        }),
    )
        .into_response())
}

async fn step(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StepRequest>,
) -> Result<Json<StepResponse>, ApiError> {
    let input = decode_base64("response", &req.response)?;
    let entry = state
        .sessions
        .get(&id, peer.uid)
        .await
        .ok_or_else(ApiError::unknown_session)?;
    let span = tracing::info_span!("session", session.id = %id, service = %entry.service, mechanism = MECHANISM);
    run_step(&state, &id, entry, input).instrument(span).await
}

async fn run_step(
    state: &AppState,
    id: &str,
    entry: Arc<SessionEntry>,
    input: Vec<u8>,
) -> Result<Json<StepResponse>, ApiError> {
    // The session emits the audit event (with the peer's credentials); here only metrics.
    let mut guard = entry.state.lock().await;
    let started = Instant::now();
    let result = guard.session.step(&input).await;
    guard.busy += started.elapsed();
    let step = match result {
        Ok(step) => step,
        Err(e) => {
            drop(guard);
            state.sessions.remove(id).await;
            return Err(e.into());
        }
    };
    let challenge = encode_base64(&step.challenge);
    let response = match step.state {
        StepState::Continue => StepResponse {
            challenge,
            // After an error challenge the outcome is already known; say it now.
            reason: guard
                .session
                .pending_rejection()
                .map(|r| r.as_str().to_string()),
            ..StepResponse::default()
        },
        StepState::Success(auth) => {
            super::metrics::authentication(&entry.service, true, "none");
            StepResponse {
                challenge,
                complete: true,
                success: true,
                authorization_id: Some(auth.authorization_id.clone()),
                groups: Some(auth.principal.groups.clone()),
                expires_at: Some(auth.token.expires_at),
                reason: None,
            }
        }
        StepState::Failure(rejection) => {
            super::metrics::authentication(&entry.service, false, rejection.as_str());
            StepResponse {
                challenge,
                complete: true,
                success: false,
                reason: Some(rejection.as_str().to_string()),
                ..StepResponse::default()
            }
        }
    };
    let awaiting_final = !response.complete && response.reason.is_some();
    drop(guard);
    if awaiting_final {
        state
            .sessions
            .awaiting_final_message(id, entry.clone())
            .await;
    }
    if response.complete {
        tracing::debug!(
            age_ms = entry.created.elapsed().as_millis() as u64,
            "session complete"
        );
        state.sessions.remove(id).await;
    }
    Ok(Json(response))
}

async fn delete_session(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    Path(id): Path<String>,
) -> StatusCode {
    if state.sessions.get(&id, peer.uid).await.is_some() {
        state.sessions.remove(&id).await;
        tracing::debug!(session.id = %id, "session disposed");
    }
    StatusCode::NO_CONTENT
}

async fn initial_response(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    ApiJson(req): ApiJson<InitialResponseRequest>,
) -> Result<Json<InitialResponseResponse>, ApiError> {
    if peer.transport != Transport::Unix {
        return Err(ApiError::forbidden(
            "initial responses carry a bearer token and are served on the Unix socket only",
        ));
    }
    let core = state.core();
    let token = core.tokens().token(&req.identity).await?;
    let bytes = crate::sasl::ClientSession::new(
        token.secret.clone(),
        req.authzid.clone(),
        req.host.clone(),
        req.port,
        Vec::new(),
    )
    .initial_response()?;
    tracing::debug!(identity = %req.identity, token.fp = %token.fingerprint(), peer.uid = ?peer.uid, "initial response built");
    Ok(Json(InitialResponseResponse {
        response: encode_base64(&bytes),
    }))
}

async fn validate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    ApiJson(req): ApiJson<ValidateRequest>,
) -> Result<Json<ValidateResponse>, ApiError> {
    let core = state.core();
    if core.config().service(&req.service).is_none() {
        return Err(SaslError::UnknownService(req.service).into());
    }
    let fp = crate::cache::fingerprint(req.token.as_bytes());
    let started = Instant::now();
    let result = core.validator().validate(&req.service, &req.token).await;
    let mut audit = Audit {
        service: &req.service,
        peer: &peer,
        token_fp: Some(&fp),
        latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        ..Audit::default()
    };
    match result {
        Ok(v) => {
            audit.decision = "allow";
            audit.issuer = Some(&v.issuer);
            audit.subject = Some(&v.subject);
            audit.authzid = Some(&v.principal.authzid);
            audit.kid = v.kid.as_deref();
            audit.emit();
            Ok(Json(ValidateResponse {
                valid: true,
                authorization_id: Some(v.principal.authzid.clone()),
                groups: Some(v.principal.groups.clone()),
                issuer: Some(v.issuer.clone()),
                subject: Some(v.subject.clone()),
                expires_at: Some(v.expires_at),
                ..ValidateResponse::default()
            }))
        }
        Err(ValidateError::Rejected(r)) => {
            audit.decision = "deny";
            audit.reason = r.as_str();
            audit.emit();
            Ok(Json(ValidateResponse {
                valid: false,
                reason: Some(r.as_str().to_string()),
                message: Some(r.to_string()),
                ..ValidateResponse::default()
            }))
        }
        Err(e) => {
            audit.decision = "error";
            audit.reason = e.reason();
            audit.emit();
            Err(e.into())
        }
    }
}

async fn identity_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    Path(identity): Path<String>,
) -> Result<Json<TokenResponse>, ApiError> {
    let core = state.core();
    let allowed = peer.uid.is_some_and(|uid| {
        uid == state.own_uid || core.config().daemon.token_reader_uids.contains(&uid)
    });
    if !allowed {
        tracing::warn!(identity = %identity, peer.uid = ?peer.uid, transport = peer.transport.as_str(), "token request refused");
        return Err(ApiError::forbidden(
            "this peer may not read tokens (daemon.token_reader_uids, Unix socket only)",
        ));
    }
    let token = core.tokens().token(&identity).await?;
    tracing::info!(identity = %identity, token.fp = %token.fingerprint(), peer.uid = ?peer.uid, peer.pid = ?peer.pid, "token handed out");
    Ok(Json(TokenResponse {
        access_token: token.secret.expose_secret().to_string(),
        expires_at: token.expires_at,
    }))
}

async fn admin_reload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
) -> Result<Response, ApiError> {
    if peer.transport != Transport::Unix {
        return Err(ApiError::forbidden(
            "reload is served on the Unix socket only",
        ));
    }
    tracing::info!(peer.uid = ?peer.uid, "reload requested");
    let r = state.reload().await?;
    Ok(Json(r).into_response())
}

/// The audit record of one `/v1/tokens/validate` call (STYLE §6 rule 6), emitted once as an
/// `info` event with target `saslgate::audit`. SASL sessions emit their own (`sasl::server`).
struct Audit<'a> {
    service: &'a str,
    peer: &'a PeerInfo,
    issuer: Option<&'a str>,
    subject: Option<&'a str>,
    authzid: Option<&'a str>,
    kid: Option<&'a str>,
    decision: &'static str,
    reason: &'static str,
    latency_us: u64,
    token_fp: Option<&'a str>,
}

static NO_PEER: PeerInfo = PeerInfo {
    transport: Transport::Unix,
    uid: None,
    gid: None,
    pid: None,
    addr: None,
};

impl Default for Audit<'_> {
    fn default() -> Self {
        Self {
            service: "",
            peer: &NO_PEER,
            issuer: None,
            subject: None,
            authzid: None,
            kid: None,
            decision: "error",
            reason: "none",
            latency_us: 0,
            token_fp: None,
        }
    }
}

impl Audit<'_> {
    fn emit(&self) {
        tracing::info!(
            target: "saslgate::audit",
            service = self.service,
            issuer = self.issuer.unwrap_or(""),
            subject = self.subject.unwrap_or(""),
            authzid = self.authzid.unwrap_or(""),
            kid = self.kid.unwrap_or(""),
            decision = self.decision,
            reason = self.reason,
            latency_us = self.latency_us,
            peer.transport = self.peer.transport.as_str(),
            peer.uid = self.peer.uid.map(i64::from).unwrap_or(-1),
            peer.gid = self.peer.gid.map(i64::from).unwrap_or(-1),
            peer.pid = self.peer.pid.map(i64::from).unwrap_or(-1),
            token.fp = self.token_fp.unwrap_or(""),
            "authentication"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_in_the_table_has_a_handler() {
        for &(method, path) in ROUTES {
            assert!(handler(method, path).is_some(), "{method} {path}");
        }
    }

    #[test]
    fn route_table_has_no_duplicates() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert(r), "{r:?}");
        }
    }
}
