//! Principal mapping: a verified identity's claims → the authorization identity the host system
//! uses (ZooKeeper `sasl:` ACL id, Hadoop user name) and its groups.
//!
//! TODO(sasl+principal helper): ordered rules from `[principal]`, documented per-kind defaults,
//! and the authzid/proxy check.

use crate::config::{Config, IssuerConfig};
use crate::validate::Rejection;

/// The result of mapping: an authorization identity and its groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Principal {
    /// The authorization identity (authzid) the host system sees.
    pub authzid: String,
    /// Groups (IdP groups or roles), in claim order, without duplicates.
    pub groups: Vec<String>,
}

impl Principal {
    /// A principal with the given authzid and groups.
    pub fn new(authzid: impl Into<String>, groups: Vec<String>) -> Self {
        Self {
            authzid: authzid.into(),
            groups,
        }
    }
}

/// Maps the claims of a token from `issuer` to a [`Principal`], trying `config.principal.rules`
/// in order and then the issuer kind's default.
///
/// # Errors
/// [`Rejection::UnmappedIdentity`] when no rule applies and the default claim is missing.
pub fn map(
    config: &Config,
    issuer: &IssuerConfig,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<Principal, Rejection> {
    let _ = (config, issuer);
    let name = claims
        .get("preferred_username")
        .or_else(|| claims.get("sub"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| Rejection::UnmappedIdentity("no preferred_username or sub claim".into()))?;
    Ok(Principal::new(name, Vec::new()))
}

/// Decides the effective authorization identity: the mapped one when `requested` is absent or
/// equal, else `requested` if a `[[principal.proxy]]` rule lets `principal` act as it on
/// `service`.
///
/// # Errors
/// [`Rejection::AuthzidNotAllowed`] when `requested` differs and no proxy rule allows it.
pub fn authorize(
    config: &Config,
    service: &str,
    principal: &Principal,
    requested: Option<&str>,
) -> Result<String, Rejection> {
    let _ = (config, service);
    match requested {
        None => Ok(principal.authzid.clone()),
        Some(r) if r == principal.authzid => Ok(principal.authzid.clone()),
        Some(r) => Err(Rejection::AuthzidNotAllowed {
            requested: r.to_string(),
            authenticated: principal.authzid.clone(),
        }),
    }
}
