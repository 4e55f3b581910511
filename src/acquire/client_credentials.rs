//! The OAuth 2.0 client credentials grant (RFC 6749 §4.4) through `openidconnect`/`oauth2`,
//! with the client authenticated by `client_secret_basic` (RFC 6749 §2.3.1: id and secret
//! form-urlencoded before HTTP Basic, which `oauth2`'s `AuthType::BasicAuth` does),
//! `client_secret_post`, or `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9).
//!
//! The token endpoint is configured, or read from the issuer's discovery document (OIDC
//! Discovery §4) whose `issuer` must name the configured issuer. Every request goes through
//! [`crate::http::HttpClient`]'s policy (https or loopback, no redirects, bounded size).

use super::{jwt_exp, AccessToken, AcquireError};
use crate::config::{ClientAuthMethod, Config, IdentityConfig, IssuerConfig};
use crate::http::{HttpClient, HttpError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openidconnect::core::{CoreClient, CoreTokenType};
use openidconnect::{
    AsyncHttpClient, AuthType, ClientId, ClientSecret, HttpRequest, HttpResponse, IssuerUrl,
    JsonWebKeySet, OAuth2TokenResponse, RequestTokenError, Scope, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use url::Url;

/// `client_assertion_type` for a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of a client assertion, in seconds.
const ASSERTION_LIFETIME_SECS: u64 = 60;

/// A configured client-credentials identity with its secret or key already loaded.
pub(crate) struct ClientCredentials {
    identity: String,
    client_id: String,
    auth: ClientAuth,
    scopes: Vec<String>,
    audience: Option<String>,
    endpoint: Endpoint,
    http: HttpClient,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("identity", &self.identity)
            .field("client_id", &self.client_id)
            .field("auth", &self.auth.method_name())
            .finish_non_exhaustive()
    }
}

enum ClientAuth {
    Basic(SecretString),
    Post(SecretString),
    PrivateKeyJwt {
        key: EncodingKey,
        alg: Algorithm,
        kid: Option<String>,
    },
}

impl ClientAuth {
    fn method_name(&self) -> &'static str {
        match self {
            ClientAuth::Basic(_) => "client_secret_basic",
            ClientAuth::Post(_) => "client_secret_post",
            ClientAuth::PrivateKeyJwt { .. } => "private_key_jwt",
        }
    }
}

enum Endpoint {
    Fixed(Url),
    Discover {
        issuer: Box<IssuerConfig>,
        resolved: tokio::sync::OnceCell<Url>,
    },
}

impl ClientCredentials {
    /// Loads the secret (file, environment through `env`, or inline) or the private key of
    /// `cfg`, so that a bad file is a startup error.
    ///
    /// # Errors
    /// [`AcquireError::Setup`] naming the identity and the file or variable (never its content).
    pub(crate) fn new(
        cfg: &IdentityConfig,
        config: &Config,
        http: HttpClient,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AcquireError> {
        let identity = cfg.name.clone();
        let setup = |message: String| AcquireError::Setup {
            identity: identity.clone(),
            message,
        };
        let client_id = cfg
            .client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| setup("client_id is not set".into()))?;
        let auth = match cfg.auth_method {
            ClientAuthMethod::ClientSecretBasic => ClientAuth::Basic(load_secret(cfg, env)?),
            ClientAuthMethod::ClientSecretPost => ClientAuth::Post(load_secret(cfg, env)?),
            ClientAuthMethod::PrivateKeyJwt => {
                let path = cfg
                    .private_key_file
                    .as_deref()
                    .ok_or_else(|| setup("private_key_file is not set".into()))?;
                let (key, alg) = load_private_key(path).map_err(setup)?;
                ClientAuth::PrivateKeyJwt {
                    key,
                    alg,
                    kid: cfg.key_id.clone(),
                }
            }
        };
        let endpoint = match (&cfg.token_endpoint, &cfg.issuer) {
            (Some(url), _) => Endpoint::Fixed(url.clone()),
            (None, Some(name)) => {
                let issuer = config
                    .issuer(name)
                    .ok_or_else(|| setup(format!("no [[issuers]] entry is named {name:?}")))?;
                if !issuer.discovery {
                    return Err(setup(format!(
                        "issuer {name:?} has discovery = false: set token_endpoint"
                    )));
                }
                Endpoint::Discover {
                    issuer: Box::new(issuer.clone()),
                    resolved: tokio::sync::OnceCell::new(),
                }
            }
            (None, None) => return Err(setup("set token_endpoint or issuer".into())),
        };
        let this = Self {
            identity: identity.clone(),
            client_id,
            auth,
            scopes: cfg.scopes.clone(),
            audience: cfg.audience.clone(),
            endpoint,
            http,
        };
        // Prove at startup that the key can sign (a P-384 key labelled EC, say, would not).
        if let ClientAuth::PrivateKeyJwt { alg, .. } = &this.auth {
            let probe =
                Url::parse("https://saslgate.invalid/token").map_err(|e| setup(e.to_string()))?;
            this.client_assertion(&probe, 0).map_err(|e| {
                setup(format!(
                    "private_key_file cannot sign {alg:?} client assertions: {e}"
                ))
            })?;
        }
        Ok(this)
    }

