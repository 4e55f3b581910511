//! The `saslgate` command line: `serve`, `check-config`, `validate`, `token`, `doctor`, `dev`.
//!
//! Exit codes: 0 success; 1 failure (a token refused, a doctor check failed, start-up failed);
//! 64 (`EX_USAGE`) for a configuration or command-line error. `check-config` and `serve` use the
//! same [`Config::load`], so a configuration that passes the check starts.

mod dev;
mod doctor;
mod logging;
mod serve;
mod tokens;

use crate::config::{Config, ConfigError};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for a failed operation (token refused, check failed, start-up failed).
pub const EXIT_FAILURE: i32 = 1;
/// Exit code for a bad configuration or command line (`EX_USAGE` from sysexits.h).
pub const EXIT_USAGE: i32 = 64;

/// SASL OAUTHBEARER provider and IAM gateway for Hadoop and ZooKeeper.
#[derive(Debug, Parser)]
#[command(name = "saslgate", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Run the sidecar daemon (HTTP API on a Unix socket) until SIGTERM; SIGHUP reloads.
    Serve {
        /// The configuration file.
        #[arg(long, short = 'c')]
        config: PathBuf,
    },
    /// Load and check a configuration file exactly as `serve` would, and print a summary.
    CheckConfig {
        /// The configuration file.
        #[arg(long, short = 'c')]
        config: PathBuf,
    },
    /// Validate a bearer token for a service and print the identity, or the rejection reason.
    Validate {
        /// The configuration file.
        #[arg(long, short = 'c')]
        config: PathBuf,
        /// The `[[services]] name` whose policy applies.
        #[arg(long)]
        service: String,
        /// The token (visible in the process list; prefer --token-file or stdin).
        #[arg(long, conflicts_with = "token_file")]
        token: Option<String>,
        /// A file holding the token (surrounding whitespace is ignored).
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Acquire a configured identity's token and print it, or an OAUTHBEARER initial response.
    Token {
        /// The configuration file.
        #[arg(long, short = 'c')]
        config: PathBuf,
        /// The `[[identities]] name`.
        #[arg(long)]
        identity: String,
        /// Print the base64 RFC 7628 initial client response instead of the bare token.
        #[arg(long)]
        initial_response: bool,
        /// The server host for the initial response (`host=`).
        #[arg(long, requires = "initial_response")]
        host: Option<String>,
        /// The server port for the initial response (`port=`).
        #[arg(long, requires = "initial_response")]
        port: Option<u16>,
        /// The authorization identity to request (`a=`).
        #[arg(long, requires = "initial_response")]
        authzid: Option<String>,
    },
    /// Check every issuer before go-live: discovery, issuer match, JWKS, clock skew, audiences.
    Doctor {
        /// The configuration file.
        #[arg(long, short = 'c')]
        config: PathBuf,
    },
    /// Run a loopback-only development issuer and daemon with the embedded default configuration.
    Dev {
        /// Address of the development issuer (loopback only).
        #[arg(long, default_value = "127.0.0.1:0")]
        issuer_listen: SocketAddr,
        /// Optional loopback TCP address for the daemon API.
        #[arg(long)]
        tcp_listen: Option<SocketAddr>,
        /// Unix socket path for the daemon API (default: a temporary directory).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Serve until SIGINT/SIGTERM instead of running the demo (prints issuer URL and socket).
        #[arg(long, alias = "no-demo")]
        serve_only: bool,
    },
}

/// Runs the command line with the process arguments and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    run(cli)
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Serve { config } => serve::serve(&config),
        Command::CheckConfig { config } => check_config(&config),
        Command::Validate {
            config,
            service,
            token,
            token_file,
        } => tokens::validate(&config, &service, token, token_file.as_deref()),
        Command::Token {
            config,
            identity,
            initial_response,
            host,
            port,
            authzid,
        } => tokens::token(
            &config,
            &identity,
            initial_response.then_some(tokens::InitialResponseArgs {
                host,
                port,
                authzid,
            }),
        ),
        Command::Doctor { config } => doctor::doctor(&config),
        Command::Dev {
            issuer_listen,
            tcp_listen,
            socket,
            serve_only,
        } => dev::dev(dev::DevArgs {
            issuer_listen,
            tcp_listen,
            socket,
            serve_only,
        }),
    }
}

