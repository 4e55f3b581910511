//! Token validation: a bearer value in, a verified identity or a precise [`Rejection`] out.
//!
//! For a JWT (RFC 7519) the checks run in this order, each blocking a known attack:
//!
//! | check | blocks |
//! |---|---|
//! | size ≤ `limits.max_token_bytes` | memory exhaustion (the limit is reported, never silently lower) |
//! | compact form, base64url, JSON header | parser confusion |
//! | `alg` in the issuer's allow-list, never `none` or HMAC | `alg: none` (CVE-2015-9235), HMAC keyed with the RSA public key |
//! | no `jku`, `x5u`, `jwk`, `x5c` headers | key injection / SSRF through header URLs (RFC 8725 §3.10) |
//! | `crit` empty or absent | unknown critical extensions (RFC 7515 §4.1.11) |
//! | `iss` (unverified) picks a *configured* issuer; keys come only from its configured JWKS | forged issuer URLs |
//! | key by `kid`, `kty` bound to `alg`, `use` = `sig` or absent | kid confusion, encryption keys used for signatures |
//! | signature (`jsonwebtoken`, aws-lc-rs) with the pre-parsed key | forgery |
//! | `exp`, `nbf`, `iat` with one leeway | replay of expired tokens, clock games |
//! | `iss` equal to the issuer or an alias | tokens from other realms |
//! | `aud` (string or array) contains a service audience | tokens minted for another service |
//! | `typ`, required claims, scopes, roles | tokens of the wrong kind or privilege |
//!
//! Opaque tokens (and issuers in `introspection` or `hybrid` mode) are checked with RFC 7662
//! introspection; results are cached until `exp`, bounded by `cache.introspection_ttl_secs`.
//!
//! Local JWT validation results are cached by SHA-256 of the token (see [`crate::cache`]) until
//! the token's `exp`, so a cached validation costs one hash and one lookup. Introspected results
//! are not: they live only in the introspection cache, so revocation is seen within
//! `cache.introspection_ttl_secs`.

#[cfg(feature = "aws")]
pub mod aws;
mod discovery;
mod introspection;
mod jwks;
mod jwt;
mod keycloak;

pub use jwks::IssuerStatus;

use crate::cache::ValidationCache;
use crate::config::{Config, ServiceConfig, ValidationMode};
use crate::http::HttpClient;
use crate::principal::Principal;
use std::sync::Arc;

/// A verified token: the identity it proves, mapped to an authorization identity.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// The configured issuer name (`[[issuers]] name`).
    pub issuer: String,
    /// The `iss` claim as it appeared in the token.
    pub iss: String,
    /// The `sub` claim, or the empty string when the issuer omits it.
    pub subject: String,
    /// The mapped authorization identity and groups.
    pub principal: Principal,
    /// Expiry as seconds since the Unix epoch (`exp`).
    pub expires_at: u64,
    /// The key id used (`kid`), or `None` for introspected tokens.
    pub kid: Option<String>,
    /// The signature algorithm (`RS256`, …), or `None` for introspected tokens.
    pub alg: Option<&'static str>,
    /// Every claim of the token (or of the introspection response).
    pub claims: Arc<serde_json::Map<String, serde_json::Value>>,
    /// Roles extracted from the token (Keycloak realm roles as `role`, client roles as
    /// `client:role`).
    pub roles: Vec<String>,
    /// How it was validated.
    pub method: ValidationMethod,
    /// The `aud` claim as a list (RFC 7519 §4.1.3: a string or an array).
    pub audiences: Vec<String>,
    /// `exp` plus the issuer's leeway, Unix seconds: the cache keeps the result until then.
    pub(crate) valid_until: u64,
    /// Approximate memory held by this result, in bytes: the validation cache's weight.
    pub(crate) weight_bytes: u32,
}

/// How a token was validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationMethod {
    /// Local JWT signature and claims check.
    Jwt,
    /// RFC 7662 introspection.
    Introspection,
    /// Local JWT check plus introspection re-check.
    Hybrid,
    /// An AWS `sts:GetCallerIdentity` proof replayed to STS.
    AwsSts,
}

