//! A running Keycloak server and throw-away realms in it.
//!
//! The server is started outside cargo by `scripts/keycloak.sh start` (which `scripts/test.sh`
//! does), because it takes about 20 s to boot: one server is shared by all tests, and each
//! test imports its own realm from the template `tests/fixtures/keycloak/realm.json` under a
//! unique name (`{prefix}-{random}`) through the admin REST API, so tests run in parallel and
//! never see each other's state. The realm is deleted when the [`Realm`] is dropped.
//!
//! [`Keycloak::from_env`] finds the server through these variables, or else through the env
//! file that the start script writes (`$SASLGATE_TEST_KEYCLOAK_ENV_FILE`, default
//! `${SASLGATE_CACHE:-$HOME/.cache/saslgate}/run/keycloak.env`):
//!
//! | variable | meaning |
//! |---|---|
//! | `SASLGATE_TEST_KEYCLOAK_URL` | base URL, e.g. `http://127.0.0.1:40123` |
//! | `SASLGATE_TEST_KEYCLOAK_ADMIN_USER` | master-realm admin user |
//! | `SASLGATE_TEST_KEYCLOAK_ADMIN_PASSWORD` | its password |
//! | `SASLGATE_REQUIRE_KEYCLOAK` | `1`: a missing server fails the test instead of skipping it |
//!
//! Endpoints follow Keycloak's admin REST API (`/admin/realms/...`) and the OAuth 2.0 token
//! (RFC 6749 §4.3, §4.4) and introspection (RFC 7662) endpoints of a realm.

use std::fmt;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

/// Env var naming the base URL of the running Keycloak.
pub const ENV_URL: &str = "SASLGATE_TEST_KEYCLOAK_URL";
/// Env var naming the master-realm admin user.
pub const ENV_ADMIN_USER: &str = "SASLGATE_TEST_KEYCLOAK_ADMIN_USER";
/// Env var naming the master-realm admin password.
pub const ENV_ADMIN_PASSWORD: &str = "SASLGATE_TEST_KEYCLOAK_ADMIN_PASSWORD";
/// Env var naming the env file written by `scripts/keycloak.sh start`.
pub const ENV_FILE: &str = "SASLGATE_TEST_KEYCLOAK_ENV_FILE";
/// Env var that, set to `1`, turns a missing Keycloak into a test failure.
pub const ENV_REQUIRE: &str = "SASLGATE_REQUIRE_KEYCLOAK";

/// The audience the template's `zk-client` tokens carry (`oidc-audience-mapper`).
pub const AUDIENCE: &str = "zookeeper";

/// The realm template, imported once per test under a unique name.
const REALM_TEMPLATE: &str = include_str!("../fixtures/keycloak/realm.json");

/// A confidential client of the realm template: its `client_id` and secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The OAuth `client_id`.
    pub client_id: &'static str,
    /// The client secret (`client_secret_post`/`client_secret_basic`).
    pub secret: &'static str,
}

/// Service account client whose tokens have `aud: zookeeper` and `preferred_username:
/// service-account-zk-client`, realm role `zk-admin`, client role `zookeeper/znode-writer`.
/// Direct access grants are enabled, so it also serves [`Realm::password_token`].
pub const ZK_CLIENT: ClientCredentials = ClientCredentials {
    client_id: "zk-client",
    secret: "zk-client-secret",
};

/// The resource server: it owns the `znode-writer` client role and authenticates to the
/// introspection endpoint.
pub const ZOOKEEPER: ClientCredentials = ClientCredentials {
    client_id: "zookeeper",
    secret: "zookeeper-secret",
};

/// A service account client without the zookeeper audience (for the wrong-audience case);
/// its service account has realm role `hdfs-user` only.
pub const OTHER_CLIENT: ClientCredentials = ClientCredentials {
    client_id: "other-client",
    secret: "other-client-secret",
};

/// A user of the realm template: username and password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserCredentials {
    /// The username (`preferred_username` in tokens).
    pub username: &'static str,
    /// The password.
    pub password: &'static str,
}

/// User `alice`, realm role `zk-admin`, client role `zookeeper/znode-writer`.
pub const ALICE: UserCredentials = UserCredentials {
    username: "alice",
    password: "alice-password",
};

/// A running Keycloak server and the admin credentials to drive it.
#[derive(Clone)]
pub struct Keycloak {
    base_url: String,
    admin_user: String,
    admin_password: String,
    http: reqwest::Client,
}

impl fmt::Debug for Keycloak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keycloak")
            .field("base_url", &self.base_url)
            .field("admin_user", &self.admin_user)
            .finish_non_exhaustive()
    }
}

