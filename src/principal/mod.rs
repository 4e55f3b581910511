//! Principal mapping: a verified identity's claims → the authorization identity the host system
//! uses (ZooKeeper `sasl:` ACL id, Hadoop user name) and its groups.
//!
//! # Rules
//!
//! `[[principal.rules]]` are tried in order; the first that applies produces the identity:
//!
//! - `issuer`: the rule applies only to tokens of this configured issuer;
//! - `match`: every condition must hold. A key is a dotted claim path (`realm_access.roles`; a
//!   claim whose own name holds dots, such as `https://example.com/team`, is found too). The
//!   value `"*"` means "present (and not null)"; otherwise a string claim must equal the value,
//!   a number or boolean claim must print as the value, and an array claim must contain it;
//! - `authzid`: a template with `{claim.path}` placeholders. A placeholder whose claim is missing
//!   or not a string makes the rule not apply (the next rule is tried);
//! - `groups`: dotted claim paths whose string or string-array values become the groups, in
//!   order, without duplicates.
//!
//! # Defaults
//!
//! When no rule applies, the issuer's `kind` decides:
//!
//! | `kind` | authorization identity | groups |
//! |---|---|---|
//! | `keycloak` | `preferred_username` (a service-account token has `service-account-<client id>`) | `realm_access.roles`, then `groups` if present |
//! | `oidc` | `sub` | `groups` if present |
//! | `aws` | `arn`: the canonical ARN, the role ARN for an assumed role (a ZooKeeper `sasl:` id) | none |
//!
//! For AWS the claims are `arn`, `caller_arn`, `account`, `user_id`, `session_name`,
//! `role_name`, `partition`, `arn_kind` (see `validate::aws`); a Hadoop user named after the
//! role is `[[principal.rules]] issuer = "<aws issuer>"`, `match = { arn_kind = "assumed-role" }`,
//! `authzid = "{role_name}"`.
//!
//! A missing identity claim is [`Rejection::UnmappedIdentity`].
//!
//! # Checks
//!
//! Whatever produced it, an authorization identity must be non-empty, at most 256 bytes and free
//! of control characters; otherwise the token is refused ([`Rejection::UnmappedIdentity`] with
//! the reason). A rule that applies but yields such an identity refuses the token rather than
//! falling through.
//!
//! # Proxying
//!
//! A client may request another authorization identity (the SASL authzid, RFC 4422 §3.4.1). It
//! gets it only if a `[[principal.proxy]]` rule names its mapped identity as `user`, lists the
//! requested identity (or `"*"`) in `may_act_as`, and has an empty `services` list or one that
//! contains the service.

use crate::config::{Config, IssuerConfig, IssuerKind, PrincipalRule};
use crate::validate::Rejection;
use serde_json::{Map, Value};

/// The largest authorization identity accepted, in bytes.
pub const MAX_AUTHZID_BYTES: usize = 256;

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
/// in order and then the issuer kind's default (see the module docs).
///
/// # Errors
/// [`Rejection::UnmappedIdentity`] when no rule applies and the default claim is missing, or
/// when the identity produced is empty, longer than 256 bytes or holds control characters.
pub fn map(
    config: &Config,
    issuer: &IssuerConfig,
    claims: &Map<String, Value>,
) -> Result<Principal, Rejection> {
    for (i, rule) in config.principal.rules.iter().enumerate() {
        if let Some(principal) = apply_rule(rule, issuer, claims) {
            return check(principal, &format!("principal.rules[{i}]"));
        }
    }
    let (claim, group_paths): (&str, &[&str]) = match issuer.kind {
        IssuerKind::Keycloak => ("preferred_username", &["realm_access.roles", "groups"]),
        IssuerKind::Aws => ("arn", &[]),
        _ => ("sub", &["groups"]),
    };
    let authzid = lookup(claims, claim)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Rejection::UnmappedIdentity(format!(
                "no principal rule applies and the {claim:?} claim (the default for issuer {:?}) \
             is missing or not a string",
                issuer.name
            ))
        })?;
    let principal = Principal::new(authzid, groups(claims, group_paths.iter().copied()));
    check(principal, &format!("the default {claim:?} claim"))
}

