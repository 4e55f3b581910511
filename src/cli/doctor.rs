//! `saslgate doctor`: pre-go-live checks per issuer, printed as a table.
//!
//! | check | passes when |
//! |---|---|
//! | `discovery` | the OpenID discovery document (OpenID Connect Discovery 1.0 §4) is reachable and is JSON (skipped with `discovery = false`) |
//! | `issuer` | its `issuer` equals the configured issuer or an alias (§4.3: a mismatch means tokens will carry another `iss`) |
//! | `jwks` | the JWKS (RFC 7517 §5) at `jwks_uri` (configured or discovered) is reachable and holds at least one key |
//! | `clock_skew` | the IdP's HTTP `Date` header (RFC 9110 §6.6.1, 1 s resolution) is within the issuer's `leeway_secs` of the local clock |
//! | `audiences` | every service trusting the issuer has at least one audience to check `aud` against |
//!
//! Discovery and JWKS are fetched with [`HttpClient`], so the URL policy (https, or http on
//! loopback) is the same as in production.

use super::{load, logging, runtime, EXIT_FAILURE, EXIT_OK};
use crate::config::{Config, IssuerConfig, ValidationMode};
use crate::http::HttpClient;
use std::fmt::Write as _;
use std::path::Path;
use url::Url;

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Fail,
    Skip,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub(crate) issuer: String,
    pub(crate) check: &'static str,
    pub(crate) outcome: Outcome,
    pub(crate) detail: String,
}

