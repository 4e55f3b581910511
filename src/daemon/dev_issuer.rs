//! The built-in **development** OpenID Connect issuer of `saslgate dev` (DESIGN §7). Not for
//! production: it binds loopback addresses only, its signing key lives in memory for the life
//! of the process, and every log line it writes says it is a development issuer.
//!
//! It serves, over plain HTTP on loopback:
//!
//! | endpoint | standard |
//! |---|---|
//! | `GET /.well-known/openid-configuration` | OpenID Connect Discovery 1.0 §4 |
//! | `GET /jwks` (`Cache-Control: max-age=300`) | RFC 7517 key set, one ES256 key per rotation |
//! | `POST /introspect` | RFC 7662, for any configured client (same client authentication); `active` is true for a token this issuer signed with a published key that has not expired |
//! | `POST /token` | RFC 6749 §4.4 client credentials; client authentication by `client_secret_basic` (§2.3.1, form-urlencoded id and secret), `client_secret_post`, or `private_key_jwt` (RFC 7523 §2.2, verified against the client's configured public JWK) |
//!
//! Tokens are ES256 JWTs (RFC 7519/9068-like) with `iss`, `sub`, `aud`, `exp`, `iat`, `nbf`,
//! `jti`, `azp`, `typ: Bearer` and a `kid` header, plus the claims configured for the client
//! (`preferred_username`, `scope`, `realm_access.roles`, …). Errors follow RFC 6749 §5.2.

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use url::Url;

/// `client_assertion_type` for `private_key_jwt` (RFC 7523 §2.2).
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long the JWKS may be cached by clients, in seconds.
const JWKS_MAX_AGE_SECS: u64 = 300;
/// Leeway for `exp`/`nbf`/`iat` of client assertions, in seconds.
const ASSERTION_LEEWAY_SECS: u64 = 5;
/// Remembered assertion `jti`s (replay protection) before the set is cleared.
const MAX_SEEN_JTIS: usize = 10_000;

/// Why the development issuer could not start or mint a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevIssuerError {
    /// The listen address could not be bound.
    #[error("development issuer: cannot bind {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The overrides or claims given to [`DevIssuer::mint`] are not a JSON object.
    #[error("development issuer: claims must be a JSON object")]
    ClaimsNotObject,
    /// A signing key could not be generated or exported.
    #[error("development issuer: cannot generate a signing key: {0}")]
    Key(String),
    /// The address is not a loopback address.
    #[error(
        "development issuer: refusing to listen on {addr}: it binds loopback addresses only \
         (127.0.0.0/8 or ::1), because its clients, secrets and keys are for local testing"
    )]
    NotLoopback {
        /// The refused address.
        addr: SocketAddr,
    },
    /// Signing failed.
    #[error("development issuer: cannot sign a token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
    /// No client has this id.
    #[error("development issuer: no client is named {0:?}")]
    UnknownClient(String),
}

/// How a development client authenticates at `POST /token`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DevClientAuth {
    /// A shared secret, accepted by `client_secret_basic` or `client_secret_post`.
    Secret(SecretString),
    /// A public key (JWK, with `alg` or a key type implying one) that verifies the client's
    /// `private_key_jwt` assertions.
    PrivateKeyJwt(Box<Jwk>),
}

/// A client the development issuer knows: its id, how it authenticates, and the claims of
/// the tokens it receives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DevClient {
    /// The OAuth client id (also the default `sub` and the `azp`).
    pub client_id: String,
    /// How it authenticates.
    pub auth: DevClientAuth,
    /// Claims put into its tokens (`sub`, `aud`, `preferred_username`, `scope`,
    /// `realm_access`, …); they override the defaults. `scope` (space-separated) also limits
    /// the scopes it may request; an `aud` string or array limits the `audience` parameter.
    pub claims: Map<String, Value>,
}

impl DevClient {
    /// A client authenticating with `secret` (basic or post), with no extra claims.
    pub fn with_secret(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            auth: DevClientAuth::Secret(SecretString::from(secret.into())),
            claims: Map::new(),
        }
    }

    /// A client authenticating with `private_key_jwt` assertions verified by `public_key`.
    pub fn with_public_key(client_id: impl Into<String>, public_key: Jwk) -> Self {
        Self {
            client_id: client_id.into(),
            auth: DevClientAuth::PrivateKeyJwt(Box::new(public_key)),
            claims: Map::new(),
        }
    }

    /// Adds `claims` (a JSON object; anything else is ignored) to the client's tokens.
    pub fn claims(mut self, claims: Value) -> Self {
        if let Value::Object(map) = claims {
            self.claims.extend(map);
        }
        self
    }
}

