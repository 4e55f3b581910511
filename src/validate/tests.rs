//! Validator tests against a real JWKS server on loopback (axum), with keys generated per test.

use super::*;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

#[path = "../../tests/common/keys.rs"]
mod keys;
use keys::{JwksServer, TestKey};

const ISS: &str = "http://127.0.0.1:9/realms/test";
const NOW: u64 = 1_800_000_000;

fn claims() -> serde_json::Value {
    serde_json::json!({
        "iss": ISS, "sub": "u-1", "aud": ["zookeeper", "account"], "exp": NOW + 300, "iat": NOW - 10,
        "nbf": NOW - 10, "typ": "Bearer", "preferred_username": "alice",
        "realm_access": {"roles": ["zk-admin"]}, "resource_access": {"zookeeper": {"roles": ["writer"]}}
    })
}

fn config(jwks_base: &str, extra: &str) -> Arc<Config> {
    let text = format!(
        r#"
[daemon]
socket = "/tmp/unused.sock"
[[issuers]]
name = "kc"
kind = "keycloak"
issuer = "{ISS}"
aliases = ["http://localhost:9/realms/test"]
discovery = false
jwks_uri = "{jwks_base}/jwks"
audiences = ["zookeeper"]
typ = "Bearer"
{extra}
[[services]]
name = "zookeeper"
issuers = ["kc"]
[[services]]
name = "hdfs"
issuers = ["kc"]
audiences = ["hdfs"]
[[services]]
name = "admin"
issuers = ["kc"]
required_roles = ["zookeeper:admin"]
"#
    );
    Arc::new(Config::from_toml_str(&text, "<test>").expect("test config is valid"))
}

async fn validator(jwks_base: &str, extra: &str) -> Validator {
    let cfg = config(jwks_base, extra);
    let http = HttpClient::new(&cfg).expect("http client");
    Validator::new(cfg, http)
        .expect("validator")
        .with_clock(Clock::from_fn(|| NOW))
}

async fn setup(keys: &[&TestKey]) -> (JwksServer, Validator) {
    let (server, base) = JwksServer::start().await;
    server.set_keys(&keys.iter().map(|k| &k.jwk).collect::<Vec<_>>());
    let v = validator(&base, "").await;
    (server, v)
}

fn rejection(r: Result<Arc<VerifiedToken>, ValidateError>) -> Rejection {
    match r {
        Err(ValidateError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn accepts_rs256_es256_and_eddsa_tokens_and_maps_the_keycloak_user() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let key = TestKey::generate(alg, Some("k1"));
        let (_s, v) = setup(&[&key]).await;
        let t = v
            .validate("zookeeper", &key.sign(&claims()))
            .await
            .expect("valid token");
        assert_eq!(t.issuer, "kc");
        assert_eq!(t.subject, "u-1");
        assert_eq!(t.principal.authzid, "alice");
        assert_eq!(t.kid.as_deref(), Some("k1"));
        assert_eq!(t.expires_at, NOW + 300);
        assert_eq!(t.roles, vec!["zk-admin", "zookeeper:writer"]);
    }
}

#[tokio::test]
async fn rejects_alg_none() {
    let key = TestKey::generate(Algorithm::RS256, Some("k1"));
    let (_s, v) = setup(&[&key]).await;
    let token = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "kid": "k1"})),
        b64(&claims())
    );
    assert_eq!(
        rejection(v.validate("zookeeper", &token).await),
        Rejection::UnsupportedAlgorithm("none".into())
    );
}

#[tokio::test]
async fn rejects_hs256_signed_with_the_rsa_public_key() {
    let key = TestKey::generate(Algorithm::RS256, Some("k1"));
    let (_s, v) = setup(&[&key]).await;
    // The classic confusion attack: HMAC keyed with the public key bytes.
    let public = serde_json::to_vec(&key.jwk).expect("jwk json");
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("k1".into());
    let token = jsonwebtoken::encode(
        &h,
        &claims(),
        &EncodingKey::from_secret(&public).expect("hmac key"),
    )
    .expect("sign");
    assert_eq!(
        rejection(v.validate("zookeeper", &token).await),
        Rejection::UnsupportedAlgorithm("HS256".into())
    );
}

