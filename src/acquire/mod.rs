//! This node's own credentials: OIDC client credentials (secret or `private_key_jwt`) and token
//! files (Kubernetes projected service-account tokens), refreshed ahead of expiry.
//!
//! - `client_credentials`: the RFC 6749 §4.4 grant, with `client_secret_basic`,
//!   `client_secret_post` or `private_key_jwt` (RFC 7523) client authentication; the token
//!   endpoint is configured or discovered (OIDC Discovery).
//! - `token_file`: a token another agent writes (the kubelet rotates projected tokens); the
//!   file is re-read whenever its modification time or length changes.
//! - [`schedule`]: when to refresh ([`refresh_in`]: about 80 % of the lifetime, ±5 % jitter,
//!   clamped to 5 s…1 h) and how to back off after failures (100 ms doubling to 30 s).
//!
//! Client-credentials tokens are cached per identity until their refresh time. One request is
//! in flight per identity: concurrent callers wait for it and share its result. After a failure
//! the identity backs off; callers get the previous token while it is still valid, else the
//! error. [`TokenSources::spawn_refreshers`] keeps every token fresh in the background.
//!
//! Metrics: `saslgate_acquire_refreshes_total{identity,result}` and
//! `saslgate_acquire_token_expiration_timestamp_seconds{identity}`. Tokens appear in logs only
//! as `token.fp` (see [`crate::cache::fingerprint`]).

#[cfg(feature = "aws")]
pub mod aws;
mod client_credentials;
pub mod schedule;
mod token_file;

pub use client_credentials::CLIENT_ASSERTION_TYPE;
pub use schedule::{refresh_in, Backoff};

use crate::config::{Config, IdentityKind};
use crate::http::HttpClient;
use client_credentials::ClientCredentials;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use token_file::TokenFile;
use tracing::Instrument;

/// Counter of token fetches and file re-reads, labelled `identity` and `result`.
pub const METRIC_REFRESHES: &str = "saslgate_acquire_refreshes_total";
/// Gauge: the current token's `exp`, seconds since the Unix epoch, labelled `identity`.
pub const METRIC_EXPIRATION: &str = "saslgate_acquire_token_expiration_timestamp_seconds";

/// An access token this node holds, with its lifetime.
#[derive(Clone)]
#[non_exhaustive]
pub struct AccessToken {
    /// The token itself. Never logged; use [`AccessToken::fingerprint`].
    pub secret: SecretString,
    /// When it was obtained, seconds since the Unix epoch.
    pub obtained_at: u64,
    /// When it expires (`expires_in` or the JWT `exp`), seconds since the Unix epoch, if known.
    pub expires_at: Option<u64>,
}

impl AccessToken {
    /// The first 8 bytes of the token's SHA-256, hex: safe to log.
    pub fn fingerprint(&self) -> String {
        use secrecy::ExposeSecret;
        crate::cache::fingerprint(self.secret.expose_secret().as_bytes())
    }

    /// True when the token has a known expiry at or before `now_secs` (Unix seconds).
    pub fn is_expired_at(&self, now_secs: u64) -> bool {
        self.expires_at.is_some_and(|exp| exp <= now_secs)
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("fp", &self.fingerprint())
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a token could not be acquired.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AcquireError {
    /// No `[[identities]]` entry has this name.
    #[error("no identity is named {0:?}")]
    UnknownIdentity(String),
    /// The identity is configured but could not obtain a token (transport, discovery, a bad
    /// response, or an unusable token file).
    #[error("identity {identity:?}: {message}")]
    Failed {
        /// The identity name.
        identity: String,
        /// What went wrong (never contains a secret).
        message: String,
    },
    /// The token endpoint refused the request with an OAuth error (RFC 6749 §5.2), for example
    /// `invalid_client` for a wrong secret or key.
    #[error("identity {identity:?}: {endpoint} refused the request: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// The identity name.
        identity: String,
        /// The token endpoint (without query).
        endpoint: String,
        /// The OAuth `error` code (`invalid_client`, `invalid_scope`, …).
        error: String,
        /// The server's `error_description`, if any.
        description: Option<String>,
    },
    /// A secret, key or setting of the identity cannot be used (found at startup).
    #[error("identity {identity:?}: {message}")]
    Setup {
        /// The identity name.
        identity: String,
        /// The file, variable or key and the problem (never the secret).
        message: String,
    },
}

/// The token sources of every configured identity. Cheap to clone (shared state).
#[derive(Clone)]
pub struct TokenSources {
    sources: Arc<HashMap<String, Arc<Source>>>,
}

impl std::fmt::Debug for TokenSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.sources.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("TokenSources")
            .field("identities", &names)
            .finish()
    }
}

