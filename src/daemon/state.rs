//! The daemon's shared state: the current core (a `watch` of `Arc<Core>`), where the
//! configuration comes from, the readiness latch, and reloads.
//!
//! A reload builds and starts a new [`Core`] beside the old one and publishes it only when that
//! succeeded; a rejected configuration keeps the old core and counts
//! `saslgate_config_reloads_total{result="error"}`. Requests take the latest core; sessions keep
//! the core they started with.

use super::api::{ApiError, ComponentStatus, ReadyResponse, ReloadResponse};
use super::sessions::Sessions;
use crate::config::{Config, ConfigError};
use crate::core::Core;
use axum::http::StatusCode;
use metrics_exporter_prometheus::PrometheusHandle;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::{watch, Mutex};

/// Where the configuration is (re)loaded from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConfigSource {
    /// A file, re-read with [`Config::load`] (including `SASLGATE_*` overrides) on each reload.
    File(PathBuf),
    /// Text held in memory (the embedded default of `saslgate dev`), re-parsed on each reload.
    Text {
        /// The TOML text.
        text: String,
        /// The name used in error messages, such as `<embedded>`.
        origin: String,
    },
}

impl ConfigSource {
    /// Loads and checks the configuration. Returns it with the warnings to log.
    ///
    /// # Errors
    /// The [`ConfigError`] naming file, key and problem.
    pub fn load(&self) -> Result<(Config, Vec<String>), ConfigError> {
        match self {
            ConfigSource::File(path) => Config::load(path),
            ConfigSource::Text { text, origin } => {
                Config::from_toml_str(text, origin).map(|c| (c, Vec::new()))
            }
        }
    }
}

/// The readiness latch and the per-issuer / per-identity start-up states.
#[derive(Debug, Default)]
pub(crate) struct Readiness {
    ready: AtomicBool,
    components: RwLock<(Vec<ComponentStatus>, Vec<ComponentStatus>)>,
}

impl Readiness {
    /// Pending entries for every issuer and identity of `config`.
    pub(crate) fn pending(config: &Config) -> Self {
        let pending = |name: &str| ComponentStatus {
            name: name.to_string(),
            status: "pending".to_string(),
            error: None,
        };
        Self {
            ready: AtomicBool::new(false),
            components: RwLock::new((
                config.issuers.iter().map(|i| pending(&i.name)).collect(),
                config.identities.iter().map(|i| pending(&i.name)).collect(),
            )),
        }
    }

    /// Records the states of a started core and releases the latch (for good).
    pub(crate) fn release(&self, issuers: Vec<ComponentStatus>, identities: Vec<ComponentStatus>) {
        if let Ok(mut c) = self.components.write() {
            *c = (issuers, identities);
        }
        if !self.ready.swap(true, Ordering::AcqRel) {
            super::metrics::ready();
            tracing::info!("ready");
        }
    }

    /// True once released.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The `/readyz` body.
    pub(crate) fn report(&self) -> ReadyResponse {
        let (issuers, identities) = self
            .components
            .read()
            .map(|c| c.clone())
            .unwrap_or_default();
        ReadyResponse {
            ready: self.is_ready(),
            issuers,
            identities,
        }
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) core: watch::Sender<Arc<Core>>,
    pub(crate) source: ConfigSource,
    pub(crate) reload_lock: Mutex<()>,
    pub(crate) readiness: Readiness,
    pub(crate) sessions: Sessions,
    pub(crate) metrics: PrometheusHandle,
    pub(crate) own_uid: u32,
    pub(crate) draining: AtomicBool,
}

/// The axum state: a cheap handle on [`Shared`].
#[derive(Debug, Clone)]
pub(crate) struct AppState(pub(crate) Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// The current core.
    pub(crate) fn core(&self) -> Arc<Core> {
        self.core.borrow().clone()
    }

    /// The largest request body accepted, in bytes: a base64-encoded maximum-size SASL message
    /// plus 1 KiB for the JSON around it. Never lower than what a `limits.max_token_bytes` token
    /// needs.
    pub(crate) fn body_limit_bytes(&self) -> usize {
        body_limit_bytes(self.core().config().limits.max_sasl_message_bytes())
    }

    /// Reloads the configuration from its source, starts the new core and publishes it.
    ///
    /// # Errors
    /// 400/422 with the configuration error text when the new configuration is refused (the
    /// old one stays in use).
    pub(crate) async fn reload(&self) -> Result<ReloadResponse, ApiError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let result = self.build_next().await;
        match &result {
            Ok(r) => {
                super::metrics::reload(true);
                tracing::info!(summary = %r.summary, "configuration reloaded");
            }
            Err(e) => {
                super::metrics::reload(false);
                tracing::warn!(error = %e.body.message, "configuration reload rejected; keeping the current configuration");
            }
        }
        result
    }

    async fn build_next(&self) -> Result<ReloadResponse, ApiError> {
        let (config, unknown) = self.source.load()?;
        let mut warnings: Vec<String> = unknown
            .iter()
            .map(|v| format!("unknown environment variable {v}"))
            .collect();
        warnings.extend(config.danger_warnings().iter().map(|w| w.to_string()));
        let old = self.core();
        if restart_only_changed(&old.config().daemon, &config.daemon) {
            warnings.push(
                "[daemon] listener and session settings take effect only after a restart".into(),
            );
        }
        for w in &warnings {
            tracing::warn!("{w}");
        }
        let summary = config.to_string();
        let core = Core::new(Arc::new(config)).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_config",
                e.to_string(),
            )
        })?;
        let (issuers, identities) = start_core(&core).await;
        self.core.send_replace(core);
        self.readiness.release(issuers.clone(), identities);
        Ok(ReloadResponse {
            summary,
            issuers,
            warnings,
        })
    }
}