/// Loads `path`, printing the error and returning [`EXIT_USAGE`] on failure.
fn load(path: &Path) -> Result<(Config, Vec<String>), i32> {
    Config::load(path).map_err(|e: ConfigError| {
        eprintln!("saslgate: configuration refused: {e}");
        EXIT_USAGE
    })
}

/// A multi-threaded Tokio runtime, or [`EXIT_FAILURE`] after printing why not.
fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("saslgate")
        .build()
        .map_err(|e| {
            eprintln!("saslgate: cannot start the async runtime: {e}");
            EXIT_FAILURE
        })
}

fn check_config(path: &Path) -> i32 {
    let (config, unknown) = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The secrets and keys `serve` reads at start (no network I/O): a missing secret file or an
    // unset secret variable fails here too, so a configuration that passes the check starts.
    if let Err(e) = crate::Core::new(std::sync::Arc::new(config.clone())) {
        eprintln!("saslgate: {}: {e}", path.display());
        return EXIT_USAGE;
    }
    println!("{}: OK ({config})", path.display());
    for i in &config.issuers {
        if let Some(aws) = &i.aws {
            let endpoints: Vec<String> = aws
                .allowed_endpoints()
                .iter()
                .map(|u| u.as_str().trim_end_matches('/').to_string())
                .collect();
            println!(
                "  issuer   {:<20} AWS STS (server_id {:?}, endpoints [{}], accounts [{}], role_arns [{}])",
                i.name,
                aws.server_id,
                endpoints.join(", "),
                aws.accounts.join(", "),
                aws.role_arns.join(", ")
            );
            continue;
        }
        println!(
            "  issuer   {:<20} {} (kind {:?}, validation {:?}, audiences [{}])",
            i.name,
            i.issuer,
            i.kind,
            i.validation,
            i.audiences.join(", ")
        );
    }
    for s in &config.services {
        println!(
            "  service  {:<20} issuers [{}], audiences [{}]",
            s.name,
            s.issuers.join(", "),
            s.effective_audiences(&config).join(", ")
        );
    }
    for i in &config.identities {
        println!("  identity {:<20} {:?}", i.name, i.kind);
    }
    if let Some(socket) = &config.daemon.socket {
        println!(
            "  socket   {} (mode {})",
            socket.display(),
            config.daemon.socket_mode
        );
    }
    if let Some(tcp) = config.daemon.tcp_listen {
        println!("  tcp      {tcp}");
    }
    for v in unknown {
        println!("  warning: unknown environment variable {v} ignored");
    }
    for w in config.danger_warnings() {
        println!("  warning: {w}");
    }
    EXIT_OK
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_a_one_line_description() {
        for sub in Cli::command().get_subcommands() {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(!about.is_empty(), "{} has no description", sub.get_name());
            assert!(!about.contains('\n'), "{}", sub.get_name());
        }
    }

    #[test]
    fn check_config_exits_64_on_a_broken_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[daemon\n").expect("write");
        assert_eq!(check_config(&path), EXIT_USAGE);
    }

    #[test]
    fn check_config_exits_64_when_a_secret_file_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        let text = format!(
            "[[issuers]]\nname = \"kc\"\nissuer = \"https://idp.example/realms/r\"\naudiences = [\"zookeeper\"]\n\
             [[services]]\nname = \"zookeeper\"\nissuers = [\"kc\"]\n\
             [[identities]]\nname = \"zk\"\nkind = \"client_credentials\"\nissuer = \"kc\"\nclient_id = \"zk\"\n\
             client_secret_file = \"{}\"\n",
            dir.path().join("missing-secret").display()
        );
        std::fs::write(&path, text).expect("write");
        assert_eq!(check_config(&path), EXIT_USAGE);
        std::fs::write(dir.path().join("missing-secret"), "s3cret\n").expect("write secret");
        assert_eq!(check_config(&path), EXIT_OK);
    }

    #[test]
    fn token_flags_for_the_initial_response_require_it() {
        let r = Cli::try_parse_from([
            "saslgate",
            "token",
            "--config",
            "c.toml",
            "--identity",
            "n",
            "--host",
            "h",
        ]);
        assert!(r.is_err());
    }
}