/// Decides the effective authorization identity: the mapped one when `requested` is absent or
/// equal, else `requested` if a `[[principal.proxy]]` rule lets `principal` act as it on
/// `service`.
///
/// # Errors
/// [`Rejection::AuthzidNotAllowed`] when `requested` differs and no proxy rule allows it, or when
/// `requested` is not an acceptable identity (empty, longer than 256 bytes, control characters).
pub fn authorize(
    config: &Config,
    service: &str,
    principal: &Principal,
    requested: Option<&str>,
) -> Result<String, Rejection> {
    let requested = match requested {
        None => return Ok(principal.authzid.clone()),
        Some(r) if r == principal.authzid => return Ok(principal.authzid.clone()),
        Some(r) => r,
    };
    let refused = || Rejection::AuthzidNotAllowed {
        requested: crate::validate::clip(requested),
        authenticated: principal.authzid.clone(),
    };
    if authzid_problem(requested).is_some() {
        return Err(refused());
    }
    let allowed = config.principal.proxy.iter().any(|rule| {
        rule.user == principal.authzid
            && (rule.services.is_empty() || rule.services.iter().any(|s| s == service))
            && rule.may_act_as.iter().any(|a| a == "*" || a == requested)
    });
    if allowed {
        Ok(requested.to_string())
    } else {
        Err(refused())
    }
}

fn check(principal: Principal, source: &str) -> Result<Principal, Rejection> {
    match authzid_problem(&principal.authzid) {
        None => Ok(principal),
        Some(problem) => Err(Rejection::UnmappedIdentity(format!(
            "the authorization identity from {source} {problem}"
        ))),
    }
}

/// Why `authzid` is not an acceptable authorization identity, or `None` when it is.
pub(crate) fn authzid_problem(authzid: &str) -> Option<String> {
    if authzid.is_empty() {
        Some("is empty".to_string())
    } else if authzid.len() > MAX_AUTHZID_BYTES {
        Some(format!(
            "is {} bytes, more than {MAX_AUTHZID_BYTES}",
            authzid.len()
        ))
    } else if authzid.chars().any(char::is_control) {
        Some("contains a control character".to_string())
    } else {
        None
    }
}

/// The principal `rule` produces for these claims, or `None` when it does not apply.
fn apply_rule(
    rule: &PrincipalRule,
    issuer: &IssuerConfig,
    claims: &Map<String, Value>,
) -> Option<Principal> {
    if rule
        .issuer
        .as_ref()
        .is_some_and(|name| *name != issuer.name)
    {
        return None;
    }
    if !rule
        .match_claims
        .iter()
        .all(|(path, expected)| matches(lookup(claims, path), expected))
    {
        return None;
    }
    let authzid = render(&rule.authzid, claims)?;
    Some(Principal::new(
        authzid,
        groups(claims, rule.groups.iter().map(String::as_str)),
    ))
}

fn matches(value: Option<&Value>, expected: &str) -> bool {
    let scalar = |v: &Value| match v {
        Value::String(s) => s == expected,
        Value::Bool(b) => b.to_string() == expected,
        Value::Number(n) => n.to_string() == expected,
        _ => false,
    };
    match value {
        None | Some(Value::Null) => false,
        Some(_) if expected == "*" => true,
        Some(Value::Array(items)) => items.iter().any(scalar),
        Some(v) => scalar(v),
    }
}

/// Renders an authzid template; `None` when a placeholder's claim is missing or not a string.
fn render(template: &str, claims: &Map<String, Value>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        out.push_str(lookup(claims, &after[..close])?.as_str()?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The string values at `paths` (strings, or the string elements of arrays), de-duplicated in
/// order.
fn groups<'a>(claims: &Map<String, Value>, paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !out.iter().any(|g| g == s) {
            out.push(s.to_string());
        }
    };
    for path in paths {
        match lookup(claims, path) {
            Some(Value::String(s)) => push(s),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut push),
            _ => {}
        }
    }
    out
}