/// A token endpoint refusal or a transport failure.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The endpoint answered with an error (RFC 6749 §5.2).
    #[error("token endpoint answered {status}: {error} ({description:?})")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The `error` code, e.g. `invalid_client`, `unauthorized_client`.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// The request could not be sent or the answer not read.
    #[error("token request failed")]
    Transport(#[source] reqwest::Error),
}

impl Keycloak {
    /// Finds the running Keycloak through the environment or the env file (see the module
    /// doc), and checks that its port accepts connections.
    ///
    /// Returns `None` when there is none, so a test can skip itself.
    ///
    /// # Panics
    ///
    /// When there is none and `SASLGATE_REQUIRE_KEYCLOAK=1`: the test command must fail, not
    /// silently skip.
    pub fn from_env() -> Option<Keycloak> {
        let found = Self::locate();
        match found {
            Ok(kc) => Some(kc),
            Err(why) => {
                if std::env::var(ENV_REQUIRE).is_ok_and(|v| v == "1") {
                    panic!(
                        "{ENV_REQUIRE}=1 but no Keycloak is available: {why}; \
                         start one with `scripts/keycloak.sh start`"
                    );
                }
                eprintln!(
                    "skipping: no Keycloak ({why}); start one with `scripts/keycloak.sh start`"
                );
                None
            }
        }
    }

