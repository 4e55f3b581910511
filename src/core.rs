//! The assembled core: one configuration with its validator and token sources. A reload builds a
//! new `Core` beside the old one and swaps the `Arc`.
//!
//! Life cycle: [`Core::start`] spawns the background tasks (one JWKS refresh loop per issuer,
//! one token refresher per client-credentials identity) and the core keeps their handles. When
//! the last `Arc<Core>` goes (the daemon swapped in a new core and the last session of the old
//! one ended), `Drop` aborts them, so a reload never leaves the old core's refreshers running.

use crate::acquire::TokenSources;
use crate::config::Config;
use crate::http::HttpClient;
use crate::validate::{Clock, Validator};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

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
    /// Background tasks started by [`Core::start`]; aborted on drop.
    tasks: Mutex<Vec<JoinHandle<()>>>,
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
            tasks: Mutex::new(Vec::new()),
        }))
    }

    /// Loads discovery documents and key sets of every issuer and starts the background tasks:
    /// the JWKS refresh loops and the token refreshers of the client-credentials identities
    /// ([`TokenSources::spawn_refreshers`]). Failures are reported per issuer; the core keeps
    /// working for issuers that loaded, and retries the others in the background. The tasks
    /// live as long as the core: they are aborted when it is dropped. Calling `start` again
    /// aborts the previous tasks before starting new ones. Must be called inside a Tokio
    /// runtime.
    pub async fn start(
        self: &Arc<Self>,
    ) -> Vec<(String, Result<(), crate::validate::ValidateError>)> {
        let refreshers = self.tokens.spawn_refreshers();
        let (results, jwks_tasks) = self.validator.start().await;
        let previous = {
            let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(
                &mut *tasks,
                refreshers.into_iter().chain(jwks_tasks).collect(),
            )
        };
        for task in previous {
            task.abort();
        }
        results
    }

    /// The number of background tasks started by [`Core::start`] that are still running.
    pub fn running_tasks(&self) -> usize {
        self.tasks
            .lock()
            .map(|t| t.iter().filter(|h| !h.is_finished()).count())
            .unwrap_or(0)
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

impl Drop for Core {
    /// Aborts every background task of this core (JWKS refresh loops, token refreshers).
    fn drop(&mut self) {
        let tasks = match self.tasks.get_mut() {
            Ok(t) => std::mem::take(t),
            Err(e) => std::mem::take(e.into_inner()),
        };
        if !tasks.is_empty() {
            tracing::debug!(
                tasks = tasks.len(),
                "core dropped: stopping its background tasks"
            );
        }
        for task in tasks {
            task.abort();
        }
    }
}

/// The shared test keys and loopback JWKS server (a `#[path]` include needs a real directory,
/// hence at file level).
#[cfg(test)]
#[allow(clippy::duplicate_mod)]
#[path = "../tests/common/keys.rs"]
mod test_keys;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use test_keys::{JwksServer, TestKey};

    /// A config whose single issuer is the loopback JWKS server at `base`, refreshed every
    /// second (`Cache-Control` absent, bounds clamped to one second).
    fn config(base: &str) -> Arc<Config> {
        let text = format!(
            "[cache]\njwks_refresh_secs = 1\njwks_min_refresh_secs = 1\n\
             [[issuers]]\nname = \"kc\"\nissuer = \"http://127.0.0.1:9/realms/t\"\n\
             discovery = false\njwks_uri = \"{base}/jwks\"\naudiences = [\"zookeeper\"]\n\
             [[services]]\nname = \"zookeeper\"\nissuers = [\"kc\"]\n"
        );
        Arc::new(Config::from_toml_str(&text, "<test>").expect("test config"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_a_started_core_stops_its_jwks_refresh_task() {
        let (server, base) = JwksServer::start().await;
        let key = TestKey::generate(jsonwebtoken::Algorithm::ES256, Some("k1"));
        server.set_keys(&[&key.jwk]);

        let core = Core::new(config(&base)).expect("core");
        let results = core.start().await;
        assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
        assert_eq!(
            core.running_tasks(),
            1,
            "one JWKS refresh loop, no identities"
        );

        // The refresh loop is alive: it fetches again about a second after the first load.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while server.hits() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the refresh loop never refetched"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        drop(core);
        // Let an abort that raced with a fetch in flight settle, then count.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after_drop = server.hits();
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(
            server.hits(),
            after_drop,
            "the JWKS endpoint was fetched after the core was dropped"
        );
    }

    #[tokio::test]
    async fn starting_twice_replaces_the_background_tasks() {
        let (server, base) = JwksServer::start().await;
        let key = TestKey::generate(jsonwebtoken::Algorithm::ES256, Some("k1"));
        server.set_keys(&[&key.jwk]);
        let core = Core::new(config(&base)).expect("core");
        core.start().await;
        core.start().await;
        tokio::task::yield_now().await;
        assert_eq!(core.running_tasks(), 1);
    }
}