/// See [`AppState::body_limit_bytes`]: `4 * ceil(n / 3) + 1024`.
pub(crate) fn body_limit_bytes(max_sasl_message_bytes: usize) -> usize {
    max_sasl_message_bytes
        .div_ceil(3)
        .saturating_mul(4)
        .saturating_add(1024)
}

fn restart_only_changed(a: &crate::config::DaemonConfig, b: &crate::config::DaemonConfig) -> bool {
    a.socket != b.socket
        || a.socket_mode != b.socket_mode
        || a.socket_group != b.socket_group
        || a.tcp_listen != b.tcp_listen
        || a.max_sessions != b.max_sessions
        || a.session_idle_secs != b.session_idle_secs
}

/// Starts `core` (issuer discovery and keys) and attempts every identity's first token, all
/// concurrently. Returns the per-issuer and per-identity states; failures are logged at `warn`.
pub(crate) async fn start_core(core: &Arc<Core>) -> (Vec<ComponentStatus>, Vec<ComponentStatus>) {
    let identities = futures_util::future::join_all(core.config().identities.iter().map(|i| {
        let core = core.clone();
        let name = i.name.clone();
        async move {
            let r = core.tokens().token(&name).await;
            (name, r.map(|t| t.fingerprint()))
        }
    }));
    let (issuer_results, identity_results) = tokio::join!(core.start(), identities);
    let issuers = core
        .config()
        .issuers
        .iter()
        .map(|i| {
            let result = issuer_results.iter().find(|(n, _)| n == &i.name);
            let (status, error) = match result {
                Some((_, Ok(()))) => {
                    tracing::info!(issuer = %i.name, url = %i.issuer, "issuer keys loaded");
                    ("ok", None)
                }
                Some((_, Err(e))) => {
                    tracing::warn!(issuer = %i.name, url = %i.issuer, error = %e, "issuer not loaded; retrying in the background");
                    ("error", Some(e.to_string()))
                }
                None => ("unknown", None),
            };
            ComponentStatus {
                name: i.name.clone(),
                status: status.to_string(),
                error,
            }
        })
        .collect();
    let identities = identity_results
        .into_iter()
        .map(|(name, r)| match r {
            Ok(fp) => {
                tracing::info!(identity = %name, token.fp = %fp, "identity token acquired");
                ComponentStatus {
                    name,
                    status: "ok".into(),
                    error: None,
                }
            }
            Err(e) => {
                tracing::warn!(identity = %name, error = %e, "identity token not acquired yet");
                ComponentStatus {
                    name,
                    status: "error".into(),
                    error: Some(e.to_string()),
                }
            }
        })
        .collect();
    (issuers, identities)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limit_fits_a_base64_encoded_maximum_sasl_message() {
        // The default max_token_bytes (64 KiB) plus 4 KiB of SASL framing.
        let n = 64 * 1024 + 4096;
        let limit = body_limit_bytes(n);
        let encoded =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, vec![0u8; n]);
        assert!(limit >= encoded.len() + 1024, "{limit} < {}", encoded.len());
        assert_eq!(limit, 93_868);
    }

    #[test]
    fn readiness_is_a_latch() {
        let r = Readiness::default();
        assert!(!r.is_ready());
        r.release(Vec::new(), Vec::new());
        assert!(r.is_ready());
        r.release(
            vec![ComponentStatus {
                name: "kc".into(),
                status: "error".into(),
                error: Some("down".into()),
            }],
            Vec::new(),
        );
        assert!(r.is_ready());
        assert_eq!(r.report().issuers[0].status, "error");
    }
}
