//! `[[services]]` (who may authenticate to what) and `[principal]` (how a verified identity
//! becomes an authorization identity).

use super::{aws::check_policy_lists, Config, Problem};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One `[[services]]` entry: a SASL service (`zookeeper`, `hdfs`, …) and its policy.
///
/// A SASL server session names its service; a token is accepted only if it satisfies that
/// service's policy. There is no default service and no "allow all".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The SASL service (protocol) name, as the host passes it (`zookeeper`, `hdfs`).
    pub name: String,
    /// Issuer names (from `[[issuers]]`) whose tokens this service accepts. At least one.
    pub issuers: Vec<String>,
    /// Audiences this service accepts; default: the union of its issuers' `audiences`.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Every scope here must appear in the token's `scope` claim.
    #[serde(default)]
    pub required_scopes: Vec<String>,
    /// The token must carry at least one of these roles (Keycloak realm roles, or
    /// `client:role` for client roles). Empty: no role required.
    #[serde(default)]
    pub required_roles: Vec<String>,
    /// SASL extension keys (RFC 7628 §3.1 kvpairs other than `auth`, `host`, `port`) that
    /// clients may send. Others are refused. Default none.
    #[serde(default)]
    pub allowed_extensions: Vec<String>,
    /// `scope` reported in the RFC 7628 error JSON, telling clients what to request.
    #[serde(default)]
    pub error_scope: Option<String>,
    /// `openid-configuration` URL reported in the RFC 7628 error JSON.
    #[serde(default)]
    pub error_openid_configuration: Option<String>,
    /// AWS account ids accepted by this service; replaces its AWS issuers' `accounts` when set.
    #[serde(default)]
    pub aws_accounts: Vec<String>,
    /// Canonical ARN patterns accepted by this service; replaces its AWS issuers' `role_arns`
    /// when set (see `[issuers.aws] role_arns`).
    #[serde(default)]
    pub aws_role_arns: Vec<String>,
}

impl ServiceConfig {
    /// The audiences this service accepts: its own, else the union of its issuers'.
    pub fn effective_audiences(&self, config: &Config) -> Vec<String> {
        if !self.audiences.is_empty() {
            return self.audiences.clone();
        }
        let mut out: Vec<String> = Vec::new();
        for name in &self.issuers {
            if let Some(issuer) = config.issuer(name) {
                for a in &issuer.audiences {
                    if !out.contains(a) {
                        out.push(a.clone());
                    }
                }
            }
        }
        out
    }

    pub(crate) fn check(&self, key: &str, config: &Config) -> Result<(), Problem> {
        if self.name.is_empty() {
            return Err(Problem::new(format!("{key}.name"), "is empty"));
        }
        if self.issuers.is_empty() {
            return Err(Problem::new(format!("{key}.issuers"), "is empty: a service must name the issuers it trusts (nothing is accepted by default)"));
        }
        for name in &self.issuers {
            if config.issuer(name).is_none() {
                return Err(Problem::new(
                    format!("{key}.issuers"),
                    format!("no [[issuers]] entry is named {name:?}"),
                ));
            }
        }
        if let Some(u) = &self.error_openid_configuration {
            if url::Url::parse(u).is_err() {
                return Err(Problem::new(
                    format!("{key}.error_openid_configuration"),
                    format!("{u:?} is not an absolute URL"),
                ));
            }
        }
        check_policy_lists(key, &self.aws_accounts, &self.aws_role_arns)?;
        let issuers = || self.issuers.iter().filter_map(|n| config.issuer(n));
        if (!self.aws_accounts.is_empty() || !self.aws_role_arns.is_empty())
            && !issuers().any(|i| i.is_aws())
        {
            return Err(Problem::new(
                format!("{key}.aws_accounts"),
                "aws_accounts and aws_role_arns need an issuer of kind = \"aws\"",
            ));
        }
        // AWS proofs are bound by the signed server ID, not an audience.
        let needs_audience = issuers().any(|i| !i.is_aws());
        if needs_audience
            && self.effective_audiences(config).is_empty()
            && !config.danger.skip_audience_check
        {
            return Err(Problem::new(
                format!("{key}.audiences"),
                "no audience: neither the service nor its issuers list one",
            )
            .fix(format!(
                "set audiences = [\"{}\"] (the value your IdP puts in aud)",
                self.name
            )));
        }
        Ok(())
    }
}

/// `[principal]`: ordered mapping rules and proxy rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PrincipalConfig {
    /// Rules tried in order; the first whose `issuer` and `match` fit produces the identity.
    /// When none fits, the issuer kind's default applies (see `principal` module docs).
    pub rules: Vec<PrincipalRule>,
    /// Who may request an authorization identity other than their own.
    pub proxy: Vec<ProxyRule>,
}

/// One `[[principal.rules]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PrincipalRule {
    /// Issuer name this rule applies to; unset: every issuer.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Claim conditions, all of which must hold: dotted claim path → expected string value
    /// (`"*"` means "present"). For array claims, the value must be one of the elements.
    #[serde(default, rename = "match")]
    pub match_claims: BTreeMap<String, String>,
    /// Template for the authorization identity: `{claim.path}` placeholders, for example
    /// `"{preferred_username}"` or `"kc-{azp}"`. A placeholder whose claim is missing or not
    /// a string makes the rule not apply.
    pub authzid: String,
    /// Dotted claim paths whose string or string-array values become groups
    /// (for example `["realm_access.roles", "groups"]`).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// One `[[principal.proxy]]` entry: `user` (a mapped authorization identity) may act as any
/// of `may_act_as` (exact names, or `"*"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProxyRule {
    /// The mapped identity allowed to proxy.
    pub user: String,
    /// The identities it may request as authzid, or `"*"`.
    pub may_act_as: Vec<String>,
    /// Restrict the rule to these services; empty: every service.
    #[serde(default)]
    pub services: Vec<String>,
}

impl PrincipalConfig {
    pub(crate) fn check(&self, config: &Config) -> Result<(), Problem> {
        for (i, rule) in self.rules.iter().enumerate() {
            let key = format!("principal.rules[{i}]");
            if let Some(issuer) = &rule.issuer {
                if config.issuer(issuer).is_none() {
                    return Err(Problem::new(
                        format!("{key}.issuer"),
                        format!("no [[issuers]] entry is named {issuer:?}"),
                    ));
                }
            }
            check_template(&format!("{key}.authzid"), &rule.authzid)?;
        }
        for (i, rule) in self.proxy.iter().enumerate() {
            if let Some(unknown) = rule.services.iter().find(|s| config.service(s).is_none()) {
                return Err(Problem::new(
                    format!("principal.proxy[{i}].services"),
                    format!("no [[services]] entry is named {unknown:?}"),
                ));
            }
            if rule.user.is_empty() || rule.may_act_as.is_empty() {
                return Err(Problem::new(
                    format!("principal.proxy[{i}]"),
                    "user and may_act_as must be non-empty",
                ));
            }
        }
        Ok(())
    }
}

fn check_template(key: &str, template: &str) -> Result<(), Problem> {
    if template.is_empty() {
        return Err(Problem::new(key, "is empty"));
    }
    let mut depth = 0;
    for c in template.chars() {
        match c {
            '{' if depth == 0 => depth = 1,
            '}' if depth == 1 => depth = 0,
            '{' | '}' => {
                return Err(Problem::new(
                    key,
                    format!("unbalanced braces in {template:?}"),
                ))
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(Problem::new(
            key,
            format!("unclosed placeholder in {template:?}"),
        ));
    }
    Ok(())
}