impl TokenSources {
    /// Builds a source per `[[identities]]` entry, reading client secrets (from files or the
    /// process environment) and private keys now. Nothing is fetched yet.
    ///
    /// # Errors
    /// [`AcquireError::Setup`] when a secret or key file cannot be read or used; the message
    /// names the identity and the file or variable, never its content.
    pub fn new(config: Arc<Config>, http: HttpClient) -> Result<Self, AcquireError> {
        Self::with_env(&config, http, &|name| std::env::var(name).ok())
    }

    /// As [`TokenSources::new`], with environment variables looked up through `env` (tests
    /// inject a map instead of mutating the process environment).
    pub(crate) fn with_env(
        config: &Config,
        http: HttpClient,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AcquireError> {
        describe_metrics();
        let mut sources = HashMap::new();
        for cfg in &config.identities {
            #[cfg_attr(not(feature = "aws"), allow(unused_mut))]
            let mut refresh_ratio = cfg.refresh_ratio;
            let flow = match cfg.kind {
                #[cfg(feature = "aws")]
                IdentityKind::Aws => {
                    let aws_cfg = cfg.aws.as_ref().ok_or_else(|| AcquireError::Setup {
                        identity: cfg.name.clone(),
                        message: "[identities.aws] is not set".into(),
                    })?;
                    // A proof lives 15 minutes: re-sign after at most two thirds of that.
                    refresh_ratio = refresh_ratio.min(aws::MAX_REFRESH_RATIO);
                    Flow::Aws(Box::new(aws::AwsProof::new(&cfg.name, aws_cfg)))
                }
                #[cfg(not(feature = "aws"))]
                IdentityKind::Aws => {
                    return Err(AcquireError::Setup {
                        identity: cfg.name.clone(),
                        message: "this saslgate was built without the \"aws\" feature".into(),
                    })
                }
                IdentityKind::ClientCredentials => {
                    Flow::ClientCredentials(ClientCredentials::new(cfg, config, http.clone(), env)?)
                }
                IdentityKind::TokenFile => {
                    let path = cfg.path.as_deref().ok_or_else(|| AcquireError::Setup {
                        identity: cfg.name.clone(),
                        message: "path is not set".into(),
                    })?;
                    Flow::TokenFile(TokenFile::new(
                        &cfg.name,
                        path,
                        config.limits.max_token_bytes,
                    ))
                }
            };
            let source = Source {
                identity: cfg.name.clone(),
                refresh_ratio,
                flow,
                state: tokio::sync::Mutex::new(State::default()),
            };
            sources.insert(cfg.name.clone(), Arc::new(source));
        }
        Ok(Self {
            sources: Arc::new(sources),
        })
    }

    /// The current token of `identity`, fetching or refreshing it if needed (one request in
    /// flight per identity; concurrent callers share its result). Token files are re-read when
    /// they change.
    ///
    /// # Errors
    /// [`AcquireError::UnknownIdentity`]; [`AcquireError::Rejected`] when the IdP refuses the
    /// client; [`AcquireError::Failed`] when it cannot be reached or the token file is
    /// unusable. While backing off after a failure, the previous token is returned if it is
    /// still valid, else the last error.
    pub async fn token(&self, identity: &str) -> Result<AccessToken, AcquireError> {
        let source = self
            .sources
            .get(identity)
            .ok_or_else(|| AcquireError::UnknownIdentity(identity.to_string()))?;
        source.current().await
    }

    /// The configured identity names, sorted.
    pub fn identities(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.sources.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Starts one background task per client-credentials identity that fetches its token now
    /// and again at each refresh time (or after the backoff delay when a fetch failed). Token
    /// files need no task: they are re-read on use. Abort the handles to stop the tasks.
    ///
    /// Must be called inside a Tokio runtime.
    pub fn spawn_refreshers(&self) -> Vec<tokio::task::JoinHandle<()>> {
        self.sources
            .values()
            .filter(|s| !matches!(s.flow, Flow::TokenFile(_)))
            .map(|source| {
                let source = Arc::clone(source);
                let span = tracing::info_span!("acquire", identity = %source.identity);
                tokio::spawn(
                    async move {
                        loop {
                            // Errors are logged and counted inside; the backoff picks the delay.
                            let _ = source.current().await;
                            let due = source.next_due().await;
                            tokio::time::sleep_until(due.into()).await;
                        }
                    }
                    .instrument(span),
                )
            })
            .collect()
    }
}

/// Describes the module's metrics (help text and units), once per process.
fn describe_metrics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        metrics::describe_counter!(
            METRIC_REFRESHES,
            metrics::Unit::Count,
            "Token fetches (client credentials) and token file re-reads, by identity and result (success, failure)."
        );
        metrics::describe_gauge!(
            METRIC_EXPIRATION,
            metrics::Unit::Seconds,
            "Expiry of the identity's current token, seconds since the Unix epoch."
        );
    });
}

