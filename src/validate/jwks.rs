//! Per-issuer key material: OIDC discovery (with the issuer-metadata check) and the JWKS, parsed
//! once into [`PreparedKey`]s.
//!
//! Refresh rules (DESIGN §3 `cache`, research "go beyond" #1):
//! - loaded at start; refreshed in the background after `Cache-Control: max-age` (clamped to
//!   `[cache.jwks_min_refresh_secs, cache.jwks_max_refresh_secs]`) or `cache.jwks_refresh_secs`;
//! - an unknown `kid` triggers one refetch **inside the current request**, at most once per
//!   `cache.jwks_unknown_kid_interval_secs` per issuer, with one fetch in flight (singleflight),
//!   so the first login after a key rotation succeeds;
//! - a signature failure with a known `kid` also refetches (a key replaced under the same `kid`);
//! - a failed refresh (HTTP error, HTML, invalid JSON, no usable key) keeps the last-good keys
//!   until they are older than `cache.jwks_max_staleness_secs`.

use super::discovery::Metadata;
use super::jwt::{alg_name, PreparedKey};
use super::{Rejection, ValidateError};
use crate::config::{CacheConfig, IssuerConfig};
use crate::http::HttpClient;
use jsonwebtoken::Algorithm;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The keys of one issuer at one point in time.
#[derive(Debug)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<Arc<PreparedKey>>,
    pub(crate) fetched_at: Instant,
    pub(crate) fetched_unix: u64,
    pub(crate) refresh_after: Duration,
    /// Keys skipped while loading, with the reason (for `doctor` and logs).
    pub(crate) skipped: Vec<(Option<String>, String)>,
}

/// What readiness and `doctor` report about an issuer.
#[derive(Debug, Clone, Default)]
pub struct IssuerStatus {
    /// Keys are loaded (possibly stale).
    pub keys_loaded: bool,
    /// Number of usable signing keys.
    pub key_count: usize,
    /// Unix seconds of the last successful JWKS fetch.
    pub last_refresh_unix: Option<u64>,
    /// The last refresh error, if the last attempt failed.
    pub last_error: Option<String>,
    /// At least one load was attempted.
    pub attempted: bool,
}

/// Discovery metadata and keys of one configured issuer.
pub(crate) struct IssuerKeys {
    pub(crate) config: IssuerConfig,
    pub(crate) allowed: Vec<Algorithm>,
    cache: CacheConfig,
    metadata: RwLock<Option<Arc<Metadata>>>,
    keys: RwLock<Option<Arc<KeySet>>>,
    refresh_lock: tokio::sync::Mutex<()>,
    last_on_demand: Mutex<Option<Instant>>,
    status: RwLock<IssuerStatus>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("issuer", &self.config.name)
            .finish()
    }
}

impl IssuerKeys {
    pub(crate) fn new(config: IssuerConfig, cache: &CacheConfig) -> Self {
        let allowed = super::jwt::algorithms(&config.algorithms);
        Self {
            config,
            allowed,
            cache: cache.clone(),
            metadata: RwLock::new(None),
            keys: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            last_on_demand: Mutex::new(None),
            status: RwLock::new(IssuerStatus::default()),
        }
    }

    /// The issuer's status for readiness and `doctor`.
    pub(crate) fn status(&self) -> IssuerStatus {
        self.status.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// The discovery metadata, fetching it if not yet known.
    pub(crate) async fn metadata(&self, http: &HttpClient) -> Result<Arc<Metadata>, ValidateError> {
        if let Some(m) = self.metadata.read().ok().and_then(|m| m.clone()) {
            return Ok(m);
        }
        let m = Arc::new(super::discovery::fetch(&self.config, http).await?);
        if let Ok(mut slot) = self.metadata.write() {
            *slot = Some(m.clone());
        }
        Ok(m)
    }

    fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.keys.read().ok().and_then(|k| k.clone())
    }

