//! `[[issuers]]`: the token issuers this node trusts.

use super::{check_outbound_url, AwsIssuerConfig, Danger, Problem};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;
use url::Url;

/// What kind of issuer this is; selects defaults for principal mapping and role extraction.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum IssuerKind {
    /// A generic OpenID Connect provider: the default authorization identity is `sub`.
    #[default]
    Oidc,
    /// Keycloak: `preferred_username`, `realm_access.roles`, `resource_access.<client>.roles`.
    Keycloak,
    /// AWS IAM through STS `GetCallerIdentity` proofs (`[issuers.aws]`); the default
    /// authorization identity is the canonical ARN (the role ARN for assumed roles).
    Aws,
}

/// How tokens of this issuer are validated.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ValidationMode {
    /// Local JWT validation with the issuer's JWKS (the default).
    #[default]
    Jwt,
    /// RFC 7662 introspection for every token (opaque tokens, or when revocation must be seen at
    /// once). Results are cached (see `[cache]`).
    Introspection,
    /// Local JWT validation, plus an introspection re-check of `active` at most every
    /// `introspection.recheck_secs` per token.
    Hybrid,
}

/// One `[[issuers]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IssuerConfig {
    /// Short name used in other sections, metrics and logs (`keycloak-prod`).
    pub name: String,
    /// The issuer identifier, exactly as in the `iss` claim and the discovery document.
    /// Required, except for `kind = "aws"` (whose proofs carry no issuer).
    #[serde(default = "unset_issuer")]
    pub issuer: Url,
    /// Other `iss` values accepted for this issuer (frontend/backend hostnames, Keycloak#29783).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `oidc` (default) or `keycloak`.
    #[serde(default)]
    pub kind: IssuerKind,
    /// Fetch `<issuer>/.well-known/openid-configuration` (default true). Its `issuer` must equal
    /// [`IssuerConfig::issuer`] or an alias.
    #[serde(default = "yes")]
    pub discovery: bool,
    /// Where to fetch the discovery document when it is not below the issuer URL (an internal
    /// hostname, for example). Default `<issuer>/.well-known/openid-configuration`.
    #[serde(default)]
    pub discovery_url: Option<Url>,
    /// JWKS URL; overrides the discovery document's `jwks_uri`.
    #[serde(default)]
    pub jwks_uri: Option<Url>,
    /// Audiences accepted from this issuer (any match, `aud` as string or array). A service may
    /// narrow this with its own `audiences`.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Allowed signature algorithms. Default `["RS256", "PS256", "ES256", "EdDSA"]`. `none` and
    /// HMAC algorithms are never allowed.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock leeway for `exp`, `nbf` and `iat`, in seconds. Default 30.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// Claims that must be present. Default `["sub", "exp"]`.
    #[serde(default = "default_required_claims")]
    pub required_claims: Vec<String>,
    /// When set, the `typ` claim must equal this (Keycloak access tokens carry `typ: Bearer`).
    #[serde(default)]
    pub typ: Option<String>,
    /// `jwt` (default), `introspection` or `hybrid`.
    #[serde(default)]
    pub validation: ValidationMode,
    /// RFC 7662 introspection settings; required for `introspection` and `hybrid`.
    #[serde(default)]
    pub introspection: Option<IntrospectionConfig>,
    /// AWS STS settings; required for (and only allowed with) `kind = "aws"`.
    #[serde(default)]
    pub aws: Option<AwsIssuerConfig>,
}

/// `[issuers.introspection]`: RFC 7662 endpoint and the client that calls it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IntrospectionConfig {
    /// Endpoint URL; default from discovery (`introspection_endpoint`).
    #[serde(default)]
    pub endpoint: Option<Url>,
    /// Client id used to authenticate to the endpoint (HTTP Basic, form-urlencoded per
    /// RFC 6749 §2.3.1).
    pub client_id: String,
    /// File holding the client secret (preferred).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// The secret inline (discouraged: it sits in the config file).
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// In `hybrid` mode, how often one token is re-checked, in seconds. Default 60.
    #[serde(default = "default_recheck")]
    pub recheck_secs: u64,
}

/// The placeholder of an unset `issuer` (allowed for `kind = "aws"` only).
pub(crate) const UNSET_ISSUER: &str = "urn:saslgate:unset";

fn unset_issuer() -> Url {
    // A constant that parses; `Url::parse` cannot fail on it.
    Url::parse(UNSET_ISSUER).unwrap_or_else(|_| unreachable!("constant URL"))
}