/// Why a token or SASL message was refused. Each variant is one reason; the metric label and
/// audit `reason` field come from [`Rejection::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// An AWS STS proof broke one of the rules of [`aws`] (the reason names the rule).
    #[cfg(feature = "aws")]
    #[error("{0}")]
    Aws(aws::AwsRejection),
    /// The token's `aud` contains none of the service's audiences.
    #[error("audience mismatch: token aud {found:?} contains none of {expected:?}")]
    AudienceMismatch {
        /// The `aud` values found.
        found: Vec<String>,
        /// The audiences accepted.
        expected: Vec<String>,
    },
    /// The requested authorization identity differs from the mapped one and no proxy rule allows it.
    #[error("authorization identity {requested:?} not allowed for {authenticated:?}")]
    AuthzidNotAllowed {
        /// The authzid the client asked for.
        requested: String,
        /// The identity the token maps to.
        authenticated: String,
    },
    /// The key set of the issuer holds no key usable for this token (wrong `kty` for `alg`,
    /// `use: enc`, …).
    #[error("no usable key: {0}")]
    BadKey(String),
    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired at {exp} (now {now}, leeway {leeway_secs} s)")]
    ExpiredToken {
        /// `exp`, Unix seconds.
        exp: u64,
        /// The validator's clock, Unix seconds.
        now: u64,
        /// The leeway applied, seconds.
        leeway_secs: u64,
    },
    /// A header the validator refuses (`jku`, `x5u`, `jwk`, `x5c`).
    #[error("forbidden JWT header {0:?}")]
    ForbiddenHeader(&'static str),
    /// Introspection said `active: false`.
    #[error("token is not active (introspection)")]
    InactiveToken,
    /// A required role or scope is missing.
    #[error("insufficient scope: {0}")]
    InsufficientScope(String),
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future (iat {iat}, now {now})")]
    IssuedInFuture {
        /// `iat`, Unix seconds.
        iat: u64,
        /// The validator's clock.
        now: u64,
    },
    /// The SASL message does not follow RFC 7628.
    #[error("malformed SASL message: {0}")]
    MalformedMessage(String),
    /// The token is not a well-formed JWT (and no introspection is configured for it).
    #[error("malformed token: {0}")]
    MalformedToken(String),
    /// A required claim is missing or has the wrong type.
    #[error("missing or invalid claim {0:?}")]
    MissingClaim(String),
    /// The token has several candidate keys and no `kid`.
    #[error("token has no kid and the issuer publishes several keys")]
    NoKid,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// `nbf`, Unix seconds.
        nbf: u64,
        /// The validator's clock.
        now: u64,
    },
    /// The token is larger than `limits.max_token_bytes`.
    #[error("token of {size} bytes exceeds the limit of {limit} bytes (limits.max_token_bytes)")]
    TokenTooLarge {
        /// The token size in bytes.
        size: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// `typ` differs from the issuer's configured `typ`.
    #[error("token type {found:?} is not {expected:?}")]
    TypMismatch {
        /// The `typ` found.
        found: String,
        /// The `typ` required.
        expected: String,
    },
    /// No principal rule (nor default) produced an authorization identity.
    #[error("no authorization identity: {0}")]
    UnmappedIdentity(String),
    /// `alg` is not in the issuer's allow-list (or is `none`/HMAC).
    #[error("algorithm {0:?} is not allowed")]
    UnsupportedAlgorithm(String),
    /// `crit` names extensions the validator does not understand.
    #[error("unknown critical header parameters {0:?}")]
    UnknownCritical(Vec<String>),
    /// A SASL extension key the service does not allow.
    #[error("SASL extension {0:?} is not allowed by the service")]
    UnknownExtension(String),
    /// `iss` names no issuer trusted by this service (or the issuer check failed).
    #[error("issuer {0:?} is not trusted by this service")]
    UnknownIssuer(String),
    /// No key with this `kid`, even after refetching the JWKS.
    #[error("unknown key id {0:?}")]
    UnknownKid(String),
    /// The SASL service is not configured.
    #[error("service {0:?} is not configured")]
    UnknownService(String),
}

