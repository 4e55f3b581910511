//! OpenID Connect Discovery 1.0 §4: fetch `/.well-known/openid-configuration` of a configured
//! issuer and check that its `issuer` is the configured one (or an alias) — §4.3, which blocks a
//! discovery document that would redirect trust to another issuer.

use super::ValidateError;
use crate::config::IssuerConfig;
use crate::http::HttpClient;
use url::Url;

/// The discovery fields saslgate uses.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Metadata {
    pub(crate) issuer: String,
    #[serde(default)]
    pub(crate) jwks_uri: Option<Url>,
    #[serde(default)]
    pub(crate) token_endpoint: Option<Url>,
    #[serde(default)]
    pub(crate) introspection_endpoint: Option<Url>,
}

/// Fetches and checks the discovery document of `issuer`.
///
/// # Errors
/// [`ValidateError::Internal`] when the document cannot be fetched or parsed, or names another
/// issuer.
pub(crate) async fn fetch(
    issuer: &IssuerConfig,
    http: &HttpClient,
) -> Result<Metadata, ValidateError> {
    let url = issuer.discovery_document_url();
    let resp = http
        .get(&url)
        .await
        .map_err(|e| ValidateError::Internal(format!("issuer {}: discovery: {e}", issuer.name)))?;
    let meta: Metadata = resp
        .json(&url)
        .map_err(|e| ValidateError::Internal(format!("issuer {}: discovery: {e}", issuer.name)))?;
    if !issuer.matches_iss(&meta.issuer) {
        return Err(ValidateError::Internal(format!(
            "issuer {}: discovery document at {} names issuer {:?}, expected {:?} or an alias",
            issuer.name,
            crate::http::redact(&url),
            meta.issuer,
            issuer.issuer.as_str()
        )));
    }
    for u in [
        &meta.jwks_uri,
        &meta.token_endpoint,
        &meta.introspection_endpoint,
    ]
    .into_iter()
    .flatten()
    {
        http.check_url(u).map_err(|e| {
            ValidateError::Internal(format!("issuer {}: discovery: {e}", issuer.name))
        })?;
    }
    Ok(meta)
}
