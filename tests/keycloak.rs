//! End-to-end: real Keycloak tokens through the core (`Core` + `ClientSession` +
//! `ServerSession`) and through the daemon binary, each test in its own realm.
//!
//! Needs a running Keycloak (`scripts/keycloak.sh start`); skipped without one unless
//! `SASLGATE_REQUIRE_KEYCLOAK=1`. Nothing waits on wall-clock time: expiry is tested with the
//! validator's clock ([`Core::new_with_clock`]).

mod common;
#[path = "common/daemon.rs"]
mod daemon_fixture;
#[path = "common/login.rs"]
mod login;

use base64::Engine as _;
use common::keycloak::{
    Keycloak, Realm, TokenError, ALICE, AUDIENCE, OTHER_CLIENT, ZK_CLIENT, ZOOKEEPER,
};
use common::{jwt_claims, jwt_header};
use daemon_fixture::{Answer, Daemon};
use login::{core, core_with_clock, exp_of, login, tamper, SERVER_NAME, SERVICE};
use saslgate::validate::{Clock, ValidationMethod};
use saslgate::{ClientSession, Rejection};
use secrecy::SecretString;
use serde_json::json;

/// A configuration trusting `issuer` as a Keycloak issuer with discovery, audience
/// `zookeeper` and `typ = "Bearer"`, for service `zookeeper`. `issuer_extra` goes at the end
/// of the `[[issuers]]` entry (keys, then sub-tables such as `[issuers.introspection]`),
/// `extra` after the service (`[cache]`, `[[principal.rules]]`, …).
fn config(issuer: &str, issuer_extra: &str, extra: &str) -> String {
    format!(
        r#"
[[issuers]]
name = "kc"
kind = "keycloak"
issuer = "{issuer}"
discovery = true
audiences = ["{AUDIENCE}"]
typ = "Bearer"
{issuer_extra}

[[services]]
name = "{SERVICE}"
issuers = ["kc"]

{extra}
"#
    )
}

/// `[issuers.introspection]` authenticating as the realm's `zookeeper` client, its secret in
/// the file `secret`, after `validation = "<mode>"`.
fn introspection(mode: &str, secret: &tempfile::NamedTempFile) -> String {
    format!(
        "validation = \"{mode}\"\n[issuers.introspection]\nclient_id = \"{}\"\nclient_secret_file = \"{}\"\n",
        ZOOKEEPER.client_id,
        secret.path().display()
    )
}

/// A temporary file holding the `zookeeper` client's secret.
fn zookeeper_secret_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), format!("{}\n", ZOOKEEPER.secret)).expect("write secret");
    file
}

async fn zk_client_token(realm: &Realm) -> String {
    realm
        .client_credentials_token(ZK_CLIENT.client_id, ZK_CLIENT.secret)
        .await
        .expect("zk-client token")
}

#[tokio::test]
async fn a_client_credentials_token_logs_in_as_its_service_account() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-cc").await;
    let core = core(&config(&realm.issuer(), "", "")).await;
    let token = zk_client_token(&realm).await;

    let auth = login(&core, &token, None).await.expect("accepted");
    assert_eq!(auth.authorization_id, "service-account-zk-client");
    assert_eq!(auth.principal.authzid, "service-account-zk-client");
    assert_eq!(auth.principal.groups, vec!["zk-admin".to_string()]);
    assert_eq!(
        auth.token.roles,
        vec!["zk-admin".to_string(), "zookeeper:znode-writer".to_string()]
    );
    assert_eq!(auth.token.issuer, "kc");
    assert_eq!(auth.token.iss, realm.issuer());
    assert_eq!(
        auth.token.kid.as_deref(),
        jwt_header(&token)["kid"].as_str()
    );
    assert_eq!(auth.token.alg, Some("RS256"));
    assert_eq!(auth.token.method, ValidationMethod::Jwt);
    assert_eq!(auth.token.expires_at, exp_of(&token));
    assert_eq!(
        auth.token.subject,
        jwt_claims(&token)["sub"].as_str().expect("sub")
    );

    // The same token again: the cached verification gives the same answer.
    let again = login(&core, &token, None).await.expect("accepted again");
    assert_eq!(again.authorization_id, "service-account-zk-client");

    // Asking for another identity without a proxy rule is refused.
    let refused = login(&core, &token, Some("alice"))
        .await
        .map(|a| a.authorization_id);
    assert_eq!(
        refused,
        Err(Rejection::AuthzidNotAllowed {
            requested: "alice".into(),
            authenticated: "service-account-zk-client".into(),
        })
    );
}