impl Rejection {
    /// A stable lower_snake name for metrics and audit events.
    pub fn as_str(&self) -> &'static str {
        match self {
            #[cfg(feature = "aws")]
            Rejection::Aws(r) => r.reason.as_str(),
            Rejection::AudienceMismatch { .. } => "audience_mismatch",
            Rejection::AuthzidNotAllowed { .. } => "authzid_not_allowed",
            Rejection::BadKey(_) => "bad_key",
            Rejection::BadSignature => "bad_signature",
            Rejection::ExpiredToken { .. } => "expired_token",
            Rejection::ForbiddenHeader(_) => "forbidden_header",
            Rejection::InactiveToken => "inactive_token",
            Rejection::InsufficientScope(_) => "insufficient_scope",
            Rejection::IssuedInFuture { .. } => "issued_in_future",
            Rejection::MalformedMessage(_) => "malformed_message",
            Rejection::MalformedToken(_) => "malformed_token",
            Rejection::MissingClaim(_) => "missing_claim",
            Rejection::NoKid => "no_kid",
            Rejection::NotYetValid { .. } => "not_yet_valid",
            Rejection::TokenTooLarge { .. } => "token_too_large",
            Rejection::TypMismatch { .. } => "typ_mismatch",
            Rejection::UnmappedIdentity(_) => "unmapped_identity",
            Rejection::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Rejection::UnknownCritical(_) => "unknown_critical",
            Rejection::UnknownExtension(_) => "unknown_extension",
            Rejection::UnknownIssuer(_) => "unknown_issuer",
            Rejection::UnknownKid(_) => "unknown_kid",
            Rejection::UnknownService(_) => "unknown_service",
        }
    }

    /// The validation check (one of [`CHECKS`]) that refused the token; `sasl` for refusals of
    /// the SASL layer (message syntax, extensions, authzid).
    pub fn failed_check(&self) -> &'static str {
        match self {
            #[cfg(feature = "aws")]
            Rejection::Aws(r) => r.reason.check(),
            Rejection::UnknownService(_) => "service",
            Rejection::TokenTooLarge { .. } => "size",
            Rejection::MalformedToken(_) => "structure",
            Rejection::UnsupportedAlgorithm(_) => "algorithm",
            Rejection::ForbiddenHeader(_) | Rejection::UnknownCritical(_) => "headers",
            Rejection::UnknownIssuer(_) => "issuer",
            Rejection::UnknownKid(_) | Rejection::NoKid | Rejection::BadKey(_) => "key",
            Rejection::BadSignature => "signature",
            Rejection::MissingClaim(_) => "required claims",
            Rejection::ExpiredToken { .. }
            | Rejection::NotYetValid { .. }
            | Rejection::IssuedInFuture { .. } => "time",
            Rejection::TypMismatch { .. } => "typ",
            Rejection::InactiveToken => "introspection",
            Rejection::UnmappedIdentity(_) => "principal",
            Rejection::AudienceMismatch { .. } => "audience",
            Rejection::InsufficientScope(_) => "scopes and roles",
            Rejection::MalformedMessage(_)
            | Rejection::UnknownExtension(_)
            | Rejection::AuthzidNotAllowed { .. } => "sasl",
        }
    }

    /// The RFC 7628 §3.2.2 `status` for this rejection: `insufficient_scope` for missing
    /// roles/scopes and refused authzids, `invalid_request` for malformed SASL messages,
    /// `invalid_token` for everything else.
    pub fn rfc7628_status(&self) -> &'static str {
        match self {
            Rejection::InsufficientScope(_)
            | Rejection::AuthzidNotAllowed { .. }
            | Rejection::AudienceMismatch { .. } => "insufficient_scope",
            Rejection::MalformedMessage(_) | Rejection::UnknownExtension(_) => "invalid_request",
            _ => "invalid_token",
        }
    }
}

/// A peer-supplied value as it may appear in a rejection (and so in logs and API answers): cut
/// to 64 characters, so that an attacker cannot make every refusal log a megabyte.
pub(crate) fn clip(value: &str) -> String {
    const MAX_CHARS: usize = 64;
    if value.chars().count() <= MAX_CHARS {
        value.to_string()
    } else {
        let head: String = value.chars().take(MAX_CHARS).collect();
        format!("{head}…({} bytes)", value.len())
    }
}

/// At most 8 clipped values of a peer-supplied list, and a count of the rest.
pub(crate) fn clip_list(values: &[String]) -> Vec<String> {
    const MAX_ITEMS: usize = 8;
    let mut out: Vec<String> = values.iter().take(MAX_ITEMS).map(|v| clip(v)).collect();
    if values.len() > MAX_ITEMS {
        out.push(format!("…and {} more", values.len() - MAX_ITEMS));
    }
    out
}

/// The size checks every token passes first: not empty, at most `limit` bytes.
fn screen_size(token: &str, limit: usize) -> Result<&str, Rejection> {
    if token.len() > limit {
        return Err(Rejection::TokenTooLarge {
            size: token.len(),
            limit,
        });
    }
    if token.is_empty() {
        return Err(Rejection::MalformedToken("empty token".into()));
    }
    Ok(token)
}

/// The checks a token goes through, in order (see the module docs). `saslgate validate` prints
/// each with its result; [`Rejection::failed_check`] names the one that refused a token.
pub const CHECKS: &[&str] = &[
    "service",
    "size",
    "structure",
    "algorithm",
    "headers",
    "issuer",
    "key",
    "signature",
    "required claims",
    "time",
    "typ",
    "introspection",
    "aws proof",
    "aws sts",
    "principal",
    "aws policy",
    "audience",
    "scopes and roles",
];

