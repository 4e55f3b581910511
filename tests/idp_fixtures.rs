//! Checks that the identity-provider fixtures in `tests/common/` drive the real servers the
//! way the cross-component tests rely on: Keycloak realms, tokens, key rotation,
//! introspection and disabled clients; oidc-provider JWT and opaque tokens.
//!
//! Needs a running Keycloak (`scripts/keycloak.sh start`) and `npm ci` in
//! `tests/oidc-provider`; `scripts/test.sh` provides both.

mod common;

use common::keycloak::{Keycloak, TokenError, ALICE, AUDIENCE, OTHER_CLIENT, ZK_CLIENT, ZOOKEEPER};
use common::oidc_provider::OidcProvider;
use common::{jwt_claims, jwt_header};
use serde_json::json;

/// True if the `aud` claim (a string or an array, RFC 7519 §4.1.3) contains `audience`.
fn aud_contains(claims: &serde_json::Value, audience: &str) -> bool {
    match &claims["aud"] {
        serde_json::Value::String(s) => s == audience,
        serde_json::Value::Array(a) => a.iter().any(|v| v == audience),
        _ => false,
    }
}

#[tokio::test]
async fn keycloak_realm_issues_rotates_introspects_and_disables() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("fixture").await;
    assert!(realm.name().starts_with("fixture-"));
    assert_eq!(
        realm.issuer(),
        format!("{}/realms/{}", kc.base_url(), realm.name())
    );

    let token = realm
        .client_credentials_token(ZK_CLIENT.client_id, ZK_CLIENT.secret)
        .await
        .expect("client-credentials token");
    let claims = jwt_claims(&token);
    assert_eq!(claims["iss"], json!(realm.issuer()));
    assert!(aud_contains(&claims, AUDIENCE), "aud: {}", claims["aud"]);
    assert_eq!(claims["preferred_username"], "service-account-zk-client");
    assert_eq!(claims["azp"], "zk-client");
    assert_eq!(claims["realm_access"]["roles"], json!(["zk-admin"]));
    assert_eq!(
        claims["resource_access"]["zookeeper"]["roles"],
        json!(["znode-writer"])
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    let header = jwt_header(&token);
    assert_eq!(header["alg"], "RS256");
    let first_kid = header["kid"].as_str().expect("kid").to_owned();
    assert_eq!(first_kid, realm.active_kid().await);

    let rotation = realm.rotate_keys().await;
    assert_eq!(rotation.old_kid, first_kid);
    let rotated = realm
        .client_credentials_token(ZK_CLIENT.client_id, ZK_CLIENT.secret)
        .await
        .expect("token after rotation");
    assert_eq!(jwt_header(&rotated)["kid"], json!(rotation.new_kid));
    assert_ne!(rotation.new_kid, first_kid);

    let answer = realm.introspect(&rotated, ZOOKEEPER).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], "zk-client");
    // The old key stays published after a rotation, so tokens it signed stay valid ...
    let answer = realm.introspect(&token, ZOOKEEPER).await;
    assert_eq!(answer["active"], true, "{answer}");
    // ... until it is retired.
    realm.retire_key(&first_kid).await;
    let jwks: serde_json::Value = reqwest::get(realm.jwks_uri())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(
        !kids.contains(&first_kid.as_str()),
        "retired kid still in JWKS: {kids:?}"
    );
    assert!(kids.contains(&rotation.new_kid.as_str()), "{kids:?}");
    let answer = realm.introspect(&token, ZOOKEEPER).await;
    assert_eq!(answer["active"], false, "{answer}");

    realm.disable_client(ZK_CLIENT.client_id).await;
    let answer = realm.introspect(&rotated, ZOOKEEPER).await;
    assert_eq!(answer["active"], false, "{answer}");
    match realm
        .client_credentials_token(ZK_CLIENT.client_id, ZK_CLIENT.secret)
        .await
    {
        Err(TokenError::Rejected { status, error, .. }) => {
            assert_eq!((status, error.as_str()), (401, "invalid_client"));
        }
        other => panic!("a disabled client got {other:?}"),
    }
}

#[tokio::test]
async fn keycloak_realm_serves_users_other_clients_and_short_lifespans() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("fixture-users").await;

    let token = realm
        .password_token(ALICE.username, ALICE.password, ZK_CLIENT)
        .await
        .expect("password token");
    let claims = jwt_claims(&token);
    assert_eq!(claims["preferred_username"], "alice");
    assert!(aud_contains(&claims, AUDIENCE), "aud: {}", claims["aud"]);
    assert_eq!(claims["realm_access"]["roles"], json!(["zk-admin"]));

    let other = realm
        .client_credentials_token(OTHER_CLIENT.client_id, OTHER_CLIENT.secret)
        .await
        .expect("other-client token");
    let claims = jwt_claims(&other);
    assert!(!aud_contains(&claims, AUDIENCE), "aud: {}", claims["aud"]);
    assert_eq!(claims["preferred_username"], "service-account-other-client");

    realm.set_token_lifespan(60).await;
    let short = realm
        .client_credentials_token(ZK_CLIENT.client_id, ZK_CLIENT.secret)
        .await
        .expect("token");
    let claims = jwt_claims(&short);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );

    match realm
        .client_credentials_token(ZK_CLIENT.client_id, "wrong-secret")
        .await
    {
        Err(TokenError::Rejected { status, error, .. }) => {
            assert_eq!((status, error.as_str()), (401, "unauthorized_client"));
        }
        other => panic!("a wrong secret got {other:?}"),
    }
}

#[tokio::test]
async fn oidc_provider_issues_rs256_jwt_with_audience_and_introspects_opaque_tokens() {
    let Some(op) = OidcProvider::start().await else {
        return;
    };
    let issuer = op.issuer().to_owned();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
    let discovery: serde_json::Value = reqwest::get(op.discovery_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], json!(issuer));
    assert_eq!(discovery["jwks_uri"], json!(op.jwks_uri()));
    assert_eq!(
        discovery["introspection_endpoint"],
        json!(op.introspection_endpoint())
    );

    let token = op.jwt_token().await.expect("JWT access token");
    let header = jwt_header(&token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["kid"], json!(op.info().kid));
    let claims = jwt_claims(&token);
    assert_eq!(claims["iss"], json!(issuer));
    assert_eq!(claims["aud"], "zookeeper");
    assert_eq!(claims["client_id"], "zk-client");
    assert_eq!(claims["scope"], "zk");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    let opaque = op.opaque_token().await.expect("opaque access token");
    assert_eq!(opaque.split('.').count(), 1, "not opaque: {opaque}");
    let answer = op.introspect(&opaque).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["aud"], "zookeeper");
    assert_eq!(answer["client_id"], "zk-client");
    let answer = op.introspect("not-a-token").await;
    assert_eq!(answer["active"], false, "{answer}");
}
