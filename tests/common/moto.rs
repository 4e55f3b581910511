//! moto (`moto[server]` from PyPI), the AWS emulator, started as a child process on 127.0.0.1
//! with a port from the OS. `scripts/test.sh` installs it (with `awscli`) into the virtual
//! environment `$SASLGATE_CACHE/aws-venv`; tests find it there (or at `$SASLGATE_AWS_VENV`).
//! Without it the tests skip, unless `SASLGATE_REQUIRE_AWS_VENV=1` makes that a failure.
//!
//! moto serves http only, so the tests reach it (and the STS stand-in) through the
//! `[danger] allow_http_sts_loopback` switch, which allows http STS endpoints on loopback only.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Set to `1` to fail instead of skipping when the virtual environment is missing.
pub const ENV_REQUIRE: &str = "SASLGATE_REQUIRE_AWS_VENV";

/// Runs moto's threaded server on 127.0.0.1 port 0, prints the port, and serves until stdin
/// closes (the test process exits or drops the child).
const LAUNCHER: &str = r#"
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"#;

/// The virtual environment with moto and awscli, if installed.
pub fn venv() -> Option<PathBuf> {
    let dir = std::env::var_os("SASLGATE_AWS_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("SASLGATE_CACHE").map(|c| PathBuf::from(c).join("aws-venv")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/saslgate/aws-venv"))
        })?;
    dir.join("bin/moto_server").is_file().then_some(dir)
}

/// The venv, or `None` after printing why the test is skipped (panics when required).
pub fn venv_or_skip() -> Option<PathBuf> {
    match venv() {
        Some(v) => Some(v),
        None if std::env::var(ENV_REQUIRE).as_deref() == Ok("1") => {
            panic!("{ENV_REQUIRE}=1 but no aws-venv with moto_server: run scripts/test.sh")
        }
        None => {
            eprintln!("skipped: no aws-venv with moto and awscli (scripts/test.sh installs it)");
            None
        }
    }
}

/// A running moto server; killed when dropped.
pub struct Moto {
    pub base: String,
    _child: tokio::process::Child,
}

impl Moto {
    /// Starts moto from the venv, or returns `None` (skip) when it is not installed.
    pub async fn start() -> Option<Moto> {
        let venv = venv_or_skip()?;
        let mut child = tokio::process::Command::new(venv.join("bin/python"))
            .arg("-c")
            .arg(LAUNCHER)
            .env("MOTO_ACCOUNT_ID", "123456789012")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("run moto from the aws-venv");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("moto did not start within 60 s")
            .expect("read moto's port")
            .expect("moto exited before printing its port");
        let port: u16 = line.trim().parse().expect("moto printed a port");
        Some(Moto {
            base: format!("http://127.0.0.1:{port}"),
            _child: child,
        })
    }
}