fn yes() -> bool {
    true
}
fn default_leeway() -> u64 {
    30
}
fn default_recheck() -> u64 {
    60
}
fn default_algorithms() -> Vec<String> {
    ["RS256", "PS256", "ES256", "EdDSA"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}
fn default_required_claims() -> Vec<String> {
    vec!["sub".to_string(), "exp".to_string()]
}

/// Algorithms an issuer may allow (asymmetric only).
pub(crate) const KNOWN_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

impl IssuerConfig {
    /// The discovery document URL: `discovery_url`, else `<issuer>/.well-known/openid-configuration`.
    pub fn discovery_document_url(&self) -> Url {
        if let Some(u) = &self.discovery_url {
            return u.clone();
        }
        let base = self.issuer.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/.well-known/openid-configuration"))
            .unwrap_or_else(|_| self.issuer.clone())
    }

    /// True for `kind = "aws"`: proofs are STS requests, there are no keys to load.
    pub fn is_aws(&self) -> bool {
        self.kind == IssuerKind::Aws
    }

    /// True when `iss` names this issuer: the issuer URL or one of its aliases, compared exactly.
    pub fn matches_iss(&self, iss: &str) -> bool {
        iss == self.issuer.as_str()
            || iss == self.issuer.as_str().trim_end_matches('/')
            || self.aliases.iter().any(|a| a == iss)
    }

    pub(crate) fn check(
        &self,
        key: &str,
        danger: &Danger,
        max_token_bytes: usize,
    ) -> Result<(), Problem> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Problem::new(
                format!("{key}.name"),
                format!(
                    "{:?} must be non-empty ASCII letters, digits, '-' or '_'",
                    self.name
                ),
            ));
        }
        if self.is_aws() {
            return self.check_aws(key, danger, max_token_bytes);
        }
        if self.aws.is_some() {
            return Err(Problem::new(
                format!("{key}.aws"),
                "[issuers.aws] is only allowed with kind = \"aws\"",
            ));
        }
        if self.issuer.as_str() == UNSET_ISSUER {
            return Err(Problem::new(format!("{key}.issuer"), "is required"));
        }
        check_outbound_url(&format!("{key}.issuer"), &self.issuer, danger)?;
        if let Some(u) = &self.jwks_uri {
            check_outbound_url(&format!("{key}.jwks_uri"), u, danger)?;
        }
        if let Some(u) = &self.discovery_url {
            check_outbound_url(&format!("{key}.discovery_url"), u, danger)?;
        }
        if self.algorithms.is_empty() {
            return Err(Problem::new(format!("{key}.algorithms"), "is empty")
                .fix("remove the key to use the default allow-list"));
        }
        for alg in &self.algorithms {
            if !KNOWN_ALGORITHMS.contains(&alg.as_str()) {
                return Err(Problem::new(
                    format!("{key}.algorithms"),
                    format!(
                        "{alg:?} is not an allowed algorithm (none and HMAC are never allowed)"
                    ),
                )
                .fix(format!("use some of {}", KNOWN_ALGORITHMS.join(", "))));
            }
        }
        if self.leeway_secs > 300 {
            return Err(Problem::new(
                format!("{key}.leeway_secs"),
                format!("{} seconds is more than 5 minutes", self.leeway_secs),
            )
            .fix("fix the clocks (NTP) instead"));
        }
        let needs_keys = matches!(
            self.validation,
            ValidationMode::Jwt | ValidationMode::Hybrid
        );
        if needs_keys && !self.discovery && self.jwks_uri.is_none() {
            return Err(Problem::new(
                format!("{key}.jwks_uri"),
                "no JWKS source: discovery is off and jwks_uri is unset",
            )
            .fix("set jwks_uri or discovery = true"));
        }
        match (&self.validation, &self.introspection) {
            (ValidationMode::Introspection | ValidationMode::Hybrid, None) => {
                return Err(Problem::new(
                    format!("{key}.introspection"),
                    format!(
                        "validation = {:?} needs an [issuers.introspection] table",
                        self.validation
                    ),
                ));
            }
            (_, Some(i)) => {
                if let Some(u) = &i.endpoint {
                    check_outbound_url(&format!("{key}.introspection.endpoint"), u, danger)?;
                } else if !self.discovery {
                    return Err(Problem::new(
                        format!("{key}.introspection.endpoint"),
                        "unset while discovery is off",
                    ));
                }
                let sources = [
                    i.client_secret_file.is_some(),
                    i.client_secret_env.is_some(),
                    i.client_secret.is_some(),
                ];
                if sources.iter().filter(|s| **s).count() != 1 {
                    return Err(Problem::new(
                        format!("{key}.introspection"),
                        "set exactly one of client_secret_file, client_secret_env, client_secret",
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The checks of `kind = "aws"`: an `[issuers.aws]` table, none of the OIDC keys.
    fn check_aws(&self, key: &str, danger: &Danger, max_token_bytes: usize) -> Result<(), Problem> {
        if !cfg!(feature = "aws") {
            return Err(Problem::new(
                format!("{key}.kind"),
                "this saslgate was built without the \"aws\" feature",
            ));
        }
        let Some(aws) = &self.aws else {
            return Err(Problem::new(
                format!("{key}.aws"),
                "kind = \"aws\" needs an [issuers.aws] table (server_id, endpoints or regions, accounts or role_arns)",
            ));
        };
        if self.issuer.as_str() != UNSET_ISSUER
            || self.jwks_uri.is_some()
            || self.discovery_url.is_some()
            || self.introspection.is_some()
            || self.validation != ValidationMode::Jwt
            || !self.aliases.is_empty()
            || !self.audiences.is_empty()
            || self.typ.is_some()
        {
            return Err(Problem::new(
                key.to_string(),
                "kind = \"aws\" takes no issuer, aliases, audiences, jwks_uri, discovery_url, typ, validation or introspection (the proof is bound by [issuers.aws] server_id)",
            ));
        }
        if self.leeway_secs > 300 {
            return Err(Problem::new(
                format!("{key}.leeway_secs"),
                format!("{} seconds is more than 5 minutes", self.leeway_secs),
            ));
        }
        aws.check(&format!("{key}.aws"), danger, max_token_bytes)
    }
}
