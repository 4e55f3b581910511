//! The daemon over its real Unix socket: the built binary, a real HTTP client.

#[path = "common/daemon.rs"]
mod daemon_fixture;

use daemon_fixture::{minimal_config, Daemon};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[tokio::test]
async fn healthz_readyz_and_metrics_answer() {
    let d = Daemon::start().await;
    let h = d.request("GET", "/healthz", None).await;
    assert_eq!((h.status, h.text().as_str()), (200, "ok\n"));

    let r = d.request("GET", "/readyz", None).await;
    assert_eq!(r.status, 200);
    let ready = r.json();
    assert_eq!(ready["ready"], json!(true));
    assert_eq!(ready["issuers"][0]["name"], json!("kc"));
    assert_ne!(ready["issuers"][0]["status"], json!("pending"));

    let m = d.request("GET", "/metrics", None).await;
    assert_eq!(m.status, 200);
    let text = m.text();
    assert!(
        text.contains("saslgate_config_reloads_total{result=\"error\"} 0"),
        "{text}"
    );
    assert!(text.contains("saslgate_daemon_ready 1"), "{text}");
    assert!(
        text.contains("saslgate_daemon_requests_total{route=\"/readyz\",status=\"200\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn creating_a_session_for_an_unknown_service_is_400() {
    let d = Daemon::start().await;
    let a = d
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &json!({"mechanism": "OAUTHBEARER", "service": "hdfs", "server_name": "nn1.example"}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["error"], json!("unknown_service"));
    assert_eq!(
        a.json()["message"],
        json!("service \"hdfs\" is not configured")
    );
}

#[tokio::test]
async fn creating_a_session_with_another_mechanism_is_400() {
    let d = Daemon::start().await;
    let a = d
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &json!({"mechanism": "PLAIN", "service": "zookeeper", "server_name": "zk1"}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["error"], json!("unsupported_mechanism"));
}

#[tokio::test]
async fn a_session_is_created_and_deleted() {
    let d = Daemon::start().await;
    let a = d
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &json!({"mechanism": "OAUTHBEARER", "service": "zookeeper", "server_name": "zk1"}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text());
    let id = a.json()["session_id"]
        .as_str()
        .expect("session_id")
        .to_string();
    assert_eq!(id.len(), 32);
    let del = d
        .request("DELETE", &format!("/v1/sasl/server/sessions/{id}"), None)
        .await;
    assert_eq!(del.status, 204);
    let step = d
        .json(
            "POST",
            &format!("/v1/sasl/server/sessions/{id}/step"),
            &json!({"response": ""}),
        )
        .await;
    assert_eq!(step.status, 404);
}

#[tokio::test]
async fn a_session_created_with_the_initial_response_runs_the_first_step() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let d = Daemon::start().await;
    // A message without the closing %x01%x01: refused by the codec, so no IdP is needed.
    let a = d
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &json!({"mechanism": "OAUTHBEARER", "service": "zookeeper", "server_name": "zk1",
                    "response": b64.encode(b"n,,\x01auth=Bearer abc")}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text());
    let body = a.json();
    let id = body["session_id"].as_str().expect("session_id").to_string();
    let step = &body["step"];
    assert_eq!(step["complete"], json!(false), "{body}");
    let challenge = b64
        .decode(step["challenge"].as_str().expect("challenge"))
        .expect("base64");
    let error: serde_json::Value = serde_json::from_slice(&challenge).expect("RFC 7628 error JSON");
    assert_eq!(error["status"], json!("invalid_request"));
    assert_eq!(step["reason"], json!("malformed_message"), "{body}");
    let last = d
        .json(
            "POST",
            &format!("/v1/sasl/server/sessions/{id}/step"),
            &json!({"response": b64.encode(b"\x01")}),
        )
        .await;
    assert_eq!(last.status, 200, "{}", last.text());
    assert_eq!(last.json()["complete"], json!(true));
    assert_eq!(last.json()["success"], json!(false));
    assert_eq!(last.json()["reason"], json!("malformed_message"));
}

/// A refused exchange whose client hangs up before its `%x01` (stock ZooKeeper never disposed
/// it) must not hold a session slot for the whole idle time: a remote peer could fill
/// `max_sessions` with refused logins. An exchange still in progress keeps its idle time.
#[tokio::test]
async fn a_refused_session_waiting_for_the_final_message_expires_after_a_few_seconds() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let d = Daemon::start().await;
    let create = |response: Option<&[u8]>| {
        let mut body =
            json!({"mechanism": "OAUTHBEARER", "service": "zookeeper", "server_name": "zk1"});
        if let Some(r) = response {
            body["response"] = json!(b64.encode(r));
        }
        body
    };
    // Refused at once (malformed: no closing %x01%x01): the error challenge is out.
    let refused = d
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &create(Some(b"n,,\x01auth=Bearer abc")),
        )
        .await;
    assert_eq!(refused.status, 201, "{}", refused.text());
    assert_eq!(refused.json()["step"]["reason"], json!("malformed_message"));
    let refused_id = refused.json()["session_id"]
        .as_str()
        .expect("id")
        .to_string();
    // Created, no step yet: an exchange in progress.
    let open = d
        .json("POST", "/v1/sasl/server/sessions", &create(None))
        .await;
    assert_eq!(open.status, 201, "{}", open.text());
    let open_id = open.json()["session_id"].as_str().expect("id").to_string();

    tokio::time::sleep(std::time::Duration::from_secs(7)).await;

    let late = d
        .json(
            "POST",
            &format!("/v1/sasl/server/sessions/{refused_id}/step"),
            &json!({"response": b64.encode(b"\x01")}),
        )
        .await;
    assert_eq!(late.status, 404, "{}", late.text());
    assert_eq!(late.json()["error"], json!("unknown_session"));
    let metrics = d.request("GET", "/metrics", None).await.text();
    assert!(
        metrics.lines().any(|l| l == "saslgate_daemon_sessions 1"),
        "only the exchange in progress is open:\n{metrics}"
    );
    // The exchange in progress still takes its step (refused here: the token is not a JWT).
    let step = d
        .json(
            "POST",
            &format!("/v1/sasl/server/sessions/{open_id}/step"),
            &json!({"response": b64.encode(b"n,,\x01auth=Bearer abc\x01\x01")}),
        )
        .await;
    assert_eq!(step.status, 200, "{}", step.text());
}

