//! Acquisition against a real server: the built-in development issuer on 127.0.0.1 (an OIDC
//! discovery document, a JWKS and an RFC 6749 §4.4 token endpoint), reached through
//! `TokenSources` and the shared `HttpClient` exactly as the daemon does.

use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use saslgate::acquire::{AcquireError, TokenSources};
use saslgate::daemon::dev_issuer::{DevClient, DevIssuer};
use saslgate::http::HttpClient;
use saslgate::Config;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// A secret with every character RFC 6749 §2.3.1 makes a client urlencode before Basic.
const AWKWARD_SECRET: &str = "s3cr:et/+&= %";

struct Fixture {
    issuer: DevIssuer,
    sources: TokenSources,
    _dir: tempfile::TempDir,
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A P-256 key: its PKCS#8 PEM (for `private_key_file`) and its public JWK (for the issuer).
fn ec_key() -> (String, Jwk) {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("keygen");
    let der = pair.to_pkcs8v1().expect("pkcs8");
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    let jwk = Jwk::from_encoding_key(&EncodingKey::from_ec_der(der.as_ref()), Algorithm::ES256)
        .expect("jwk");
    (pem, jwk)
}

/// An Ed25519 key: PKCS#8 PEM and public JWK.
fn ed_key() -> (String, Jwk) {
    let der = Ed25519KeyPair::generate()
        .and_then(|k| k.to_pkcs8v1())
        .expect("keygen");
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    let jwk = Jwk::from_encoding_key(&EncodingKey::from_ed_der(der.as_ref()), Algorithm::EdDSA)
        .expect("jwk");
    (pem, jwk)
}

/// An RSA 2048 key: PKCS#8 PEM and public JWK (generated once per test binary: slow).
fn rsa_key() -> (String, Jwk) {
    static KEY: std::sync::OnceLock<(String, Jwk)> = std::sync::OnceLock::new();
    KEY.get_or_init(generate_rsa_key).clone()
}

fn generate_rsa_key() -> (String, Jwk) {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("keygen");
    let der: Pkcs8V1Der<'static> = pair.as_der().expect("pkcs8");
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    let jwk = Jwk::from_encoding_key(
        &EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa pem"),
        Algorithm::RS256,
    )
    .expect("jwk");
    (pem, jwk)
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write fixture file");
    path.display().to_string()
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ec_pem, ec_jwk) = ec_key();
    let (ed_pem, ed_jwk) = ed_key();
    let (rsa_pem, rsa_jwk) = rsa_key();
    let claims = json!({
        "aud": ["zookeeper", "hdfs"],
        "scope": "zk:read zk:write",
        "preferred_username": "service-account-zk",
        "realm_access": {"roles": ["zk-admin"]},
    });
    let issuer = DevIssuer::start(
        loopback(),
        vec![
            DevClient::with_secret("zk basic", AWKWARD_SECRET).claims(claims.clone()),
            DevClient::with_secret("zk-post", "post-secret").claims(claims.clone()),
            DevClient::with_public_key("zk-jwt", ec_jwk).claims(claims.clone()),
            DevClient::with_public_key("zk-ed", ed_jwk).claims(claims.clone()),
            DevClient::with_public_key("zk-rsa", rsa_jwk).claims(claims),
        ],
        300,
    )
    .await
    .expect("dev issuer starts");
    let secret_file = write(dir.path(), "basic.secret", &format!("{AWKWARD_SECRET}\n"));
    let ec_file = write(dir.path(), "ec.pem", &ec_pem);
    let ed_file = write(dir.path(), "ed.pem", &ed_pem);
    let rsa_file = write(dir.path(), "rsa.pem", &rsa_pem);
    let token_endpoint = issuer.token_endpoint();
    let text = format!(
        r#"
        [[issuers]]
        name = "dev"
        issuer = "{iss}"
        audiences = ["zookeeper"]

        [[identities]]
        name = "basic"
        kind = "client_credentials"
        issuer = "dev"
        client_id = "zk basic"
        auth_method = "client_secret_basic"
        client_secret_file = "{secret_file}"
        scopes = ["zk:read"]
        audience = "zookeeper"

        [[identities]]
        name = "post"
        kind = "client_credentials"
        token_endpoint = "{token_endpoint}"
        client_id = "zk-post"
        auth_method = "client_secret_post"
        client_secret = "post-secret"

        [[identities]]
        name = "wrong"
        kind = "client_credentials"
        issuer = "dev"
        client_id = "zk-post"
        auth_method = "client_secret_basic"
        client_secret = "not-the-secret"

        [[identities]]
        name = "bad-scope"
        kind = "client_credentials"
        issuer = "dev"
        client_id = "zk-post"
        client_secret = "post-secret"
        scopes = ["hdfs:superuser"]

        [[identities]]
        name = "jwt"
        kind = "client_credentials"
        issuer = "dev"
        client_id = "zk-jwt"
        auth_method = "private_key_jwt"
        private_key_file = "{ec_file}"
        key_id = "zk-jwt-1"

        [[identities]]
        name = "ed"
        kind = "client_credentials"
        issuer = "dev"
        client_id = "zk-ed"
        auth_method = "private_key_jwt"
        private_key_file = "{ed_file}"

        [[identities]]
        name = "rsa"
        kind = "client_credentials"
        issuer = "dev"
        client_id = "zk-rsa"
        auth_method = "private_key_jwt"
        private_key_file = "{rsa_file}"

        [[identities]]
        name = "jwt-wrong-key"
        kind = "client_credentials"
        issuer = "dev"
        client_id = "zk-jwt"
        auth_method = "private_key_jwt"
        private_key_file = "{ed_file}"
        "#,
        iss = issuer.issuer(),
    );
    let config = Arc::new(Config::from_toml_str(&text, "<tests/acquire.rs>").expect("config"));
    let http = HttpClient::new(&config).expect("http client");
    let sources = TokenSources::new(config, http).expect("token sources");
    Fixture {
        issuer,
        sources,
        _dir: dir,
    }
}

