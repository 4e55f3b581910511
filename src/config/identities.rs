//! `[[identities]]`: credentials this node acquires for itself.

use super::{check_outbound_url, AwsIdentityConfig, Config, Problem};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;
use url::Url;

/// How an identity obtains its token.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdentityKind {
    /// OAuth 2.0 client credentials grant (RFC 6749 §4.4) at the issuer's token endpoint.
    ClientCredentials,
    /// A token read from a file and re-read when it changes (Kubernetes projected
    /// service-account tokens, or any file another agent keeps fresh).
    TokenFile,
    /// An AWS IAM identity proven by a signed `sts:GetCallerIdentity` request
    /// (`[identities.aws]`).
    Aws,
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with form-urlencoded id and secret (RFC 6749 §2.3.1). The default.
    #[default]
    ClientSecretBasic,
    /// Id and secret in the form body.
    ClientSecretPost,
    /// A JWT assertion signed with the client's private key (RFC 7523, OIDC Core §9).
    PrivateKeyJwt,
}

/// One `[[identities]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IdentityConfig {
    /// Short name, used by clients (`identity = "zk-client"`), metrics and logs.
    pub name: String,
    /// `client_credentials` or `token_file`.
    pub kind: IdentityKind,
    /// Issuer name (from `[[issuers]]`) whose discovery gives the token endpoint.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Token endpoint; overrides discovery.
    #[serde(default)]
    pub token_endpoint: Option<Url>,
    /// OAuth client id (client_credentials).
    #[serde(default)]
    pub client_id: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `private_key_jwt`.
    #[serde(default)]
    pub auth_method: ClientAuthMethod,
    /// File holding the client secret (preferred).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// The secret inline (discouraged).
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// PEM private key (PKCS#8 RSA, EC P-256 or Ed25519) for `private_key_jwt`.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    /// `kid` header for the client assertion.
    #[serde(default)]
    pub key_id: Option<String>,
    /// Scopes requested. Default none.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `audience` parameter sent with the request (Keycloak, Auth0 and others honour it).
    #[serde(default)]
    pub audience: Option<String>,
    /// Token file path (`token_file`).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Fraction of the token lifetime after which it is refreshed (with ±5 % jitter).
    /// Default 0.8.
    #[serde(default = "default_refresh_ratio")]
    pub refresh_ratio: f64,
    /// AWS settings; required for (and only allowed with) `kind = "aws"`.
    #[serde(default)]
    pub aws: Option<AwsIdentityConfig>,
}

fn default_refresh_ratio() -> f64 {
    0.8
}

impl IdentityConfig {
    pub(crate) fn check(&self, key: &str, config: &Config) -> Result<(), Problem> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(Problem::new(
                format!("{key}.name"),
                format!(
                    "{:?} must be non-empty ASCII letters, digits, '-', '_' or '.' (it appears in API paths)",
                    self.name
                ),
            ));
        }
        if !(0.1..=0.95).contains(&self.refresh_ratio) {
            return Err(Problem::new(
                format!("{key}.refresh_ratio"),
                "must be between 0.1 and 0.95",
            ));
        }
        if let Some(issuer) = &self.issuer {
            if config.issuer(issuer).is_none() {
                return Err(Problem::new(
                    format!("{key}.issuer"),
                    format!("no [[issuers]] entry is named {issuer:?}"),
                ));
            }
        }
        if self.aws.is_some() && self.kind != IdentityKind::Aws {
            return Err(Problem::new(
                format!("{key}.aws"),
                "[identities.aws] is only allowed with kind = \"aws\"",
            ));
        }
        match self.kind {
            IdentityKind::Aws => {
                if !cfg!(feature = "aws") {
                    return Err(Problem::new(
                        format!("{key}.kind"),
                        "this saslgate was built without the \"aws\" feature",
                    ));
                }
                let Some(aws) = &self.aws else {
                    return Err(Problem::new(
                        format!("{key}.aws"),
                        "kind = \"aws\" needs an [identities.aws] table (server_id, ...)",
                    ));
                };
                aws.check(&format!("{key}.aws"), &config.danger)?;
            }
            IdentityKind::ClientCredentials => {
                if self.client_id.as_deref().unwrap_or("").is_empty() {
                    return Err(Problem::new(
                        format!("{key}.client_id"),
                        "is required for kind = \"client_credentials\"",
                    ));
                }
                match &self.token_endpoint {
                    Some(u) => {
                        check_outbound_url(&format!("{key}.token_endpoint"), u, &config.danger)?
                    }
                    None if self.issuer.is_none() => {
                        return Err(Problem::new(
                            format!("{key}.token_endpoint"),
                            "no token endpoint: set token_endpoint or issuer (for discovery)",
                        ));
                    }
                    None => {}
                }
                let secrets = [
                    self.client_secret_file.is_some(),
                    self.client_secret_env.is_some(),
                    self.client_secret.is_some(),
                ]
                .iter()
                .filter(|s| **s)
                .count();
                match self.auth_method {
                    ClientAuthMethod::PrivateKeyJwt if self.private_key_file.is_none() => {
                        return Err(Problem::new(
                            format!("{key}.private_key_file"),
                            "is required for auth_method = \"private_key_jwt\"",
                        ));
                    }
                    ClientAuthMethod::PrivateKeyJwt => {}
                    _ if secrets != 1 => {
                        return Err(Problem::new(key.to_string(), "set exactly one of client_secret_file, client_secret_env, client_secret"));
                    }
                    _ => {}
                }
            }
            IdentityKind::TokenFile => {
                if self.path.is_none() {
                    return Err(Problem::new(
                        format!("{key}.path"),
                        "is required for kind = \"token_file\"",
                    ));
                }
            }
        }
        Ok(())
    }
}