#[tokio::test]
async fn rejects_unknown_crit_and_key_injection_headers_without_fetching_them() {
    let key = TestKey::generate(Algorithm::RS256, Some("k1"));
    let (s, v) = setup(&[&key]).await;
    let (trap, trap_base) = JwksServer::start().await;
    trap.set_keys(&[&key.jwk]);
    let payload = b64(&claims());
    for (name, extra) in [
        (
            "jku",
            serde_json::json!({"jku": format!("{trap_base}/jwks")}),
        ),
        (
            "x5u",
            serde_json::json!({"x5u": format!("{trap_base}/jwks")}),
        ),
        ("jwk", serde_json::json!({"jwk": key.jwk})),
        ("x5c", serde_json::json!({"x5c": ["MIIB"]})),
    ] {
        let mut header = serde_json::json!({"alg": "RS256", "kid": "k1"});
        header
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().cloned().unwrap_or_default());
        let token = format!("{}.{payload}.c2ln", b64(&header));
        assert_eq!(
            rejection(v.validate("zookeeper", &token).await),
            Rejection::ForbiddenHeader(name)
        );
    }
    let token = format!(
        "{}.{payload}.c2ln",
        b64(&serde_json::json!({"alg": "RS256", "kid": "k1", "crit": ["exp-ext"], "exp-ext": 1}))
    );
    assert_eq!(
        rejection(v.validate("zookeeper", &token).await),
        Rejection::UnknownCritical(vec!["exp-ext".into()])
    );
    assert_eq!(trap.hits(), 0, "a header URL was fetched");
    assert_eq!(
        s.hits(),
        0,
        "the JWKS was fetched for a token refused by its header"
    );
}

#[tokio::test]
async fn enforces_the_token_size_limit_and_accepts_a_group_heavy_token() {
    let key = TestKey::generate(Algorithm::RS256, Some("k1"));
    let (_s, v) = setup(&[&key]).await;
    let huge = "a".repeat(1024 * 1024);
    assert_eq!(
        rejection(v.validate("zookeeper", &huge).await),
        Rejection::TokenTooLarge {
            size: 1024 * 1024,
            limit: 64 * 1024
        }
    );
    let mut c = claims();
    let groups: Vec<String> = (0..400)
        .map(|i| format!("/org/department-{i:04}/team"))
        .collect();
    c["groups"] = serde_json::json!(groups);
    let token = key.sign(&c);
    assert!(token.len() > 12 * 1024, "token is {} bytes", token.len());
    assert_eq!(
        v.validate("zookeeper", &token)
            .await
            .expect("12 KiB token accepted")
            .principal
            .authzid,
        "alice"
    );
}

#[tokio::test]
async fn rejects_a_token_without_kid_when_several_keys_fit() {
    let a = TestKey::generate(Algorithm::RS256, Some("a"));
    let b = TestKey::generate(Algorithm::RS256, Some("b"));
    let (_s, v) = setup(&[&a, &b]).await;
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(), &a.enc).expect("sign");
    assert_eq!(
        rejection(v.validate("zookeeper", &token).await),
        Rejection::NoKid
    );
}

#[tokio::test]
async fn accepts_a_token_without_kid_when_one_key_fits() {
    let a = TestKey::generate(Algorithm::RS256, None);
    let (_s, v) = setup(&[&a]).await;
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(), &a.enc).expect("sign");
    assert_eq!(
        v.validate("zookeeper", &token)
            .await
            .expect("valid")
            .principal
            .authzid,
        "alice"
    );
}

#[tokio::test]
async fn skips_encryption_keys_and_uses_the_signing_key() {
    let sig = TestKey::generate(Algorithm::RS256, Some("sig"));
    let mut enc = TestKey::generate(Algorithm::RS256, Some("enc"));
    enc.jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Encryption);
    let (_s, v) = setup(&[&enc, &sig]).await;
    assert!(v.validate("zookeeper", &sig.sign(&claims())).await.is_ok());
    // A token claiming the encryption key's kid finds no signing key under it.
    assert_eq!(
        rejection(v.validate("zookeeper", &enc.sign(&claims())).await),
        Rejection::UnknownKid("enc".into())
    );
}