#[tokio::test]
async fn a_principal_rule_maps_the_authorized_party() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-rule").await;
    let rules = r#"
[[principal.rules]]
issuer = "kc"
match = { "resource_access.zookeeper.roles" = "znode-writer" }
authzid = "kc-{azp}"
groups = ["realm_access.roles", "resource_access.zookeeper.roles"]
"#;
    let core = core(&config(&realm.issuer(), "", rules)).await;
    let token = zk_client_token(&realm).await;
    let auth = login(&core, &token, None).await.expect("accepted");
    assert_eq!(auth.authorization_id, "kc-zk-client");
    assert_eq!(
        auth.principal.groups,
        vec!["zk-admin".to_string(), "znode-writer".to_string()]
    );

    // other-client's service account has no znode-writer role: the rule does not apply, and
    // its token is refused anyway for its audience.
    let other = realm
        .client_credentials_token(OTHER_CLIENT.client_id, OTHER_CLIENT.secret)
        .await
        .expect("other-client token");
    assert!(matches!(
        login(&core, &other, None).await,
        Err(Rejection::AudienceMismatch { .. })
    ));
}

#[tokio::test]
async fn a_user_token_maps_to_the_username_with_realm_roles_as_groups() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-user").await;
    let core = core(&config(&realm.issuer(), "", "")).await;
    let token = realm
        .password_token(ALICE.username, ALICE.password, ZK_CLIENT)
        .await
        .expect("alice's token");
    let auth = login(&core, &token, None).await.expect("accepted");
    assert_eq!(auth.authorization_id, "alice");
    assert_eq!(auth.principal.groups, vec!["zk-admin".to_string()]);
    assert!(
        auth.token
            .roles
            .contains(&"zookeeper:znode-writer".to_string()),
        "{:?}",
        auth.token.roles
    );
    // Asking for her own name as authzid is the same identity.
    let own = login(&core, &token, Some("alice")).await.expect("accepted");
    assert_eq!(own.authorization_id, "alice");
}

#[tokio::test]
async fn a_token_for_another_client_is_refused_for_its_audience() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-aud").await;
    let core = core(&config(&realm.issuer(), "", "")).await;
    let token = realm
        .client_credentials_token(OTHER_CLIENT.client_id, OTHER_CLIENT.secret)
        .await
        .expect("other-client token");
    assert_eq!(
        login(&core, &token, None).await.map(|a| a.authorization_id),
        Err(Rejection::AudienceMismatch {
            found: vec![],
            expected: vec![AUDIENCE.to_string()],
        })
    );
}

#[tokio::test]
async fn a_token_of_another_realm_is_refused_as_unknown_issuer() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let trusted = kc.create_realm("e2e-realm-a").await;
    let other = kc.create_realm("e2e-realm-b").await;
    let core = core(&config(&trusted.issuer(), "", "")).await;
    let token = zk_client_token(&other).await;
    assert_eq!(
        login(&core, &token, None).await.map(|a| a.authorization_id),
        Err(Rejection::UnknownIssuer(other.issuer()))
    );
    // The trusted realm's own token passes the same core.
    let own = zk_client_token(&trusted).await;
    assert!(login(&core, &own, None).await.is_ok());
}