/// Looks up a dotted claim path. At each level the whole remaining path is tried as a key first,
/// so claim names containing dots (URLs) are found.
fn lookup<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = object.get(path) {
        return Some(v);
    }
    path.match_indices('.').find_map(|(i, _)| {
        let inner = object.get(&path[..i])?.as_object()?;
        lookup(inner, &path[i + 1..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUERS: &str = r#"
[[issuers]]
name = "kc"
issuer = "https://idp.example.com/realms/r"
kind = "keycloak"
audiences = ["zookeeper"]

[[issuers]]
name = "google"
issuer = "https://accounts.example.com"
audiences = ["zookeeper"]

[[services]]
name = "zookeeper"
issuers = ["kc", "google"]

[[services]]
name = "hdfs"
issuers = ["kc"]
"#;

    fn config(extra: &str) -> Config {
        Config::from_toml_str(&format!("{ISSUERS}\n{extra}"), "<test>").unwrap()
    }

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("claims must be an object"),
        }
    }

    fn map_with(config: &Config, issuer: &str, c: Value) -> Result<Principal, Rejection> {
        map(config, config.issuer(issuer).unwrap(), &claims(c))
    }

    #[test]
    fn keycloak_default_uses_preferred_username_and_realm_roles_then_groups() {
        let c = config("");
        let p = map_with(
            &c,
            "kc",
            json!({
                "sub": "f1c2", "preferred_username": "alice",
                "realm_access": {"roles": ["admin", "user"]},
                "groups": ["/ops", "admin"]
            }),
        )
        .unwrap();
        assert_eq!(
            p,
            Principal::new("alice", vec!["admin".into(), "user".into(), "/ops".into()])
        );
    }

    #[test]
    fn keycloak_default_maps_service_account_tokens() {
        let c = config("");
        let p = map_with(
            &c,
            "kc",
            json!({"sub": "9a", "preferred_username": "service-account-zk-client", "azp": "zk-client"}),
        )
        .unwrap();
        assert_eq!(p.authzid, "service-account-zk-client");
        assert!(p.groups.is_empty());
    }

    #[test]
    fn keycloak_default_without_preferred_username_is_unmapped() {
        let c = config("");
        assert_eq!(
            map_with(&c, "kc", json!({"sub": "9a"})),
            Err(Rejection::UnmappedIdentity(
                "no principal rule applies and the \"preferred_username\" claim (the default for issuer \"kc\") is missing or not a string".into()
            ))
        );
    }

    #[test]
    fn oidc_default_uses_sub_and_groups() {
        let c = config("");
        let p = map_with(
            &c,
            "google",
            json!({"sub": "1234", "preferred_username": "x", "groups": "eng"}),
        )
        .unwrap();
        assert_eq!(p, Principal::new("1234", vec!["eng".into()]));
    }

    #[test]
    fn first_applying_rule_wins() {
        let c = config(
            r#"
[[principal.rules]]
match = { azp = "other" }
authzid = "first-{sub}"

[[principal.rules]]
authzid = "second-{sub}"

[[principal.rules]]
authzid = "third-{sub}"
"#,
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "s", "azp": "x"}))
                .unwrap()
                .authzid,
            "second-s"
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "s", "azp": "other"}))
                .unwrap()
                .authzid,
            "first-s"
        );
    }

    #[test]
    fn rule_with_issuer_filter_applies_only_to_that_issuer() {
        let c = config(
            r#"
[[principal.rules]]
issuer = "google"
authzid = "g-{email}"
"#,
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "1", "email": "a@x"}))
                .unwrap()
                .authzid,
            "g-a@x"
        );
        assert_eq!(
            map_with(
                &c,
                "kc",
                json!({"preferred_username": "bob", "email": "a@x"})
            )
            .unwrap()
            .authzid,
            "bob"
        );
    }

    #[test]
    fn match_star_means_present_and_not_null() {
        let c = config(
            r#"
[[principal.rules]]
match = { client_id = "*" }
authzid = "client-{client_id}"
"#,
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "1", "client_id": "zk"}))
                .unwrap()
                .authzid,
            "client-zk"
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "1", "client_id": null}))
                .unwrap()
                .authzid,
            "1"
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "1"})).unwrap().authzid,
            "1"
        );
    }

    #[test]
    fn match_on_array_claim_needs_the_value_among_its_elements() {
        let c = config(
            r#"
[[principal.rules]]
match = { "realm_access.roles" = "zk-admin" }
authzid = "admin"
"#,
        );
        let admin =
            json!({"preferred_username": "a", "realm_access": {"roles": ["x", "zk-admin"]}});
        let other = json!({"preferred_username": "a", "realm_access": {"roles": ["x"]}});
        assert_eq!(map_with(&c, "kc", admin).unwrap().authzid, "admin");
        assert_eq!(map_with(&c, "kc", other).unwrap().authzid, "a");
    }

    #[test]
    fn match_compares_booleans_and_numbers_by_their_text() {
        let c = config(
            r#"
[[principal.rules]]
match = { email_verified = "true", level = "3" }
authzid = "{email}"
"#,
        );
        let ok = json!({"sub": "1", "email": "a@x", "email_verified": true, "level": 3});
        let no = json!({"sub": "1", "email": "a@x", "email_verified": false, "level": 3});
        assert_eq!(map_with(&c, "google", ok).unwrap().authzid, "a@x");
        assert_eq!(map_with(&c, "google", no).unwrap().authzid, "1");
    }

    #[test]
    fn all_match_conditions_must_hold() {
        let c = config(
            r#"
[[principal.rules]]
match = { azp = "zk", typ = "Bearer" }
authzid = "both"
"#,
        );
        assert_eq!(
            map_with(
                &c,
                "google",
                json!({"sub": "1", "azp": "zk", "typ": "Bearer"})
            )
            .unwrap()
            .authzid,
            "both"
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "1", "azp": "zk", "typ": "ID"}))
                .unwrap()
                .authzid,
            "1"
        );
    }

    #[test]
    fn template_with_missing_or_non_string_claim_makes_the_rule_not_apply() {
        let c = config(
            r#"
[[principal.rules]]
authzid = "{email}"
"#,
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "1"})).unwrap().authzid,
            "1"
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "1", "email": 5}))
                .unwrap()
                .authzid,
            "1"
        );
    }

    #[test]
    fn template_reads_nested_and_dotted_claim_names() {
        let c = config(
            r#"
[[principal.rules]]
authzid = "{https://example.com/team}/{address.country}"
"#,
        );
        let p = map_with(
            &c,
            "google",
            json!({"sub": "1", "https://example.com/team": "ops", "address": {"country": "fr"}}),
        )
        .unwrap();
        assert_eq!(p.authzid, "ops/fr");
    }

    #[test]
    fn rule_groups_are_deduplicated_in_order_and_ignore_non_strings() {
        let c = config(
            r#"
[[principal.rules]]
authzid = "{preferred_username}"
groups = ["realm_access.roles", "resource_access.zk.roles", "groups", "missing"]
"#,
        );
        let p = map_with(
            &c,
            "kc",
            json!({
                "preferred_username": "a",
                "realm_access": {"roles": ["r1", 7, "r2"]},
                "resource_access": {"zk": {"roles": ["r2", "c1"]}},
                "groups": "r1"
            }),
        )
        .unwrap();
        assert_eq!(p.groups, vec!["r1", "r2", "c1"]);
    }

    #[test]
    fn refuses_empty_authzid_from_an_applying_rule() {
        let c = config(
            r#"
[[principal.rules]]
authzid = "{nick}"
"#,
        );
        assert_eq!(
            map_with(&c, "google", json!({"sub": "1", "nick": ""})),
            Err(Rejection::UnmappedIdentity(
                "the authorization identity from principal.rules[0] is empty".into()
            ))
        );
    }

    #[test]
    fn refuses_authzid_longer_than_256_bytes() {
        let c = config("");
        assert_eq!(
            map_with(&c, "google", json!({"sub": "x".repeat(257)})),
            Err(Rejection::UnmappedIdentity(
                "the authorization identity from the default \"sub\" claim is 257 bytes, more than 256".into()
            ))
        );
        assert!(map_with(&c, "google", json!({"sub": "x".repeat(256)})).is_ok());
    }

    #[test]
    fn refuses_authzid_with_control_characters() {
        let c = config("");
        assert_eq!(
            map_with(&c, "kc", json!({"preferred_username": "a\nb"})),
            Err(Rejection::UnmappedIdentity(
                "the authorization identity from the default \"preferred_username\" claim contains a control character".into()
            ))
        );
    }

    const PROXY: &str = r#"
