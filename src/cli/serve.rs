//! `saslgate serve` (the linkerd start-up sequence, STYLE §3) and the `saslgate dev`
//! placeholder.

use super::{load, logging, runtime, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::daemon::{signal, ConfigSource, Daemon};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
    match daemon.run(shutdown, Some(reloads)).await {
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

/// `saslgate dev`: refuses non-loopback addresses, then (once wired) starts the development
/// issuer and the daemon on the embedded default configuration and runs the main-job demo.
pub(crate) fn dev(
    issuer_listen: SocketAddr,
    tcp_listen: Option<SocketAddr>,
    socket: Option<PathBuf>,
) -> i32 {
    for addr in std::iter::once(issuer_listen).chain(tcp_listen) {
        if !addr.ip().is_loopback() {
            eprintln!(
                "saslgate dev: refusing to listen on {addr}: development mode binds loopback addresses only (127.0.0.1 or ::1)"
            );
            return EXIT_USAGE;
        }
    }
    let _ = socket;
    // TODO(lead): wire once `crate::daemon::dev_issuer` lands: start the dev issuer on
    // `issuer_listen`, render the embedded default configuration with its URL (socket in a
    // temporary directory unless `socket` is given), and call `run(config,
    // ConfigSource::Text { .. })`; every log line must say "development mode, loopback only".
    eprintln!("saslgate dev: the development issuer is not wired yet (TODO: dev_issuer)");
    EXIT_FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_refuses_a_non_loopback_issuer_address() {
        let addr: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
        assert_eq!(dev(addr, None, None), EXIT_USAGE);
    }

    #[test]
    fn dev_refuses_a_non_loopback_tcp_listener() {
        let issuer: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let tcp: SocketAddr = "192.0.2.1:9000".parse().expect("addr");
        assert_eq!(dev(issuer, Some(tcp), None), EXIT_USAGE);
    }
}