#[tokio::test]
async fn an_expired_token_is_refused_once_past_the_leeway() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-exp").await;
    realm.set_token_lifespan(60).await;
    let token = zk_client_token(&realm).await;
    let exp = exp_of(&token);
    let claims = jwt_claims(&token);
    assert_eq!(
        claims["exp"]
            .as_u64()
            .zip(claims["iat"].as_u64())
            .map(|(e, i)| e - i),
        Some(60)
    );
    let text = config(&realm.issuer(), "leeway_secs = 5", "");

    // One second before `exp + leeway`: still accepted.
    let core = core_with_clock(&text, Clock::from_fn(move || exp + 4)).await;
    assert!(login(&core, &token, None).await.is_ok());

    // At `exp + leeway`: expired (a fresh core, so nothing is cached).
    let core = core_with_clock(&text, Clock::from_fn(move || exp + 5)).await;
    assert_eq!(
        login(&core, &token, None).await.map(|a| a.authorization_id),
        Err(Rejection::ExpiredToken {
            exp,
            now: exp + 5,
            leeway_secs: 5,
        })
    );
}

#[tokio::test]
async fn a_tampered_token_is_refused_as_bad_signature() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-tamper").await;
    let core = core(&config(&realm.issuer(), "", "")).await;
    let token = zk_client_token(&realm).await;
    let forged = tamper(&token, "preferred_username", json!("admin"));
    assert_eq!(
        login(&core, &forged, None)
            .await
            .map(|a| a.authorization_id),
        Err(Rejection::BadSignature)
    );
    // A forged signature on the real payload is refused the same way.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut sig = engine.decode(&parts[2]).expect("signature");
    sig[0] ^= 0x01;
    parts[2] = engine.encode(sig);
    assert_eq!(
        login(&core, &parts.join("."), None)
            .await
            .map(|a| a.authorization_id),
        Err(Rejection::BadSignature)
    );
    // The untouched token still passes.
    assert!(login(&core, &token, None).await.is_ok());
}

#[tokio::test]
async fn an_issuer_seen_under_another_host_name_needs_an_alias() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-alias").await;
    let issued_as = realm.issuer();
    assert!(issued_as.starts_with("http://127.0.0.1:"), "{issued_as}");
    let configured = issued_as.replacen("127.0.0.1", "localhost", 1);
    let token = zk_client_token(&realm).await;
    assert_eq!(jwt_claims(&token)["iss"], json!(issued_as));

    let without = core(&config(&configured, "", "")).await;
    assert_eq!(
        login(&without, &token, None)
            .await
            .map(|a| a.authorization_id),
        Err(Rejection::UnknownIssuer(issued_as.clone()))
    );

    let with = core(&config(
        &configured,
        &format!("aliases = [\"{issued_as}\"]"),
        "",
    ))
    .await;
    let auth = login(&with, &token, None)
        .await
        .expect("accepted via alias");
    assert_eq!(auth.authorization_id, "service-account-zk-client");
    assert_eq!(auth.token.iss, issued_as);
}

#[tokio::test]
async fn introspection_accepts_a_token_and_refuses_it_once_its_client_is_disabled() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-introspect").await;
    let secret = zookeeper_secret_file();
    let text = config(
        &realm.issuer(),
        &introspection("introspection", &secret),
        "[cache]\nintrospection_ttl_secs = 0\n",
    );
    let core = core(&text).await;
    let token = zk_client_token(&realm).await;
    let auth = login(&core, &token, None).await.expect("accepted");
    assert_eq!(auth.authorization_id, "service-account-zk-client");
    assert_eq!(auth.principal.groups, vec!["zk-admin".to_string()]);
    assert_eq!(auth.token.method, ValidationMethod::Introspection);
    assert_eq!(auth.token.kid, None);

    realm.disable_client(ZK_CLIENT.client_id).await;
    match realm
        .client_credentials_token(ZK_CLIENT.client_id, ZK_CLIENT.secret)
        .await
    {
        Err(TokenError::Rejected { status, error, .. }) => {
            assert_eq!((status, error.as_str()), (401, "invalid_client"));
        }
        other => panic!("a disabled client got {other:?}"),
    }
    // The positive result is not reused (introspection_ttl_secs = 0): Keycloak now reports
    // the token inactive.
    assert_eq!(
        login(&core, &token, None).await.map(|a| a.authorization_id),
        Err(Rejection::InactiveToken)
    );
}