/// A running development issuer. Stops when [`DevIssuer::shutdown`] is awaited or when dropped.
#[derive(Debug)]
pub struct DevIssuer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl DevIssuer {
    /// Binds `addr` (loopback only; port 0 picks a free port), generates an ephemeral ES256
    /// signing key and serves discovery, JWKS and the token endpoint for `clients`. Tokens live
    /// `token_lifetime_secs`.
    ///
    /// # Errors
    /// [`DevIssuerError::NotLoopback`] for a non-loopback address, [`DevIssuerError::Bind`],
    /// [`DevIssuerError::Key`].
    pub async fn start(
        addr: SocketAddr,
        clients: Vec<DevClient>,
        token_lifetime_secs: u64,
    ) -> Result<Self, DevIssuerError> {
        if !addr.ip().is_loopback() {
            return Err(DevIssuerError::NotLoopback { addr });
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| DevIssuerError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| DevIssuerError::Bind { addr, source })?;
        let issuer = format!("http://{local}");
        let shared = Arc::new(Shared {
            token_endpoint: format!("{issuer}/token"),
            issuer,
            clients: clients
                .into_iter()
                .map(|c| (c.client_id.clone(), c))
                .collect(),
            keys: RwLock::new(KeyRing {
                current: SigningKey::generate()?,
                previous: Vec::new(),
            }),
            token_lifetime_secs,
            seen_jtis: Mutex::new(HashSet::new()),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .route("/introspect", post(introspect))
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "development issuer: server stopped with an error");
            }
        });
        tracing::warn!(
            issuer = %shared.issuer,
            kid = %shared.current_kid(),
            clients = shared.clients.len(),
            "development issuer started: NOT FOR PRODUCTION (loopback only, ephemeral key)"
        );
        Ok(Self {
            shared,
            addr: local,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The issuer identifier (`http://127.0.0.1:<port>`), as in the `iss` claim.
    pub fn issuer_url(&self) -> Url {
        Url::parse(&self.shared.issuer).expect("issuer URL built from a socket address parses")
    }

    /// The issuer identifier exactly as it appears in `iss` (no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The token endpoint URL (`<issuer>/token`).
    pub fn token_endpoint(&self) -> Url {
        Url::parse(&self.shared.token_endpoint)
            .expect("token endpoint built from a socket address parses")
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `kid` of the key that signs new tokens (its RFC 7638 thumbprint).
    pub fn current_kid(&self) -> String {
        self.shared.current_kid()
    }

    /// Generates a new signing key and makes it current. The previous keys stay in the JWKS
    /// (so tokens they signed still verify) until [`DevIssuer::retire_previous_keys`]. Returns
    /// the new `kid`.
    ///
    /// # Errors
    /// [`DevIssuerError::Key`] when key generation fails.
    pub fn rotate_key(&self) -> Result<String, DevIssuerError> {
        let fresh = SigningKey::generate()?;
        let kid = fresh.kid.clone();
        let mut ring = self
            .shared
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = std::mem::replace(&mut ring.current, fresh);
        ring.previous.push(old);
        tracing::info!(kid = %kid, "development issuer: rotated signing key");
        Ok(kid)
    }

    /// Removes every key but the current one from the JWKS.
    pub fn retire_previous_keys(&self) {
        let mut ring = self
            .shared
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.previous.clear();
        tracing::info!("development issuer: retired previous signing keys");
    }

    /// Mints a token for `client_id` as `POST /token` would, then applies `overrides` (a JSON
    /// object; a `null` value removes the claim). Use it to make expired, not-yet-valid or
    /// wrong-audience tokens: `json!({"exp": 1})`.
    ///
    /// # Errors
    /// [`DevIssuerError::UnknownClient`], [`DevIssuerError::ClaimsNotObject`],
    /// [`DevIssuerError::Sign`].
    pub fn mint(&self, client_id: &str, overrides: Value) -> Result<String, DevIssuerError> {
        let client = self
            .shared
            .clients
            .get(client_id)
            .ok_or_else(|| DevIssuerError::UnknownClient(client_id.to_string()))?;
        let Value::Object(overrides) = overrides else {
            return Err(DevIssuerError::ClaimsNotObject);
        };
        let mut claims = self.shared.claims_for(client, unix_now());
        for (k, v) in overrides {
            if v.is_null() {
                claims.remove(&k);
            } else {
                claims.insert(k, v);
            }
        }
        self.shared.sign(&claims)
    }

    /// Signs arbitrary `claims` (a JSON object) with the current key, `kid` header set.
    ///
    /// # Errors
    /// [`DevIssuerError::ClaimsNotObject`], [`DevIssuerError::Sign`].
    pub fn sign_claims(&self, claims: Value) -> Result<String, DevIssuerError> {
        let Value::Object(claims) = claims else {
            return Err(DevIssuerError::ClaimsNotObject);
        };
        self.shared.sign(&claims)
    }

    /// Stops serving and waits for the server task to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        tracing::info!(issuer = %self.shared.issuer, "development issuer stopped");
    }
}

impl Drop for DevIssuer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Debug)]
struct Shared {
    issuer: String,
    token_endpoint: String,
    clients: HashMap<String, DevClient>,
    keys: RwLock<KeyRing>,
    token_lifetime_secs: u64,
    seen_jtis: Mutex<HashSet<String>>,
}

