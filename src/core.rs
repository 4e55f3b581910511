//! The assembled core: one configuration with its validator and token sources. A reload builds a
//! new `Core` beside the old one and swaps the `Arc`.

use crate::acquire::TokenSources;
use crate::config::Config;
use crate::http::HttpClient;
use crate::validate::{Clock, Validator};
use std::sync::Arc;

/// The saslgate core for one configuration.
///
/// Build with [`Core::new`], then call [`Core::start`] inside a Tokio runtime to load keys and
/// start background refreshes. Sessions hold an `Arc<Core>` for their whole life, so a reload
/// never changes the rules under a session in flight.
#[derive(Debug)]
pub struct Core {
    config: Arc<Config>,
    http: HttpClient,
    validator: Validator,
    tokens: TokenSources,
}

impl Core {
    /// Assembles the core for `config`. Performs no I/O.
    ///
    /// # Errors
    /// [`crate::Error::Acquire`] when a secret or key file named by an identity cannot be read;
    /// [`crate::Error::Validate`] when the HTTP client cannot be built.
    pub fn new(config: Arc<Config>) -> Result<Arc<Self>, crate::Error> {
        Self::new_with_clock(config, Clock::system())
    }

    /// As [`Core::new`], with the validator reading "now" (seconds since the Unix epoch) from
    /// `clock` instead of the system clock: for tests of `exp`, `nbf` and `iat` handling
    /// against a real issuer.
    ///
    /// # Errors
    /// As [`Core::new`].
    pub fn new_with_clock(config: Arc<Config>, clock: Clock) -> Result<Arc<Self>, crate::Error> {
        let http = HttpClient::new(&config)
            .map_err(|e| crate::validate::ValidateError::Internal(e.to_string()))?;
        let validator = Validator::new(config.clone(), http.clone())?.with_clock(clock);
        let tokens = TokenSources::new(config.clone(), http.clone())?;
        Ok(Arc::new(Self {
            config,
            http,
            validator,
            tokens,
        }))
    }

    /// Loads discovery documents and key sets of every issuer and starts background refreshes.
    /// Failures are reported per issuer; the core keeps working for issuers that loaded, and
    /// retries the others in the background.
    pub async fn start(
        self: &Arc<Self>,
    ) -> Vec<(String, Result<(), crate::validate::ValidateError>)> {
        self.validator.start().await
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The shared outbound HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The token validator.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// This node's token sources.
    pub fn tokens(&self) -> &TokenSources {
        &self.tokens
    }
}