#[tokio::test]
async fn rejects_tampered_payload() {
    let key = TestKey::generate(Algorithm::ES256, Some("k1"));
    let (_s, v) = setup(&[&key]).await;
    let token = key.sign(&claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut c = claims();
    c["preferred_username"] = "mallory".into();
    parts[1] = b64(&c);
    assert_eq!(
        rejection(v.validate("zookeeper", &parts.join(".")).await),
        Rejection::BadSignature
    );
}

#[tokio::test]
async fn applies_one_leeway_to_exp_nbf_and_iat() {
    let key = TestKey::generate(Algorithm::RS256, Some("k1"));
    let (_s, v) = setup(&[&key]).await;
    let with = |k: &str, val: u64| {
        let mut c = claims();
        c[k] = val.into();
        key.sign(&c)
    };
    // 30 s leeway (the default): 20 s past exp is accepted, 31 s is not.
    assert!(v
        .validate("zookeeper", &with("exp", NOW - 20))
        .await
        .is_ok());
    assert_eq!(
        rejection(v.validate("zookeeper", &with("exp", NOW - 31)).await),
        Rejection::ExpiredToken {
            exp: NOW - 31,
            now: NOW,
            leeway_secs: 30
        }
    );
    assert_eq!(
        rejection(v.validate("zookeeper", &with("nbf", NOW + 60)).await),
        Rejection::NotYetValid {
            nbf: NOW + 60,
            now: NOW
        }
    );
    assert_eq!(
        rejection(v.validate("zookeeper", &with("iat", NOW + 60)).await),
        Rejection::IssuedInFuture {
            iat: NOW + 60,
            now: NOW
        }
    );
}

#[tokio::test]
async fn checks_issuer_aliases_audience_typ_and_roles() {
    let key = TestKey::generate(Algorithm::RS256, Some("k1"));
    let (_s, v) = setup(&[&key]).await;
    let mut c = claims();
    c["iss"] = "http://localhost:9/realms/test".into();
    assert!(
        v.validate("zookeeper", &key.sign(&c)).await.is_ok(),
        "alias accepted"
    );
    c["iss"] = "http://127.0.0.1:9/realms/other".into();
    assert_eq!(
        rejection(v.validate("zookeeper", &key.sign(&c)).await),
        Rejection::UnknownIssuer("http://127.0.0.1:9/realms/other".into())
    );
    assert_eq!(
        rejection(v.validate("hdfs", &key.sign(&claims())).await),
        Rejection::AudienceMismatch {
            found: vec!["zookeeper".into(), "account".into()],
            expected: vec!["hdfs".into()]
        }
    );
    let mut c = claims();
    c["aud"] = "zookeeper".into();
    assert!(
        v.validate("zookeeper", &key.sign(&c)).await.is_ok(),
        "aud as a string"
    );
    c["typ"] = "ID".into();
    assert_eq!(
        rejection(v.validate("zookeeper", &key.sign(&c)).await),
        Rejection::TypMismatch {
            found: "ID".into(),
            expected: "Bearer".into()
        }
    );
    assert_eq!(
        rejection(v.validate("admin", &key.sign(&claims())).await),
        Rejection::InsufficientScope("one of the roles [\"zookeeper:admin\"] is required".into())
    );
    assert_eq!(
        rejection(v.validate("nope", &key.sign(&claims())).await),
        Rejection::UnknownService("nope".into())
    );
}

#[tokio::test]
async fn refetches_jwks_within_the_request_after_key_rotation() {
    let old = TestKey::generate(Algorithm::RS256, Some("old"));
    let (s, v) = setup(&[&old]).await;
    assert!(v.validate("zookeeper", &old.sign(&claims())).await.is_ok());
    assert_eq!(s.hits(), 1);
    let new = TestKey::generate(Algorithm::RS256, Some("new"));
    s.set_keys(&[&old.jwk, &new.jwk]);
    let t = v
        .validate("zookeeper", &new.sign(&claims()))
        .await
        .expect("first login with the new key succeeds");
    assert_eq!(t.kid.as_deref(), Some("new"));
    assert_eq!(s.hits(), 2);
    // A second unknown kid within the rate-limit interval does not refetch.
    let stranger = TestKey::generate(Algorithm::RS256, Some("stranger"));
    assert_eq!(
        rejection(v.validate("zookeeper", &stranger.sign(&claims())).await),
        Rejection::UnknownKid("stranger".into())
    );
    assert_eq!(s.hits(), 2);
}

#[tokio::test]
async fn keeps_last_good_keys_when_the_jwks_endpoint_breaks() {
    let key = TestKey::generate(Algorithm::RS256, Some("k1"));
    let (s, v) = setup(&[&key]).await;
    assert!(v.validate("zookeeper", &key.sign(&claims())).await.is_ok());
    let jwks = v.issuers[0].clone();
    for (status, body, ctype) in [
        (200, "<html>maintenance</html>", "text/html"),
        (500, "oops", "text/plain"),
        (200, "{\"keys\": []}", "application/json"),
    ] {
        s.set_raw(status, body, ctype);
        let err = jwks
            .refresh(&v.http, None)
            .await
            .expect_err("broken JWKS refused");
        assert!(matches!(err, ValidateError::Internal(_)), "{err:?}");
        let mut c = claims();
        c["jti"] = status.to_string().into(); // a different token, so the cache is not used
        c["sub"] = body.into();
        assert!(
            v.validate("zookeeper", &key.sign(&c)).await.is_ok(),
            "last-good keys still used after {status} {ctype}"
        );
    }
    assert!(jwks.status().last_error.is_some());
}

#[tokio::test]
async fn serves_repeated_validations_from_the_cache() {
    let key = TestKey::generate(Algorithm::RS256, Some("k1"));
    let (_s, v) = setup(&[&key]).await;
    let token = key.sign(&claims());
    assert!(v.validate_cached("zookeeper", &token).is_none());
    let first = v.validate("zookeeper", &token).await.expect("valid");
    let cached = v
        .validate_cached("zookeeper", &token)
        .expect("cached")
        .expect("valid");
    assert!(Arc::ptr_eq(&first, &cached));
    // The policy still applies on a cache hit.
    assert!(matches!(
        v.validate_cached("hdfs", &token),
        Some(Err(ValidateError::Rejected(
            Rejection::AudienceMismatch { .. }
        )))
    ));
}

#[test]
fn parses_jwks_skipping_what_cannot_sign() {
    let rsa = TestKey::generate(Algorithm::RS256, Some("r"));
    let doc = serde_json::json!({"keys": [
        rsa.jwk,
        {"kty": "oct", "k": "c2VjcmV0", "kid": "h"},
        {"kty": "RSA", "use": "enc", "kid": "e", "n": "AQAB", "e": "AQAB", "alg": "RSA-OAEP"},
        {"kty": "weird", "kid": "w"},
    ]});
    let (keys, skipped) =
        jwks::parse_jwks(doc.to_string().as_bytes(), &[Algorithm::RS256]).expect("valid document");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid.as_deref(), Some("r"));
    assert_eq!(skipped.len(), 3);
    assert!(jwks::parse_jwks(b"<html></html>", &[Algorithm::RS256]).is_err());
}