#[derive(Debug)]
struct KeyRing {
    current: SigningKey,
    previous: Vec<SigningKey>,
}

struct SigningKey {
    kid: String,
    key: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh P-256 key (aws-lc-rs), its PKCS#8 form for jsonwebtoken, and its public JWK
    /// with `kid` = RFC 7638 thumbprint, `use` = `sig`, `alg` = `ES256`.
    fn generate() -> Result<Self, DevIssuerError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|e| DevIssuerError::Key(e.to_string()))?;
        let pkcs8 = pair
            .to_pkcs8v1()
            .map_err(|e| DevIssuerError::Key(e.to_string()))?;
        let key = EncodingKey::from_ec_der(pkcs8.as_ref());
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)
            .map_err(|e| DevIssuerError::Key(e.to_string()))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| DevIssuerError::Key(e.to_string()))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Self { kid, key, jwk })
    }
}

impl Shared {
    fn current_kid(&self) -> String {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .current
            .kid
            .clone()
    }

    /// The default claims of a token for `client`, then the client's configured claims.
    fn claims_for(&self, client: &DevClient, now: u64) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(client.client_id));
        claims.insert("azp".into(), json!(client.client_id));
        claims.insert("client_id".into(), json!(client.client_id));
        claims.insert("typ".into(), json!("Bearer"));
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        claims.insert(
            "exp".into(),
            json!(now.saturating_add(self.token_lifetime_secs)),
        );
        claims.insert("jti".into(), json!(random_hex(16)));
        for (k, v) in &client.claims {
            claims.insert(k.clone(), v.clone());
        }
        claims
    }

    fn sign(&self, claims: &Map<String, Value>) -> Result<String, DevIssuerError> {
        let ring = self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(ring.current.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &ring.current.key).map_err(DevIssuerError::Sign)
    }

    fn jwks(&self) -> JwkSet {
        let ring = self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        JwkSet {
            keys: std::iter::once(&ring.current)
                .chain(ring.previous.iter())
                .map(|k| k.jwk.clone())
                .collect(),
        }
    }

    /// Authenticates the client of a token request (RFC 6749 §2.3, RFC 7523 §3).
    fn authenticate(
        &self,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Result<&DevClient, OAuthError> {
        let basic = headers
            .get(header::AUTHORIZATION)
            .map(parse_basic)
            .transpose()?;
        let post = form.get("client_secret");
        let assertion = form.get("client_assertion");
        let methods = [basic.is_some(), post.is_some(), assertion.is_some()]
            .iter()
            .filter(|m| **m)
            .count();
        if methods > 1 {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method was used",
            ));
        }
        if let Some((id, secret)) = basic {
            if form.get("client_id").is_some_and(|c| *c != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the Basic credentials",
                ));
            }
            return self.check_secret(&id, &secret).map_err(|e| e.basic());
        }
        if let Some(secret) = post {
            let id = form
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_request("client_id is missing"))?;
            return self.check_secret(id, secret);
        }
        if let Some(assertion) = assertion {
            if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER_ASSERTION) {
                return Err(OAuthError::invalid_request(
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
            }
            return self.check_assertion(form.get("client_id"), assertion);
        }
        Err(OAuthError::invalid_client("no client authentication").basic())
    }

    fn check_secret(&self, client_id: &str, secret: &str) -> Result<&DevClient, OAuthError> {
        let client = self
            .clients
            .get(client_id)
            .ok_or_else(|| OAuthError::invalid_client("unknown client or wrong secret"))?;
        let DevClientAuth::Secret(expected) = &client.auth else {
            return Err(OAuthError::invalid_client(
                "this client authenticates with private_key_jwt",
            ));
        };
        let a = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
        let b = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            expected.expose_secret().as_bytes(),
        );
        aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref())
            .map_err(|_| OAuthError::invalid_client("unknown client or wrong secret"))?;
        Ok(client)
    }

    fn check_assertion(
        &self,
        client_id: Option<&String>,
        assertion: &str,
    ) -> Result<&DevClient, OAuthError> {
        let bad = |why: String| OAuthError::invalid_client(&format!("client assertion: {why}"));
        // The client is named by client_id, else by the (not yet verified) `iss`; the
        // signature check below then binds the assertion to that client's key.
        let client_id = match client_id {
            Some(id) => id.clone(),
            None => {
                let claims: Map<String, Value> =
                    jsonwebtoken::dangerous::insecure_decode_claims(assertion)
                        .map_err(|e| bad(e.to_string()))?;
                claims
                    .get("iss")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| bad("no iss".into()))?
            }
        };
        let client = self
            .clients
            .get(&client_id)
            .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
        let DevClientAuth::PrivateKeyJwt(jwk) = &client.auth else {
            return Err(OAuthError::invalid_client(
                "this client authenticates with a secret",
            ));
        };
        let header = jsonwebtoken::decode_header(assertion).map_err(|e| bad(e.to_string()))?;
        if matches!(
            header.alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            return Err(bad("HMAC algorithms are not accepted".into()));
        }
        if let Some(alg) = jwk.common.key_algorithm {
            // Both serialize to their JOSE names ("ES256", …).
            if serde_json::to_value(alg).ok() != serde_json::to_value(header.alg).ok() {
                return Err(bad(format!(
                    "alg {:?} does not match the client's key",
                    header.alg
                )));
            }
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(e.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = ASSERTION_LEEWAY_SECS;
        validation.set_audience(&[self.token_endpoint.as_str(), self.issuer.as_str()]);
        validation.set_issuer(&[client_id.as_str()]);
        validation.sub = Some(client_id.clone());
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(assertion, &key, &validation)
            .map_err(|e| bad(e.to_string()))?;
        let jti = data
            .claims
            .get("jti")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no jti".into()))?;
        let mut seen = self
            .seen_jtis
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_SEEN_JTIS {
            seen.clear();
        }
        if !seen.insert(format!("{client_id}\u{0}{jti}")) {
            return Err(bad("jti was already used".into()));
        }
        Ok(client)
    }
}

