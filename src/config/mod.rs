//! Configuration model: TOML sections, environment overrides, and the checks that make a config
//! fail closed.
//!
//! A configuration is loaded with [`Config::load`] (a file) or [`Config::from_toml_str`] (text,
//! used by `saslgate dev` for its embedded default). Both return a fully checked value or a
//! [`ConfigError`] that names the file, the key path, the problem and, where one exists, the fix.
//!
//! Environment overrides are named `SASLGATE_<SECTION>__<KEY>` (double underscore for each level
//! of nesting, for example `SASLGATE_DAEMON__SOCKET=/tmp/s.sock` or
//! `SASLGATE_LIMITS__MAX_TOKEN_BYTES=131072`). Array sections (`issuers`, `identities`,
//! `services`) are addressed by their `name`: `SASLGATE_ISSUERS__KEYCLOAK__LEEWAY_SECS=60`.
//! Unknown `SASLGATE_*` variables are reported as warnings by [`Config::load`].
//!
//! Fail-closed rules (DESIGN §9): every service names at least one issuer and at least one
//! audience (its own or its issuers'), every issuer has a JWKS source or an introspection
//! endpoint, and an `http://` URL off loopback is an error unless `[danger]` allows it.

mod aws;
mod identities;
mod issuers;
mod sections;
mod services;

#[cfg(feature = "aws")]
pub(crate) use aws::origin;
pub use aws::{
    AwsEncoding, AwsIdentityConfig, AwsIssuerConfig, AwsResponseFormat, PARTITIONS, STS_WINDOW_SECS,
};
pub use identities::{ClientAuthMethod, IdentityConfig, IdentityKind};
pub use issuers::{IntrospectionConfig, IssuerConfig, IssuerKind, ValidationMode};
pub use sections::{CacheConfig, DaemonConfig, Danger, LimitsConfig, LogConfig, LogFormat};
pub use services::{PrincipalConfig, PrincipalRule, ProxyRule, ServiceConfig};

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The whole saslgate configuration, checked.
///
/// Built only by [`Config::load`] or [`Config::from_toml_str`], so a value of this type has passed
/// every check described in the module docs. Shared as `Arc<Config>`; a reload builds a new one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Listeners, socket permissions, shutdown grace (`[daemon]`).
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// Logging format and filter (`[log]`).
    #[serde(default)]
    pub log: LogConfig,
    /// Size limits on tokens and SASL messages (`[limits]`).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Cache sizes and JWKS refresh timing (`[cache]`).
    #[serde(default)]
    pub cache: CacheConfig,
    /// Trusted token issuers (`[[issuers]]`).
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
    /// Credentials this node acquires for itself (`[[identities]]`).
    #[serde(default)]
    pub identities: Vec<IdentityConfig>,
    /// Services that accept authentications, with their policies (`[[services]]`).
    #[serde(default)]
    pub services: Vec<ServiceConfig>,
    /// Rules mapping verified identities to authorization identities (`[principal]`).
    #[serde(default)]
    pub principal: PrincipalConfig,
    /// Settings that weaken security; each one is logged at `warn` on every start (`[danger]`).
    #[serde(default)]
    pub danger: Danger,
    /// Where this configuration was read from (`None` for the embedded default).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Why a configuration was refused.
///
/// Every variant names the file (or `<embedded>`/`<text>`), the key path and the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the configuration file: {source}")]
    Read {
        /// The file that could not be read.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML, or a key has the wrong type or is unknown.
    #[error("{file}: {key}: {message}")]
    Parse {
        /// The file (or `<text>`).
        file: String,
        /// The key path (`issuers[0].leeway_secs`), or `<document>` for syntax errors.
        key: String,
        /// What is wrong, with the line and column where TOML reports them.
        message: String,
    },
    /// The configuration parsed but breaks a rule (fail-closed policy, dangling reference, …).
    #[error("{file}: {key}: {problem}{}", fix.as_ref().map(|f| format!(" (fix: {f})")).unwrap_or_default())]
    Invalid {
        /// The file (or `<text>`).
        file: String,
        /// The key path.
        key: String,
        /// What is wrong.
        problem: String,
        /// How to fix it, where there is an obvious fix.
        fix: Option<String>,
    },
    /// An environment override could not be applied.
    #[error("environment variable {var}: {problem}")]
    Env {
        /// The variable name.
        var: String,
        /// What is wrong.
        problem: String,
    },
}