#[tokio::test]
async fn hybrid_mode_accepts_a_valid_token_and_sees_its_revocation() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-hybrid").await;
    let secret = zookeeper_secret_file();
    // Hybrid mode re-checks `active` every `introspection.recheck_secs`: 0 re-checks each time.
    let text = config(
        &realm.issuer(),
        &format!("{}recheck_secs = 0\n", introspection("hybrid", &secret)),
        "",
    );
    let core = core(&text).await;
    let token = zk_client_token(&realm).await;
    let auth = login(&core, &token, None).await.expect("accepted");
    assert_eq!(auth.authorization_id, "service-account-zk-client");
    assert_eq!(auth.token.method, ValidationMethod::Hybrid);
    assert_eq!(
        auth.token.kid.as_deref(),
        jwt_header(&token)["kid"].as_str()
    );

    realm.disable_client(ZK_CLIENT.client_id).await;
    assert_eq!(
        login(&core, &token, None).await.map(|a| a.authorization_id),
        Err(Rejection::InactiveToken)
    );
}

/// The daemon's configuration for `realm`: a socket in the fixture's directory, plus
/// [`config`].
fn daemon_config(socket: &std::path::Path, realm: &Realm) -> String {
    format!(
        r#"
[daemon]
socket = "{}"
socket_mode = "0660"
shutdown_grace_secs = 5

[log]
filter = "info"
{}"#,
        socket.display(),
        config(&realm.issuer(), "", "")
    )
}

/// One login over the daemon's HTTP API: create a session, send the initial response built
/// by a [`ClientSession`] for `token`, and, after an error challenge, the client's `%x01`.
/// Returns the last step's answer.
async fn daemon_login(daemon: &Daemon, token: &str) -> Answer {
    let created = daemon
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &json!({"mechanism": "OAUTHBEARER", "service": SERVICE, "server_name": SERVER_NAME}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    let mut client = ClientSession::new(
        SecretString::from(token.to_owned()),
        None,
        Some(SERVER_NAME.to_owned()),
        Some(2181),
        Vec::new(),
    );
    let engine = base64::engine::general_purpose::STANDARD;
    let initial = client.initial_response().expect("initial response");
    let path = format!("/v1/sasl/server/sessions/{id}/step");
    let answer = daemon
        .json(
            "POST",
            &path,
            &json!({ "response": engine.encode(initial) }),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    if answer.json()["complete"] == json!(true) {
        return answer;
    }
    let challenge = engine
        .decode(answer.json()["challenge"].as_str().expect("challenge"))
        .expect("base64 challenge");
    let reply = client.step(&challenge).expect("client step");
    daemon
        .json(
            "POST",
            &path,
            &json!({ "response": engine.encode(reply.response) }),
        )
        .await
}

#[tokio::test]
async fn the_daemon_accepts_the_first_token_signed_by_a_rotated_key() {
    let Some(kc) = Keycloak::from_env() else {
        return;
    };
    let realm = kc.create_realm("e2e-rotate").await;
    let daemon = Daemon::start_with(|socket| daemon_config(socket, &realm)).await;

    let before = zk_client_token(&realm).await;
    let first = daemon_login(&daemon, &before).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let body = first.json();
    assert_eq!(body["success"], json!(true), "{body}\n{}", daemon.log());
    assert_eq!(body["authorization_id"], json!("service-account-zk-client"));
    assert_eq!(body["groups"], json!(["zk-admin"]));

    let rotation = realm.rotate_keys().await;
    realm.retire_key(&rotation.old_kid).await;
    let after = zk_client_token(&realm).await;
    assert_eq!(jwt_header(&after)["kid"], json!(rotation.new_kid));

    // The daemon has never seen the new kid: it refetches the JWKS inside this request.
    let second = daemon_login(&daemon, &after).await;
    let body = second.json();
    assert_eq!(body["success"], json!(true), "{body}\n{}", daemon.log());
    assert_eq!(body["authorization_id"], json!("service-account-zk-client"));
    assert_eq!(body["expires_at"], json!(exp_of(&after)));
    let log = daemon.log();
    assert!(
        log.contains("unknown kid: refetching JWKS within the request"),
        "{log}"
    );
}