/// An RFC 6749 §5.2 error response.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    basic_challenge: bool,
}

impl OAuthError {
    fn invalid_request(description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    fn invalid_client(description: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
    fn new(status: StatusCode, error: &'static str, description: &str) -> Self {
        Self {
            status,
            error,
            description: description.to_string(),
            basic_challenge: false,
        }
    }
    /// Adds `WWW-Authenticate: Basic` (the client tried, or should try, HTTP Basic).
    fn basic(mut self) -> Self {
        self.basic_challenge = true;
        self
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        tracing::info!(
            error = self.error,
            description = %self.description,
            "development issuer: token request refused"
        );
        let mut resp = (
            self.status,
            no_store(),
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        if self.basic_challenge {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"saslgate-dev\""),
            );
        }
        resp
    }
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({
        "issuer": shared.issuer,
        "token_endpoint": shared.token_endpoint,
        "jwks_uri": format!("{}/jwks", shared.issuer),
        "introspection_endpoint": format!("{}/introspect", shared.issuer),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "scopes_supported": ["openid"],
    }))
    .into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    let cache = HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}"))
        .unwrap_or(HeaderValue::from_static("max-age=300"));
    ([(header::CACHE_CONTROL, cache)], Json(shared.jwks())).into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&shared, &headers, &body) {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = parse_form(&body).and_then(|form| {
        let caller = shared.authenticate(&headers, &form)?;
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        Ok((caller.client_id.clone(), shared.introspect(token)))
    });
    match result {
        Ok((caller, answer)) => {
            let active = answer.get("active").and_then(|a| a.as_bool()) == Some(true);
            tracing::info!(
                caller = %caller,
                active,
                "development issuer: introspection"
            );
            (StatusCode::OK, no_store(), Json(Value::Object(answer))).into_response()
        }
        Err(e) => e.into_response(),
    }
}