/// A validation failure: the token was refused, or it could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidateError {
    /// The token was refused; the reason is the peer's fault.
    #[error("token rejected: {0}")]
    Rejected(#[from] Rejection),
    /// The token could not be checked (IdP unreachable, JWKS malformed, …); not the peer's fault.
    #[error("token could not be validated: {0}")]
    Internal(String),
}

impl ValidateError {
    /// The rejection, if this is one.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            ValidateError::Rejected(r) => Some(r),
            ValidateError::Internal(_) => None,
        }
    }

    /// A stable name for metrics: the rejection's name, or `internal`.
    pub fn reason(&self) -> &'static str {
        match self {
            ValidateError::Rejected(r) => r.as_str(),
            ValidateError::Internal(_) => "internal",
        }
    }
}

/// The validator: holds per-issuer key sets (JWKS), discovery metadata and the result caches.
///
/// Built once per configuration by [`Validator::new`]; cheap to share behind `Arc`.
pub struct Validator {
    config: Arc<Config>,
    policies: std::collections::HashMap<String, ServicePolicy, foldhash::fast::RandomState>,
    http: HttpClient,
    issuers: Vec<Arc<jwks::IssuerKeys>>,
    cache: ValidationCache,
    introspection: introspection::Introspector,
    clock: Clock,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("issuers", &self.issuers.len())
            .finish()
    }
}

/// A service's policy, resolved once per configuration: its index in `config.services` and its
/// effective audiences.
#[derive(Debug)]
struct ServicePolicy {
    index: usize,
    audiences: Vec<String>,
}

/// The validator's notion of "now", injectable for tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The system clock (seconds since the Unix epoch).
    pub fn system() -> Self {
        Clock(Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        }))
    }

    /// A clock that returns what `f` returns, for tests.
    pub fn from_fn(f: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Clock(Arc::new(f))
    }

    /// Now, in seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

