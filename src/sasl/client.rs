//! The client side of OAUTHBEARER: the initial response (built by rsasl) and the reading of the
//! server's answer.

use super::codec::{self, InitialResponse, ServerError};
use super::SaslError;
use rsasl::callback::{Context, Request, SessionCallback, SessionData};
use rsasl::mechanisms::oauthbearer::OAUTHBEARER;
use rsasl::prelude::{SASLClient, SASLConfig, SessionError, State};
use rsasl::property::{AuthzId, OAuthBearerKV, OAuthBearerToken};
use secrecy::{ExposeSecret, SecretString};

/// The client side of one OAUTHBEARER exchange, following RFC 7628 §3.1 (the initial response)
/// and §3.2 (the server's answer).
///
/// 1. [`initial_response`](Self::initial_response) builds `n,a=<authzid>,%x01host=…%x01port=…
///    %x01<extensions>%x01auth=Bearer <token>%x01%x01`, with `,` and `=` in the authzid escaped
///    as `=2C`/`=3D` (RFC 5801 §4).
/// 2. [`step`](Self::step) reads the server's challenge: empty means success (§3.2.1); otherwise
///    it is the error JSON of §3.2.2, and the step returns the `%x01` reply of §3.2.3 together
///    with the parsed [`ServerError`] for the caller to report.
pub struct ClientSession {
    token: SecretString,
    authzid: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    extensions: Vec<(String, String)>,
    state: ClientState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    Initial,
    AwaitingOutcome,
    Done,
}

impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("authzid", &self.authzid)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("extensions", &self.extensions)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// How the exchange ended, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientOutcome {
    /// The server accepted the token (empty final challenge, RFC 7628 §3.2.1).
    Success,
    /// The server refused the token with this RFC 7628 §3.2.2 error; the exchange fails once
    /// the step's `%x01` response has been sent.
    ServerError(ServerError),
}

/// The result of one client step: the response to send and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStep {
    /// Bytes to send to the server: empty after success, `%x01` after an error challenge.
    pub response: Vec<u8>,
    /// How the exchange ended.
    pub outcome: ClientOutcome,
}

impl ClientSession {
    /// A client session sending `token` (the bearer token, without `Bearer `), the optional
    /// requested authorization identity `authzid` (unescaped), the optional `host` and `port`
    /// the client connects to, and SASL `extensions` (keys `1*ALPHA`).
    ///
    /// Nothing is checked until [`initial_response`](Self::initial_response).
    pub fn new(
        token: SecretString,
        authzid: Option<String>,
        host: Option<String>,
        port: Option<u16>,
        extensions: Vec<(String, String)>,
    ) -> Self {
        Self {
            token,
            authzid,
            host,
            port,
            extensions,
            state: ClientState::Initial,
        }
    }

    /// Builds the client initial response (RFC 7628 §3.1) through an rsasl client session.
    ///
    /// # Errors
    /// [`SaslError::InvalidClientRequest`] when a field cannot be sent (an authzid that is empty,
    /// too long or holds control characters, a token that is not an RFC 6750 `b64token`, an
    /// extension key that is not `1*ALPHA`, reserved or repeated, a value with control
    /// characters); [`SaslError::ApiMisuse`] when called twice; [`SaslError::Internal`] when
    /// rsasl fails.
    pub fn initial_response(&mut self) -> Result<Vec<u8>, SaslError> {
        if self.state != ClientState::Initial {
            return Err(SaslError::ApiMisuse(
                "initial_response called twice on one client session",
            ));
        }
        // The same checks our server applies, so a message we build is one we would accept.
        let mut check = InitialResponse::new(self.token.expose_secret());
        check.authzid.clone_from(&self.authzid);
        check.host.clone_from(&self.host);
        check.port = self.port;
        check.extensions.clone_from(&self.extensions);
        check
            .check_for_encoding()
            .map_err(|r| SaslError::InvalidClientRequest(r.to_string()))?;
        drop(check);

        let mut kvpairs = Vec::new();
        if let Some(host) = &self.host {
            kvpairs.push(("host".to_string(), host.clone()));
        }
        if let Some(port) = self.port {
            kvpairs.push(("port".to_string(), port.to_string()));
        }
        kvpairs.extend(self.extensions.iter().cloned());
        let callback = Credentials {
            // rsasl writes the authzid as given: escape it here (RFC 5801 §4).
            authzid: self.authzid.as_deref().map(codec::escape_authzid),
            kvpairs,
            token: self.token.clone(),
        };
        let config = SASLConfig::builder()
            .with_default_mechanisms()
            .with_callback(callback)
            .map_err(|e| SaslError::Internal(format!("rsasl configuration: {e}")))?;
        let mut session = SASLClient::new(config)
            .start_suggested(&[OAUTHBEARER.mechanism])
            .map_err(|e| SaslError::Internal(format!("rsasl OAUTHBEARER client: {e}")))?;
        let mut out = Vec::new();
        let state = session
            .step(None, &mut out)
            .map_err(|e| SaslError::Internal(format!("rsasl OAUTHBEARER client step: {e}")))?;
        if state != State::Running {
            return Err(SaslError::Internal(format!(
                "rsasl OAUTHBEARER client finished after the initial response ({state:?})"
            )));
        }
        self.state = ClientState::AwaitingOutcome;
        Ok(out)
    }

