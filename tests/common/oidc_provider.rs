//! panva's `oidc-provider` (Node) as a second, independent OpenID provider.
//!
//! [`OidcProvider::start`] runs `node tests/oidc-provider/server.mjs 0` as a child process on
//! an OS-chosen loopback port, reads the JSON line it prints when ready, and kills it on drop
//! (the server also exits when its stdin closes, so it cannot outlive a killed test). The
//! dependencies must be installed first: `npm ci --prefix tests/oidc-provider`
//! (`scripts/test.sh` does it).
//!
//! The provider issues, by client credentials (RFC 6749 §4.4) for `zk-client`:
//! - for the default resource `urn:saslgate:zookeeper`: an RS256 JWT access token (RFC 9068,
//!   header `typ: at+jwt`) with `aud: "zookeeper"`, `sub` and `client_id` = `zk-client`,
//!   lifetime 300 s;
//! - for `urn:saslgate:zookeeper-opaque`: an opaque token, introspectable (RFC 7662) by the
//!   `zookeeper` client. JWT access tokens cannot be introspected there (oidc-provider answers
//!   `unsupported_token_type`).
//!
//! | variable | meaning |
//! |---|---|
//! | `SASLGATE_REQUIRE_OIDC_PROVIDER` | `1`: missing node or `node_modules` fails the test instead of skipping it |
//! | `SASLGATE_TEST_NODE` | the `node` binary (default: `node` on `PATH`) |

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Env var that, set to `1`, turns a provider that cannot start into a test failure.
pub const ENV_REQUIRE: &str = "SASLGATE_REQUIRE_OIDC_PROVIDER";
/// Env var naming the `node` binary.
pub const ENV_NODE: &str = "SASLGATE_TEST_NODE";

/// How long to wait for the ready line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server prints when it is ready.
#[derive(Clone, Debug, Deserialize)]
pub struct ProviderInfo {
    /// The issuer, `http://127.0.0.1:<port>`.
    pub issuer: String,
    /// The client-credentials client.
    pub client_id: String,
    /// Its secret (random per start).
    pub client_secret: String,
    /// The client allowed to introspect.
    pub introspection_client_id: String,
    /// Its secret (random per start).
    pub introspection_client_secret: String,
    /// The `aud` of issued access tokens (`zookeeper`).
    pub audience: String,
    /// The resource indicator (RFC 8707) that yields JWT access tokens (the default).
    pub resource: String,
    /// The resource indicator that yields opaque access tokens.
    pub opaque_resource: String,
    /// The `kid` of the provider's RS256 signing key.
    pub kid: String,
}

/// A running `oidc-provider` child process, killed on drop.
#[derive(Debug)]
pub struct OidcProvider {
    info: ProviderInfo,
    http: reqwest::Client,
    // Held so the server's stdin stays open; dropping it tells the server to exit.
    _child: tokio::process::Child,
}

/// A token endpoint refusal or a transport failure.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The endpoint answered with an error (RFC 6749 §5.2).
    #[error("token endpoint answered {status}: {body}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The JSON error body.
        body: Value,
    },
    /// The request could not be sent or the answer not read.
    #[error("token request failed")]
    Transport(#[source] reqwest::Error),
}

