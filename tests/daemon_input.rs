//! Hostile input through the daemon binary: each request is answered with its reason, and the
//! daemon keeps serving. No identity provider is needed: every case is refused before a key
//! would be fetched.

#[path = "common/daemon.rs"]
mod daemon_fixture;

use base64::Engine as _;
use daemon_fixture::{minimal_config, Daemon};
use serde_json::json;

/// `limits.max_token_bytes` for these tests: 1 MiB − 1 KiB, so a 1 MiB token exceeds it while
/// its SASL message (token + framing ≤ limit + 4096) and the base64 body still fit, and the
/// refusal is the validator's `token_too_large`, not a transport limit.
const MAX_TOKEN_BYTES: usize = 1024 * 1024 - 1024;

async fn start() -> Daemon {
    Daemon::start_with(|s| {
        minimal_config(
            s,
            &format!("[limits]\nmax_token_bytes = {MAX_TOKEN_BYTES}\n"),
        )
    })
    .await
}

/// Sends `message` as the initial response of a new session; after an error challenge, sends
/// the client's `%x01` and returns the final answer's JSON.
async fn sasl(d: &Daemon, message: &[u8]) -> serde_json::Value {
    let created = d
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &json!({"mechanism": "OAUTHBEARER", "service": "zookeeper", "server_name": "zk1"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    let path = format!("/v1/sasl/server/sessions/{id}/step");
    let b64 = base64::engine::general_purpose::STANDARD;
    let first = d
        .json("POST", &path, &json!({ "response": b64.encode(message) }))
        .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let body = first.json();
    assert_eq!(body["complete"], json!(false), "{body}");
    let challenge = b64
        .decode(body["challenge"].as_str().expect("challenge"))
        .expect("base64");
    let error: serde_json::Value = serde_json::from_slice(&challenge).expect("error JSON");
    assert!(error["status"].is_string(), "{error}");
    let last = d
        .json("POST", &path, &json!({ "response": b64.encode([1u8]) }))
        .await;
    assert_eq!(last.status, 200, "{}", last.text());
    let last = last.json();
    assert_eq!(
        (last["complete"].clone(), last["success"].clone()),
        (json!(true), json!(false)),
        "{last}"
    );
    last
}

/// An RFC 7628 initial response carrying `token`.
fn initial_response(token: &[u8]) -> Vec<u8> {
    let mut m = b"n,,\x01host=zk1\x01auth=Bearer ".to_vec();
    m.extend_from_slice(token);
    m.extend_from_slice(b"\x01\x01");
    m
}

/// An unsigned JWT (`alg: none`, RFC 7519 §6) for a configured issuer and audience.
fn alg_none_token() -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = json!({
        "iss": "http://127.0.0.1:1/realms/x", "sub": "admin", "aud": "zookeeper",
        "exp": 4_000_000_000u64, "preferred_username": "admin",
    });
    format!("{header}.{}.", b64.encode(claims.to_string()))
}

async fn assert_still_serving(d: &Daemon) {
    let h = d.request("GET", "/healthz", None).await;
    assert_eq!((h.status, h.text().as_str()), (200, "ok\n"), "{}", d.log());
    let r = d.request("GET", "/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn a_one_mib_token_is_refused_as_too_large() {
    let d = start().await;
    let token = "a".repeat(1024 * 1024);

    let last = sasl(&d, &initial_response(token.as_bytes())).await;
    assert_eq!(last["reason"], json!("token_too_large"), "{last}");

    let v = d
        .json(
            "POST",
            "/v1/tokens/validate",
            &json!({"service": "zookeeper", "token": token}),
        )
        .await;
    assert_eq!(v.status, 200, "{}", v.text());
    let body = v.json();
    assert_eq!(body["valid"], json!(false));
    assert_eq!(body["reason"], json!("token_too_large"));
    assert_eq!(
        body["message"],
        json!(format!(
            "token of 1048576 bytes exceeds the limit of {MAX_TOKEN_BYTES} bytes (limits.max_token_bytes)"
        ))
    );
    assert_still_serving(&d).await;
}

#[tokio::test]
async fn a_one_mib_token_under_default_limits_is_refused_at_the_body_limit() {
    let d = Daemon::start().await;
    let token = "a".repeat(1024 * 1024);
    let body = serde_json::to_vec(&json!({"service": "zookeeper", "token": token})).expect("json");
    // The daemon answers 413 from `Content-Length` alone and closes the connection, so the
    // client may still be writing the body when the answer arrives.
    match d
        .try_request("POST", "/v1/tokens/validate", Some(&body))
        .await
    {
        Ok(v) => {
            assert_eq!(v.status, 413, "{}", v.text());
            assert_eq!(v.json()["error"], json!("payload_too_large"));
        }
        Err(e) => assert!(e.contains("body"), "{e}"),
    }
    assert_still_serving(&d).await;
}

#[tokio::test]
async fn a_non_utf8_initial_response_is_refused_as_malformed() {
    let d = start().await;
    let last = sasl(&d, &initial_response(b"\xff\xfe\xfd")).await;
    assert_eq!(last["reason"], json!("malformed_message"), "{last}");
    let last = sasl(&d, b"n,a=\xc3\x28,\x01auth=Bearer abc\x01\x01").await;
    assert_eq!(last["reason"], json!("malformed_message"), "{last}");
    assert_still_serving(&d).await;
}

#[tokio::test]
async fn an_alg_none_token_is_refused_as_unsupported_algorithm() {
    let d = start().await;
    let token = alg_none_token();
    let last = sasl(&d, &initial_response(token.as_bytes())).await;
    assert_eq!(last["reason"], json!("unsupported_algorithm"), "{last}");

    let v = d
        .json(
            "POST",
            "/v1/tokens/validate",
            &json!({"service": "zookeeper", "token": token}),
        )
        .await;
    assert_eq!(v.status, 200, "{}", v.text());
    assert_eq!(
        (v.json()["valid"].clone(), v.json()["reason"].clone()),
        (json!(false), json!("unsupported_algorithm"))
    );
    assert_still_serving(&d).await;
}