#[tokio::test]
async fn a_full_session_table_refuses_new_sessions_and_keeps_the_open_ones() {
    let d = Daemon::start_with(|socket| {
        minimal_config(socket, "").replace(
            "shutdown_grace_secs = 5",
            "shutdown_grace_secs = 5\nmax_sessions = 3",
        )
    })
    .await;
    let body = json!({"mechanism": "OAUTHBEARER", "service": "zookeeper", "server_name": "zk1"});
    let create = || d.json("POST", "/v1/sasl/server/sessions", &body);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let a = create().await;
        assert_eq!(a.status, 201, "{}", a.text());
        ids.push(a.json()["session_id"].as_str().expect("id").to_string());
    }
    let full = create().await;
    assert_eq!(full.status, 503, "{}", full.text());
    assert_eq!(full.json()["error"], json!("too_many_sessions"));
    // The first session is still there: a step reaches it (and fails on its content).
    let step = d
        .json(
            "POST",
            &format!("/v1/sasl/server/sessions/{}/step", ids[0]),
            &json!({"response": ""}),
        )
        .await;
    assert_ne!(step.status, 404, "{}", step.text());
    // Disposing one makes room again.
    let del = d
        .request(
            "DELETE",
            &format!("/v1/sasl/server/sessions/{}", ids[1]),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(create().await.status, 201);
}

#[tokio::test]
async fn idle_connections_beyond_the_cap_wait_instead_of_exhausting_the_daemon() {
    let d = Daemon::start_with(|socket| {
        minimal_config(socket, "").replace(
            "shutdown_grace_secs = 5",
            "shutdown_grace_secs = 5\nmax_connections = 2",
        )
    })
    .await;
    // Two peers connect and say nothing.
    let idle_a = tokio::net::UnixStream::connect(&d.socket)
        .await
        .expect("connect");
    let _idle_b = tokio::net::UnixStream::connect(&d.socket)
        .await
        .expect("connect");
    // A third is not served while both are open...
    let waiting = tokio::time::timeout(
        Duration::from_millis(500),
        d.request("GET", "/healthz", None),
    )
    .await;
    assert!(
        waiting.is_err(),
        "a third connection was served past max_connections = 2"
    );
    // ...and is once one of them closes.
    drop(idle_a);
    let served = tokio::time::timeout(Duration::from_secs(5), d.request("GET", "/healthz", None))
        .await
        .expect("served after a connection closed");
    assert_eq!(served.status, 200);
}

#[tokio::test]
async fn step_on_an_unknown_session_is_404() {
    let d = Daemon::start().await;
    let a = d
        .json(
            "POST",
            "/v1/sasl/server/sessions/00000000000000000000000000000000/step",
            &json!({"response": "bixhPXVzZXIs"}),
        )
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["error"], json!("unknown_session"));
}