impl Shared {
    /// The RFC 7662 §2.2 answer for `token`: its claims plus `active: true` when this issuer
    /// signed it with a key it still publishes and it is within `nbf`/`exp`; else only
    /// `active: false`.
    fn introspect(&self, token: &str) -> Map<String, Value> {
        let inactive = || {
            let mut m = Map::new();
            m.insert("active".into(), Value::Bool(false));
            m
        };
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return inactive();
        };
        if header.alg != Algorithm::ES256 {
            return inactive();
        }
        let set = self.jwks();
        let Some(jwk) = header.kid.as_deref().and_then(|kid| set.find(kid)) else {
            return inactive();
        };
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            return inactive();
        };
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.leeway = 0;
        validation.set_issuer(&[self.issuer.as_str()]);
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
            Ok(data) => {
                let mut claims = data.claims;
                claims.insert("active".into(), Value::Bool(true));
                claims.insert("token_type".into(), json!("Bearer"));
                claims
            }
            Err(_) => inactive(),
        }
    }
}

fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut form = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if form.insert(k.to_string(), v.to_string()).is_some() {
            return Err(OAuthError::invalid_request(&format!(
                "parameter {k} was sent more than once"
            )));
        }
    }
    Ok(form)
}

fn issue(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let form = parse_form(body)?;
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            ))
        }
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
    }
    let client = shared.authenticate(headers, &form)?;
    let now = unix_now();
    let mut claims = shared.claims_for(client, now);

    // scope: the requested scopes must be among the client's configured ones (if any).
    let allowed: Option<Vec<&str>> = client
        .claims
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().collect());
    if let Some(requested) = form.get("scope") {
        let requested: Vec<&str> = requested.split_whitespace().collect();
        if let Some(allowed) = &allowed {
            if let Some(bad) = requested.iter().find(|s| !allowed.contains(s)) {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    &format!("scope {bad:?} is not allowed for this client"),
                ));
            }
        }
        claims.insert("scope".into(), json!(requested.join(" ")));
    }
    // audience: must be one of the client's configured audiences (if any); narrows `aud`.
    if let Some(audience) = form.get("audience") {
        let allowed = match client.claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
            _ => true,
        };
        if !allowed {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                &format!("audience {audience:?} is not allowed for this client"),
            ));
        }
        claims.insert("aud".into(), json!(audience));
    }
    let jwt = shared.sign(&claims).map_err(|e| {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &e.to_string(),
        )
    })?;
    tracing::info!(
        client_id = %client.client_id,
        token.fp = %crate::cache::fingerprint(jwt.as_bytes()),
        "development issuer: issued token"
    );
    let mut body = json!({
        "access_token": jwt,
        "token_type": "Bearer",
        "expires_in": shared.token_lifetime_secs,
    });
    if let Some(scope) = claims.get("scope") {
        body["scope"] = scope.clone();
    }
    Ok((StatusCode::OK, no_store(), Json(body)).into_response())
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// The client id and secret from `Authorization: Basic`, each form-urlencoded (RFC 6749
/// §2.3.1) and decoded here.
fn parse_basic(value: &HeaderValue) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials").basic();
    let text = value.to_str().map_err(|_| bad())?;
    let (scheme, b64) = text.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
    Ok((form_decode(id), form_decode(secret)))
}

/// Decodes one application/x-www-form-urlencoded component (`+` is a space, `%XX` a byte).
fn form_decode(component: &str) -> String {
    url::form_urlencoded::parse(component.as_bytes())
        .next()
        .map(|(k, v)| {
            // A raw '=' inside a component splits it; put it back.
            if v.is_empty() && !component.contains('=') {
                k.into_owned()
            } else {
                format!("{k}={v}")
            }
        })
        .unwrap_or_default()
}

fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        bytes.iter_mut().for_each(|b| *b = rand::random());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    #[tokio::test]
    async fn refuses_a_non_loopback_address_and_says_why() {
        let err = DevIssuer::start(SocketAddr::from(([0, 0, 0, 0], 0)), vec![], 60)
            .await
            .expect_err("not loopback");
        assert!(matches!(err, DevIssuerError::NotLoopback { .. }));
        assert!(
            err.to_string().contains("binds loopback addresses only"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn minted_tokens_verify_with_the_published_jwks_and_carry_the_client_claims() {
        let issuer = DevIssuer::start(
            local(),
            vec![DevClient::with_secret("zk", "s").claims(json!({
                "aud": "zookeeper",
                "preferred_username": "zk-client",
                "realm_access": {"roles": ["zk-admin"]},
            }))],
            300,
        )
        .await
        .expect("start");
        let jwt = issuer.mint("zk", json!({})).expect("mint");
        let kid = jsonwebtoken::decode_header(&jwt)
            .expect("header")
            .kid
            .expect("kid");
        assert_eq!(kid, issuer.current_kid());
        let set = issuer.shared.jwks();
        let jwk = set.find(&kid).expect("published");
        let mut v = Validation::new(Algorithm::ES256);
        v.set_audience(&["zookeeper"]);
        v.set_issuer(&[issuer.issuer()]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(
            &jwt,
            &DecodingKey::from_jwk(jwk).expect("key"),
            &v,
        )
        .expect("verifies");
        assert_eq!(data.claims["sub"], "zk");
        assert_eq!(data.claims["azp"], "zk");
        assert_eq!(data.claims["typ"], "Bearer");
        assert_eq!(data.claims["preferred_username"], "zk-client");
        assert_eq!(data.claims["realm_access"]["roles"][0], "zk-admin");
        issuer.shutdown().await;
    }

    #[tokio::test]
    async fn mint_overrides_set_and_remove_claims() {
        let issuer = DevIssuer::start(local(), vec![DevClient::with_secret("zk", "s")], 300)
            .await
            .expect("start");
        let jwt = issuer
            .mint("zk", json!({"exp": 1, "sub": null}))
            .expect("mint");
        let claims: Map<String, Value> =
            jsonwebtoken::dangerous::insecure_decode_claims(&jwt).expect("claims");
        assert_eq!(claims["exp"], 1);
        assert!(!claims.contains_key("sub"));
        assert!(matches!(
            issuer.mint("nobody", json!({})),
            Err(DevIssuerError::UnknownClient(c)) if c == "nobody"
        ));
    }

    #[tokio::test]
    async fn rotation_keeps_the_old_key_published_until_retired() {
        let issuer = DevIssuer::start(local(), vec![], 300).await.expect("start");
        let old = issuer.current_kid();
        let new = issuer.rotate_key().expect("rotate");
        assert_ne!(old, new);
        assert_eq!(issuer.current_kid(), new);
        let kids: Vec<_> = issuer
            .shared
            .jwks()
            .keys
            .iter()
            .filter_map(|k| k.common.key_id.clone())
            .collect();
        assert_eq!(kids, vec![new.clone(), old]);
        issuer.retire_previous_keys();
        assert_eq!(issuer.shared.jwks().keys.len(), 1);
    }

    #[tokio::test]
    async fn introspection_reports_own_live_tokens_active_and_others_inactive() {
        let issuer = DevIssuer::start(local(), vec![DevClient::with_secret("rs", "pw")], 300)
            .await
            .expect("start");
        let live = issuer.mint("rs", json!({})).expect("mint");
        let expired = issuer.mint("rs", json!({"exp": 1})).expect("mint");
        let client = reqwest::Client::new();
        let ask = |token: String| {
            client
                .post(format!("{}/introspect", issuer.issuer()))
                .basic_auth("rs", Some("pw"))
                .form(&[("token", token)])
                .send()
        };
        let live: Value = ask(live).await.expect("send").json().await.expect("json");
        assert_eq!(live["active"], true);
        assert_eq!(live["sub"], "rs");
        let expired: Value = ask(expired)
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(expired, json!({"active": false}));
        let garbage: Value = ask("opaque".into())
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(garbage, json!({"active": false}));
        let unauthenticated = client
            .post(format!("{}/introspect", issuer.issuer()))
            .form(&[("token", "x")])
            .send()
            .await
            .expect("send");
        assert_eq!(unauthenticated.status(), 401);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let raw = base64::engine::general_purpose::STANDARD.encode("my%3Aclient:p%40ss+word%3D");
        let value = HeaderValue::from_str(&format!("Basic {raw}")).expect("header");
        let (id, secret) = parse_basic(&value).expect("parsed");
        assert_eq!(id, "my:client");
        assert_eq!(secret, "p@ss word=");
    }
}
