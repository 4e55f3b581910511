//! Log output: `tracing-subscriber` in text or JSON (`[log] format`), filtered by `RUST_LOG`
//! when set, else by `[log] filter`. Logs go to stderr; stdout is for command output.

use crate::config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber for `log`. A second call (tests) is a no-op.
pub(crate) fn init(log: &LogConfig) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => EnvFilter::try_new(v),
        _ => EnvFilter::try_new(&log.filter),
    };
    let (filter, bad_filter) = match filter {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let installed = match log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        _ => builder.try_init(),
    };
    if installed.is_ok() {
        if let Some(e) = bad_filter {
            tracing::warn!(error = %e, "invalid log filter (RUST_LOG or log.filter); using \"info\"");
        }
    }
}