/// A problem found while checking, before the file name is attached.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) key: String,
    pub(crate) problem: String,
    pub(crate) fix: Option<String>,
}

impl Problem {
    pub(crate) fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
            fix: None,
        }
    }

    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// The environment-variable prefix for overrides.
pub const ENV_PREFIX: &str = "SASLGATE_";

impl Config {
    /// Loads and checks the configuration file at `path`, applying `SASLGATE_*` overrides from
    /// the process environment.
    ///
    /// Returns the checked configuration and the list of `SASLGATE_*` variables that did not name
    /// a known key (warnings for the caller to log).
    ///
    /// # Errors
    /// [`ConfigError::Read`] if the file cannot be read; [`ConfigError::Parse`] for TOML syntax,
    /// type or unknown-key errors; [`ConfigError::Invalid`] when a rule is broken;
    /// [`ConfigError::Env`] when an override does not parse.
    pub fn load(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
        let file = path.display().to_string();
        let text = read_bounded(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        let vars = override_vars(std::env::vars_os())?;
        let (mut config, unknown) = Self::parse_with_env(&text, &file, &vars)?;
        config.source = Some(path.to_path_buf());
        Ok((config, unknown))
    }

    /// Parses and checks configuration text without environment overrides.
    ///
    /// `origin` is used in error messages in place of a file name (for example `<embedded>`).
    ///
    /// # Errors
    /// As [`Config::load`], without [`ConfigError::Read`].
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Self::parse_with_env(text, origin, &[]).map(|(c, _)| c)
    }

