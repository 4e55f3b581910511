//! OAuth 2.0 Token Introspection (RFC 7662): asks the issuer whether a token is active.
//!
//! The client authenticates with HTTP Basic, id and secret form-urlencoded first (RFC 6749
//! §2.3.1 — Strimzi#310 is what happens otherwise). Positive results are cached until the
//! token's `exp`, at most `cache.introspection_ttl_secs`; negative results for
//! `cache.introspection_negative_ttl_secs`. The cache is keyed by SHA-256 of the token.

use super::{Rejection, ValidateError};
use crate::cache::TokenHash;
use crate::config::{Config, IssuerConfig, ValidationMode};
use crate::http::HttpClient;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

type Claims = Arc<serde_json::Map<String, serde_json::Value>>;

#[derive(Clone)]
struct Entry {
    active: Option<Claims>,
    until: Instant,
}

/// Introspection clients per issuer and the result cache.
pub(crate) struct Introspector {
    secrets: HashMap<String, SecretString>,
    cache: moka::sync::Cache<(String, TokenHash), Entry, foldhash::fast::RandomState>,
    ttl: Duration,
    negative_ttl: Duration,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("issuers", &self.secrets.len())
            .finish()
    }
}

impl Introspector {
    /// Reads the client secret of every issuer that configures introspection.
    ///
    /// # Errors
    /// [`ValidateError::Internal`] naming the issuer and the file or variable that could not be
    /// read (never its content).
    pub(crate) fn new(config: &Config) -> Result<Self, ValidateError> {
        let mut secrets = HashMap::new();
        for issuer in &config.issuers {
            let Some(i) = &issuer.introspection else {
                continue;
            };
            let secret = if let Some(path) = &i.client_secret_file {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ValidateError::Internal(format!(
                        "issuer {}: cannot read introspection.client_secret_file {}: {e}",
                        issuer.name,
                        path.display()
                    ))
                })?;
                SecretString::from(text.trim_end_matches(['\r', '\n']).to_string())
            } else if let Some(var) = &i.client_secret_env {
                SecretString::from(std::env::var(var).map_err(|_| {
                    ValidateError::Internal(format!("issuer {}: environment variable {var} (introspection.client_secret_env) is not set", issuer.name))
                })?)
            } else if let Some(s) = &i.client_secret {
                s.clone()
            } else {
                continue;
            };
            secrets.insert(issuer.name.clone(), secret);
        }
        let cache = moka::sync::Cache::builder()
            .max_capacity(config.cache.introspection_max_entries)
            .expire_after(UntilExpiry)
            .build_with_hasher(foldhash::fast::RandomState::default());
        Ok(Self {
            secrets,
            cache,
            ttl: Duration::from_secs(config.cache.introspection_ttl_secs),
            negative_ttl: Duration::from_secs(config.cache.introspection_negative_ttl_secs),
        })
    }

    /// Introspects `token` at `issuer`'s endpoint (`endpoint` from config or discovery).
    /// Returns the response claims of an active token.
    ///
    /// # Errors
    /// [`Rejection::InactiveToken`] for `active: false` (cached briefly);
    /// [`ValidateError::Internal`] when the endpoint fails or answers something else than RFC
    /// 7662 JSON.
    pub(crate) async fn introspect(
        &self,
        http: &HttpClient,
        issuer: &IssuerConfig,
        endpoint: &Url,
        token: &str,
        hash: &TokenHash,
        now: u64,
    ) -> Result<Claims, ValidateError> {
        let key = (issuer.name.clone(), *hash);
        if let Some(entry) = self.cache.get(&key) {
            metrics::counter!("saslgate_cache_requests_total", "cache" => "introspection", "result" => "hit").increment(1);
            return entry
                .active
                .ok_or(ValidateError::Rejected(Rejection::InactiveToken));
        }
        metrics::counter!("saslgate_cache_requests_total", "cache" => "introspection", "result" => "miss").increment(1);
        let Some(cfg) = &issuer.introspection else {
            return Err(ValidateError::Internal(format!(
                "issuer {}: introspection is not configured",
                issuer.name
            )));
        };
        let secret = self.secrets.get(&issuer.name).ok_or_else(|| {
            ValidateError::Internal(format!("issuer {}: no introspection secret", issuer.name))
        })?;
        let id = form_urlencode(&cfg.client_id);
        let pw = form_urlencode(secret.expose_secret());
        let started = Instant::now();
        let resp = http
            .post_form(
                endpoint,
                &[("token", token), ("token_type_hint", "access_token")],
                Some((&id, &pw)),
            )
            .await
            .map_err(|e| {
                ValidateError::Internal(format!("issuer {}: introspection: {e}", issuer.name))
            })?;
        metrics::histogram!("saslgate_idp_request_duration_seconds", "issuer" => issuer.name.clone(), "endpoint" => "introspection")
            .record(started.elapsed().as_secs_f64());
        let body: serde_json::Map<String, serde_json::Value> =
            resp.json(endpoint).map_err(|e| {
                ValidateError::Internal(format!("issuer {}: introspection: {e}", issuer.name))
            })?;
        let active = match body.get("active") {
            Some(serde_json::Value::Bool(b)) => *b,
            _ => {
                return Err(ValidateError::Internal(format!(
                    "issuer {}: introspection response has no boolean \"active\"",
                    issuer.name
                )))
            }
        };
        if !active {
            self.cache.insert(
                key,
                Entry {
                    active: None,
                    until: Instant::now() + self.negative_ttl,
                },
            );
            return Err(ValidateError::Rejected(Rejection::InactiveToken));
        }
        let claims = Arc::new(body);
        let exp = super::jwt::numeric_date(&claims, "exp").ok().flatten();
        // Hybrid mode re-checks `active` every `recheck_secs`; introspection mode keeps a
        // positive answer for `cache.introspection_ttl_secs`. Never past `exp`.
        let base = match (issuer.validation, &issuer.introspection) {
            (ValidationMode::Hybrid, Some(i)) => Duration::from_secs(i.recheck_secs),
            _ => self.ttl,
        };
        let ttl = match exp {
            Some(exp) => base.min(Duration::from_secs(exp.saturating_sub(now))),
            None => base,
        };
        self.cache.insert(
            key,
            Entry {
                active: Some(claims.clone()),
                until: Instant::now() + ttl,
            },
        );
        Ok(claims)
    }
}

struct UntilExpiry;

impl moka::Expiry<(String, TokenHash), Entry> for UntilExpiry {
    fn expire_after_create(
        &self,
        _k: &(String, TokenHash),
        v: &Entry,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(v.until.saturating_duration_since(created_at))
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 §2.3.1, Appendix B).
fn form_urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_urlencodes_basic_credentials() {
        assert_eq!(form_urlencode("a b:c/d+é"), "a+b%3Ac%2Fd%2B%C3%A9");
    }
}