    fn locate() -> Result<Keycloak, String> {
        let vars = if std::env::var_os(ENV_URL).is_some() {
            let get = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
            (
                get(ENV_URL)?,
                get(ENV_ADMIN_USER)?,
                get(ENV_ADMIN_PASSWORD)?,
            )
        } else {
            let path = env_file_path();
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "{ENV_URL} is not set and {} is unreadable: {e}",
                    path.display()
                )
            })?;
            let get = |name: &str| {
                text.lines()
                    .filter_map(|line| line.split_once('='))
                    .find(|(k, _)| k.trim() == name)
                    .map(|(_, v)| v.trim().to_owned())
                    .ok_or_else(|| format!("{name} missing from {}", path.display()))
            };
            (
                get(ENV_URL)?,
                get(ENV_ADMIN_USER)?,
                get(ENV_ADMIN_PASSWORD)?,
            )
        };
        let (base_url, admin_user, admin_password) = vars;
        let base_url = base_url.trim_end_matches('/').to_owned();
        let url = url::Url::parse(&base_url).map_err(|e| format!("{ENV_URL}={base_url}: {e}"))?;
        let addrs = url
            .socket_addrs(|| Some(80))
            .map_err(|e| format!("{base_url}: {e}"))?;
        let reachable = addrs
            .iter()
            .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(2)).is_ok());
        if !reachable {
            return Err(format!("{base_url} does not accept connections"));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(Keycloak {
            base_url,
            admin_user,
            admin_password,
            http,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Gets a fresh master-realm admin access token (password grant with `admin-cli`).
    ///
    /// # Panics
    ///
    /// If Keycloak refuses: the admin credentials come from the start script.
    pub async fn admin_token(&self) -> String {
        let url = format!(
            "{}/realms/master/protocol/openid-connect/token",
            self.base_url
        );
        let form = [
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", self.admin_user.as_str()),
            ("password", self.admin_password.as_str()),
        ];
        match token_request(&self.http, &url, &form).await {
            Ok(body) => access_token(&body),
            Err(e) => panic!("admin token: {e}"),
        }
    }

    /// Imports the realm template as `{prefix}-{random}` and returns it; the realm is deleted
    /// when the returned [`Realm`] is dropped.
    ///
    /// # Panics
    ///
    /// If the import fails.
    pub async fn create_realm(&self, prefix: &str) -> Realm {
        let name = format!("{prefix}-{:016x}", rand::random::<u64>());
        let mut rep: Value = serde_json::from_str(REALM_TEMPLATE).expect("realm.json is JSON");
        rep["realm"] = json!(name);
        let token = self.admin_token().await;
        let resp = self
            .http
            .post(format!("{}/admin/realms", self.base_url))
            .bearer_auth(&token)
            .json(&rep)
            .send()
            .await
            .expect("POST /admin/realms");
        check(resp, "import realm").await;
        Realm {
            kc: self.clone(),
            name,
        }
    }
}

/// A realm imported from the template, deleted on drop.
#[derive(Debug)]
pub struct Realm {
    kc: Keycloak,
    name: String,
}

/// The signing keys before and after [`Realm::rotate_keys`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRotation {
    /// The `kid` that signed tokens before the rotation (still published, lower priority).
    pub old_kid: String,
    /// The `kid` that signs tokens from now on.
    pub new_kid: String,
}

impl Realm {
    /// The realm name, `{prefix}-{random}`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Keycloak server this realm lives in.
    pub fn keycloak(&self) -> &Keycloak {
        &self.kc
    }

    /// The issuer (`iss`) of the realm's tokens: `{base}/realms/{name}`.
    pub fn issuer(&self) -> String {
        format!("{}/realms/{}", self.kc.base_url, self.name)
    }

    /// The OpenID discovery document URL (OpenID Connect Discovery 1.0 §4).
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// The token endpoint (RFC 6749 §3.2).
    pub fn token_endpoint(&self) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer())
    }

    /// The JWKS URL (RFC 7517).
    pub fn jwks_uri(&self) -> String {
        format!("{}/protocol/openid-connect/certs", self.issuer())
    }

    /// The introspection endpoint (RFC 7662).
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/protocol/openid-connect/token/introspect", self.issuer())
    }

    /// Gets an access token with the client-credentials grant (RFC 6749 §4.4).
    ///
    /// # Errors
    ///
    /// [`TokenError::Rejected`] with Keycloak's error code when it refuses (e.g. a disabled
    /// client), [`TokenError::Transport`] when the request fails.
    pub async fn client_credentials_token(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<String, TokenError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ];
        token_request(&self.kc.http, &self.token_endpoint(), &form)
            .await
            .map(|body| access_token(&body))
    }

    /// Gets an access token for a user with the password grant (RFC 6749 §4.3) through a
    /// confidential client with direct access grants (e.g. [`ZK_CLIENT`]).
    ///
    /// # Errors
    ///
    /// As [`Realm::client_credentials_token`].
    pub async fn password_token(
        &self,
        username: &str,
        password: &str,
        client: ClientCredentials,
    ) -> Result<String, TokenError> {
        let form = [
            ("grant_type", "password"),
            ("client_id", client.client_id),
            ("client_secret", client.secret),
            ("username", username),
            ("password", password),
            ("scope", "openid"),
        ];
        token_request(&self.kc.http, &self.token_endpoint(), &form)
            .await
            .map(|body| access_token(&body))
    }

    /// Introspects a token (RFC 7662 §2) authenticating as `client`, and returns the JSON
    /// answer (`{"active": false}` for a dead token).
    ///
    /// # Panics
    ///
    /// If the endpoint does not answer 200 with JSON.
    pub async fn introspect(&self, token: &str, client: ClientCredentials) -> Value {
        let resp = self
            .kc
            .http
            .post(self.introspection_endpoint())
            .basic_auth(client.client_id, Some(client.secret))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .expect("introspection request");
        check(resp, "introspect").await
    }

    /// The `kid` of the realm's active RS256 signing key.
    ///
    /// # Panics
    ///
    /// If the admin API fails or the realm has no active RS256 key.
    pub async fn active_kid(&self) -> String {
        let keys = self.admin_get("/keys").await;
        keys["active"]["RS256"]
            .as_str()
            .expect("realm has an active RS256 key")
            .to_owned()
    }

    /// Rotates the signing key: adds an `rsa-generated` key provider with a higher priority
    /// than every existing key, so new tokens are signed with a new `kid`. The old key stays
    /// published in the JWKS (as after a real rotation) until [`Realm::retire_key`].
    ///
    /// # Panics
    ///
    /// If the admin API fails or the new key does not become active.
    pub async fn rotate_keys(&self) -> KeyRotation {
        let keys = self.admin_get("/keys").await;
        let old_kid = keys["active"]["RS256"]
            .as_str()
            .expect("realm has an active RS256 key")
            .to_owned();
        let max_priority = keys["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k["providerPriority"].as_i64())
            .max()
            .unwrap_or(100);
        let realm_id = self.admin_get("").await["id"]
            .as_str()
            .expect("realm has an id")
            .to_owned();
        let component = json!({
            "name": format!("rsa-rotated-{:08x}", rand::random::<u32>()),
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm_id,
            "config": {
                "priority": [(max_priority + 100).to_string()],
                "enabled": ["true"],
                "active": ["true"],
                "algorithm": ["RS256"],
                "keySize": ["2048"],
            },
        });
        self.admin_send(reqwest::Method::POST, "/components", Some(&component))
            .await;
        let new_kid = self.active_kid().await;
        assert_ne!(new_kid, old_kid, "rotation did not change the active kid");
        KeyRotation { old_kid, new_kid }
    }

    /// Disables the key provider that holds `kid`, which removes the key from the JWKS and
    /// makes Keycloak stop accepting tokens it signed.
    ///
    /// # Panics
    ///
    /// If the admin API fails or no key has that `kid`.
    pub async fn retire_key(&self, kid: &str) {
        let keys = self.admin_get("/keys").await;
        let provider_id = keys["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["kid"] == kid)
            .and_then(|k| k["providerId"].as_str())
            .unwrap_or_else(|| panic!("no key with kid {kid}"))
            .to_owned();
        let path = format!("/components/{provider_id}");
        let mut component = self.admin_get(&path).await;
        component["config"]["enabled"] = json!(["false"]);
        component["config"]["active"] = json!(["false"]);
        self.admin_send(reqwest::Method::PUT, &path, Some(&component))
            .await;
    }

    /// Disables a client (by `client_id`): it can no longer get tokens, and Keycloak's
    /// introspection reports its existing tokens as inactive.
    ///
    /// # Panics
    ///
    /// If the admin API fails or the client does not exist.
    pub async fn disable_client(&self, client_id: &str) {
        self.update_client(client_id, |rep| rep["enabled"] = json!(false))
            .await;
    }

    /// Sets the realm's access token lifespan (`accessTokenLifespan`), in seconds.
    ///
    /// # Panics
    ///
    /// If the admin API fails.
    pub async fn set_token_lifespan(&self, lifespan_secs: u32) {
        let update = json!({ "accessTokenLifespan": lifespan_secs });
        self.admin_send(reqwest::Method::PUT, "", Some(&update))
            .await;
    }

    /// Reads a client's representation, lets `change` edit it, and writes it back.
    ///
    /// # Panics
    ///
    /// If the admin API fails or the client does not exist.
    pub async fn update_client(&self, client_id: &str, change: impl FnOnce(&mut Value)) {
        let found = self
            .admin_get(&format!("/clients?clientId={client_id}"))
            .await;
        let id = found[0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no client {client_id} in realm {}", self.name))
            .to_owned();
        let path = format!("/clients/{id}");
        let mut rep = self.admin_get(&path).await;
        change(&mut rep);
        self.admin_send(reqwest::Method::PUT, &path, Some(&rep))
            .await;
    }

    /// GETs `/admin/realms/{name}{path}` and returns the JSON body.
    ///
    /// # Panics
    ///
    /// If the request fails or does not answer 2xx with JSON.
    pub async fn admin_get(&self, path: &str) -> Value {
        self.admin_send(reqwest::Method::GET, path, None).await
    }

    /// Sends a request to `/admin/realms/{name}{path}` with an optional JSON body and returns
    /// the JSON answer (`null` when the body is empty).
    ///
    /// # Panics
    ///
    /// If the request fails or does not answer 2xx.
    pub async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Value {
        let token = self.kc.admin_token().await;
        let url = format!("{}/admin/realms/{}{path}", self.kc.base_url, self.name);
        let mut req = self
            .kc
            .http
            .request(method.clone(), &url)
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        check(resp, &format!("{method} {url}")).await
    }
}

impl Drop for Realm {
    fn drop(&mut self) {
        // Drop cannot await and may run inside the test's runtime, so delete the realm from a
        // separate thread with its own runtime and HTTP client (a reqwest client is bound to
        // the runtime that drives its connections).
        let kc = self.kc.clone();
        let name = self.name.clone();
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let kc = Keycloak {
                    http: reqwest::Client::new(),
                    ..kc
                };
                let token = kc.admin_token().await;
                let resp = kc
                    .http
                    .delete(format!("{}/admin/realms/{name}", kc.base_url))
                    .bearer_auth(token)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("DELETE realm {name}: {}", resp.status()))
                }
            })
        })
        .join();
        match deleted {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: realm {} not deleted: {e}", self.name),
            Err(_) => eprintln!("warning: realm {} not deleted: cleanup panicked", self.name),
        }
    }
}