struct Source {
    identity: String,
    refresh_ratio: f64,
    flow: Flow,
    /// Held across the fetch: this is what keeps one request in flight per identity.
    state: tokio::sync::Mutex<State>,
}

enum Flow {
    ClientCredentials(ClientCredentials),
    TokenFile(TokenFile),
    #[cfg(feature = "aws")]
    Aws(Box<aws::AwsProof>),
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    failure: Option<Failure>,
    backoff: Backoff,
}

struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

struct Failure {
    error: AcquireError,
    retry_at: Instant,
}

impl Source {
    async fn current(&self) -> Result<AccessToken, AcquireError> {
        match &self.flow {
            Flow::TokenFile(file) => self.file_token(file).await,
            Flow::ClientCredentials(cc) => self.endpoint_token(|now| cc.fetch(now)).await,
            #[cfg(feature = "aws")]
            Flow::Aws(proof) => self.endpoint_token(|now| proof.fetch(now)).await,
        }
    }

    async fn file_token(&self, file: &TokenFile) -> Result<AccessToken, AcquireError> {
        match file.load(unix_now()).await {
            Ok((token, reread)) => {
                if reread {
                    self.record_success(&token);
                }
                Ok(token)
            }
            Err(e) => {
                self.record_failure();
                tracing::warn!(identity = %self.identity, error = %e, "token file unusable");
                Err(e)
            }
        }
    }

    /// The cached token, or a new one from `fetch` (called with the Unix time) when it is due.
    async fn endpoint_token<F, Fut>(&self, fetch: F) -> Result<AccessToken, AcquireError>
    where
        F: FnOnce(u64) -> Fut,
        Fut: std::future::Future<Output = Result<AccessToken, AcquireError>>,
    {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let now_secs = unix_now();
        let usable = |state: &State| {
            state
                .cached
                .as_ref()
                .filter(|c| !c.token.is_expired_at(now_secs))
                .map(|c| c.token.clone())
        };
        if let Some(cached) = &state.cached {
            if now < cached.refresh_at && !cached.token.is_expired_at(now_secs) {
                return Ok(cached.token.clone());
            }
        }
        if let Some(failure) = &state.failure {
            if now < failure.retry_at {
                return usable(&state).ok_or_else(|| failure.error.clone());
            }
        }
        match fetch(now_secs).await {
            Ok(token) => {
                let delay = refresh_in(
                    token.obtained_at,
                    token.expires_at,
                    now_secs,
                    self.refresh_ratio,
                    rand::random_range(-1.0..=1.0),
                );
                tracing::debug!(
                    identity = %self.identity,
                    token.fp = %token.fingerprint(),
                    expires_at = ?token.expires_at,
                    refresh_in_secs = delay.as_secs(),
                    "acquired token"
                );
                self.record_success(&token);
                state.backoff.reset();
                state.failure = None;
                state.cached = Some(Cached {
                    token: token.clone(),
                    refresh_at: now + delay,
                });
                Ok(token)
            }
            Err(error) => {
                self.record_failure();
                let delay = state.backoff.next_delay(rand::random());
                let fallback = usable(&state);
                tracing::warn!(
                    identity = %self.identity,
                    error = %error,
                    retry_in_ms = delay.as_millis() as u64,
                    previous_token_valid = fallback.is_some(),
                    "token request failed"
                );
                state.failure = Some(Failure {
                    error: error.clone(),
                    retry_at: now + delay,
                });
                fallback.ok_or(error)
            }
        }
    }

    /// When the background task should look again: the refresh time, or the end of the
    /// backoff after a failure.
    async fn next_due(&self) -> Instant {
        let state = self.state.lock().await;
        let now = Instant::now();
        match (&state.failure, &state.cached) {
            (Some(f), _) => f.retry_at,
            (None, Some(c)) => c.refresh_at,
            (None, None) => now + schedule::MIN_REFRESH,
        }
        .max(now + Duration::from_millis(10))
    }

    fn record_success(&self, token: &AccessToken) {
        metrics::counter!(METRIC_REFRESHES, "identity" => self.identity.clone(), "result" => "success")
            .increment(1);
        if let Some(exp) = token.expires_at {
            metrics::gauge!(METRIC_EXPIRATION, "identity" => self.identity.clone()).set(exp as f64);
        }
    }

