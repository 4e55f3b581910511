//! The server side of OAUTHBEARER: parse (our codec) → validate (async) → finish (rsasl).

use super::codec::{self, InitialResponse};
use super::{Authenticated, SaslError, ServerStep, StepState};
use crate::config::{Config, ServiceConfig};
use crate::core::Core;
use crate::validate::{Rejection, ValidateError, VerifiedToken};
use rsasl::callback::{Context, Request, SessionCallback, SessionData};
use rsasl::mechanisms::oauthbearer::properties::{OAuthBearerError, OAuthBearerValidate};
use rsasl::mechanisms::oauthbearer::OAUTHBEARER;
use rsasl::prelude::{MessageSent, SASLConfig, SASLServer, Session, SessionError, State};
use std::sync::Arc;
use std::time::Instant;

/// The server side of one OAUTHBEARER exchange (RFC 7628 §3).
///
/// Feed each client message to [`step`](Self::step) and send back the challenge it returns:
/// the initial response yields success (empty challenge) or the RFC 7628 §3.2.2 error JSON with
/// [`StepState::Continue`]; after an error, the client's `%x01` yields
/// [`StepState::Failure`].
pub struct ServerSession {
    core: Arc<Core>,
    service: String,
    server_name: String,
    peer: Peer,
    state: ServerState,
}

/// Who is on the other side of the transport that carries the exchange, as far as the host
/// knows it (the daemon fills it from the Unix socket's peer credentials). Recorded in the
/// audit event; `None` fields are unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Peer {
    /// The peer process's user id.
    pub uid: Option<u32>,
    /// The peer process's group id.
    pub gid: Option<u32>,
    /// The peer process id.
    pub pid: Option<i32>,
}

impl Peer {
    /// A peer with the given credentials.
    pub fn new(uid: Option<u32>, gid: Option<u32>, pid: Option<i32>) -> Self {
        Self { uid, gid, pid }
    }
}

enum ServerState {
    /// Waiting for the client initial response.
    Initial,
    /// The error JSON was sent; waiting for the client's `%x01`.
    AwaitingAbort {
        rejection: Rejection,
        rsasl: Option<Box<Session>>,
    },
    Succeeded(Box<Authenticated>),
    Failed(Rejection),
    /// An internal error ended the session.
    Aborted,
}

