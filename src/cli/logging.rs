//! Log output: `tracing-subscriber` in text or JSON (`[log] format`), filtered by `RUST_LOG`
//! when set, else by `[log] filter`. Logs go to stderr; stdout is for command output.
//!
//! `saslgate dev` installs the same subscriber with [`init_dev`], which starts every line with
//! [`DEV_PREFIX`] so that no log line of a development setup can be mistaken for production.

use crate::config::{LogConfig, LogFormat};
use std::io::Write;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The start of every log line of `saslgate dev` (DESIGN §7).
pub(crate) const DEV_PREFIX: &str = "[DEVELOPMENT SETUP, loopback only, not for production] ";

/// Installs the global subscriber for `log`. A second call (tests) is a no-op.
pub(crate) fn init(log: &LogConfig) {
    install(log, std::io::stderr);
}

/// As [`init`], with every line prefixed by [`DEV_PREFIX`].
pub(crate) fn init_dev(log: &LogConfig) {
    install(log, || DevLine(Vec::new()));
}

fn install<W>(log: &LogConfig, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
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
        .with_writer(writer)
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

/// One formatted event, collected and written to stderr with [`DEV_PREFIX`] before each line
/// when the formatter drops it (the formatter takes one writer per event).
struct DevLine(Vec<u8>);

impl Write for DevLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for DevLine {
    fn drop(&mut self) {
        let mut out = Vec::with_capacity(self.0.len() + DEV_PREFIX.len());
        for line in self.0.split_inclusive(|b| *b == b'\n') {
            out.extend_from_slice(DEV_PREFIX.as_bytes());
            out.extend_from_slice(line);
        }
        // Logging must never fail the program; a closed stderr loses the line.
        let _ = std::io::stderr().lock().write_all(&out);
    }
}