impl Validator {
    /// Builds a validator for `config`. Reads introspection secrets; performs no network I/O
    /// (call [`Validator::start`]).
    ///
    /// # Errors
    /// [`ValidateError::Internal`] when an introspection secret cannot be read.
    pub fn new(config: Arc<Config>, http: HttpClient) -> Result<Self, ValidateError> {
        let issuers = config
            .issuers
            .iter()
            .filter(|i| !i.is_aws())
            .map(|i| Arc::new(jwks::IssuerKeys::new(i.clone(), &config.cache)))
            .collect();
        let cache = ValidationCache::new(
            config.cache.validation_max_entries,
            config.cache.validation_max_bytes,
        );
        let introspection = introspection::Introspector::new(&config)?;
        let policies = config
            .services
            .iter()
            .enumerate()
            .map(|(index, service)| {
                let audiences = service.effective_audiences(&config);
                (service.name.clone(), ServicePolicy { index, audiences })
            })
            .collect();
        Ok(Self {
            config,
            policies,
            http,
            issuers,
            cache,
            introspection,
            clock: Clock::system(),
        })
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Loads every issuer's discovery document and JWKS (issuers in `introspection` mode: the
    /// discovery document only), and starts their background refresh on the current Tokio
    /// runtime. Returns one result per issuer name (a failed issuer keeps retrying in the
    /// background) and the handles of the background refresh tasks: the caller owns them and
    /// aborts them when the validator is retired ([`crate::Core`] does so when dropped).
    pub async fn start(
        &self,
    ) -> (
        Vec<(String, Result<(), ValidateError>)>,
        Vec<tokio::task::JoinHandle<()>>,
    ) {
        let mut out = Vec::new();
        let mut tasks = Vec::new();
        for issuer in &self.issuers {
            let result = match issuer.config.validation {
                ValidationMode::Introspection => issuer.metadata(&self.http).await.map(|_| ()),
                _ => {
                    let r = issuer.refresh(&self.http, None).await.map(|_| ());
                    tasks.push(tokio::spawn(issuer.clone().refresh_loop(self.http.clone())));
                    r
                }
            };
            out.push((issuer.config.name.clone(), result));
        }
        // AWS issuers have nothing to load: STS checks each proof.
        for aws in self.config.issuers.iter().filter(|i| i.is_aws()) {
            out.push((aws.name.clone(), Ok(())));
        }
        (out, tasks)
    }

    /// Per-issuer key status: keys loaded, key count, last refresh, last error.
    pub fn issuer_status(&self) -> Vec<(String, IssuerStatus)> {
        self.issuers
            .iter()
            .map(|i| (i.config.name.clone(), i.status()))
            .collect()
    }

    /// Validates `token` for `service` from the cache only: `Some` when the token's verification
    /// is cached (the service policy is still applied), `None` when it must be validated with
    /// [`Validator::validate`]. Never blocks.
    pub fn validate_cached(
        &self,
        service: &str,
        token: &str,
    ) -> Option<Result<Arc<VerifiedToken>, ValidateError>> {
        let (service_cfg, policy) = match self.policy(service) {
            Ok(p) => p,
            Err(r) => return Some(Err(r.into())),
        };
        let hit = self
            .cache
            .get(&crate::cache::token_hash(token.as_bytes()))?;
        if hit.valid_until <= self.clock.now() {
            return None;
        }
        Some(
            self.apply_policy(service_cfg, policy, hit)
                .map_err(ValidateError::from),
        )
    }

    /// Validates `token` for `service`: the checks listed in the module docs, then the service
    /// policy (trusted issuers, audience, scopes, roles). Successful verifications are cached by
    /// token hash until `exp`.
    ///
    /// # Errors
    /// [`ValidateError::Rejected`] with the precise [`Rejection`], or [`ValidateError::Internal`]
    /// when the token cannot be checked (IdP unreachable and no usable cached keys).
    pub async fn validate(
        &self,
        service: &str,
        token: &str,
    ) -> Result<Arc<VerifiedToken>, ValidateError> {
        let started = std::time::Instant::now();
        let result = self.validate_inner(service, token).await;
        let (issuer, outcome, reason) = match &result {
            Ok((v, _)) => (v.issuer.clone(), "accepted", "none"),
            Err(e) => ("unknown".to_string(), "rejected", e.reason()),
        };
        let cached = matches!(result, Ok((_, true)));
        metrics::counter!("saslgate_validate_requests_total", "issuer" => issuer.clone(), "outcome" => outcome, "reason" => reason).increment(1);
        metrics::histogram!("saslgate_validate_duration_seconds", "issuer" => issuer, "cached" => if cached { "true" } else { "false" })
            .record(started.elapsed().as_secs_f64());
        result.map(|(v, _)| v)
    }

    /// Validates without consulting or filling the result cache: the full signature and claims
    /// path, for benchmarks and `saslgate validate`.
    ///
    /// # Errors
    /// As [`Validator::validate`].
    #[doc(hidden)]
    pub async fn validate_uncached(
        &self,
        service: &str,
        token: &str,
    ) -> Result<Arc<VerifiedToken>, ValidateError> {
        let (service_cfg, policy) = self.policy(service)?;
        let hash = crate::cache::token_hash(
            screen_size(token, self.config.limits.max_token_bytes)?.as_bytes(),
        );
        let verified = self
            .verify(service_cfg, token, &hash, self.clock.now())
            .await?;
        Ok(self.apply_policy(service_cfg, policy, verified)?)
    }

    async fn validate_inner(
        &self,
        service: &str,
        token: &str,
    ) -> Result<(Arc<VerifiedToken>, bool), ValidateError> {
        let (service_cfg, policy) = self.policy(service)?;
        let hash = crate::cache::token_hash(
            screen_size(token, self.config.limits.max_token_bytes)?.as_bytes(),
        );
        let now = self.clock.now();
        if let Some(hit) = self.cache.get(&hash) {
            if hit.valid_until > now {
                metrics::counter!("saslgate_cache_requests_total", "cache" => "validation", "result" => "hit").increment(1);
                return Ok((self.apply_policy(service_cfg, policy, hit)?, true));
            }
        }
        metrics::counter!("saslgate_cache_requests_total", "cache" => "validation", "result" => "miss").increment(1);
        let verified = self.verify(service_cfg, token, &hash, now).await?;
        // Only local JWT verifications are kept until `exp`. An introspected result (modes
        // `introspection` and `hybrid`) is reused through the introspection cache alone, which
        // bounds it by `cache.introspection_ttl_secs`, so a revoked token is refused in time.
        if matches!(
            verified.method,
            ValidationMethod::Jwt | ValidationMethod::AwsSts
        ) {
            self.cache.insert(hash, verified.clone());
        }
        Ok((self.apply_policy(service_cfg, policy, verified)?, false))
    }

    /// The signature/introspection and claims checks of one token (no cache, no service policy
    /// beyond choosing among the service's issuers).
    async fn verify(
        &self,
        service_cfg: &ServiceConfig,
        token: &str,
        hash: &crate::cache::TokenHash,
        now: u64,
    ) -> Result<Arc<VerifiedToken>, ValidateError> {
        #[cfg(feature = "aws")]
        if aws::proof::encoding_of(token).is_some()
            && service_cfg
                .issuers
                .iter()
                .any(|n| self.config.issuer(n).is_some_and(|i| i.is_aws()))
        {
            let mut verified = self.verify_aws(service_cfg, token, now).await?;
            verified.weight_bytes =
                u32::try_from(token.len().saturating_add(1024)).unwrap_or(u32::MAX);
            return Ok(Arc::new(verified));
        }
        let mut verified = if jwt::looks_like_jwt(token) {
            self.verify_jwt(service_cfg, token, hash, now).await?
        } else {
            self.verify_opaque(service_cfg, token, hash, now).await?
        };
        // Decoded claims take about twice the token's size in memory (JSON maps and strings).
        verified.weight_bytes =
            u32::try_from(token.len().saturating_mul(2).saturating_add(512)).unwrap_or(u32::MAX);
        Ok(Arc::new(verified))
    }

    /// The service's configuration and resolved policy.
    fn policy(&self, service: &str) -> Result<(&ServiceConfig, &ServicePolicy), Rejection> {
        let policy = self
            .policies
            .get(service)
            .ok_or_else(|| Rejection::UnknownService(service.to_string()))?;
        let config = self
            .config
            .services
            .get(policy.index)
            .ok_or_else(|| Rejection::UnknownService(service.to_string()))?;
        Ok((config, policy))
    }

    /// The issuers `service` trusts.
    fn service_issuers<'a>(
        &'a self,
        service: &'a ServiceConfig,
    ) -> impl Iterator<Item = &'a Arc<jwks::IssuerKeys>> + 'a {
        self.issuers
            .iter()
            .filter(move |i| service.issuers.contains(&i.config.name))
    }