    /// Reads the server's challenge after the initial response (RFC 7628 §3.2).
    ///
    /// An empty challenge completes successfully with an empty response. Otherwise the
    /// challenge is the §3.2.2 error JSON: the step returns the `%x01` response of §3.2.3 and
    /// [`ClientOutcome::ServerError`]. Either way the exchange is then complete.
    ///
    /// (rsasl's client is not used for this step: its borrowed error type cannot hold JSON
    /// strings with escapes, and the outcome is needed as owned data anyway.)
    ///
    /// # Errors
    /// [`SaslError::MalformedChallenge`] when the challenge is not the error JSON (the exchange
    /// is then over); [`SaslError::ApiMisuse`] before the initial response;
    /// [`SaslError::Complete`] after the exchange ended.
    pub fn step(&mut self, challenge: &[u8]) -> Result<ClientStep, SaslError> {
        match self.state {
            ClientState::Initial => {
                return Err(SaslError::ApiMisuse(
                    "client step called before initial_response",
                ))
            }
            ClientState::Done => return Err(SaslError::Complete),
            ClientState::AwaitingOutcome => self.state = ClientState::Done,
        }
        if challenge.is_empty() {
            return Ok(ClientStep {
                response: Vec::new(),
                outcome: ClientOutcome::Success,
            });
        }
        let error =
            codec::parse_error_challenge(challenge).map_err(SaslError::MalformedChallenge)?;
        Ok(ClientStep {
            response: codec::CLIENT_ABORT.to_vec(),
            outcome: ClientOutcome::ServerError(error),
        })
    }

    /// Whether the exchange has ended.
    pub fn is_complete(&self) -> bool {
        self.state == ClientState::Done
    }
}

/// The rsasl callback of the client: supplies the escaped authzid, the kvpairs and the token.
struct Credentials {
    authzid: Option<String>,
    kvpairs: Vec<(String, String)>,
    token: SecretString,
}

