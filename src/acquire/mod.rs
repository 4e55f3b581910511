//! This node's own credentials: OIDC client credentials (secret or `private_key_jwt`) and token
//! files (Kubernetes projected service-account tokens), refreshed ahead of expiry.
//!
//! TODO(acquire helper): implementation.

use crate::config::Config;
use crate::http::HttpClient;
use secrecy::SecretString;
use std::sync::Arc;

/// An access token this node holds, with its lifetime.
#[derive(Clone)]
#[non_exhaustive]
pub struct AccessToken {
    /// The token itself. Never logged; use [`AccessToken::fingerprint`].
    pub secret: SecretString,
    /// When it was obtained, seconds since the Unix epoch.
    pub obtained_at: u64,
    /// When it expires (`expires_in` or the JWT `exp`), seconds since the Unix epoch, if known.
    pub expires_at: Option<u64>,
}

impl AccessToken {
    /// The first 8 bytes of the token's SHA-256, hex: safe to log.
    pub fn fingerprint(&self) -> String {
        use secrecy::ExposeSecret;
        crate::cache::fingerprint(self.secret.expose_secret().as_bytes())
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("fp", &self.fingerprint())
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a token could not be acquired.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcquireError {
    /// No `[[identities]]` entry has this name.
    #[error("no identity is named {0:?}")]
    UnknownIdentity(String),
    /// The identity is configured but could not obtain a token.
    #[error("identity {identity:?}: {message}")]
    Failed {
        /// The identity name.
        identity: String,
        /// What went wrong (never contains a secret).
        message: String,
    },
}

/// The token sources of every configured identity.
#[derive(Debug, Clone)]
pub struct TokenSources {
    config: Arc<Config>,
    http: HttpClient,
}

impl TokenSources {
    /// Builds a source per `[[identities]]` entry. Nothing is fetched yet.
    ///
    /// # Errors
    /// [`AcquireError::Failed`] when a secret or key file cannot be read.
    pub fn new(config: Arc<Config>, http: HttpClient) -> Result<Self, AcquireError> {
        Ok(Self { config, http })
    }

    /// The current token of `identity`, fetching or refreshing it if needed (one request in
    /// flight per identity).
    ///
    /// # Errors
    /// [`AcquireError::UnknownIdentity`], or [`AcquireError::Failed`] when the IdP refuses or
    /// cannot be reached.
    pub async fn token(&self, identity: &str) -> Result<AccessToken, AcquireError> {
        let _ = (&self.config, &self.http);
        Err(AcquireError::UnknownIdentity(identity.to_string()))
    }
}
