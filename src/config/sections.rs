//! The scalar sections: `[daemon]`, `[log]`, `[limits]`, `[cache]` and `[danger]`.

use super::Problem;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `[daemon]`: where the sidecar listens and how it stops.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct DaemonConfig {
    /// Unix socket path. Default `/run/saslgate/saslgate.sock`. Env `SASLGATE_DAEMON__SOCKET`.
    pub socket: Option<PathBuf>,
    /// Socket file mode, as an octal string. Default `"0660"`.
    pub socket_mode: String,
    /// Group (name or numeric gid) given to the socket file; unset keeps the process group.
    pub socket_group: Option<String>,
    /// Optional TCP listener (loopback only unless `[danger] allow_tcp_non_loopback`).
    pub tcp_listen: Option<SocketAddr>,
    /// How long SIGTERM waits for requests in flight, in seconds. Default 10.
    pub shutdown_grace_secs: u64,
    /// Unix user ids allowed to fetch tokens through `GET /v1/identities/{id}/token`.
    /// Default: only the daemon's own uid.
    pub token_reader_uids: Vec<u32>,
    /// How long a server SASL session may stay open without a step, in seconds. Default 60.
    pub session_idle_secs: u64,
    /// Maximum number of open server SASL sessions. Default 10000.
    pub max_sessions: u64,
    /// Maximum number of open client connections (Unix socket and TCP together); past it the
    /// daemon stops accepting until one closes, so its file descriptors are never exhausted.
    /// Default 1024.
    pub max_connections: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            socket: Some(PathBuf::from("/run/saslgate/saslgate.sock")),
            socket_mode: "0660".to_string(),
            socket_group: None,
            tcp_listen: None,
            shutdown_grace_secs: 10,
            token_reader_uids: Vec::new(),
            session_idle_secs: 60,
            max_sessions: 10_000,
            max_connections: 1024,
        }
    }
}

impl DaemonConfig {
    /// The socket mode parsed from [`DaemonConfig::socket_mode`].
    pub fn socket_mode_bits(&self) -> u32 {
        u32::from_str_radix(self.socket_mode.trim_start_matches("0o"), 8).unwrap_or(0o660)
    }