    /// Parses `text`, applies `vars` as overrides, and checks the result.
    pub(crate) fn parse_with_env(
        text: &str,
        file: &str,
        vars: &[(String, String)],
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let mut unknown = Vec::new();
        let config: Config = if vars.is_empty() {
            let de =
                toml::Deserializer::parse(text).map_err(|e| parse_error(file, "<document>", &e))?;
            serde_path_to_error::deserialize(de).map_err(|e| {
                let key = path_or_document(e.path());
                parse_error(file, &key, e.inner())
            })?
        } else {
            let base: toml::Table =
                toml::from_str(text).map_err(|e| parse_error(file, "<document>", &e))?;
            // Values parse as TOML where they can; an override that then has the wrong type for
            // its key is retried as a plain string (`SOCKET_MODE=660` for a string key).
            let mut as_string: Vec<&str> = Vec::new();
            loop {
                let mut value = base.clone();
                let mut applied: Vec<(&str, String)> = Vec::new();
                unknown.clear();
                for (var, raw) in vars {
                    let literal = as_string.contains(&var.as_str());
                    match apply_override(&mut value, var, raw, literal)? {
                        Some(path) => applied.push((var, path)),
                        None => unknown.push(var.clone()),
                    }
                }
                match serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(value)) {
                    Ok(config) => break config,
                    Err(e) => {
                        let key = path_or_document(e.path());
                        let culprit = applied
                            .iter()
                            .find(|(_, path)| key == *path || key.starts_with(&format!("{path}.")))
                            .map(|(var, _)| *var);
                        match culprit {
                            Some(var) if !as_string.contains(&var) => as_string.push(var),
                            Some(var) => {
                                return Err(ConfigError::Env {
                                    var: var.to_string(),
                                    problem: format!("{key}: {}", e.inner()),
                                })
                            }
                            None => return Err(parse_error(file, &key, e.inner())),
                        }
                    }
                }
            }
        };
        config.check().map_err(|p| ConfigError::Invalid {
            file: file.to_string(),
            key: p.key,
            problem: p.problem,
            fix: p.fix,
        })?;
        Ok((config, unknown))
    }

    /// Looks up a configured issuer by its `name`.
    pub fn issuer(&self, name: &str) -> Option<&IssuerConfig> {
        self.issuers.iter().find(|i| i.name == name)
    }

    /// Looks up a configured service by its `name`.
    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|s| s.name == name)
    }

    /// Looks up a configured identity by its `name`.
    pub fn identity(&self, name: &str) -> Option<&IdentityConfig> {
        self.identities.iter().find(|i| i.name == name)
    }

    /// The warnings to log on every start for each enabled `[danger]` setting.
    pub fn danger_warnings(&self) -> Vec<&'static str> {
        self.danger.warnings()
    }

    fn check(&self) -> Result<(), Problem> {
        self.daemon.check(&self.danger)?;
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            return Err(Problem::new(
                "log.filter",
                format!("{:?} is not a valid filter: {e}", self.log.filter),
            )
            .fix("use a level such as \"info\" or directives such as \"info,saslgate=debug\""));
        }
        self.limits.check()?;
        self.cache.check()?;
        let mut names = std::collections::HashSet::new();
        for (i, issuer) in self.issuers.iter().enumerate() {
            let key = format!("issuers[{i}]");
            if !names.insert(issuer.name.as_str()) {
                return Err(Problem::new(
                    format!("{key}.name"),
                    format!("duplicate issuer name {:?}", issuer.name),
                ));
            }
            issuer.check(&key, &self.danger, self.limits.max_token_bytes)?;
        }
        let mut names = std::collections::HashSet::new();
        for (i, identity) in self.identities.iter().enumerate() {
            let key = format!("identities[{i}]");
            if !names.insert(identity.name.as_str()) {
                return Err(Problem::new(
                    format!("{key}.name"),
                    format!("duplicate identity name {:?}", identity.name),
                ));
            }
            identity.check(&key, self)?;
        }
        let mut names = std::collections::HashSet::new();
        for (i, service) in self.services.iter().enumerate() {
            let key = format!("services[{i}]");
            if !names.insert(service.name.as_str()) {
                return Err(Problem::new(
                    format!("{key}.name"),
                    format!("duplicate service name {:?}", service.name),
                ));
            }
            service.check(&key, self)?;
        }
        self.principal.check(self)?;
        Ok(())
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} issuer(s), {} identit(y/ies), {} service(s)",
            self.issuers.len(),
            self.identities.len(),
            self.services.len()
        )
    }
}

fn path_or_document(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." || s.is_empty() {
        "<document>".to_string()
    } else {
        s
    }
}

fn parse_error(file: &str, key: &str, e: &dyn fmt::Display) -> ConfigError {
    // toml's messages span several lines (a source excerpt); keep them, but on one line.
    let message = e.to_string().trim().replace('\n', " | ");
    ConfigError::Parse {
        file: file.to_string(),
        key: key.to_string(),
        message,
    }
}

/// The largest configuration file read, in bytes: a real one is a few KiB; this stops a
/// mistaken `/dev/urandom` or a huge file from exhausting memory.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a UTF-8 text file of at most [`MAX_CONFIG_BYTES`].
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_CONFIG_BYTES} bytes; is this a configuration file?"),
        ));
    }
    String::from_utf8(buf)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not valid UTF-8 text"))
}