#[tokio::test]
async fn malformed_json_is_400_with_a_message() {
    let d = Daemon::start().await;
    let a = d
        .request(
            "POST",
            "/v1/sasl/server/sessions",
            Some(b"{\"mechanism\": \"OAUTHBEARER\","),
        )
        .await;
    assert_eq!(a.status, 400);
    let body = a.json();
    assert_eq!(body["error"], json!("malformed_json"));
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("EOF")),
        "{body}"
    );

    let unknown_field = d
        .json(
            "POST",
            "/v1/tokens/validate",
            &json!({"service": "zookeeper", "token": "x", "tokne": "y"}),
        )
        .await;
    assert_eq!(unknown_field.status, 400);
    assert!(
        unknown_field.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown field `tokne`")),
        "{}",
        unknown_field.text()
    );
}

#[tokio::test]
async fn malformed_base64_is_400_naming_the_field() {
    let d = Daemon::start().await;
    let created = d
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &json!({"mechanism": "OAUTHBEARER", "service": "zookeeper", "server_name": "zk1"}),
        )
        .await;
    let id = created.json()["session_id"]
        .as_str()
        .expect("session_id")
        .to_string();
    let a = d
        .json(
            "POST",
            &format!("/v1/sasl/server/sessions/{id}/step"),
            &json!({"response": "not base64!"}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["error"], json!("malformed_base64"));
    assert!(
        a.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("response: ")),
        "{}",
        a.text()
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_a_maximum_size_message_is_not() {
    // max_token_bytes = 1024: SASL messages up to 5120 bytes, bodies up to
    // 4 * ceil(5120 / 3) + 1024 = 7852 bytes.
    let d = Daemon::start_with(|s| minimal_config(s, "[limits]\nmax_token_bytes = 1024\n")).await;
    let max_message = vec![b'a'; 5120];
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &max_message);
    let fits = d
        .json(
            "POST",
            "/v1/sasl/server/sessions/00000000000000000000000000000000/step",
            &json!({ "response": encoded }),
        )
        .await;
    assert_eq!(fits.status, 404, "{}", fits.text());

    let too_big = vec![b' '; 7853];
    let a = d
        .request("POST", "/v1/tokens/validate", Some(&too_big))
        .await;
    assert_eq!(a.status, 413);
    assert_eq!(a.json()["error"], json!("payload_too_large"));
    assert!(
        a.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("7852 bytes")),
        "{}",
        a.text()
    );
}

#[tokio::test]
async fn validate_for_an_unknown_service_is_400() {
    let d = Daemon::start().await;
    let a = d
        .json(
            "POST",
            "/v1/tokens/validate",
            &json!({"service": "nope", "token": "a.b.c"}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["error"], json!("unknown_service"));
}

#[tokio::test]
async fn the_daemons_own_uid_may_ask_for_a_token_and_gets_404_for_an_unknown_identity() {
    let d = Daemon::start().await;
    let a = d.request("GET", "/v1/identities/nobody/token", None).await;
    assert_eq!(a.status, 404, "{}", a.text());
    assert_eq!(a.json()["error"], json!("unknown_identity"));
}

#[tokio::test]
async fn reload_with_a_broken_config_keeps_the_old_one() {
    let d = Daemon::start().await;
    std::fs::write(&d.config_path, "[daemon\nsocket = ").expect("break config");
    let a = d.request("POST", "/v1/admin/reload", None).await;
    assert_eq!(a.status, 422, "{}", a.text());
    let body = a.json();
    assert_eq!(body["error"], json!("invalid_config"));
    let message = body["message"].as_str().expect("message");
    assert!(
        message.starts_with(&d.config_path.display().to_string()),
        "{message}"
    );

    // Still serving, with the old configuration.
    let s = d
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &json!({"mechanism": "OAUTHBEARER", "service": "zookeeper", "server_name": "zk1"}),
        )
        .await;
    assert_eq!(s.status, 201);
    let m = d.request("GET", "/metrics", None).await.text();
    assert!(
        m.contains("saslgate_config_reloads_total{result=\"error\"} 1"),
        "{m}"
    );

    // A good configuration is taken.
    let extra = "[[services]]\nname = \"hdfs\"\nissuers = [\"kc\"]\n";
    std::fs::write(&d.config_path, minimal_config(&d.socket, extra)).expect("fix config");
    let ok = d.request("POST", "/v1/admin/reload", None).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(
        ok.json()["summary"],
        json!("1 issuer(s), 0 identit(y/ies), 2 service(s)")
    );
    let s = d
        .json(
            "POST",
            "/v1/sasl/server/sessions",
            &json!({"mechanism": "OAUTHBEARER", "service": "hdfs", "server_name": "nn1"}),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.text());
}