    /// Requests a token at the token endpoint.
    ///
    /// # Errors
    /// [`AcquireError::Rejected`] when the endpoint answers with an OAuth error (RFC 6749 §5.2);
    /// [`AcquireError::Failed`] for discovery, transport and response-format problems.
    pub(crate) async fn fetch(&self, now_secs: u64) -> Result<AccessToken, AcquireError> {
        let token_url = self.token_endpoint().await?;
        let issuer_url = match &self.endpoint {
            Endpoint::Discover { issuer, .. } => issuer.issuer.clone(),
            Endpoint::Fixed(u) => u.clone(),
        };
        // The OIDC client is only a carrier for the token request: no ID token is verified, so
        // its key set stays empty.
        let mut client = CoreClient::new(
            ClientId::new(self.client_id.clone()),
            IssuerUrl::from_url(issuer_url),
            JsonWebKeySet::default(),
        )
        .set_token_uri(TokenUrl::from_url(token_url.clone()));
        let mut assertion = None;
        client = match &self.auth {
            ClientAuth::Basic(secret) => client
                .set_auth_type(AuthType::BasicAuth)
                .set_client_secret(ClientSecret::new(secret.expose_secret().to_string())),
            ClientAuth::Post(secret) => client
                .set_auth_type(AuthType::RequestBody)
                .set_client_secret(ClientSecret::new(secret.expose_secret().to_string())),
            ClientAuth::PrivateKeyJwt { .. } => {
                assertion = Some(
                    self.client_assertion(&token_url, now_secs)
                        .map_err(|e| self.failed(format!("cannot sign client assertion: {e}")))?,
                );
                client.set_auth_type(AuthType::RequestBody)
            }
        };
        let mut request = client.exchange_client_credentials();
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(audience) = &self.audience {
            request = request.add_extra_param("audience", audience.clone());
        }
        if let Some(assertion) = assertion {
            request = request
                .add_extra_param("client_assertion_type", CLIENT_ASSERTION_TYPE)
                .add_extra_param("client_assertion", assertion);
        }
        let adapter = OidcHttp(self.http.clone());
        let shown = crate::http::redact(&token_url);
        let response = request
            .request_async(&adapter)
            .await
            .map_err(|e| self.request_error(&shown, e))?;
        if *response.token_type() != CoreTokenType::Bearer {
            return Err(self.failed(format!(
                "{shown} issued a token of type {:?}; only Bearer tokens are supported",
                response.token_type().as_ref()
            )));
        }
        let secret = response.access_token().secret();
        if secret.is_empty() {
            return Err(self.failed(format!("{shown} returned an empty access_token")));
        }
        let expires_at = token_expiry(response.expires_in().map(|d| d.as_secs()), secret, now_secs);
        Ok(AccessToken {
            secret: SecretString::from(secret.clone()),
            obtained_at: now_secs,
            expires_at,
        })
    }

