//! End-to-end: the core cases of `tests/keycloak.rs` against panva's `oidc-provider`, a second,
//! independent OpenID provider, with a generic (`kind = "oidc"`) issuer: nothing in the
//! validation path is Keycloak-specific.
//!
//! Its JWT access tokens (RFC 9068) carry `typ: at+jwt` in the JOSE header and no `typ`
//! claim, so the configuration sets no `typ`. Needs `npm ci --prefix tests/oidc-provider`;
//! skipped without it unless `SASLGATE_REQUIRE_OIDC_PROVIDER=1`.

mod common;
#[path = "common/login.rs"]
mod login;

use common::oidc_provider::OidcProvider;
use common::{jwt_claims, jwt_header};
use login::{core, exp_of, login, tamper, SERVICE};
use saslgate::validate::ValidationMethod;
use saslgate::Rejection;
use serde_json::json;

/// A generic OIDC issuer with discovery, trusted by service `zookeeper` for `audiences`;
/// `issuer_extra` goes at the end of the `[[issuers]]` entry.
fn config(op: &OidcProvider, audiences: &str, issuer_extra: &str) -> String {
    format!(
        r#"
[[issuers]]
name = "op"
issuer = "{issuer}"
discovery = true
audiences = [{audiences}]
{issuer_extra}

[[services]]
name = "{SERVICE}"
issuers = ["op"]
"#,
        issuer = op.issuer()
    )
}

#[tokio::test]
async fn a_jwt_access_token_logs_in_as_its_subject() {
    let Some(op) = OidcProvider::start().await else {
        return;
    };
    let core = core(&config(&op, "\"zookeeper\"", "")).await;
    let token = op.jwt_token().await.expect("JWT access token");
    assert_eq!(jwt_header(&token)["typ"], json!("at+jwt"));
    let auth = login(&core, &token, None).await.expect("accepted");
    let sub = jwt_claims(&token)["sub"].as_str().expect("sub").to_owned();
    assert_eq!(auth.authorization_id, sub);
    assert_eq!(auth.token.subject, sub);
    assert_eq!(auth.token.issuer, "op");
    assert_eq!(auth.token.iss, op.issuer());
    assert_eq!(auth.token.kid.as_deref(), Some(op.info().kid.as_str()));
    assert_eq!(auth.token.alg, Some("RS256"));
    assert_eq!(auth.token.method, ValidationMethod::Jwt);
    assert_eq!(auth.token.expires_at, exp_of(&token));
    assert!(auth.principal.groups.is_empty());
}

#[tokio::test]
async fn a_tampered_jwt_is_refused_as_bad_signature() {
    let Some(op) = OidcProvider::start().await else {
        return;
    };
    let core = core(&config(&op, "\"zookeeper\"", "")).await;
    let token = op.jwt_token().await.expect("JWT access token");
    let forged = tamper(&token, "sub", json!("admin"));
    assert_eq!(
        login(&core, &forged, None)
            .await
            .map(|a| a.authorization_id),
        Err(Rejection::BadSignature)
    );
}

/// The provider mints tokens for one audience only (`zookeeper`; any other resource
/// indicator is `invalid_target`), so the wrong-audience case is a service that expects
/// another audience.
#[tokio::test]
async fn a_jwt_for_another_audience_is_refused() {
    let Some(op) = OidcProvider::start().await else {
        return;
    };
    let core = core(&config(&op, "\"hdfs\"", "")).await;
    let token = op.jwt_token().await.expect("JWT access token");
    assert_eq!(
        login(&core, &token, None).await.map(|a| a.authorization_id),
        Err(Rejection::AudienceMismatch {
            found: vec!["zookeeper".to_string()],
            expected: vec!["hdfs".to_string()],
        })
    );
}

#[tokio::test]
async fn an_opaque_token_logs_in_through_introspection() {
    let Some(op) = OidcProvider::start().await else {
        return;
    };
    let secret = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(secret.path(), &op.info().introspection_client_secret).expect("write");
    // RFC 7662 makes `sub` optional, and oidc-provider omits it for client-credentials
    // tokens: require only `exp`, and map the client id with a rule.
    let extra = format!(
        "required_claims = [\"exp\"]\nvalidation = \"introspection\"\n[issuers.introspection]\nclient_id = \"{}\"\nclient_secret_file = \"{}\"\n",
        op.info().introspection_client_id,
        secret.path().display()
    );
    let rule = "\n[[principal.rules]]\nissuer = \"op\"\nauthzid = \"client:{client_id}\"\n";
    let core = core(&format!("{}{rule}", config(&op, "\"zookeeper\"", &extra))).await;
    let token = op.opaque_token().await.expect("opaque token");
    let answer = op.introspect(&token).await;
    let auth = login(&core, &token, None).await.expect("accepted");
    assert_eq!(auth.token.method, ValidationMethod::Introspection);
    assert_eq!(auth.token.kid, None);
    assert_eq!(auth.token.iss, op.issuer());
    assert_eq!(answer["sub"], serde_json::Value::Null, "{answer}");
    assert_eq!(auth.authorization_id, "client:zk-client");
    assert_eq!(auth.token.expires_at, answer["exp"].as_u64().expect("exp"));

    // A token the provider never issued is inactive.
    assert_eq!(
        login(&core, "not-a-token-it-issued", None)
            .await
            .map(|a| a.authorization_id),
        Err(Rejection::InactiveToken)
    );
}