#[tokio::test]
async fn sighup_reloads_the_configuration() {
    let d = Daemon::start().await;
    let extra = "[[services]]\nname = \"hdfs\"\nissuers = [\"kc\"]\n";
    std::fs::write(&d.config_path, minimal_config(&d.socket, extra)).expect("new config");
    d.signal(nix::sys::signal::Signal::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = d
            .json(
                "POST",
                "/v1/sasl/server/sessions",
                &json!({"mechanism": "OAUTHBEARER", "service": "hdfs", "server_name": "nn1"}),
            )
            .await;
        if s.status == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sigterm_exits_zero_within_the_grace_period() {
    let mut d = Daemon::start().await;
    let started = Instant::now();
    d.signal(nix::sys::signal::Signal::SIGTERM);
    // shutdown_grace_secs = 5 in the fixture's configuration.
    let status = d
        .wait_exit(Duration::from_secs(6))
        .unwrap_or_else(|| panic!("still running after the grace period:\n{}", d.log()));
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(!d.socket.exists(), "socket file left behind");
    let log = d.log();
    assert!(log.contains("SIGTERM"), "{log}");
}

#[tokio::test]
async fn an_audit_event_is_logged_for_a_validation() {
    let d = Daemon::start().await;
    let a = d
        .json(
            "POST",
            "/v1/tokens/validate",
            &json!({"service": "zookeeper", "token": "a.b.c"}),
        )
        .await;
    // The validator decides; whatever it decides, one audit line names the token by
    // fingerprint only.
    assert!(a.status == 200 || a.status == 503, "{}", a.text());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = d.log();
        if log.contains("saslgate::audit") {
            assert!(log.contains("token.fp="), "{log}");
            assert!(
                !log.contains("a.b.c"),
                "the token leaked into the log:\n{log}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no audit event:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The OpenAPI document lists exactly the routes the daemon serves, and each one is served.
#[tokio::test]
async fn openapi_document_matches_the_served_routes() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json"))
        .expect("docs/openapi.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc["openapi"], json!("3.1.0"));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = saslgate::daemon::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, served);

    // Every $ref resolves.
    let prefix = "\"$ref\": \"#/components/schemas/";
    for (at, _) in text.match_indices(prefix) {
        let rest = &text[at + prefix.len()..];
        let name = &rest[..rest.find('"').expect("closing quote")];
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }

    // The router answers each route itself (never its 404/405 fallback).
    let d = Daemon::start().await;
    for (method, path) in &served {
        let concrete = path.replace("{id}", "x");
        let body = (method == "POST").then_some(b"{}".as_slice());
        let a = d.request(method, &concrete, body).await;
        assert_ne!(a.status, 405, "{method} {path}");
        if a.status == 404 {
            assert_ne!(a.json()["error"], json!("no_route"), "{method} {path}");
        }
    }
    let none = d.request("GET", "/v1/nothing", None).await;
    assert_eq!(
        (none.status, none.json()["error"].clone()),
        (404, json!("no_route"))
    );
}

#[tokio::test]
async fn tcp_peers_get_health_but_no_tokens_and_no_reload() {
    let d = Daemon::start_with(|s| {
        minimal_config(s, "").replace(
            "shutdown_grace_secs = 5",
            "shutdown_grace_secs = 5\ntcp_listen = \"127.0.0.1:0\"",
        )
    })
    .await;
    let h = d.request_tcp("GET", "/healthz", None).await;
    assert_eq!(h.status, 200);
    let t = d
        .request_tcp("GET", "/v1/identities/node/token", None)
        .await;
    assert_eq!(
        (t.status, t.json()["error"].clone()),
        (403, json!("forbidden"))
    );
    let r = d.request_tcp("POST", "/v1/admin/reload", None).await;
    assert_eq!(r.status, 403);
    let i = d
        .request_tcp(
            "POST",
            "/v1/sasl/client/initial-response",
            Some(br#"{"identity":"node"}"#),
        )
        .await;
    assert_eq!(i.status, 403);
}

#[test]
fn serve_exits_64_on_a_bad_config_naming_the_file_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    let text = minimal_config(&dir.path().join("s.sock"), "").replace(
        "audiences = [\"zookeeper\"]",
        "audiences = [\"zookeeper\"]\nleeway_secs = \"soon\"",
    );
    std::fs::write(&path, text).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_saslgate"))
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .expect("run saslgate");
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("issuers[0].leeway_secs"), "{err}");
}

#[test]
fn check_config_accepts_what_serve_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ok.toml");
    std::fs::write(&path, minimal_config(&dir.path().join("s.sock"), "")).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_saslgate"))
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run saslgate");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("OK (1 issuer(s), 0 identit(y/ies), 1 service(s))"),
        "{stdout}"
    );
}