    /// Fetches the JWKS now (one fetch in flight; a caller that waited for another's fetch
    /// returns without fetching again when that fetch started after `since`).
    pub(crate) async fn refresh(
        &self,
        http: &HttpClient,
        since: Option<Instant>,
    ) -> Result<Arc<KeySet>, ValidateError> {
        let _guard = self.refresh_lock.lock().await;
        if let (Some(since), Some(current)) = (since, self.snapshot()) {
            if current.fetched_at > since {
                return Ok(current);
            }
        }
        let result = self.fetch(http).await;
        let mut status = self.status.write().unwrap_or_else(|e| e.into_inner());
        status.attempted = true;
        match result {
            Ok(set) => {
                let set = Arc::new(set);
                if let Ok(mut slot) = self.keys.write() {
                    *slot = Some(set.clone());
                }
                status.keys_loaded = true;
                status.key_count = set.keys.len();
                status.last_refresh_unix = Some(set.fetched_unix);
                status.last_error = None;
                metrics::counter!("saslgate_jwks_refreshes_total", "issuer" => self.config.name.clone(), "result" => "ok").increment(1);
                metrics::gauge!("saslgate_jwks_last_refresh_timestamp_seconds", "issuer" => self.config.name.clone()).set(set.fetched_unix as f64);
                for (kid, why) in &set.skipped {
                    tracing::debug!(issuer = %self.config.name, kid = ?kid, reason = %why, "JWKS key skipped");
                }
                tracing::debug!(issuer = %self.config.name, keys = set.keys.len(), "JWKS loaded");
                Ok(set)
            }
            Err(e) => {
                status.last_error = Some(e.to_string());
                metrics::counter!("saslgate_jwks_refreshes_total", "issuer" => self.config.name.clone(), "result" => "error").increment(1);
                tracing::warn!(issuer = %self.config.name, error = %e, "JWKS refresh failed; keeping last-good keys");
                Err(e)
            }
        }
    }

    async fn fetch(&self, http: &HttpClient) -> Result<KeySet, ValidateError> {
        let url = match &self.config.jwks_uri {
            Some(u) => u.clone(),
            None => self.metadata(http).await?.jwks_uri.clone().ok_or_else(|| {
                ValidateError::Internal(format!(
                    "issuer {}: discovery document has no jwks_uri",
                    self.config.name
                ))
            })?,
        };
        let resp = http.get(&url).await.map_err(|e| {
            ValidateError::Internal(format!("issuer {}: JWKS: {e}", self.config.name))
        })?;
        let (keys, skipped) = parse_jwks(&resp.body, &self.allowed).map_err(|e| {
            ValidateError::Internal(format!(
                "issuer {}: JWKS at {}: {e}",
                self.config.name,
                crate::http::redact(&url)
            ))
        })?;
        if keys.is_empty() {
            return Err(ValidateError::Internal(format!(
                "issuer {}: JWKS at {} has no usable signing key ({} skipped)",
                self.config.name,
                crate::http::redact(&url),
                skipped.len()
            )));
        }
        let secs = resp
            .max_age_secs
            .unwrap_or(self.cache.jwks_refresh_secs)
            .clamp(
                self.cache.jwks_min_refresh_secs,
                self.cache.jwks_max_refresh_secs,
            );
        Ok(KeySet {
            keys,
            fetched_at: Instant::now(),
            fetched_unix: unix_now(),
            refresh_after: Duration::from_secs(secs),
            skipped,
        })
    }

    /// Current keys, loading them if none are loaded or they are older than the maximum
    /// staleness.
    async fn current(&self, http: &HttpClient) -> Result<Arc<KeySet>, ValidateError> {
        match self.snapshot() {
            Some(set)
                if set.fetched_at.elapsed()
                    < Duration::from_secs(self.cache.jwks_max_staleness_secs) =>
            {
                Ok(set)
            }
            Some(set) => match self.refresh(http, Some(set.fetched_at)).await {
                Ok(s) => Ok(s),
                Err(e) => Err(ValidateError::Internal(format!(
                    "keys older than cache.jwks_max_staleness_secs and refresh failed: {e}"
                ))),
            },
            None => self.refresh(http, None).await,
        }
    }

    /// May this request refetch the JWKS on demand (unknown `kid`, or a signature failure)?
    fn may_refetch(&self) -> bool {
        let min = Duration::from_secs(self.cache.jwks_unknown_kid_interval_secs);
        let Ok(mut last) = self.last_on_demand.lock() else {
            return false;
        };
        match *last {
            Some(t) if t.elapsed() < min => false,
            _ => {
                *last = Some(Instant::now());
                true
            }
        }
    }