/// Verifies `jwt` with the dev issuer's published JWKS (fetched over HTTP) and returns its
/// claims.
async fn verify(issuer: &DevIssuer, jwt: &str, audience: &str) -> Map<String, Value> {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{}/jwks", issuer.issuer()))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let kid = jsonwebtoken::decode_header(jwt)
        .expect("header")
        .kid
        .expect("kid");
    let key = DecodingKey::from_jwk(jwks.find(&kid).expect("kid published")).expect("key");
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&[audience]);
    v.set_issuer(&[issuer.issuer()]);
    jsonwebtoken::decode::<Map<String, Value>>(jwt, &key, &v)
        .expect("token verifies")
        .claims
}

#[tokio::test]
async fn client_secret_basic_with_discovery_urlencodes_the_credentials() {
    let f = fixture().await;
    let token = f.sources.token("basic").await.expect("token");
    let claims = verify(&f.issuer, token.secret.expose_secret(), "zookeeper").await;
    assert_eq!(claims["sub"], "zk basic");
    assert_eq!(claims["azp"], "zk basic");
    assert_eq!(claims["scope"], "zk:read");
    assert_eq!(claims["aud"], "zookeeper");
    assert_eq!(claims["preferred_username"], "service-account-zk");
    let exp = claims["exp"].as_u64().expect("exp");
    assert_eq!(token.expires_at, Some(token.obtained_at + 300));
    assert!(exp.abs_diff(token.obtained_at + 300) <= 2);
}

#[tokio::test]
async fn client_secret_post_with_a_configured_token_endpoint() {
    let f = fixture().await;
    let token = f.sources.token("post").await.expect("token");
    let claims = verify(&f.issuer, token.secret.expose_secret(), "hdfs").await;
    assert_eq!(claims["sub"], "zk-post");
    assert_eq!(claims["realm_access"]["roles"][0], "zk-admin");
}

#[tokio::test]
async fn wrong_secret_is_rejected_with_invalid_client() {
    let f = fixture().await;
    let err = f.sources.token("wrong").await.expect_err("refused");
    match &err {
        AcquireError::Rejected {
            identity, error, ..
        } => {
            assert_eq!(identity, "wrong");
            assert_eq!(error, "invalid_client");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "identity \"wrong\": {} refused the request: invalid_client (unknown client or wrong secret)",
            f.issuer.token_endpoint()
        )
    );
    assert!(!err.to_string().contains("not-the-secret"));
}