[[principal.proxy]]
user = "hive"
may_act_as = ["alice", "bob"]

[[principal.proxy]]
user = "superuser"
may_act_as = ["*"]
services = ["hdfs"]
"#;

    #[test]
    fn authorize_without_or_with_own_authzid_returns_the_mapped_identity() {
        let c = config("");
        let p = Principal::new("alice", vec![]);
        assert_eq!(authorize(&c, "zookeeper", &p, None).unwrap(), "alice");
        assert_eq!(
            authorize(&c, "zookeeper", &p, Some("alice")).unwrap(),
            "alice"
        );
    }

    #[test]
    fn authorize_refuses_other_authzid_without_proxy_rule() {
        let c = config("");
        let p = Principal::new("alice", vec![]);
        assert_eq!(
            authorize(&c, "zookeeper", &p, Some("root")),
            Err(Rejection::AuthzidNotAllowed {
                requested: "root".into(),
                authenticated: "alice".into()
            })
        );
    }

    #[test]
    fn proxy_rule_allows_listed_names_only() {
        let c = config(PROXY);
        let hive = Principal::new("hive", vec![]);
        assert_eq!(
            authorize(&c, "zookeeper", &hive, Some("bob")).unwrap(),
            "bob"
        );
        assert_eq!(
            authorize(&c, "zookeeper", &hive, Some("carol")),
            Err(Rejection::AuthzidNotAllowed {
                requested: "carol".into(),
                authenticated: "hive".into()
            })
        );
    }

    #[test]
    fn proxy_wildcard_is_limited_to_its_services() {
        let c = config(PROXY);
        let su = Principal::new("superuser", vec![]);
        assert_eq!(
            authorize(&c, "hdfs", &su, Some("anyone")).unwrap(),
            "anyone"
        );
        assert!(matches!(
            authorize(&c, "zookeeper", &su, Some("anyone")),
            Err(Rejection::AuthzidNotAllowed { .. })
        ));
    }

    #[test]
    fn proxy_rule_for_another_user_does_not_apply() {
        let c = config(PROXY);
        let alice = Principal::new("alice", vec![]);
        assert!(matches!(
            authorize(&c, "hdfs", &alice, Some("bob")),
            Err(Rejection::AuthzidNotAllowed { .. })
        ));
    }

    #[test]
    fn proxy_wildcard_still_refuses_invalid_identities() {
        let c = config(PROXY);
        let su = Principal::new("superuser", vec![]);
        assert!(matches!(
            authorize(&c, "hdfs", &su, Some("a\u{7}b")),
            Err(Rejection::AuthzidNotAllowed { .. })
        ));
        assert!(matches!(
            authorize(&c, "hdfs", &su, Some("")),
            Err(Rejection::AuthzidNotAllowed { .. })
        ));
    }
}