    async fn token_endpoint(&self) -> Result<Url, AcquireError> {
        match &self.endpoint {
            Endpoint::Fixed(url) => Ok(url.clone()),
            Endpoint::Discover { issuer, resolved } => resolved
                .get_or_try_init(|| self.discover(issuer))
                .await
                .cloned(),
        }
    }

    async fn discover(&self, issuer: &IssuerConfig) -> Result<Url, AcquireError> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            #[serde(default)]
            token_endpoint: Option<Url>,
        }
        let url = issuer.discovery_document_url();
        let doc: Discovery = self
            .http
            .get(&url)
            .await
            .and_then(|r| r.json(&url))
            .map_err(|e| self.failed(format!("discovery failed: {e}")))?;
        if !issuer.matches_iss(&doc.issuer) {
            return Err(self.failed(format!(
                "discovery document {} names issuer {:?}, not the configured {:?}",
                crate::http::redact(&url),
                doc.issuer,
                issuer.issuer.as_str()
            )));
        }
        let endpoint = doc.token_endpoint.ok_or_else(|| {
            self.failed(format!(
                "discovery document {} has no token_endpoint",
                crate::http::redact(&url)
            ))
        })?;
        self.http
            .check_url(&endpoint)
            .map_err(|e| self.failed(format!("discovered token_endpoint: {e}")))?;
        tracing::debug!(identity = %self.identity, token_endpoint = %endpoint, "discovered token endpoint");
        Ok(endpoint)
    }

    /// A signed client assertion (RFC 7523 §3): `iss` = `sub` = client id, `aud` = the token
    /// endpoint, a random `jti`, `iat` now and `exp` 60 s later.
    fn client_assertion(
        &self,
        token_url: &Url,
        now_secs: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: &'a str,
            aud: &'a str,
            jti: String,
            iat: u64,
            exp: u64,
        }
        let ClientAuth::PrivateKeyJwt { key, alg, kid } = &self.auth else {
            return Err(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat.into());
        };
        let mut header = Header::new(*alg);
        header.kid = kid.clone();
        let claims = Claims {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: token_url.as_str(),
            jti: random_jti(),
            iat: now_secs,
            exp: now_secs + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, key)
    }

    fn request_error(
        &self,
        shown: &str,
        e: RequestTokenError<
            HttpError,
            openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
        >,
    ) -> AcquireError {
        match e {
            RequestTokenError::ServerResponse(resp) => AcquireError::Rejected {
                identity: self.identity.clone(),
                endpoint: shown.to_string(),
                error: resp.error().as_ref().to_string(),
                description: resp.error_description().cloned(),
            },
            RequestTokenError::Request(e) => self.failed(e.to_string()),
            RequestTokenError::Parse(e, _) => self.failed(format!(
                "{shown} sent a body that is not a token response: {}",
                e.path()
            )),
            RequestTokenError::Other(m) => self.failed(format!("{shown}: {m}")),
        }
    }

    fn failed(&self, message: String) -> AcquireError {
        AcquireError::Failed {
            identity: self.identity.clone(),
            message,
        }
    }
}

