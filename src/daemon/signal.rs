//! Unix signal handling for the daemon: SIGTERM/SIGINT drain and stop, SIGHUP reloads.
//!
//! Handlers are registered when these functions are called (not when the futures are first
//! polled), so a signal that arrives between start-up and the first poll is not lost and never
//! kills the process with the default disposition.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Registers SIGTERM and SIGINT handlers and returns a future that resolves with the name of
/// the first of them to arrive (`"SIGTERM"` or `"SIGINT"`).
///
/// # Errors
/// The I/O error from registering a handler (no Tokio runtime with signals enabled).
pub fn shutdown() -> std::io::Result<impl std::future::Future<Output = &'static str> + Send> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "received shutdown signal");
        name
    })
}

/// A stream of SIGHUP deliveries, each a request to reload the configuration.
#[derive(Debug)]
pub struct Reloads {
    hup: Signal,
}

impl Reloads {
    /// Registers the SIGHUP handler.
    ///
    /// # Errors
    /// The I/O error from registering the handler.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the next SIGHUP. Returns `false` if no more signals can be received.
    pub async fn recv(&mut self) -> bool {
        let got = self.hup.recv().await.is_some();
        if got {
            tracing::info!(signal = "SIGHUP", "received reload signal");
        }
        got
    }
}

/// Registers the SIGHUP handler and returns the [`Reloads`] stream.
///
/// # Errors
/// The I/O error from registering the handler.
pub fn reload() -> std::io::Result<Reloads> {
    Reloads::new()
}