impl SessionCallback for Credentials {
    fn callback(
        &self,
        _session_data: &SessionData,
        _context: &Context,
        request: &mut Request<'_>,
    ) -> Result<(), SessionError> {
        if let Some(authzid) = self.authzid.as_deref() {
            request.satisfy::<AuthzId>(authzid)?;
        }
        if !self.kvpairs.is_empty() {
            let pairs: Vec<(&str, &str)> = self
                .kvpairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            request.satisfy::<OAuthBearerKV>(&pairs)?;
        }
        request.satisfy::<OAuthBearerToken>(self.token.expose_secret())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Rejection;
    use proptest::prelude::*;

    fn client(authzid: Option<&str>) -> ClientSession {
        ClientSession::new(
            SecretString::from("eyJhbGc.eyJzdWI.sig"),
            authzid.map(str::to_string),
            Some("zk1.example.com".into()),
            Some(2181),
            vec![("traceid".into(), "abc".into())],
        )
    }

    #[test]
    fn initial_response_follows_rfc_7628() {
        let mut c = client(Some("svc,a=b"));
        let msg = c.initial_response().unwrap();
        assert_eq!(
            msg,
            b"n,a=svc=2Ca=3Db,\x01host=zk1.example.com\x01port=2181\x01traceid=abc\x01auth=Bearer eyJhbGc.eyJzdWI.sig\x01\x01"
        );
    }

    #[test]
    fn initial_response_parses_back_with_our_codec() {
        let mut c = client(Some("a,b=c"));
        let parsed =
            codec::parse_initial_response(&c.initial_response().unwrap(), 1 << 20).unwrap();
        assert_eq!(parsed.authzid.as_deref(), Some("a,b=c"));
        assert_eq!(parsed.host.as_deref(), Some("zk1.example.com"));
        assert_eq!(parsed.port, Some(2181));
        assert_eq!(parsed.token, "eyJhbGc.eyJzdWI.sig");
        assert_eq!(
            parsed.extensions,
            vec![("traceid".to_string(), "abc".to_string())]
        );
    }

    #[test]
    fn initial_response_without_optional_fields() {
        let mut c = ClientSession::new(SecretString::from("t"), None, None, None, Vec::new());
        assert_eq!(
            c.initial_response().unwrap(),
            b"n,,\x01auth=Bearer t\x01\x01"
        );
    }

    #[test]
    fn refuses_token_that_is_not_b64token() {
        let mut c = ClientSession::new(SecretString::from("a b"), None, None, None, Vec::new());
        let err = c.initial_response().unwrap_err();
        assert!(matches!(err, SaslError::InvalidClientRequest(m)
            if m == Rejection::MalformedMessage("bearer token is not a b64token (RFC 6750 §2.1)".into()).to_string()));
    }

    #[test]
    fn refuses_extension_with_kvsep_in_value() {
        let mut c = ClientSession::new(
            SecretString::from("t"),
            None,
            None,
            None,
            vec![("x".into(), "a\u{1}b".into())],
        );
        assert!(matches!(
            c.initial_response(),
            Err(SaslError::InvalidClientRequest(m)) if m.contains("control character")
        ));
    }

    #[test]
    fn empty_challenge_completes_successfully() {
        let mut c = client(None);
        c.initial_response().unwrap();
        let step = c.step(b"").unwrap();
        assert_eq!(step.outcome, ClientOutcome::Success);
        assert!(step.response.is_empty());
        assert!(c.is_complete());
        assert!(matches!(c.step(b""), Err(SaslError::Complete)));
    }

    #[test]
    fn error_challenge_yields_kvsep_and_the_server_error() {
        let mut c = client(None);
        c.initial_response().unwrap();
        let step = c
            .step(br#"{"status":"invalid_token","scope":"zoo\"keeper","openid-configuration":"https://idp/x"}"#)
            .unwrap();
        assert_eq!(step.response, b"\x01");
        assert_eq!(
            step.outcome,
            ClientOutcome::ServerError(ServerError {
                status: "invalid_token".into(),
                scope: Some("zoo\"keeper".into()),
                openid_configuration: Some("https://idp/x".into()),
            })
        );
    }

    #[test]
    fn garbage_challenge_is_malformed() {
        let mut c = client(None);
        c.initial_response().unwrap();
        assert!(matches!(
            c.step(b"not json"),
            Err(SaslError::MalformedChallenge(m)) if m.starts_with("invalid RFC 7628 error JSON")
        ));
    }

    #[test]
    fn steps_out_of_order_are_misuse() {
        let mut c = client(None);
        assert!(matches!(c.step(b""), Err(SaslError::ApiMisuse(_))));
        c.initial_response().unwrap();
        assert!(matches!(c.initial_response(), Err(SaslError::ApiMisuse(_))));
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let c = client(None);
        assert!(!format!("{c:?}").contains("eyJhbGc"));
    }

    proptest! {
        #[test]
        fn rsasl_built_response_round_trips_through_our_codec(
            authzid in proptest::option::of("[a-zA-Z0-9,=@._ -]{1,30}"),
            host in proptest::option::of("[ -~]{0,20}"),
            port in proptest::option::of(any::<u16>()),
            token in "[A-Za-z0-9._~+/-]{1,40}={0,2}",
            exts in proptest::collection::btree_map("[a-z]{1,6}", "[ -~]{0,20}", 0..3),
        ) {
            let extensions: Vec<(String, String)> = exts
                .into_iter()
                .filter(|(k, _)| !matches!(k.as_str(), "auth" | "host" | "port"))
                .collect();
            let mut c = ClientSession::new(
                SecretString::from(token.clone()),
                authzid.clone(),
                host.clone(),
                port,
                extensions.clone(),
            );
            let parsed = codec::parse_initial_response(&c.initial_response().unwrap(), 1 << 20).unwrap();
            prop_assert_eq!(parsed.authzid, authzid);
            prop_assert_eq!(parsed.host, host);
            prop_assert_eq!(parsed.port, port);
            prop_assert_eq!(parsed.token, token);
            prop_assert_eq!(parsed.extensions, extensions);
        }
    }
}