/// The client secret from `client_secret_file` (one trailing newline removed),
/// `client_secret_env` (looked up through `env`) or `client_secret`.
///
/// # Errors
/// [`AcquireError::Setup`] naming the identity and the file or variable when it is missing,
/// unreadable, not UTF-8 or empty. The secret itself never appears in an error.
pub(crate) fn load_secret(
    cfg: &IdentityConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SecretString, AcquireError> {
    let setup = |message: String| AcquireError::Setup {
        identity: cfg.name.clone(),
        message,
    };
    let secret = if let Some(path) = &cfg.client_secret_file {
        let bytes = std::fs::read(path).map_err(|e| {
            setup(format!(
                "cannot read client_secret_file {}: {e}",
                path.display()
            ))
        })?;
        let mut text = String::from_utf8(bytes).map_err(|_| {
            setup(format!(
                "client_secret_file {} is not UTF-8",
                path.display()
            ))
        })?;
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.is_empty() {
            return Err(setup(format!(
                "client_secret_file {} is empty",
                path.display()
            )));
        }
        SecretString::from(text)
    } else if let Some(var) = &cfg.client_secret_env {
        let value =
            env(var).ok_or_else(|| setup(format!("environment variable {var} is not set")))?;
        if value.is_empty() {
            return Err(setup(format!("environment variable {var} is empty")));
        }
        SecretString::from(value)
    } else if let Some(secret) = &cfg.client_secret {
        if secret.expose_secret().is_empty() {
            return Err(setup("client_secret is empty".into()));
        }
        secret.clone()
    } else {
        return Err(setup(
            "set one of client_secret_file, client_secret_env, client_secret".into(),
        ));
    };
    Ok(secret)
}

/// Reads a PEM private key: RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA).
fn load_private_key(path: &Path) -> Result<(EncodingKey, Algorithm), String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("cannot read private_key_file {}: {e}", path.display()))?;
    if let Ok(key) = EncodingKey::from_rsa_pem(&pem) {
        return Ok((key, Algorithm::RS256));
    }
    if let Ok(key) = EncodingKey::from_ec_pem(&pem) {
        return Ok((key, Algorithm::ES256));
    }
    if let Ok(key) = EncodingKey::from_ed_pem(&pem) {
        return Ok((key, Algorithm::EdDSA));
    }
    Err(format!(
        "private_key_file {} is not a PEM RSA, EC P-256 or Ed25519 private key",
        path.display()
    ))
}

fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // The system RNG failing is not recoverable in a meaningful way; fall back to the
        // thread RNG so the assertion still carries a unique id.
        bytes = rand::random();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `openidconnect`'s HTTP trait over our [`HttpClient`]: the URL policy is checked first, the
/// client's no-redirect and timeout settings apply, and the body is capped at
/// `limits.max_response_bytes`. Non-2xx responses are returned as they are, so that `oauth2`
/// can parse the RFC 6749 §5.2 error body.
struct OidcHttp(HttpClient);

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let url = Url::parse(&request.uri().to_string()).map_err(|_| HttpError::Forbidden {
                url: "<unparsable>".into(),
                reason: "not a valid URL",
            })?;
            self.0.check_url(&url)?;
            let shown = crate::http::redact(&url);
            let transport = |source| HttpError::Transport {
                url: shown.clone(),
                source,
            };
            let request = reqwest::Request::try_from(request).map_err(transport)?;
            let mut response = self.0.inner().execute(request).await.map_err(transport)?;
            let limit = self.0.max_response_bytes();
            let too_large = || HttpError::TooLarge {
                url: shown.clone(),
                limit,
            };
            if response.content_length().is_some_and(|n| n > limit as u64) {
                return Err(too_large());
            }
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(|_| HttpError::Json {
                url: shown.clone(),
                message: "response headers could not be carried over".into(),
            })
        })
    }
}