impl OidcProvider {
    /// Starts the provider on a free loopback port and waits for its ready line.
    ///
    /// Returns `None` (the test should skip) when `node` or the npm dependencies are missing.
    ///
    /// # Panics
    ///
    /// When they are missing and `SASLGATE_REQUIRE_OIDC_PROVIDER=1`, or when the server does
    /// not become ready within 30 s (with its stderr in the message).
    pub async fn start() -> Option<OidcProvider> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider");
        if !dir.join("node_modules/oidc-provider").is_dir() {
            return skip_or_fail(&format!(
                "{} has no node_modules; run `npm ci --prefix {}`",
                dir.display(),
                dir.display()
            ));
        }
        let node = std::env::var(ENV_NODE).unwrap_or_else(|_| "node".to_owned());
        let stderr_file = tempfile::NamedTempFile::new().expect("temp file for stderr");
        let stderr = stderr_file.reopen().expect("reopen temp file");
        let spawned = tokio::process::Command::new(&node)
            .arg(dir.join("server.mjs"))
            .arg("0")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => return skip_or_fail(&format!("cannot run {node}: {e}")),
        };
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_TIMEOUT, lines.next_line()).await;
        let info = match line {
            Ok(Ok(Some(line))) => serde_json::from_str::<ProviderInfo>(&line).unwrap_or_else(|e| {
                panic!("oidc-provider ready line is not the expected JSON ({e}): {line}")
            }),
            other => {
                let _ = child.start_kill();
                let err = std::fs::read_to_string(stderr_file.path()).unwrap_or_default();
                panic!("oidc-provider did not start ({other:?}); stderr:\n{err}");
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Some(OidcProvider {
            info,
            http,
            _child: child,
        })
    }

    /// What the server printed when ready: issuer, clients, secrets, audience, kid.
    pub fn info(&self) -> &ProviderInfo {
        &self.info
    }

    /// The issuer (`iss`), `http://127.0.0.1:<port>`.
    pub fn issuer(&self) -> &str {
        &self.info.issuer
    }

    /// The OpenID discovery document URL (OpenID Connect Discovery 1.0 §4).
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.info.issuer)
    }

    /// The token endpoint (RFC 6749 §3.2).
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.info.issuer)
    }

    /// The JWKS URL (RFC 7517).
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.info.issuer)
    }

    /// The introspection endpoint (RFC 7662).
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/token/introspection", self.info.issuer)
    }

    /// Gets an RS256 JWT access token with `aud: zookeeper` by client credentials.
    ///
    /// # Errors
    ///
    /// [`TokenError`] when the provider refuses or the request fails.
    pub async fn jwt_token(&self) -> Result<String, TokenError> {
        self.token_for_resource(&self.info.resource.clone()).await
    }

    /// Gets an opaque access token (for introspection) by client credentials.
    ///
    /// # Errors
    ///
    /// [`TokenError`] when the provider refuses or the request fails.
    pub async fn opaque_token(&self) -> Result<String, TokenError> {
        self.token_for_resource(&self.info.opaque_resource.clone())
            .await
    }

    /// Gets an access token for a resource indicator (RFC 8707) with scope `zk`.
    ///
    /// # Errors
    ///
    /// [`TokenError`] when the provider refuses (e.g. `invalid_target` for an unknown
    /// resource) or the request fails.
    pub async fn token_for_resource(&self, resource: &str) -> Result<String, TokenError> {
        let resp = self
            .http
            .post(self.token_endpoint())
            .basic_auth(&self.info.client_id, Some(&self.info.client_secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", "zk"),
            ])
            .send()
            .await
            .map_err(TokenError::Transport)?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(TokenError::Transport)?;
        match body["access_token"].as_str() {
            Some(token) if status.is_success() => Ok(token.to_owned()),
            _ => Err(TokenError::Rejected {
                status: status.as_u16(),
                body,
            }),
        }
    }

    /// Introspects a token (RFC 7662 §2) as the `zookeeper` client and returns the JSON
    /// answer.
    ///
    /// # Panics
    ///
    /// If the request fails or the answer is not JSON.
    pub async fn introspect(&self, token: &str) -> Value {
        self.http
            .post(self.introspection_endpoint())
            .basic_auth(
                &self.info.introspection_client_id,
                Some(&self.info.introspection_client_secret),
            )
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspection request")
            .json()
            .await
            .expect("introspection answer is JSON")
    }
}

fn skip_or_fail(why: &str) -> Option<OidcProvider> {
    if std::env::var(ENV_REQUIRE).is_ok_and(|v| v == "1") {
        panic!("{ENV_REQUIRE}=1 but oidc-provider cannot start: {why}");
    }
    eprintln!("skipping: oidc-provider cannot start: {why}");
    None
}