#[test]
fn every_rejection_names_a_known_check() {
    let samples = [
        Rejection::UnknownService("s".into()),
        Rejection::TokenTooLarge { size: 2, limit: 1 },
        Rejection::MalformedToken("m".into()),
        Rejection::UnsupportedAlgorithm("none".into()),
        Rejection::ForbiddenHeader("jku"),
        Rejection::UnknownCritical(vec!["x".into()]),
        Rejection::UnknownIssuer("i".into()),
        Rejection::UnknownKid("k".into()),
        Rejection::NoKid,
        Rejection::BadKey("b".into()),
        Rejection::BadSignature,
        Rejection::MissingClaim("sub".into()),
        Rejection::ExpiredToken {
            exp: 1,
            now: 2,
            leeway_secs: 0,
        },
        Rejection::NotYetValid { nbf: 2, now: 1 },
        Rejection::IssuedInFuture { iat: 2, now: 1 },
        Rejection::TypMismatch {
            found: "a".into(),
            expected: "b".into(),
        },
        Rejection::InactiveToken,
        Rejection::UnmappedIdentity("u".into()),
        Rejection::AudienceMismatch {
            found: vec![],
            expected: vec![],
        },
        Rejection::InsufficientScope("s".into()),
    ];
    for r in &samples {
        assert!(
            CHECKS.contains(&r.failed_check()),
            "{r:?} names {}",
            r.failed_check()
        );
    }
    assert_eq!(Rejection::BadSignature.failed_check(), "signature");
    assert_eq!(
        Rejection::MalformedMessage("m".into()).failed_check(),
        "sasl"
    );
    // The checks are listed in the order the validator runs them.
    let pos = |c: &str| CHECKS.iter().position(|x| *x == c).expect("known check");
    assert!(pos("signature") < pos("time") && pos("time") < pos("audience"));
}

