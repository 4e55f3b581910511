//! The sidecar daemon: the axum HTTP API of DESIGN §6 on a Unix socket (and optional loopback
//! TCP), health, metrics, reload and graceful shutdown.
//!
//! Life cycle (the linkerd sequence, STYLE §3):
//!
//! 1. [`Daemon::bind`] builds the first [`Core`] (no I/O), binds the listeners and returns; the
//!    caller logs the addresses.
//! 2. [`Daemon::run`] serves at once: `/healthz` answers immediately, `/readyz` answers 503 until
//!    every issuer's discovery/JWKS load and every identity's first token has been *attempted*
//!    (failures are listed in the `/readyz` body and retried in the background by the core), then
//!    200 for good: readiness is a latch.
//! 3. SIGHUP or `POST /v1/admin/reload` loads the configuration again, starts a new core beside
//!    the old one and publishes it (`tokio::sync::watch` of `Arc<Core>`); a bad configuration is
//!    logged, counted in `saslgate_config_reloads_total{result="error"}` and the old one stays.
//!    Sessions keep the core they started with. `[daemon]` listener and session settings take
//!    effect only after a restart.
//! 4. SIGTERM/SIGINT: new sessions are refused (503 `shutting_down`), the listeners close, and
//!    requests in flight get `daemon.shutdown_grace_secs` to finish.
//!
//! Access control: the Unix socket's mode and group decide who may connect. Over the socket the
//! kernel reports each peer's uid/gid/pid, which is recorded in audit events, binds a session to
//! its creator, and gates `GET /v1/identities/{id}/token` (the daemon's own uid and
//! `daemon.token_reader_uids` only). Anything that hands out a bearer token
//! (`/v1/identities/{id}/token`, `/v1/sasl/client/initial-response`) and reload are served on the
//! Unix socket only: a loopback TCP peer could be any local user.

pub mod api;
pub mod dev_issuer;
mod listen;
mod metrics;
mod routes;
mod sessions;
pub mod signal;
mod state;

pub use listen::{PeerInfo, Transport};
pub use routes::ROUTES;
pub use state::ConfigSource;

use crate::config::Config;
use crate::core::Core;
use listen::SocketFile;
use state::{AppState, Readiness, Shared};
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Mutex};
use tokio::task::JoinSet;