    /// Screens an AWS proof, replays it to STS, and maps the caller (see [`aws`]).
    #[cfg(feature = "aws")]
    async fn verify_aws(
        &self,
        service: &ServiceConfig,
        token: &str,
        now: u64,
    ) -> Result<VerifiedToken, ValidateError> {
        let issuers: Vec<&crate::config::IssuerConfig> = service
            .issuers
            .iter()
            .filter_map(|n| self.config.issuer(n))
            .filter(|i| i.is_aws())
            .collect();
        let candidates: Vec<(&crate::config::AwsIssuerConfig, u64)> = issuers
            .iter()
            .filter_map(|i| i.aws.as_ref().map(|a| (a, i.leeway_secs)))
            .collect();
        let checked = aws::proof::check(
            token,
            &candidates,
            now,
            self.config.danger.allow_http_sts_loopback,
        )
        .map_err(Rejection::Aws)?;
        let (aws_cfg, _) = candidates[checked.issuer];
        let issuer = issuers[checked.issuer];
        let identity = aws::sts::replay(
            &self.http,
            &checked,
            aws_cfg.response_format,
            aws_cfg.timeout_secs,
        )
        .await?;
        let v = aws::claims(&identity, &checked).map_err(Rejection::Aws)?;
        let claims = Arc::new(v.claims);
        let principal = crate::principal::map(&self.config, issuer, &claims)?;
        Ok(VerifiedToken {
            issuer: issuer.name.clone(),
            iss: v.iss,
            subject: v.subject,
            principal,
            expires_at: v.expires_at,
            kid: None,
            alg: None,
            claims,
            roles: Vec::new(),
            method: ValidationMethod::AwsSts,
            audiences: Vec::new(),
            valid_until: v.expires_at,
            weight_bytes: 1024,
        })
    }