/// An RFC 7662 endpoint on loopback whose `active` answer the test switches.
async fn introspection_server(active: Arc<std::sync::atomic::AtomicBool>) -> String {
    let app = axum::Router::new().route(
        "/introspect",
        axum::routing::post(move || {
            let active = active.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                let body = if active {
                    let mut c = claims();
                    c["active"] = serde_json::json!(true);
                    c
                } else {
                    serde_json::json!({"active": false})
                };
                axum::Json(body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/introspect")
}

#[tokio::test]
async fn an_introspected_token_is_not_reused_past_the_introspection_ttl() {
    let active = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let endpoint = introspection_server(active.clone()).await;
    let extra = format!(
        "validation = \"introspection\"\n[issuers.introspection]\nendpoint = \"{endpoint}\"\n\
         client_id = \"zookeeper\"\nclient_secret = \"s\"\n[cache]\nintrospection_ttl_secs = 0\n"
    );
    let v = validator("http://127.0.0.1:9", &extra).await;
    let ok = v.validate("zookeeper", "opaque-1").await.expect("active");
    assert_eq!(
        (ok.principal.authzid.as_str(), ok.method),
        ("alice", ValidationMethod::Introspection)
    );
    assert!(v.validate_cached("zookeeper", "opaque-1").is_none());
    active.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        rejection(v.validate("zookeeper", "opaque-1").await),
        Rejection::InactiveToken
    );
}

#[tokio::test]
async fn hybrid_mode_rechecks_active_every_recheck_secs() {
    let key = TestKey::generate(Algorithm::RS256, Some("k1"));
    let (server, base) = JwksServer::start().await;
    server.set_keys(&[&key.jwk]);
    for (recheck_secs, still_accepted) in [(3600, true), (0, false)] {
        let active = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let endpoint = introspection_server(active.clone()).await;
        let extra = format!(
            "validation = \"hybrid\"\n[issuers.introspection]\nendpoint = \"{endpoint}\"\n\
             client_id = \"zookeeper\"\nclient_secret = \"s\"\nrecheck_secs = {recheck_secs}\n"
        );
        let v = validator(&base, &extra).await;
        let token = key.sign(&claims());
        let ok = v.validate("zookeeper", &token).await.expect("active");
        assert_eq!(ok.method, ValidationMethod::Hybrid);
        active.store(false, std::sync::atomic::Ordering::SeqCst);
        let again = v.validate("zookeeper", &token).await;
        if still_accepted {
            assert!(again.is_ok(), "recheck_secs = {recheck_secs}: {again:?}");
        } else {
            assert_eq!(
                rejection(again),
                Rejection::InactiveToken,
                "recheck_secs = {recheck_secs}"
            );
        }
    }
}

#[test]
fn usable_keys_reports_what_the_validator_would_load_and_why_the_rest_is_skipped() {
    let doc = serde_json::json!({"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "h"},
        {"kty": "RSA", "kid": "tiny", "n": "AQ", "e": "AQAB"},
        {"kty": "EC", "crv": "P-256", "kid": "bad-x", "x": "AQ", "y": "AQ"},
    ]});
    let (usable, skipped) = usable_keys(
        doc.to_string().as_bytes(),
        &["RS256".to_string(), "ES256".to_string()],
    )
    .expect("a JWKS");
    assert!(usable.is_empty(), "{usable:?}");
    let kids: Vec<Option<&str>> = skipped.iter().map(|(k, _)| k.as_deref()).collect();
    assert_eq!(kids, vec![Some("h"), Some("tiny"), Some("bad-x")]);
}
