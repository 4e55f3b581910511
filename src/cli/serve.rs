//! `saslgate serve` (the linkerd start-up sequence, STYLE §3). `saslgate dev` serves through the
//! same [`run_until`].

use super::{load, logging, runtime, EXIT_FAILURE, EXIT_OK};
use crate::config::Config;
use crate::daemon::{signal, ConfigSource, Daemon};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// Loads the configuration (exit 64 if refused), sets up logging, logs what was configured,
/// binds the listeners (exit 1 on failure) and serves until SIGTERM/SIGINT.
pub(crate) fn serve(path: &Path) -> i32 {
    let (config, unknown) = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    logging::init(&config.log);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %path.display(),
        "saslgate starting"
    );
    for var in &unknown {
        tracing::warn!(var = %var, "unknown SASLGATE_* environment variable ignored");
    }
    log_configuration(&config);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let code = rt.block_on(run(config, ConfigSource::File(path.to_path_buf())));
    rt.shutdown_timeout(Duration::from_secs(1));
    code
}

/// Logs issuers, identities, services and every `[danger]` warning.
pub(crate) fn log_configuration(config: &Config) {
    for w in config.danger_warnings() {
        tracing::warn!("{w}");
    }
    for i in &config.issuers {
        tracing::info!(
            issuer = %i.name,
            url = %i.issuer,
            kind = ?i.kind,
            validation = ?i.validation,
            "issuer configured"
        );
    }
    for i in &config.identities {
        tracing::info!(identity = %i.name, kind = ?i.kind, "identity configured");
    }
    for s in &config.services {
        tracing::info!(
            service = %s.name,
            issuers = %s.issuers.join(","),
            audiences = %s.effective_audiences(config).join(","),
            "service configured"
        );
    }
}

/// Registers the signal handlers, binds, logs the listening addresses and serves.
pub(crate) async fn run(config: Config, source: ConfigSource) -> i32 {
    let signals = signal::shutdown().and_then(|s| Ok((s, signal::reload()?)));
    let (shutdown, reloads) = match signals {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot install signal handlers");
            return EXIT_FAILURE;
        }
    };
    run_until(config, source, shutdown, Some(reloads)).await
}

/// Binds, logs the listening addresses and serves until `shutdown` resolves (then drains).
/// Each item of `reloads` reloads the configuration from `source`. Returns the exit code.
pub(crate) async fn run_until(
    config: Config,
    source: ConfigSource,
    shutdown: impl Future<Output = &'static str> + Send,
    reloads: Option<signal::Reloads>,
) -> i32 {
    let mode = config.daemon.socket_mode.clone();
    let group = config.daemon.socket_group.clone();
    let daemon = match Daemon::bind(config, source).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return EXIT_FAILURE;
        }
    };
    if let Some(p) = daemon.socket_path() {
        tracing::info!(listen.addr = %p.display(), transport = "unix", mode = %mode, group = group.as_deref().unwrap_or("-"), "listening");
    }
    if let Some(a) = daemon.tcp_addr() {
        tracing::info!(listen.addr = %a, transport = "tcp", "listening");
    }
    match daemon.run(shutdown, reloads).await {
        Ok(()) => {
            tracing::info!("stopped");
            EXIT_OK
        }
        Err(e) => {
            tracing::error!(error = %e, "stopped with an error");
            EXIT_FAILURE
        }
    }
}