    fn record_failure(&self) {
        metrics::counter!(METRIC_REFRESHES, "identity" => self.identity.clone(), "result" => "failure")
            .increment(1);
    }
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The `exp` claim of `token` if it is a JWT, read without verification: it only schedules our
/// own refreshes and is never used to trust anything.
pub(crate) fn jwt_exp(token: &str) -> Option<u64> {
    if token.split('.').count() != 3 {
        return None;
    }
    let claims: serde_json::Map<String, serde_json::Value> =
        jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    let exp = claims.get("exp")?;
    exp.as_u64().or_else(|| {
        exp.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::from_toml_str(text, "<test>").expect("config")
    }

    #[test]
    fn reads_exp_from_a_jwt_and_nothing_from_opaque_tokens() {
        let key = jsonwebtoken::EncodingKey::from_secret(b"test-only").expect("hmac key");
        let jwt = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &serde_json::json!({"exp": 1_700_000_000u64}),
            &key,
        )
        .expect("sign");
        assert_eq!(jwt_exp(&jwt), Some(1_700_000_000));
        assert_eq!(jwt_exp("opaque-token"), None);
        assert_eq!(jwt_exp("a.b.c"), None);
    }

    #[cfg(feature = "aws")]
    #[tokio::test]
    async fn aws_proofs_are_re_signed_after_at_most_ten_of_their_fifteen_minutes() {
        let cfg = config(
            r#"
            [[identities]]
            name = "zk-aws"
            kind = "aws"
            refresh_ratio = 0.9
            [identities.aws]
            server_id = "zk"
            region = "eu-west-1"
            "#,
        );
        let http = HttpClient::new(&cfg).expect("http");
        let sources = TokenSources::with_env(&cfg, http, &|_| None).expect("sources");
        let source = sources.sources.get("zk-aws").expect("source");
        assert!((source.refresh_ratio - 2.0 / 3.0).abs() < 1e-9);
        // A proof signed now expires with STS's window: refreshed at 600 s ± 5 %.
        let delay = refresh_in(1_000, Some(1_900), 1_000, source.refresh_ratio, 1.0);
        assert!((570..=630).contains(&delay.as_secs()), "{delay:?}");
    }

    #[tokio::test]
    async fn unknown_identity_is_reported_by_name() {
        let cfg = config("");
        let http = HttpClient::new(&cfg).expect("http");
        let sources = TokenSources::with_env(&cfg, http, &|_| None).expect("sources");
        let err = sources.token("nope").await.expect_err("unknown");
        assert_eq!(err.to_string(), "no identity is named \"nope\"");
    }

    #[tokio::test]
    async fn token_file_identity_serves_the_rotated_token() {
        use secrecy::ExposeSecret;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "first-token\n").expect("write");
        let cfg = config(&format!(
            "[[identities]]\nname = \"k8s\"\nkind = \"token_file\"\npath = {:?}\n",
            path.display().to_string()
        ));
        let http = HttpClient::new(&cfg).expect("http");
        let sources = TokenSources::with_env(&cfg, http, &|_| None).expect("sources");
        let t = sources.token("k8s").await.expect("token");
        assert_eq!(t.secret.expose_secret(), "first-token");
        std::fs::write(&path, "second-token-longer\n").expect("rewrite");
        let t = sources.token("k8s").await.expect("token");
        assert_eq!(t.secret.expose_secret(), "second-token-longer");
    }

    #[test]
    fn missing_secret_env_fails_at_startup_naming_identity_and_variable() {
        let cfg = config(
            r#"
            [[identities]]
            name = "zk-client"
            kind = "client_credentials"
            client_id = "zk"
            token_endpoint = "http://127.0.0.1:1/token"
            client_secret_env = "SASLGATE_TEST_UNSET_SECRET"
            "#,
        );
        let http = HttpClient::new(&cfg).expect("http");
        let err = TokenSources::with_env(&cfg, http, &|_| None).expect_err("unset");
        assert_eq!(
            err.to_string(),
            "identity \"zk-client\": environment variable SASLGATE_TEST_UNSET_SECRET is not set"
        );
    }

    #[tokio::test]
    async fn unreachable_endpoint_fails_then_backs_off_with_the_same_error() {
        let cfg = config(
            r#"
            [[identities]]
            name = "zk-client"
            kind = "client_credentials"
            client_id = "zk"
            token_endpoint = "http://127.0.0.1:1/token"
            client_secret = "s"
            "#,
        );
        let http = HttpClient::new(&cfg).expect("http");
        let sources = TokenSources::with_env(&cfg, http, &|_| None).expect("sources");
        let first = sources.token("zk-client").await.expect_err("refused");
        assert!(
            matches!(&first, AcquireError::Failed { identity, .. } if identity == "zk-client"),
            "{first:?}"
        );
        // Within the backoff window the cached error is returned without a new request.
        let second = sources.token("zk-client").await.expect_err("backing off");
        assert_eq!(first.to_string(), second.to_string());
    }
}