    async fn verify_jwt(
        &self,
        service: &ServiceConfig,
        token: &str,
        hash: &crate::cache::TokenHash,
        now: u64,
    ) -> Result<VerifiedToken, ValidateError> {
        // The unverified `iss` only selects among configured issuers; keys come from there.
        let parsed = jwt::parse(token, &ALL_ASYMMETRIC)?;
        let iss = parsed
            .claims
            .get("iss")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Rejection::MissingClaim("iss".into()))?
            .to_string();
        let issuer = self
            .service_issuers(service)
            .find(|i| i.config.matches_iss(&iss))
            .ok_or_else(|| Rejection::UnknownIssuer(clip(&iss)))?
            .clone();
        let cfg = &issuer.config;
        if !issuer.allowed.contains(&parsed.alg) {
            return Err(
                Rejection::UnsupportedAlgorithm(jwt::alg_name(parsed.alg).to_string()).into(),
            );
        }
        if cfg.validation == ValidationMode::Introspection {
            return self.verify_opaque_at(&issuer, token, hash, now).await;
        }
        let key = issuer
            .key_for(&self.http, parsed.kid.as_deref(), parsed.alg)
            .await?;
        if let Err(e) = key.verify(&parsed) {
            // A key replaced under the same kid: refetch once (rate-limited) and retry.
            match issuer.replaced_key(&self.http, &key, parsed.alg).await {
                Some(fresh) => fresh.verify(&parsed)?,
                None => return Err(e.into()),
            }
        }
        let exp = jwt::check_claims(
            &parsed.claims,
            &jwt::ClaimRules {
                now,
                leeway_secs: cfg.leeway_secs,
                typ: cfg.typ.as_deref(),
                required: &cfg.required_claims,
            },
        )?;
        let mut method = ValidationMethod::Jwt;
        if cfg.validation == ValidationMode::Hybrid {
            let endpoint = self.introspection_endpoint(&issuer).await?;
            self.introspection
                .introspect(&self.http, cfg, &endpoint, token, hash, now)
                .await?;
            method = ValidationMethod::Hybrid;
        }
        let claims = Arc::new(parsed.claims);
        self.finish(
            cfg,
            iss,
            claims,
            exp,
            parsed.kid,
            Some(jwt::alg_name(parsed.alg)),
            method,
        )
    }

    async fn verify_opaque(
        &self,
        service: &ServiceConfig,
        token: &str,
        hash: &crate::cache::TokenHash,
        now: u64,
    ) -> Result<VerifiedToken, ValidateError> {
        let issuer = self
            .service_issuers(service)
            .find(|i| i.config.validation == ValidationMode::Introspection)
            .cloned()
            .ok_or_else(|| {
                Rejection::MalformedToken(
                    "not a JWT, and no issuer of this service uses introspection".into(),
                )
            })?;
        self.verify_opaque_at(&issuer, token, hash, now).await
    }

    async fn verify_opaque_at(
        &self,
        issuer: &Arc<jwks::IssuerKeys>,
        token: &str,
        hash: &crate::cache::TokenHash,
        now: u64,
    ) -> Result<VerifiedToken, ValidateError> {
        let cfg = &issuer.config;
        let endpoint = self.introspection_endpoint(issuer).await?;
        let claims = self
            .introspection
            .introspect(&self.http, cfg, &endpoint, token, hash, now)
            .await?;
        let exp = jwt::check_claims(
            &claims,
            &jwt::ClaimRules {
                now,
                leeway_secs: cfg.leeway_secs,
                typ: cfg.typ.as_deref(),
                required: &cfg.required_claims,
            },
        )?;
        let iss = claims
            .get("iss")
            .and_then(|v| v.as_str())
            .unwrap_or(cfg.issuer.as_str())
            .to_string();
        if !cfg.matches_iss(&iss) {
            return Err(Rejection::UnknownIssuer(clip(&iss)).into());
        }
        self.finish(
            cfg,
            iss,
            claims,
            exp,
            None,
            None,
            ValidationMethod::Introspection,
        )
    }

    async fn introspection_endpoint(
        &self,
        issuer: &jwks::IssuerKeys,
    ) -> Result<url::Url, ValidateError> {
        if let Some(u) = issuer
            .config
            .introspection
            .as_ref()
            .and_then(|i| i.endpoint.clone())
        {
            return Ok(u);
        }
        issuer
            .metadata(&self.http)
            .await?
            .introspection_endpoint
            .clone()
            .ok_or_else(|| {
                ValidateError::Internal(format!(
                    "issuer {}: no introspection endpoint configured or discovered",
                    issuer.config.name
                ))
            })
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        cfg: &crate::config::IssuerConfig,
        iss: String,
        claims: Arc<serde_json::Map<String, serde_json::Value>>,
        exp: u64,
        kid: Option<String>,
        alg: Option<&'static str>,
        method: ValidationMethod,
    ) -> Result<VerifiedToken, ValidateError> {
        let principal = crate::principal::map(&self.config, cfg, &claims)?;
        let roles = keycloak::roles(&claims);
        let audiences = jwt::audiences(&claims);
        Ok(VerifiedToken {
            issuer: cfg.name.clone(),
            iss,
            subject: claims
                .get("sub")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
            principal,
            expires_at: exp,
            kid,
            alg,
            claims,
            roles,
            method,
            audiences,
            valid_until: exp.saturating_add(cfg.leeway_secs),
            weight_bytes: 1024,
        })
    }

    /// The per-service policy: trusted issuer, audience, scopes, roles.
    fn apply_policy(
        &self,
        service: &ServiceConfig,
        policy: &ServicePolicy,
        token: Arc<VerifiedToken>,
    ) -> Result<Arc<VerifiedToken>, Rejection> {
        if !service.issuers.contains(&token.issuer) {
            return Err(Rejection::UnknownIssuer(clip(&token.iss)));
        }
        #[cfg(feature = "aws")]
        if token.method == ValidationMethod::AwsSts {
            // Bound to this server by the signed server ID; no audience, scopes or roles.
            let issuer = self
                .config
                .issuer(&token.issuer)
                .ok_or_else(|| Rejection::UnknownIssuer(clip(&token.iss)))?;
            aws::check_policy(service, issuer, &token.claims).map_err(Rejection::Aws)?;
            return Ok(token);
        }
        let expected = &policy.audiences;
        if (!expected.is_empty() || !self.config.danger.skip_audience_check)
            && !token.audiences.iter().any(|a| expected.contains(a))
        {
            return Err(Rejection::AudienceMismatch {
                found: clip_list(&token.audiences),
                expected: expected.clone(),
            });
        }
        if !service.required_scopes.is_empty() {
            let scopes: Vec<&str> = token
                .claims
                .get("scope")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .split(' ')
                .collect();
            if let Some(missing) = service
                .required_scopes
                .iter()
                .find(|s| !scopes.contains(&s.as_str()))
            {
                return Err(Rejection::InsufficientScope(format!(
                    "scope {missing:?} is required"
                )));
            }
        }
        if !service.required_roles.is_empty()
            && !service
                .required_roles
                .iter()
                .any(|r| token.roles.contains(r))
        {
            return Err(Rejection::InsufficientScope(format!(
                "one of the roles {:?} is required",
                service.required_roles
            )));
        }
        Ok(token)
    }
}