#[tokio::test]
async fn a_scope_the_client_may_not_have_is_rejected_with_invalid_scope() {
    let f = fixture().await;
    let err = f.sources.token("bad-scope").await.expect_err("refused");
    assert!(
        matches!(&err, AcquireError::Rejected { error, .. } if error == "invalid_scope"),
        "{err:?}"
    );
}

#[tokio::test]
async fn private_key_jwt_with_an_ec_key_is_verified_by_the_issuer() {
    let f = fixture().await;
    let token = f.sources.token("jwt").await.expect("token");
    let claims = verify(&f.issuer, token.secret.expose_secret(), "zookeeper").await;
    assert_eq!(claims["sub"], "zk-jwt");
}

#[tokio::test]
async fn private_key_jwt_with_an_ed25519_key_is_verified_by_the_issuer() {
    let f = fixture().await;
    let token = f.sources.token("ed").await.expect("token");
    let claims = verify(&f.issuer, token.secret.expose_secret(), "zookeeper").await;
    assert_eq!(claims["sub"], "zk-ed");
}

#[tokio::test]
async fn private_key_jwt_with_an_rsa_key_is_verified_by_the_issuer() {
    let f = fixture().await;
    let token = f.sources.token("rsa").await.expect("token");
    let claims = verify(&f.issuer, token.secret.expose_secret(), "zookeeper").await;
    assert_eq!(claims["sub"], "zk-rsa");
}

#[tokio::test]
async fn private_key_jwt_signed_with_another_key_is_rejected() {
    let f = fixture().await;
    let err = f.sources.token("jwt-wrong-key").await.expect_err("refused");
    match &err {
        AcquireError::Rejected {
            error, description, ..
        } => {
            assert_eq!(error, "invalid_client");
            assert!(
                description
                    .as_deref()
                    .is_some_and(|d| d.starts_with("client assertion:")),
                "{description:?}"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_callers_share_one_request_and_the_token_is_cached() {
    let f = fixture().await;
    let calls = (0..16).map(|_| f.sources.token("post"));
    let tokens = futures_util::future::join_all(calls).await;
    let first = tokens[0]
        .as_ref()
        .expect("token")
        .secret
        .expose_secret()
        .to_string();
    for t in &tokens {
        // Every token carries a fresh random jti, so equal strings mean one request.
        assert_eq!(t.as_ref().expect("token").secret.expose_secret(), first);
    }
    let again = f.sources.token("post").await.expect("cached");
    assert_eq!(again.secret.expose_secret(), first);
}

#[tokio::test]
async fn background_refresher_fetches_the_token_before_anyone_asks() {
    let f = fixture().await;
    let handles = f.sources.spawn_refreshers();
    assert_eq!(handles.len(), 8);
    // The refresher holds the identity's lock while it fetches, so this call either waits for
    // the refresher's token or is served from the cache it filled: both return the same token.
    let a = f.sources.token("post").await.expect("token");
    let b = f.sources.token("post").await.expect("token");
    assert_eq!(a.secret.expose_secret(), b.secret.expose_secret());
    for h in handles {
        h.abort();
    }
}

#[tokio::test]
async fn unreadable_private_key_file_is_a_startup_error_naming_the_file() {
    let issuer = DevIssuer::start(loopback(), vec![], 60)
        .await
        .expect("start");
    let text = format!(
        r#"
        [[identities]]
        name = "jwt"
        kind = "client_credentials"
        token_endpoint = "{}"
        client_id = "zk-jwt"
        auth_method = "private_key_jwt"
        private_key_file = "/nonexistent/saslgate/key.pem"
        "#,
        issuer.token_endpoint()
    );
    let config = Arc::new(Config::from_toml_str(&text, "<test>").expect("config"));
    let http = HttpClient::new(&config).expect("http");
    let err = TokenSources::new(config, http).expect_err("unreadable key");
    assert!(
        err.to_string().starts_with(
            "identity \"jwt\": cannot read private_key_file /nonexistent/saslgate/key.pem:"
        ),
        "{err}"
    );
}