/// The `SASLGATE_*` variables that address a configuration key (`SASLGATE_<SECTION>__<KEY>`).
/// Other variables are ignored (also `SASLGATE_*` ones without `__`, which the scripts use, such
/// as `SASLGATE_CACHE`), and so are variables whose name is not UTF-8.
///
/// # Errors
/// [`ConfigError::Env`] when an override's value is not UTF-8.
pub(crate) fn override_vars(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(ENV_PREFIX) || !name.contains("__") {
            continue;
        }
        let value = value.into_string().map_err(|_| ConfigError::Env {
            var: name.to_string(),
            problem: "the value is not valid UTF-8".to_string(),
        })?;
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// Applies one `SASLGATE_A__B__C=value` override to `table`. Returns `Ok(false)` when the
/// variable does not address a known section (the caller warns about it).
/// Returns the key path it set (`issuers[0].leeway_secs`), or `None` when the variable does not
/// address a known section. `literal` sets the value as a string instead of parsing it as TOML.
fn apply_override(
    table: &mut toml::Table,
    var: &str,
    raw: &str,
    literal: bool,
) -> Result<Option<String>, ConfigError> {
    const SECTIONS: &[&str] = &[
        "daemon",
        "log",
        "limits",
        "cache",
        "issuers",
        "identities",
        "services",
        "principal",
        "danger",
    ];
    let rest = &var[ENV_PREFIX.len()..];
    let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
    if parts.len() < 2
        || !SECTIONS.contains(&parts[0].as_str())
        || parts.iter().any(|p| p.is_empty())
    {
        return Ok(None);
    }
    let value = if literal {
        toml::Value::String(raw.to_string())
    } else {
        parse_env_value(raw)
    };
    let env_err = |problem: String| ConfigError::Env {
        var: var.to_string(),
        problem,
    };
    match parts[0].as_str() {
        "issuers" | "identities" | "services" => {
            if parts.len() < 3 {
                return Ok(None);
            }
            let Some(toml::Value::Array(items)) = table.get_mut(&parts[0]) else {
                return Err(env_err(format!(
                    "there is no [[{}]] entry to override",
                    parts[0]
                )));
            };
            let wanted = parts[1].replace('_', "-");
            let entry = items.iter_mut().enumerate().find_map(|(index, item)| {
                let t = item.as_table_mut()?;
                let name = t
                    .get("name")?
                    .as_str()?
                    .to_ascii_lowercase()
                    .replace('_', "-");
                (name == wanted).then_some((index, t))
            });
            let Some((index, entry)) = entry else {
                return Err(env_err(format!(
                    "no [[{}]] entry is named {:?}",
                    parts[0], parts[1]
                )));
            };
            set_path(entry, &parts[2..], value);
            Ok(Some(format!(
                "{}[{index}].{}",
                parts[0],
                parts[2..].join(".")
            )))
        }
        _ => {
            let section = table
                .entry(parts[0].clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(section) = section.as_table_mut() else {
                return Err(env_err(format!("[{}] is not a table", parts[0])));
            };
            set_path(section, &parts[1..], value);
            Ok(Some(parts.join(".")))
        }
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    if let [last] = path {
        table.insert(last.clone(), value);
        return;
    }
    let next = table
        .entry(path[0].clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !next.is_table() {
        *next = toml::Value::Table(toml::Table::new());
    }
    if let Some(t) = next.as_table_mut() {
        set_path(t, &path[1..], value);
    }
}

/// Environment values are TOML values where they parse as one (`60`, `true`, `["a","b"]`),
/// and plain strings otherwise.
fn parse_env_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

/// Is `url` allowed as an outbound URL: https anywhere, http only on loopback (or with
/// `[danger] allow_http_issuers`).
pub(crate) fn check_outbound_url(
    key: &str,
    url: &url::Url,
    danger: &Danger,
) -> Result<(), Problem> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url) || danger.allow_http_issuers => Ok(()),
        "http" => Err(Problem::new(key, format!("{url} uses http off loopback"))
            .fix("use https, or set [danger] allow_http_issuers = true for a test setup")),
        other => Err(
            Problem::new(key, format!("unsupported URL scheme {other:?} in {url}"))
                .fix("use https"),
        ),
    }
}

/// True when the URL's host is a loopback address or `localhost`.
pub(crate) fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests;