    pub(crate) fn check(&self, danger: &Danger) -> Result<(), Problem> {
        let digits = self.socket_mode.trim_start_matches("0o");
        let octal = !digits.is_empty()
            && digits.len() <= 4
            && digits.bytes().all(|b| (b'0'..=b'7').contains(&b));
        let mode = octal
            .then(|| u32::from_str_radix(digits, 8).ok())
            .flatten()
            .ok_or(())
            .map_err(|_| {
                Problem::new(
                    "daemon.socket_mode",
                    format!("{:?} is not an octal mode", self.socket_mode),
                )
                .fix("write it like \"0660\"")
            })?;
        if mode & 0o007 != 0 {
            return Err(Problem::new(
                "daemon.socket_mode",
                format!("{:?} gives access to every local user", self.socket_mode),
            )
            .fix("use \"0660\" and a group with socket_group"));
        }
        if let Some(addr) = self.tcp_listen {
            if !addr.ip().is_loopback() && !danger.allow_tcp_non_loopback {
                return Err(Problem::new("daemon.tcp_listen", format!("{addr} is not a loopback address"))
                    .fix("listen on 127.0.0.1 or ::1; TCP beyond loopback needs mutual TLS, which is not available yet"));
            }
        }
        if self.socket.is_none() && self.tcp_listen.is_none() {
            return Err(
                Problem::new("daemon", "neither socket nor tcp_listen is set")
                    .fix("set daemon.socket"),
            );
        }
        if !(1..=10_000_000).contains(&self.max_sessions) {
            return Err(Problem::new(
                "daemon.max_sessions",
                "must be between 1 and 10000000",
            ));
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(Problem::new(
                "daemon.max_connections",
                "must be between 1 and 1000000",
            ));
        }
        if !(1..=86_400).contains(&self.session_idle_secs) {
            return Err(Problem::new(
                "daemon.session_idle_secs",
                "must be between 1 and 86400 seconds",
            ));
        }
        if self.shutdown_grace_secs > 3600 {
            return Err(Problem::new(
                "daemon.shutdown_grace_secs",
                "must be at most 3600 seconds",
            ));
        }
        if mode & 0o7000 != 0 || mode & 0o600 != 0o600 {
            return Err(Problem::new(
                "daemon.socket_mode",
                format!(
                    "{:?} must give the owner read and write and set no setuid, setgid or sticky bit",
                    self.socket_mode
                ),
            )
            .fix("use \"0660\" (owner and group) or \"0600\" (owner only)"));
        }
        if let Some(socket) = &self.socket {
            // sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
            if socket.as_os_str().is_empty() || !socket.is_absolute() {
                return Err(Problem::new(
                    "daemon.socket",
                    format!(
                        "{:?} must be an absolute path",
                        socket.display().to_string()
                    ),
                ));
            }
            if socket.as_os_str().len() > 107 {
                return Err(Problem::new(
                    "daemon.socket",
                    format!(
                        "the path is {} bytes; Unix socket paths hold at most 107",
                        socket.as_os_str().len()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`: format and filter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LogConfig {
    /// `text` or `json`. Default `text`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info,saslgate=debug`. Default `info`. `RUST_LOG` wins.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".to_string(),
        }
    }
}

/// `[limits]`: sizes of untrusted input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LimitsConfig {
    /// Largest bearer token accepted, in bytes. Default 65536 (64 KiB). Group-heavy Entra and
    /// Keycloak tokens reach 10 KiB and more; no part of saslgate caps lower than this.
    pub max_token_bytes: usize,
    /// Largest HTTP response read from an IdP (discovery, JWKS, token, introspection), in bytes.
    /// Default 1048576 (1 MiB).
    pub max_response_bytes: usize,
    /// Timeout of one outbound HTTP request, in seconds. Default 5.
    pub http_timeout_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_token_bytes: 64 * 1024,
            max_response_bytes: 1024 * 1024,
            http_timeout_secs: 5,
        }
    }
}

impl LimitsConfig {
    /// The largest SASL initial response accepted, in bytes: the token limit plus room for the
    /// GS2 header and key/value pairs (4 KiB).
    pub fn max_sasl_message_bytes(&self) -> usize {
        self.max_token_bytes.saturating_add(4096)
    }

    pub(crate) fn check(&self) -> Result<(), Problem> {
        if self.max_token_bytes < 1024 {
            return Err(Problem::new(
                "limits.max_token_bytes",
                format!("{} is too small for any real token", self.max_token_bytes),
            )
            .fix("use at least 1024; the default is 65536"));
        }
        if self.max_token_bytes > 16 * 1024 * 1024 {
            return Err(Problem::new(
                "limits.max_token_bytes",
                "more than 16 MiB invites memory exhaustion",
            ));
        }
        if self.http_timeout_secs == 0 || self.http_timeout_secs > 120 {
            return Err(Problem::new(
                "limits.http_timeout_secs",
                "must be between 1 and 120 seconds",
            ));
        }
        if !(4096..=64 * 1024 * 1024).contains(&self.max_response_bytes) {
            return Err(Problem::new(
                "limits.max_response_bytes",
                "must be between 4096 bytes and 64 MiB",
            ));
        }
        Ok(())
    }
}

/// `[cache]`: bounds and timing of every cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Validation results kept, in entries. Default 100000.
    pub validation_max_entries: u64,
    /// Validation results kept, in bytes (approximate weight). Default 64 MiB.
    pub validation_max_bytes: u64,
    /// Introspection results kept, in entries. Default 100000.
    pub introspection_max_entries: u64,
    /// Longest time a positive introspection result is reused, in seconds (never past `exp`).
    /// Default 60.
    pub introspection_ttl_secs: u64,
    /// How long a negative introspection result (`active: false`) is reused, in seconds.
    /// Default 10.
    pub introspection_negative_ttl_secs: u64,
    /// Background JWKS refresh interval when the IdP sends no `Cache-Control`, in seconds.
    /// Default 300.
    pub jwks_refresh_secs: u64,
    /// Shortest and longest refresh interval accepted from `Cache-Control: max-age`, in seconds.
    /// Defaults 60 and 3600.
    pub jwks_min_refresh_secs: u64,
    /// See [`CacheConfig::jwks_min_refresh_secs`].
    pub jwks_max_refresh_secs: u64,
    /// How long last-good keys are used when the IdP cannot be reached, in seconds.
    /// Default 86400 (one day).
    pub jwks_max_staleness_secs: u64,
    /// Minimum time between two in-request JWKS refetches of one issuer for an unknown `kid`,
    /// in seconds. Default 10.
    pub jwks_unknown_kid_interval_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            validation_max_entries: 100_000,
            validation_max_bytes: 64 * 1024 * 1024,
            introspection_max_entries: 100_000,
            introspection_ttl_secs: 60,
            introspection_negative_ttl_secs: 10,
            jwks_refresh_secs: 300,
            jwks_min_refresh_secs: 60,
            jwks_max_refresh_secs: 3600,
            jwks_max_staleness_secs: 86_400,
            jwks_unknown_kid_interval_secs: 10,
        }
    }
}