/// Why the daemon could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The core could not be assembled from the configuration.
    #[error("cannot initialise the core: {0}")]
    Init(#[source] crate::Error),
    /// A route of the route table has no handler (a programming error).
    #[error("route {method} {path} has no handler")]
    Route {
        /// The HTTP method.
        method: &'static str,
        /// The path template.
        path: &'static str,
    },
    /// The Unix socket could not be set up.
    #[error("daemon.socket {}: {problem}", path.display())]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// The TCP listener could not be bound.
    #[error("daemon.tcp_listen {addr}: {source}")]
    Tcp {
        /// The address.
        addr: SocketAddr,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
    /// A listener stopped serving on its own.
    #[error("listener failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A daemon with its listeners bound, ready to [`Daemon::run`].
#[derive(Debug)]
pub struct Daemon {
    state: AppState,
    unix: Option<(UnixListener, SocketFile)>,
    tcp: Option<TcpListener>,
    grace: Duration,
    connections: Arc<tokio::sync::Semaphore>,
}

impl Daemon {
    /// Builds the first core from `config` (no I/O), and binds the Unix socket
    /// (`daemon.socket`, `socket_mode`, `socket_group`) and the TCP listener
    /// (`daemon.tcp_listen`). `source` is where reloads read the configuration from.
    /// Must be called inside a Tokio runtime.
    ///
    /// # Errors
    /// [`DaemonError::Init`] when the core cannot be built; [`DaemonError::Socket`] or
    /// [`DaemonError::Tcp`] when a listener cannot be set up.
    pub async fn bind(config: Config, source: ConfigSource) -> Result<Self, DaemonError> {
        let metrics = metrics::handle();
        let readiness = Readiness::pending(&config);
        let daemon_config = config.daemon.clone();
        let core = Core::new(Arc::new(config)).map_err(DaemonError::Init)?;
        let (tx, _) = watch::channel(core);
        let state = AppState(Arc::new(Shared {
            core: tx,
            source,
            reload_lock: Mutex::new(()),
            readiness,
            sessions: sessions::Sessions::new(
                daemon_config.max_sessions,
                daemon_config.session_idle_secs,
            ),
            metrics,
            own_uid: nix::unistd::getuid().as_raw(),
            draining: AtomicBool::new(false),
        }));
        let unix = match &daemon_config.socket {
            Some(path) => Some(listen::bind_unix(
                path,
                daemon_config.socket_mode_bits(),
                daemon_config.socket_group.as_deref(),
            )?),
            None => None,
        };
        let tcp = match daemon_config.tcp_listen {
            Some(addr) => Some(listen::bind_tcp(addr).await?),
            None => None,
        };
        Ok(Self {
            state,
            unix,
            tcp,
            grace: Duration::from_secs(daemon_config.shutdown_grace_secs),
            connections: Arc::new(tokio::sync::Semaphore::new(
                usize::try_from(daemon_config.max_connections).unwrap_or(usize::MAX),
            )),
        })
    }

    /// The Unix socket path, when one is bound.
    pub fn socket_path(&self) -> Option<&Path> {
        self.unix.as_ref().map(|(_, f)| f.path.as_path())
    }

    /// The TCP listener's address (with the OS-chosen port), when one is bound.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|t| t.local_addr().ok())
    }

    /// Serves until `shutdown` resolves (with the name of what stopped it), then drains for at
    /// most `daemon.shutdown_grace_secs` and removes the socket file. Each item of `reloads`
    /// (SIGHUP) reloads the configuration.
    ///
    /// # Errors
    /// [`DaemonError::Route`] for an incomplete route table; [`DaemonError::Serve`] when a
    /// listener stops on its own.
    pub async fn run(
        self,
        shutdown: impl Future<Output = &'static str> + Send,
        reloads: Option<signal::Reloads>,
    ) -> Result<(), DaemonError> {
        let Daemon {
            state,
            unix,
            tcp,
            grace,
            connections,
        } = self;
        let app = routes::router(state.clone())?;
        let mut background = JoinSet::new();
        background.spawn(first_start(state.clone()));
        background.spawn(upkeep(state.clone()));
        if let Some(mut reloads) = reloads {
            let state = state.clone();
            background.spawn(async move {
                while reloads.recv().await {
                    let _ = state.reload().await;
                }
            });
        }

        let (stop_tx, stop_rx) = watch::channel(false);
        let mut servers: JoinSet<std::io::Result<()>> = JoinSet::new();
        let socket_file = match unix {
            Some((listener, file)) => {
                let svc = app
                    .clone()
                    .into_make_service_with_connect_info::<PeerInfo>();
                let listener = listen::Capped::new(listener, connections.clone());
                servers.spawn(
                    axum::serve(listener, svc)
                        .with_graceful_shutdown(stopped(stop_rx.clone()))
                        .into_future(),
                );
                Some(file)
            }
            None => None,
        };
        if let Some(listener) = tcp {
            let listener = listen::Capped::new(listener, connections.clone());
            let svc = app.into_make_service_with_connect_info::<PeerInfo>();
            servers.spawn(
                axum::serve(listener, svc)
                    .with_graceful_shutdown(stopped(stop_rx.clone()))
                    .into_future(),
            );
        }

        let outcome = tokio::select! {
            name = shutdown => {
                tracing::info!(signal = name, grace_secs = grace.as_secs(), "shutting down: draining requests in flight");
                Ok(())
            }
            Some(ended) = servers.join_next() => {
                let e = match ended {
                    Ok(Ok(())) => std::io::Error::other("listener stopped"),
                    Ok(Err(e)) => e,
                    Err(e) => std::io::Error::other(e.to_string()),
                };
                tracing::error!(error = %e, "a listener stopped unexpectedly; shutting down");
                Err(DaemonError::Serve(e))
            }
        };
        state.draining.store(true, Ordering::Release);
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(grace, async {
            while let Some(r) = servers.join_next().await {
                if let Ok(Err(e)) = r {
                    tracing::warn!(error = %e, "listener error while draining");
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "requests still in flight after daemon.shutdown_grace_secs; stopping anyway"
            );
            servers.abort_all();
        } else {
            tracing::info!("drained");
        }
        background.abort_all();
        if let Some(file) = socket_file {
            file.remove();
        }
        outcome
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Starts the first core and releases the readiness latch. Holds the reload lock so that a
/// reload arriving meanwhile publishes after (and wins over) the first start.
async fn first_start(state: AppState) {
    let _one_at_a_time = state.reload_lock.lock().await;
    let core = state.core();
    let (issuers, identities) = state::start_core(&core).await;
    state.readiness.release(issuers, identities);
}

/// Periodic metrics upkeep (histogram maintenance).
async fn upkeep(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        state.metrics.run_upkeep();
    }
}