/// The env file written by `scripts/keycloak.sh start`.
fn env_file_path() -> PathBuf {
    if let Some(path) = std::env::var_os(ENV_FILE) {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("SASLGATE_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/saslgate")))
        .unwrap_or_else(|| PathBuf::from(".cache/saslgate"));
    cache.join("run/keycloak.env")
}

/// POSTs a token request form and returns the JSON answer, or the RFC 6749 §5.2 error.
async fn token_request(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<Value, TokenError> {
    let resp = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(TokenError::Transport)?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(TokenError::Transport)?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(TokenError::Rejected {
            status: status.as_u16(),
            error: body["error"].as_str().unwrap_or_default().to_owned(),
            description: body["error_description"].as_str().map(str::to_owned),
        })
    }
}

fn access_token(body: &Value) -> String {
    body["access_token"]
        .as_str()
        .expect("token response has access_token")
        .to_owned()
}

/// Panics with the body unless `resp` is 2xx; returns the JSON body (`null` if empty).
async fn check(resp: reqwest::Response, what: &str) -> Value {
    let status = resp.status();
    let text = resp
        .text()
        .await
        .unwrap_or_else(|e| panic!("{what}: reading body: {e}"));
    assert!(status.is_success(), "{what}: {status}: {text}");
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
    }
}