/// The signing keys of a JWKS document that `algorithms` can use, as the validator would load
/// them: the `kid` of each usable key, and each skipped key's `kid` with the reason. For
/// `saslgate doctor`.
///
/// # Errors
/// The reason when the document is not a JWKS at all.
#[allow(clippy::type_complexity)]
pub(crate) fn usable_keys(
    body: &[u8],
    algorithms: &[String],
) -> Result<(Vec<Option<String>>, Vec<(Option<String>, String)>), String> {
    let allowed = jwt::algorithms(algorithms);
    let (keys, skipped) = jwks::parse_jwks(body, &allowed).map_err(|e| e.to_string())?;
    Ok((keys.iter().map(|k| k.kid.clone()).collect(), skipped))
}

/// Fuzzing hook: screens a compact JWS with every asymmetric algorithm allowed. Not API.
#[doc(hidden)]
pub fn fuzzing_parse_jwt(
    token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Rejection> {
    jwt::parse(token, &ALL_ASYMMETRIC).map(|j| j.claims)
}

/// Fuzzing hook: runs the claim checks (time claims, `typ`, required claims, `aud`). Not API.
#[doc(hidden)]
pub fn fuzzing_check_claims(claims: &serde_json::Map<String, serde_json::Value>) {
    let required = ["sub".to_string(), "exp".to_string()];
    let _ = jwt::check_claims(
        claims,
        &jwt::ClaimRules {
            now: 1_800_000_000,
            leeway_secs: 30,
            typ: Some("Bearer"),
            required: &required,
        },
    );
    let _ = jwt::audiences(claims);
    let _ = keycloak::roles(claims);
}

/// Fuzzing hook: parses a JWKS document and prepares its keys. Not API.
#[doc(hidden)]
pub fn fuzzing_parse_jwks(body: &[u8]) {
    let _ = jwks::parse_jwks(body, &ALL_ASYMMETRIC);
}

/// Every asymmetric algorithm, for the first parse that only reads `iss`.
const ALL_ASYMMETRIC: [jsonwebtoken::Algorithm; 9] = [
    jsonwebtoken::Algorithm::RS256,
    jsonwebtoken::Algorithm::RS384,
    jsonwebtoken::Algorithm::RS512,
    jsonwebtoken::Algorithm::PS256,
    jsonwebtoken::Algorithm::PS384,
    jsonwebtoken::Algorithm::PS512,
    jsonwebtoken::Algorithm::ES256,
    jsonwebtoken::Algorithm::ES384,
    jsonwebtoken::Algorithm::EdDSA,
];

#[cfg(test)]
mod tests;
