//! saslgate: a SASL OAUTHBEARER (RFC 7628) provider and IAM gateway for JVM data systems.
//!
//! Apache Hadoop RPC and Apache ZooKeeper authenticate with SASL. saslgate lets them
//! authenticate with OpenID Connect tokens (Keycloak first), and later cloud IAM identities,
//! by running both sides of the OAUTHBEARER exchange and validating the bearer token.
//!
//! ```text
//!    JVM (ZooKeeper / Hadoop)                       saslgate daemon (axum, Unix socket)
//!    javax.security.sasl ─► java-shim ─► Backend ──┬──────────────► same core
//!                                                  └─ JNI ─┐
//!                                                          ▼
//!                  saslgate core (this crate)
//!    sasl (rsasl sessions) · validate (JWT/JWKS, introspection, Keycloak roles)
//!    acquire (client credentials, token files) · principal (claims → authzid, groups)
//!    cache (moka: JWKS, validation results) · config
//! ```
//!
//! The public interface is:
//! - [`Config`]: the checked configuration ([`Config::load`]);
//! - [`Core`]: the assembled core (validator, token sources, policies) built from a config;
//! - [`ServerSession`] and [`ClientSession`]: the two sides of an OAUTHBEARER exchange;
//! - [`Error`] and the per-module errors it wraps, and [`Rejection`], the reason a token or a
//!   SASL message was refused.
//!
//! Everything else is internal. Modules depend one way: `cli`/`daemon` → `sasl` →
//! `validate`/`acquire` → `principal`/`cache`/`config`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod acquire;
pub mod cache;
#[doc(hidden)]
pub mod cli;
pub mod config;
mod core;
#[doc(hidden)]
pub mod daemon;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod principal;
pub mod sasl;
pub mod validate;

pub use crate::config::Config;
pub use crate::core::Core;
pub use crate::error::Error;
pub use crate::sasl::{ClientSession, ServerSession};
pub use crate::validate::Rejection;
