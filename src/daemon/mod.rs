//! The sidecar daemon: the axum HTTP API of DESIGN §6 on a Unix socket (and optional loopback
//! TCP), health, metrics, reload and graceful shutdown.
//!
//! TODO(daemon helper).
pub mod dev_issuer;