/// The expiry of an access token, in seconds since the Unix epoch: the token's own `exp` claim
/// when it is a JWT (what servers check, to the second), else `now_secs + expires_in_secs` from
/// the token response (RFC 6749 §5.1), else `None` (unknown).
///
/// Computing it from `expires_in` alone drifts by the second that may pass between the issuer
/// stamping `iat` and us reading the response, so the credential would report an expiry one
/// second after the token's.
fn token_expiry(expires_in_secs: Option<u64>, token: &str, now_secs: u64) -> Option<u64> {
    jwt_exp(token).or_else(|| expires_in_secs.map(|secs| now_secs.saturating_add(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsigned_jwt(claims: &str) -> String {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.c2ln", b64(r#"{"alg":"ES256"}"#), b64(claims))
    }

    #[test]
    fn token_expiry_is_the_jwt_exp_not_the_response_clock() {
        // Issued at 700 with a 300 s lifespan, read by us at 701: the token expires at 1000.
        let token = unsigned_jwt(r#"{"iat":700,"exp":1000}"#);
        assert_eq!(token_expiry(Some(300), &token, 701), Some(1000));
    }

    #[test]
    fn token_expiry_of_an_opaque_token_comes_from_expires_in() {
        assert_eq!(token_expiry(Some(300), "opaque-token", 701), Some(1001));
        assert_eq!(token_expiry(None, "opaque-token", 701), None);
    }

    fn identity(toml_extra: &str) -> IdentityConfig {
        let text = format!(
            r#"
            name = "zk-client"
            kind = "client_credentials"
            client_id = "zk"
            token_endpoint = "http://127.0.0.1:1/token"
            {toml_extra}
            "#
        );
        toml::from_str(&text).expect("identity toml")
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn secret_file_loses_exactly_one_trailing_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret \n\n").expect("write");
        let cfg = identity(&format!(
            "client_secret_file = {:?}",
            path.display().to_string()
        ));
        let secret = load_secret(&cfg, &no_env).expect("secret");
        assert_eq!(secret.expose_secret(), "s3cret \n");

        std::fs::write(&path, "crlf\r\n").expect("write");
        let secret = load_secret(&cfg, &no_env).expect("secret");
        assert_eq!(secret.expose_secret(), "crlf");
    }

    #[test]
    fn empty_secret_file_is_a_startup_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "\n").expect("write");
        let cfg = identity(&format!(
            "client_secret_file = {:?}",
            path.display().to_string()
        ));
        let err = load_secret(&cfg, &no_env).expect_err("empty");
        assert_eq!(
            err.to_string(),
            format!(
                "identity \"zk-client\": client_secret_file {} is empty",
                path.display()
            )
        );
    }

    #[test]
    fn missing_secret_file_names_identity_and_file() {
        let cfg = identity("client_secret_file = \"/nonexistent/saslgate/secret\"");
        let err = load_secret(&cfg, &no_env).expect_err("missing");
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "identity \"zk-client\": cannot read client_secret_file /nonexistent/saslgate/secret:"
            ),
            "{msg}"
        );
    }

    #[test]
    fn secret_comes_from_the_named_environment_variable() {
        let cfg = identity("client_secret_env = \"ZK_SECRET\"");
        let env = |name: &str| (name == "ZK_SECRET").then(|| "from-env".to_string());
        assert_eq!(
            load_secret(&cfg, &env).expect("secret").expose_secret(),
            "from-env"
        );
        let err = load_secret(&cfg, &no_env).expect_err("unset");
        assert_eq!(
            err.to_string(),
            "identity \"zk-client\": environment variable ZK_SECRET is not set"
        );
    }

    #[test]
    fn inline_secret_is_used_and_never_shown_in_debug() {
        let cfg = identity("client_secret = \"inline-secret\"");
        let secret = load_secret(&cfg, &no_env).expect("secret");
        assert_eq!(secret.expose_secret(), "inline-secret");
        assert!(!format!("{cfg:?}").contains("inline-secret"));
    }

    #[test]
    fn private_key_that_is_not_pem_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key.pem");
        std::fs::write(&path, "not a key").expect("write");
        let err = load_private_key(&path).expect_err("garbage");
        assert_eq!(
            err,
            format!(
                "private_key_file {} is not a PEM RSA, EC P-256 or Ed25519 private key",
                path.display()
            )
        );
    }

    #[test]
    fn jti_is_128_random_bits_in_hex() {
        let a = random_jti();
        let b = random_jti();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