    /// Finds the key for a token's `kid` and `alg`, refetching the JWKS within this request
    /// when the `kid` is unknown (rate-limited per issuer).
    ///
    /// # Errors
    /// [`Rejection::UnknownKid`], [`Rejection::NoKid`], [`Rejection::BadKey`];
    /// [`ValidateError::Internal`] when no keys can be loaded.
    pub(crate) async fn key_for(
        &self,
        http: &HttpClient,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<PreparedKey>, ValidateError> {
        let set = self.current(http).await?;
        match select(&set, kid, alg) {
            Err(Rejection::UnknownKid(_)) if self.may_refetch() => {
                tracing::info!(issuer = %self.config.name, kid = ?kid, "unknown kid: refetching JWKS within the request");
                let set = self.refresh(http, Some(set.fetched_at)).await?;
                Ok(select(&set, kid, alg)?)
            }
            other => Ok(other?),
        }
    }

    /// After a signature failure with `key`: refetch (rate-limited) and return the key now
    /// published under the same `kid` if its material changed.
    pub(crate) async fn replaced_key(
        &self,
        http: &HttpClient,
        key: &PreparedKey,
        alg: Algorithm,
    ) -> Option<Arc<PreparedKey>> {
        let set = self.snapshot()?;
        if !self.may_refetch() {
            return None;
        }
        let set = self.refresh(http, Some(set.fetched_at)).await.ok()?;
        let fresh = select(&set, key.kid.as_deref(), alg).ok()?;
        (fresh.fingerprint != key.fingerprint).then_some(fresh)
    }

    /// Background refresh loop: refreshes when the key set is due, backs off on failure.
    pub(crate) async fn refresh_loop(self: Arc<Self>, http: HttpClient) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let wait = match self.snapshot() {
                Some(set) => set.refresh_after.saturating_sub(set.fetched_at.elapsed()),
                None => backoff,
            };
            tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
            match self.refresh(&http, None).await {
                Ok(_) => backoff = Duration::from_secs(1),
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff =
                        (backoff * 2).min(Duration::from_secs(self.cache.jwks_refresh_secs.max(1)));
                }
            }
        }
    }
}

/// Picks the key for `kid`/`alg` from a key set.
fn select(set: &KeySet, kid: Option<&str>, alg: Algorithm) -> Result<Arc<PreparedKey>, Rejection> {
    match kid {
        Some(kid) => {
            let key = set
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| Rejection::UnknownKid(super::clip(kid)))?;
            if !key.supports(alg) {
                return Err(Rejection::BadKey(format!(
                    "key {kid:?} ({}) is not usable with {}",
                    key.kty,
                    alg_name(alg)
                )));
            }
            Ok(key.clone())
        }
        None => {
            let candidates: Vec<_> = set.keys.iter().filter(|k| k.supports(alg)).collect();
            match candidates.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(Rejection::BadKey(format!("no key for {}", alg_name(alg)))),
                _ => Err(Rejection::NoKid),
            }
        }
    }
}

/// Keys skipped while loading a JWKS: `kid` and reason.
pub(crate) type Skipped = Vec<(Option<String>, String)>;

/// Why a JWKS document was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwksError {
    #[error("not a JSON object with a \"keys\" array: {0}")]
    NotJwks(String),
}

/// Parses a JWKS document (RFC 7517 §5). Keys that cannot be used for signatures with the
/// allowed algorithms (`use: enc`, `oct`, unknown `kty`, malformed) are skipped with a reason;
/// the document itself must be a JSON object with a `keys` array.
pub(crate) fn parse_jwks(
    body: &[u8],
    allowed: &[Algorithm],
) -> Result<(Vec<Arc<PreparedKey>>, Skipped), JwksError> {
    #[derive(serde::Deserialize)]
    struct Doc {
        keys: Vec<serde_json::Value>,
    }
    let doc: Doc = serde_json::from_slice(body).map_err(|e| JwksError::NotJwks(e.to_string()))?;
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for raw in doc.keys {
        let kid = raw.get("kid").and_then(|k| k.as_str()).map(str::to_string);
        match serde_json::from_value::<jsonwebtoken::jwk::Jwk>(raw) {
            Ok(jwk) => match PreparedKey::from_jwk(&jwk, allowed) {
                Ok(k) => keys.push(Arc::new(k)),
                Err(why) => skipped.push((kid, why.to_string())),
            },
            Err(e) => skipped.push((kid, format!("not a JWK this validator understands: {e}"))),
        }
    }
    Ok((keys, skipped))
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