impl std::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            ServerState::Initial => "initial",
            ServerState::AwaitingAbort { .. } => "awaiting_abort",
            ServerState::Succeeded(_) => "succeeded",
            ServerState::Failed(_) => "failed",
            ServerState::Aborted => "aborted",
        };
        f.debug_struct("ServerSession")
            .field("service", &self.service)
            .field("server_name", &self.server_name)
            .field("state", &state)
            .finish()
    }
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
            peer: Peer::default(),
            state: ServerState::Initial,
        })
    }

    /// Records the transport peer's credentials in this session's audit event.
    pub fn with_peer(mut self, peer: Peer) -> Self {
        self.peer = peer;
        self
    }

    /// Processes one client message: first the initial response (RFC 7628 §3.1), then, after an
    /// error challenge, the client's `%x01` (§3.2.3).
    ///
    /// Returns the challenge to send and the new state. Never panics, whatever the input.
    ///
    /// # Errors
    /// [`SaslError::Complete`] after the exchange ended; [`SaslError::Internal`] when the token
    /// cannot be validated for a reason that is not the client's fault (the session then ends).
    pub async fn step(&mut self, input: &[u8]) -> Result<ServerStep, SaslError> {
        // A step dropped half-way (cancelled future) leaves the session aborted: fail closed.
        match std::mem::replace(&mut self.state, ServerState::Aborted) {
            ServerState::Initial => self.initial(input).await,
            ServerState::AwaitingAbort { rejection, rsasl } => {
                Ok(self.after_error(input, rejection, rsasl))
            }
            done => {
                self.state = done;
                Err(SaslError::Complete)
            }
        }
    }

    /// Whether the exchange has ended (success, failure, or an internal error).
    pub fn is_complete(&self) -> bool {
        !matches!(
            self.state,
            ServerState::Initial | ServerState::AwaitingAbort { .. }
        )
    }

    /// The effective authorization identity, once the exchange has succeeded.
    pub fn authorization_id(&self) -> Option<&str> {
        match &self.state {
            ServerState::Succeeded(a) => Some(&a.authorization_id),
            _ => None,
        }
    }

    /// The outcome: `Some(Ok)` after success, `Some(Err(reason))` after failure, `None` while
    /// the exchange is running or after an internal error.
    pub fn outcome(&self) -> Option<Result<&Authenticated, &Rejection>> {
        match &self.state {
            ServerState::Succeeded(a) => Some(Ok(a)),
            ServerState::Failed(r) => Some(Err(r)),
            _ => None,
        }
    }

    /// The reason of a refusal already decided while the session waits for the client's
    /// `%x01` (after the error challenge), else `None`.
    pub fn pending_rejection(&self) -> Option<&Rejection> {
        match &self.state {
            ServerState::AwaitingAbort { rejection, .. } => Some(rejection),
            _ => None,
        }
    }

    /// The service this session authenticates for.
    pub fn service(&self) -> &str {
        &self.service
    }

    async fn initial(&mut self, input: &[u8]) -> Result<ServerStep, SaslError> {
        let started = Instant::now();
        let config = self.core.config().clone();
        let service = config
            .service(&self.service)
            .ok_or_else(|| SaslError::UnknownService(self.service.clone()))?;
        let msg = match parse(&config, service, input) {
            Ok(msg) => msg,
            Err(rejection) => {
                self.audit_failure(None, &rejection, started);
                return finish(&mut self.state, service, input, None, Err(rejection));
            }
        };
        let validated = self
            .core
            .validator()
            .validate(&self.service, &msg.token)
            .await;
        let verdict = match decide(&config, &self.service, &msg, validated) {
            Ok(verdict) => verdict,
            Err(e) => {
                tracing::warn!(
                    target: "saslgate::audit",
                    service = %self.service,
                    server.name = %self.server_name,
                    peer.uid = self.peer.uid,
                    peer.gid = self.peer.gid,
                    peer.pid = self.peer.pid,
                    token.fp = %crate::cache::fingerprint(msg.token.as_bytes()),
                    decision = "error",
                    reason = "internal",
                    latency_us = started.elapsed().as_micros() as u64,
                    error = %e,
                    "authentication could not be performed"
                );
                return Err(e);
            }
        };
        match &verdict {
            Ok(a) => tracing::info!(
                target: "saslgate::audit",
                service = %self.service,
                server.name = %self.server_name,
                peer.uid = self.peer.uid,
                peer.gid = self.peer.gid,
                peer.pid = self.peer.pid,
                issuer = %a.token.issuer,
                subject = %a.token.subject,
                authzid = %a.authorization_id,
                kid = a.token.kid.as_deref().unwrap_or(""),
                token.fp = %crate::cache::fingerprint(msg.token.as_bytes()),
                decision = "allow",
                latency_us = started.elapsed().as_micros() as u64,
                "authentication succeeded"
            ),
            Err(r) => self.audit_failure(Some(&msg.token), r, started),
        }
        finish(&mut self.state, service, input, Some(&msg), verdict)
    }

    fn audit_failure(&self, token: Option<&str>, rejection: &Rejection, started: Instant) {
        tracing::info!(
            target: "saslgate::audit",
            service = %self.service,
            server.name = %self.server_name,
            peer.uid = self.peer.uid,
            peer.gid = self.peer.gid,
            peer.pid = self.peer.pid,
            token.fp = token.map(|t| crate::cache::fingerprint(t.as_bytes())).unwrap_or_default(),
            decision = "deny",
            reason = rejection.as_str(),
            detail = %rejection,
            latency_us = started.elapsed().as_micros() as u64,
            "authentication failed"
        );
    }

    fn after_error(
        &mut self,
        input: &[u8],
        rejection: Rejection,
        rsasl: Option<Box<Session>>,
    ) -> ServerStep {
        if let Err(e) = codec::parse_client_abort(input) {
            tracing::debug!(service = %self.service, error = %e, "client did not answer the error challenge with %x01");
        }
        if let Some(mut session) = rsasl {
            // rsasl's errored state ignores its input and finishes; its answer changes nothing.
            let mut sink = Vec::new();
            if let Err(e) = session.step(Some(input), &mut sink) {
                tracing::debug!(error = %e, "rsasl refused the final step");
            }
        }
        self.state = ServerState::Failed(rejection.clone());
        ServerStep {
            challenge: Vec::new(),
            state: StepState::Failure(rejection),
        }
    }
}