pub(crate) fn doctor(config_path: &Path) -> i32 {
    let (config, _) = match load(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    logging::init(&config.log);
    let http = match HttpClient::new(&config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("saslgate: cannot build the HTTP client: {e}");
            return EXIT_FAILURE;
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let checks = rt.block_on(async {
        let mut all = Vec::new();
        // AWS issuers have no discovery or keys: their proofs are checked by STS per login.
        for issuer in config.issuers.iter().filter(|i| !i.is_aws()) {
            all.extend(check_issuer(&http, &config, issuer, unix_now()).await);
        }
        all
    });
    print!("{}", render(&checks));
    if checks.iter().any(|c| c.outcome == Outcome::Fail) {
        EXIT_FAILURE
    } else {
        EXIT_OK
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Runs every check for `issuer`; `now` is the local clock in Unix seconds.
pub(crate) async fn check_issuer(
    http: &HttpClient,
    config: &Config,
    issuer: &IssuerConfig,
    now: u64,
) -> Vec<Check> {
    let row = |check: &'static str, outcome: Outcome, detail: String| Check {
        issuer: issuer.name.clone(),
        check,
        outcome,
        detail,
    };
    let mut rows = Vec::new();
    let mut date: Option<u64> = None;

    // discovery
    let mut doc: Option<serde_json::Value> = None;
    if issuer.discovery {
        let url = issuer.discovery_document_url();
        match http.get(&url).await {
            Ok(resp) => {
                date = date.or(resp.date_unix_secs);
                match resp.json::<serde_json::Value>(&url) {
                    Ok(v) if v.is_object() => {
                        rows.push(row("discovery", Outcome::Ok, url.to_string()));
                        doc = Some(v);
                    }
                    Ok(_) => rows.push(row(
                        "discovery",
                        Outcome::Fail,
                        format!("{url}: not a JSON object"),
                    )),
                    Err(e) => rows.push(row("discovery", Outcome::Fail, e.to_string())),
                }
            }
            Err(e) => rows.push(row("discovery", Outcome::Fail, e.to_string())),
        }
    } else {
        rows.push(row("discovery", Outcome::Skip, "discovery = false".into()));
    }

    // issuer metadata
    match &doc {
        Some(d) => match d.get("issuer").and_then(|v| v.as_str()) {
            Some(iss) if issuer.matches_iss(iss) => {
                rows.push(row("issuer", Outcome::Ok, iss.to_string()))
            }
            Some(iss) => rows.push(row(
                "issuer",
                Outcome::Fail,
                format!(
                    "discovery says {iss:?}, configured {:?}; tokens will not match",
                    issuer.issuer.as_str()
                ),
            )),
            None => rows.push(row(
                "issuer",
                Outcome::Fail,
                "the discovery document has no \"issuer\"".into(),
            )),
        },
        None => rows.push(row("issuer", Outcome::Skip, "no discovery document".into())),
    }

    // JWKS
    let discovered_jwks = doc
        .as_ref()
        .and_then(|d| d.get("jwks_uri"))
        .and_then(|v| v.as_str())
        .map(Url::parse);
    let jwks_url = match (&issuer.jwks_uri, discovered_jwks) {
        (Some(u), _) => Some(Ok(u.clone())),
        (None, Some(Ok(u))) => Some(Ok(u)),
        (None, Some(Err(e))) => Some(Err(format!("the discovered jwks_uri is not a URL: {e}"))),
        (None, None) => None,
    };
    match jwks_url {
        Some(Ok(url)) => match http.get(&url).await {
            Ok(resp) => {
                date = date.or(resp.date_unix_secs);
                // The keys as the validator loads them: usable for the allowed algorithms, or
                // skipped with a reason (`use: enc`, `oct`, malformed material, …).
                match crate::validate::usable_keys(&resp.body, &issuer.algorithms) {
                    Ok((usable, skipped)) => {
                        let kids: Vec<&str> =
                            usable.iter().map(|k| k.as_deref().unwrap_or("-")).collect();
                        let skipped_text: Vec<String> = skipped
                            .iter()
                            .map(|(kid, why)| format!("{} ({why})", kid.as_deref().unwrap_or("-")))
                            .collect();
                        let mut detail = format!(
                            "{} usable signing key(s) at {url} (kid {})",
                            usable.len(),
                            if kids.is_empty() {
                                "-".to_string()
                            } else {
                                kids.join(", ")
                            }
                        );
                        if !skipped_text.is_empty() {
                            detail.push_str(&format!("; skipped: {}", skipped_text.join("; ")));
                        }
                        let outcome = if usable.is_empty() {
                            Outcome::Fail
                        } else {
                            Outcome::Ok
                        };
                        rows.push(row("jwks", outcome, detail));
                    }
                    Err(e) => rows.push(row("jwks", Outcome::Fail, format!("{url}: {e}"))),
                }
            }
            Err(e) => rows.push(row("jwks", Outcome::Fail, e.to_string())),
        },
        Some(Err(e)) => rows.push(row("jwks", Outcome::Fail, e)),
        None if issuer.validation == ValidationMode::Introspection => rows.push(row(
            "jwks",
            Outcome::Skip,
            "validation = introspection".into(),
        )),
        None => rows.push(row(
            "jwks",
            Outcome::Fail,
            "no jwks_uri configured or discovered".into(),
        )),
    }

    // clock skew
    rows.push(match date {
        Some(d) => {
            let (outcome, detail) = skew(d, now, issuer.leeway_secs);
            row("clock_skew", outcome, detail)
        }
        None => row(
            "clock_skew",
            Outcome::Skip,
            "no Date header received".into(),
        ),
    });

    // audiences
    let users: Vec<_> = config
        .services
        .iter()
        .filter(|s| s.issuers.iter().any(|n| n == &issuer.name))
        .collect();
    let missing: Vec<&str> = users
        .iter()
        .filter(|s| s.effective_audiences(config).is_empty())
        .map(|s| s.name.as_str())
        .collect();
    rows.push(if users.is_empty() {
        row(
            "audiences",
            Outcome::Skip,
            "no service trusts this issuer".into(),
        )
    } else if !missing.is_empty() {
        row(
            "audiences",
            Outcome::Fail,
            format!("no audience for service(s) {}", missing.join(", ")),
        )
    } else {
        let mut all: Vec<String> = Vec::new();
        for s in &users {
            for a in s.effective_audiences(config) {
                if !all.contains(&a) {
                    all.push(a);
                }
            }
        }
        row("audiences", Outcome::Ok, all.join(", "))
    });
    rows
}

/// Compares the IdP's clock `idp_secs` with `now`: fails beyond `leeway_secs`.
fn skew(idp_secs: u64, now: u64, leeway_secs: u64) -> (Outcome, String) {
    let diff = i128::from(idp_secs) - i128::from(now);
    let outcome = if diff.unsigned_abs() > u128::from(leeway_secs) {
        Outcome::Fail
    } else {
        Outcome::Ok
    };
    (
        outcome,
        format!("IdP clock {diff:+} s from local (leeway {leeway_secs} s)"),
    )
}

/// Renders the checks as an aligned table with a header.
pub(crate) fn render(checks: &[Check]) -> String {
    let w_issuer = checks
        .iter()
        .map(|c| c.issuer.len())
        .chain([6])
        .max()
        .unwrap_or(6);
    let w_check = 10;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<w_issuer$}  {:<w_check$}  {:<6}  DETAIL",
        "ISSUER", "CHECK", "RESULT"
    );
    for c in checks {
        let _ = writeln!(
            out,
            "{:<w_issuer$}  {:<w_check$}  {:<6}  {}",
            c.issuer,
            c.check,
            c.outcome.as_str(),
            c.detail
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;

    #[test]
    fn skew_beyond_the_leeway_fails() {
        assert_eq!(skew(1_000, 1_031, 30).0, Outcome::Fail);
        assert_eq!(skew(1_030, 1_000, 30).0, Outcome::Ok);
        assert_eq!(
            skew(1_000, 1_005, 30).1,
            "IdP clock -5 s from local (leeway 30 s)"
        );
    }

    #[test]
    fn renders_an_aligned_table() {
        let t = render(&[Check {
            issuer: "kc".into(),
            check: "jwks",
            outcome: Outcome::Fail,
            detail: "x".into(),
        }]);
        assert_eq!(
            t,
            "ISSUER  CHECK       RESULT  DETAIL\nkc      jwks        FAIL    x\n"
        );
    }

    /// A real HTTP server on loopback serving an OpenID discovery document and a JWKS.
    async fn idp() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let issuer = format!("{base}/realms/t");
        let doc = serde_json::json!({
            "issuer": issuer,
            "jwks_uri": format!("{base}/realms/t/certs"),
        });
        let jwks = serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]});
        let app = Router::new()
            .route(
                "/realms/t/.well-known/openid-configuration",
                get(move || {
                    let d = doc.clone();
                    async move { axum::Json(d) }
                }),
            )
            .route(
                "/realms/t/certs",
                get(move || {
                    let j = jwks.clone();
                    async move { axum::Json(j) }
                }),
            );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (base, task)
    }

    fn config_for(base: &str, issuer_path: &str) -> Config {
        let text = format!(
            r#"
[daemon]
socket = "/tmp/unused.sock"
[[issuers]]
name = "kc"
issuer = "{base}{issuer_path}"
audiences = ["zookeeper"]
[[services]]
name = "zookeeper"
issuers = ["kc"]
"#
        );
        Config::from_toml_str(&text, "<test>").expect("valid test config")
    }

    #[tokio::test]
    async fn all_checks_pass_against_a_consistent_idp() {
        let (base, task) = idp().await;
        let config = config_for(&base, "/realms/t");
        let http = HttpClient::new(&config).expect("client");
        let rows = check_issuer(&http, &config, &config.issuers[0], unix_now()).await;
        task.abort();
        let summary: Vec<(&str, Outcome)> = rows.iter().map(|r| (r.check, r.outcome)).collect();
        assert_eq!(
            summary,
            vec![
                ("discovery", Outcome::Ok),
                ("issuer", Outcome::Ok),
                ("jwks", Outcome::Ok),
                ("clock_skew", Outcome::Ok),
                ("audiences", Outcome::Ok),
            ],
            "{}",
            render(&rows)
        );
        assert!(
            rows[2].detail.starts_with("1 usable signing key(s) at "),
            "{}",
            rows[2].detail
        );
    }

    #[tokio::test]
    async fn unreachable_discovery_fails_and_skips_the_issuer_match() {
        let (base, task) = idp().await;
        let config = config_for(&base, "/realms/other");
        let http = HttpClient::new(&config).expect("client");
        let rows = check_issuer(&http, &config, &config.issuers[0], unix_now()).await;
        task.abort();
        assert_eq!(rows[0].outcome, Outcome::Fail);
        assert!(rows[0].detail.contains("404"), "{}", rows[0].detail);
        assert_eq!(rows[1].outcome, Outcome::Skip);
        assert_eq!(rows[2].outcome, Outcome::Fail);
    }
}