impl CacheConfig {
    pub(crate) fn check(&self) -> Result<(), Problem> {
        if self.validation_max_entries == 0 || self.validation_max_bytes == 0 {
            return Err(Problem::new(
                "cache.validation_max_entries",
                "validation cache bounds must be positive",
            ));
        }
        if self.jwks_min_refresh_secs > self.jwks_max_refresh_secs {
            return Err(Problem::new(
                "cache.jwks_min_refresh_secs",
                "is larger than cache.jwks_max_refresh_secs",
            ));
        }
        if self.jwks_unknown_kid_interval_secs == 0 {
            return Err(Problem::new(
                "cache.jwks_unknown_kid_interval_secs",
                "must be at least 1 second: it rate-limits JWKS refetches that any client can trigger",
            ));
        }
        for (key, value) in [
            ("cache.jwks_refresh_secs", self.jwks_refresh_secs),
            ("cache.jwks_max_refresh_secs", self.jwks_max_refresh_secs),
            (
                "cache.jwks_max_staleness_secs",
                self.jwks_max_staleness_secs,
            ),
            ("cache.introspection_ttl_secs", self.introspection_ttl_secs),
            (
                "cache.introspection_negative_ttl_secs",
                self.introspection_negative_ttl_secs,
            ),
            (
                "cache.jwks_unknown_kid_interval_secs",
                self.jwks_unknown_kid_interval_secs,
            ),
        ] {
            if value > 30 * 86_400 {
                return Err(Problem::new(
                    key,
                    "must be at most 30 days (2592000 seconds)",
                ));
            }
        }
        if self.jwks_refresh_secs == 0 {
            return Err(Problem::new(
                "cache.jwks_refresh_secs",
                "must be at least 1 second",
            ));
        }
        Ok(())
    }
}

/// `[danger]`: settings that weaken security. Each enabled one is logged at `warn` on every
/// start. Nothing here is on by default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Danger {
    /// Allow `http://` issuer, JWKS, token and introspection URLs off loopback.
    pub allow_http_issuers: bool,
    /// Allow `daemon.tcp_listen` on a non-loopback address (no TLS yet: tokens in clear).
    pub allow_tcp_non_loopback: bool,
    /// Accept tokens without checking `aud` for services that configure no audience.
    pub skip_audience_check: bool,
    /// Allow `http://` STS endpoints on loopback (a test STS such as moto), for AWS proofs and
    /// their replays. Off loopback, STS is always https.
    pub allow_http_sts_loopback: bool,
}

impl Danger {
    /// The warning lines for each enabled setting.
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut w = Vec::new();
        if self.allow_http_issuers {
            w.push("[danger] allow_http_issuers: issuer URLs off loopback may use http; keys and tokens can be tampered with in transit");
        }
        if self.allow_tcp_non_loopback {
            w.push("[danger] allow_tcp_non_loopback: the daemon API listens beyond loopback without TLS");
        }
        if self.skip_audience_check {
            w.push("[danger] skip_audience_check: tokens issued for other services are accepted where no audience is configured");
        }
        if self.allow_http_sts_loopback {
            w.push("[danger] allow_http_sts_loopback: AWS proofs may target, and are replayed to, http:// STS endpoints on loopback (tests only)");
        }
        w
    }
}