/// Parses the initial response and checks its extensions against the service.
fn parse(
    config: &Config,
    service: &ServiceConfig,
    input: &[u8],
) -> Result<InitialResponse, Rejection> {
    let msg = codec::parse_initial_response(input, config.limits.max_sasl_message_bytes())?;
    if let Some((key, _)) = msg
        .extensions
        .iter()
        .find(|(k, _)| !service.allowed_extensions.contains(k))
    {
        return Err(Rejection::UnknownExtension(key.clone()));
    }
    Ok(msg)
}

/// Turns the validator's answer into the verdict: the authenticated identity (after the
/// authzid check of [`crate::principal::authorize`]) or the rejection.
///
/// # Errors
/// [`SaslError::Internal`] when the token could not be validated ([`ValidateError::Internal`]).
fn decide(
    config: &Config,
    service: &str,
    msg: &InitialResponse,
    validated: Result<Arc<VerifiedToken>, ValidateError>,
) -> Result<Result<Authenticated, Rejection>, SaslError> {
    match validated {
        Ok(verified) => Ok(crate::principal::authorize(
            config,
            service,
            &verified.principal,
            msg.authzid.as_deref(),
        )
        .map(|authorization_id| Authenticated {
            authorization_id,
            principal: verified.principal.clone(),
            token: verified,
            extensions: msg.extensions.clone(),
        })),
        Err(ValidateError::Rejected(rejection)) => Ok(Err(rejection)),
        Err(ValidateError::Internal(e)) => Err(SaslError::Internal(e)),
    }
}

/// The status, scope and discovery URL of the error JSON.
#[derive(Debug, Clone)]
struct ErrorFields {
    status: &'static str,
    scope: Option<String>,
    openid_configuration: Option<String>,
}

impl ErrorFields {
    fn new(service: &ServiceConfig, rejection: &Rejection) -> Self {
        Self {
            status: rejection.rfc7628_status(),
            scope: service.error_scope.clone(),
            openid_configuration: service.error_openid_configuration.clone(),
        }
    }

    fn as_rsasl(&self) -> OAuthBearerError<'_> {
        OAuthBearerError::new(
            self.status,
            self.scope.as_deref(),
            self.openid_configuration.as_deref(),
        )
    }
}

/// The rsasl callback: answers `OAuthBearerValidate` with the precomputed verdict.
struct Verdict(Result<(), ErrorFields>);

impl SessionCallback for Verdict {
    fn callback(
        &self,
        _session_data: &SessionData,
        _context: &Context,
        request: &mut Request<'_>,
    ) -> Result<(), SessionError> {
        if request.is::<OAuthBearerValidate>() {
            let answer = match &self.0 {
                Ok(()) => Ok(()),
                Err(fields) => Err(fields.as_rsasl()),
            };
            request.satisfy::<OAuthBearerValidate>(&answer)?;
        }
        Ok(())
    }
}

/// The bytes rsasl is driven with: the client's own bytes, unless a kv value holds `=` (which
/// rsasl's parser refuses although RFC 7628 allows it); then the same message re-encoded without
/// those pairs, which rsasl does not need since the verdict is already made.
fn rsasl_input<'a>(input: &'a [u8], msg: &InitialResponse) -> std::borrow::Cow<'a, [u8]> {
    let has_eq = |v: &str| v.contains('=');
    if !msg.host.as_deref().is_some_and(has_eq) && !msg.extensions.iter().any(|(_, v)| has_eq(v)) {
        return std::borrow::Cow::Borrowed(input);
    }
    let mut reduced = msg.clone();
    reduced.host = reduced.host.filter(|h| !has_eq(h));
    reduced.extensions.retain(|(_, v)| !has_eq(v));
    std::borrow::Cow::Owned(reduced.encode())
}

