//! Test keys and a controllable JWKS endpoint, shared by unit tests, integration tests and
//! benchmarks (included with `#[path]`). Keys are generated per run with aws-lc-rs; the JWKS
//! server is a real axum server on 127.0.0.1 with an OS-chosen port.
#![allow(dead_code)]

use axum::extract::State;
use axum::response::IntoResponse;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A JWKS endpoint whose body and status the test controls, counting requests.
#[derive(Clone, Default)]
pub struct JwksServer {
    body: Arc<Mutex<(u16, String, &'static str)>>,
    hits: Arc<AtomicUsize>,
}

async fn serve_jwks(State(s): State<JwksServer>) -> impl IntoResponse {
    s.hits.fetch_add(1, Ordering::SeqCst);
    let (status, body, ctype) =
        s.body
            .lock()
            .map(|b| b.clone())
            .unwrap_or((500, String::new(), "text/plain"));
    (
        axum::http::StatusCode::from_u16(status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", ctype)],
        body,
    )
}

impl JwksServer {
    pub async fn start() -> (Self, String) {
        let s = JwksServer::default();
        let app = axum::Router::new()
            .route("/jwks", axum::routing::get(serve_jwks))
            .with_state(s.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (s, format!("http://{addr}"))
    }

    pub fn set_keys(&self, keys: &[&Jwk]) {
        let body = serde_json::json!({ "keys": keys }).to_string();
        *self.body.lock().expect("lock") = (200, body, "application/json");
    }

    pub fn set_raw(&self, status: u16, body: &str, ctype: &'static str) {
        *self.body.lock().expect("lock") = (status, body.to_string(), ctype);
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A signing key with its public JWK.
pub struct TestKey {
    pub alg: Algorithm,
    pub enc: EncodingKey,
    pub jwk: Jwk,
}

impl TestKey {
    pub fn generate(alg: Algorithm, kid: Option<&str>) -> Self {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair as _;
        use aws_lc_rs::signature::{
            EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
        };
        let mut rsa_public: Option<(Vec<u8>, Vec<u8>)> = None;
        let enc = match alg {
            Algorithm::RS256 | Algorithm::PS256 => {
                let kp =
                    RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa keygen");
                let pk = kp.public_key();
                rsa_public = Some((
                    pk.modulus().big_endian_without_leading_zero().to_vec(),
                    pk.exponent().big_endian_without_leading_zero().to_vec(),
                ));
                // jsonwebtoken's RSA DER input is PKCS#1; its PEM input also takes PKCS#8.
                let der = kp.as_der().expect("der");
                let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
                let lines: Vec<&str> = body
                    .as_bytes()
                    .chunks(64)
                    .map(|c| std::str::from_utf8(c).expect("ascii"))
                    .collect();
                let pem = format!(
                    "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                    lines.join("\n")
                );
                EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa pem")
            }
            Algorithm::ES256 => {
                let kp =
                    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("ec keygen");
                EncodingKey::from_ec_der(kp.to_pkcs8v1().expect("pkcs8").as_ref())
            }
            Algorithm::EdDSA => {
                let kp = Ed25519KeyPair::generate().expect("ed keygen");
                EncodingKey::from_ed_der(kp.to_pkcs8v1().expect("pkcs8").as_ref())
            }
            other => panic!("no test key for {other:?}"),
        };
        let mut jwk = match rsa_public {
            Some((n, e)) => {
                let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                serde_json::from_value(
                    serde_json::json!({"kty": "RSA", "n": b.encode(n), "e": b.encode(e)}),
                )
                .expect("rsa jwk")
            }
            None => Jwk::from_encoding_key(&enc, alg).expect("jwk from key"),
        };
        jwk.common.key_id = kid.map(str::to_string);
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        TestKey { alg, enc, jwk }
    }

    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let mut h = Header::new(self.alg);
        h.kid = self.jwk.common.key_id.clone();
        jsonwebtoken::encode(&h, claims, &self.enc).expect("sign")
    }
}