/// The "finish" part of a server step: turns a verdict into the challenge and the next state.
///
/// With a parsed message, an rsasl server session is driven over the client's bytes with the
/// verdict as its `OAuthBearerValidate` answer, so rsasl writes the error JSON. Without one (the
/// message did not parse, so rsasl could not either), the error JSON is serialized from the same
/// rsasl type.
fn finish(
    state: &mut ServerState,
    service: &ServiceConfig,
    input: &[u8],
    msg: Option<&InitialResponse>,
    verdict: Result<Authenticated, Rejection>,
) -> Result<ServerStep, SaslError> {
    let fields = verdict
        .as_ref()
        .err()
        .map(|rejection| ErrorFields::new(service, rejection));
    let Some(msg) = msg else {
        let rejection = match verdict {
            Err(r) => r,
            Ok(_) => {
                return Err(SaslError::Internal(
                    "success without a parsed message".into(),
                ))
            }
        };
        let fields = ErrorFields::new(service, &rejection);
        let challenge = serde_json::to_vec(&fields.as_rsasl())
            .map_err(|e| SaslError::Internal(format!("cannot serialize the error JSON: {e}")))?;
        *state = ServerState::AwaitingAbort {
            rejection,
            rsasl: None,
        };
        return Ok(ServerStep {
            challenge,
            state: StepState::Continue,
        });
    };
    let callback = Verdict(match fields {
        None => Ok(()),
        Some(f) => Err(f),
    });
    let rsasl_config = SASLConfig::builder()
        .with_default_mechanisms()
        .with_callback(callback)
        .map_err(|e| SaslError::Internal(format!("rsasl configuration: {e}")))?;
    let mut session: Session = SASLServer::new(rsasl_config)
        .start_suggested(OAUTHBEARER.mechanism)
        .map_err(|e| SaslError::Internal(format!("rsasl OAUTHBEARER server: {e}")))?;
    let mut challenge = Vec::new();
    let rsasl_state = session
        .step(Some(&rsasl_input(input, msg)), &mut challenge)
        .map_err(|e| SaslError::Internal(format!("rsasl OAUTHBEARER server step: {e}")))?;
    match (verdict, rsasl_state) {
        (Ok(authenticated), State::Finished(MessageSent::No)) => {
            *state = ServerState::Succeeded(Box::new(authenticated.clone()));
            Ok(ServerStep {
                challenge: Vec::new(),
                state: StepState::Success(Box::new(authenticated)),
            })
        }
        (Err(rejection), State::Running) if !challenge.is_empty() => {
            *state = ServerState::AwaitingAbort {
                rejection,
                rsasl: Some(Box::new(session)),
            };
            Ok(ServerStep {
                challenge,
                state: StepState::Continue,
            })
        }
        (verdict, rsasl_state) => Err(SaslError::Internal(format!(
            "rsasl state {rsasl_state:?} does not match the verdict (success: {})",
            verdict.is_ok()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Principal;
    use crate::validate::ValidationMethod;

    const CONFIG: &str = r#"
[[issuers]]
name = "kc"
issuer = "https://idp.example.com/realms/r"
kind = "keycloak"
jwks_uri = "https://idp.example.com/realms/r/protocol/openid-connect/certs"
audiences = ["zookeeper"]

[[services]]
name = "zookeeper"
issuers = ["kc"]
allowed_extensions = ["traceid"]
error_scope = "zookeeper"
error_openid_configuration = "https://idp.example.com/realms/r/.well-known/openid-configuration"

[[services]]
name = "hdfs"
issuers = ["kc"]
"#;

    fn core() -> Arc<Core> {
        let config = Config::from_toml_str(CONFIG, "<test>").unwrap();
        Core::new(Arc::new(config)).unwrap()
    }

    fn session(service: &str) -> ServerSession {
        ServerSession::new(core(), service, "zk1.example.com").unwrap()
    }

    fn verified(authzid: &str) -> Arc<VerifiedToken> {
        Arc::new(VerifiedToken {
            issuer: "kc".into(),
            iss: "https://idp.example.com/realms/r".into(),
            subject: "f1c2".into(),
            principal: Principal::new(authzid, vec!["admins".into()]),
            expires_at: 4_000_000_000,
            kid: Some("k1".into()),
            alg: Some("RS256"),
            claims: Arc::new(serde_json::Map::new()),
            roles: Vec::new(),
            method: ValidationMethod::Jwt,
            audiences: vec!["zookeeper".into()],
            valid_until: 4_000_000_030,
            weight_bytes: 1024,
        })
    }

    fn authenticated(authzid: &str) -> Authenticated {
        let token = verified(authzid);
        Authenticated {
            authorization_id: authzid.into(),
            principal: token.principal.clone(),
            token,
            extensions: Vec::new(),
        }
    }

    /// Runs the "finish" part on `input` with a precomputed verdict.
    fn finish_with(
        s: &mut ServerSession,
        input: &[u8],
        verdict: Result<Authenticated, Rejection>,
    ) -> Result<ServerStep, SaslError> {
        let config = s.core.config().clone();
        let service = config.service(&s.service).unwrap();
        let msg = parse(&config, service, input).ok();
        finish(&mut s.state, service, input, msg.as_ref(), verdict)
    }

    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn refuses_unknown_service() {
        let err = ServerSession::new(core(), "kafka", "h").unwrap_err();
        assert!(matches!(err, SaslError::UnknownService(s) if s == "kafka"));
    }

    #[test]
    fn finish_with_success_yields_empty_challenge_and_authzid() {
        let mut s = session("zookeeper");
        let step = finish_with(
            &mut s,
            b"n,a=alice,\x01host=zk1\x01auth=Bearer abc\x01\x01",
            Ok(authenticated("alice")),
        )
        .unwrap();
        assert!(step.challenge.is_empty());
        assert!(matches!(&step.state, StepState::Success(a) if a.authorization_id == "alice"));
        assert!(s.is_complete());
        assert_eq!(s.authorization_id(), Some("alice"));
        assert!(matches!(s.outcome(), Some(Ok(a)) if a.principal.groups == ["admins"]));
    }

    #[test]
    fn finish_with_success_accepts_extension_value_containing_equals() {
        let mut s = session("zookeeper");
        let step = finish_with(
            &mut s,
            b"n,,\x01traceid=a=b\x01auth=Bearer abc\x01\x01",
            Ok(authenticated("alice")),
        )
        .unwrap();
        assert!(matches!(step.state, StepState::Success(_)));
    }

    #[tokio::test]
    async fn failure_sends_error_json_then_fails_after_kvsep() {
        let mut s = session("zookeeper");
        let rejection = Rejection::ExpiredToken {
            exp: 1,
            now: 100,
            leeway_secs: 30,
        };
        let step = finish_with(
            &mut s,
            b"n,,\x01auth=Bearer abc\x01\x01",
            Err(rejection.clone()),
        )
        .unwrap();
        assert!(matches!(step.state, StepState::Continue));
        assert_eq!(
            json(&step.challenge),
            serde_json::json!({
                "status": "invalid_token",
                "scope": "zookeeper",
                "openid-configuration": "https://idp.example.com/realms/r/.well-known/openid-configuration"
            })
        );
        assert!(!s.is_complete());
        let step = s.step(b"\x01").await.unwrap();
        assert!(step.challenge.is_empty());
        assert!(matches!(&step.state, StepState::Failure(r) if *r == rejection));
        assert!(s.is_complete());
        assert_eq!(s.outcome().unwrap().unwrap_err(), &rejection);
        assert!(matches!(s.step(b"\x01").await, Err(SaslError::Complete)));
    }

    #[tokio::test]
    async fn anything_but_kvsep_after_error_is_also_a_failure() {
        let mut s = session("zookeeper");
        let rejection = Rejection::BadSignature;
        finish_with(
            &mut s,
            b"n,,\x01auth=Bearer abc\x01\x01",
            Err(rejection.clone()),
        )
        .unwrap();
        let step = s.step(b"n,,\x01auth=Bearer again\x01\x01").await.unwrap();
        assert!(matches!(&step.state, StepState::Failure(r) if *r == rejection));
        assert!(s.is_complete());
    }

    #[test]
    fn error_json_omits_scope_and_configuration_when_the_service_has_none() {
        let mut s = session("hdfs");
        let step = finish_with(
            &mut s,
            b"n,a=bob,\x01auth=Bearer abc\x01\x01",
            Err(Rejection::AuthzidNotAllowed {
                requested: "bob".into(),
                authenticated: "alice".into(),
            }),
        )
        .unwrap();
        assert_eq!(
            json(&step.challenge),
            serde_json::json!({"status": "insufficient_scope"})
        );
    }

    #[tokio::test]
    async fn malformed_initial_response_yields_invalid_request_then_failure() {
        let mut s = session("zookeeper");
        let step = s.step(b"y,,\x01auth=Bearer abc\x01\x01").await.unwrap();
        assert!(matches!(step.state, StepState::Continue));
        assert_eq!(json(&step.challenge)["status"], "invalid_request");
        assert_eq!(json(&step.challenge)["scope"], "zookeeper");
        let step = s.step(b"\x01").await.unwrap();
        assert!(matches!(
            &step.state,
            StepState::Failure(Rejection::MalformedMessage(m))
                if m == "gs2 flag \"y\": channel binding is not supported by OAUTHBEARER"
        ));
    }

    #[tokio::test]
    async fn unknown_extension_is_refused_before_validation() {
        let mut s = session("zookeeper");
        let step = s
            .step(b"n,,\x01color=blue\x01auth=Bearer abc\x01\x01")
            .await
            .unwrap();
        assert_eq!(json(&step.challenge)["status"], "invalid_request");
        let step = s.step(b"\x01").await.unwrap();
        assert!(matches!(
            &step.state,
            StepState::Failure(Rejection::UnknownExtension(k)) if k == "color"
        ));
    }

    #[tokio::test]
    async fn empty_and_random_inputs_never_panic() {
        for input in [
            &b""[..],
            b"\x01",
            b"\x01\x01",
            b"n,,\x01\x01",
            b"\xff\xfe",
            b"n,a=\x00,\x01auth=Bearer a\x01\x01",
        ] {
            let mut s = session("zookeeper");
            let step = s.step(input).await.unwrap();
            assert!(matches!(step.state, StepState::Continue), "{input:?}");
            assert!(matches!(
                s.step(b"\x01").await.unwrap().state,
                StepState::Failure(Rejection::MalformedMessage(_))
            ));
        }
    }

    #[test]
    fn decide_maps_internal_validation_errors_to_internal() {
        let s = session("zookeeper");
        let msg = codec::InitialResponse::new("abc");
        let r = decide(
            s.core.config(),
            "zookeeper",
            &msg,
            Err(ValidateError::Internal("jwks unreachable".into())),
        );
        assert!(matches!(r, Err(SaslError::Internal(e)) if e == "jwks unreachable"));
    }

    #[test]
    fn decide_passes_rejections_through() {
        let s = session("zookeeper");
        let msg = codec::InitialResponse::new("abc");
        let r = decide(
            s.core.config(),
            "zookeeper",
            &msg,
            Err(ValidateError::Rejected(Rejection::BadSignature)),
        );
        assert!(matches!(r, Ok(Err(Rejection::BadSignature))));
    }

    #[test]
    fn decide_refuses_authzid_other_than_the_mapped_identity() {
        let s = session("zookeeper");
        let mut msg = codec::InitialResponse::new("abc");
        msg.authzid = Some("root".into());
        let r = decide(s.core.config(), "zookeeper", &msg, Ok(verified("alice")));
        assert!(matches!(
            r,
            Ok(Err(Rejection::AuthzidNotAllowed { requested, authenticated }))
                if requested == "root" && authenticated == "alice"
        ));
    }

    #[test]
    fn decide_keeps_principal_token_and_extensions_on_success() {
        let s = session("zookeeper");
        let mut msg = codec::InitialResponse::new("abc");
        msg.authzid = Some("alice".into());
        msg.extensions = vec![("traceid".into(), "t1".into())];
        let a = decide(s.core.config(), "zookeeper", &msg, Ok(verified("alice")))
            .unwrap()
            .unwrap();
        assert_eq!(a.authorization_id, "alice");
        assert_eq!(a.principal.groups, ["admins"]);
        assert_eq!(a.token.kid.as_deref(), Some("k1"));
        assert_eq!(
            a.extensions,
            vec![("traceid".to_string(), "t1".to_string())]
        );
    }

    #[test]
    fn sessions_and_their_steps_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let mut s = session("zookeeper");
        assert_send(&s);
        let step = s.step(b"");
        assert_send(&step);
    }
}
