//! A fixture that runs the built `saslgate` binary (`serve`) on a Unix socket in a temporary
//! directory, waits for `/readyz`, talks HTTP/1.1 to it with hyper over `tokio::net::UnixStream`,
//! and kills it on drop.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running daemon.
pub struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    /// The Unix socket path.
    pub socket: PathBuf,
    /// The configuration file it was started with (tests may rewrite it and reload).
    pub config_path: PathBuf,
    /// The file holding the daemon's stderr.
    pub log_path: PathBuf,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A minimal valid configuration: one issuer that is not reachable (the daemon must start
/// anyway), one service (`zookeeper`), the socket at `socket`. `extra` is appended.
pub fn minimal_config(socket: &Path, extra: &str) -> String {
    format!(
        r#"
[daemon]
socket = "{socket}"
socket_mode = "0660"
shutdown_grace_secs = 5

[log]
filter = "info"

[[issuers]]
name = "kc"
issuer = "http://127.0.0.1:1/realms/x"
discovery = false
jwks_uri = "http://127.0.0.1:1/jwks"
audiences = ["zookeeper"]

[[services]]
name = "zookeeper"
issuers = ["kc"]
{extra}
"#,
        socket = socket.display()
    )
}

impl Daemon {
    /// Starts the daemon with [`minimal_config`] and waits until it is ready.
    pub async fn start() -> Self {
        Self::start_with(|socket| minimal_config(socket, "")).await
    }

    /// Starts the daemon with the configuration `config(socket_path)` and waits until ready.
    pub async fn start_with(config: impl FnOnce(&Path) -> String) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("saslgate.sock");
        let config_path = dir.path().join("saslgate.toml");
        std::fs::write(&config_path, config(&socket)).expect("write config");
        let log_path = dir.path().join("daemon.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_saslgate"))
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn saslgate");
        let mut daemon = Daemon {
            child,
            dir,
            socket,
            config_path,
            log_path,
        };
        daemon.wait_ready(Duration::from_secs(30)).await;
        daemon
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    async fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("saslgate exited early ({status}):\n{}", self.log());
            }
            if self.socket.exists() {
                if let Ok(a) = self.try_request("GET", "/readyz", None).await {
                    if a.status == 200 {
                        return;
                    }
                }
            }
            if Instant::now() > deadline {
                panic!("saslgate not ready after {timeout:?}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends one request on a fresh connection.
    pub async fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Answer {
        self.try_request(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log()))
    }

    /// Sends one JSON request.
    pub async fn json(&self, method: &str, path: &str, body: &serde_json::Value) -> Answer {
        let bytes = serde_json::to_vec(body).expect("serialize");
        self.request(method, path, Some(&bytes)).await
    }

    /// Sends one request on a fresh connection, reporting connection errors.
    pub async fn try_request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Answer, String> {
        let stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        send(stream, method, path, body).await
    }

    /// The loopback TCP address the daemon logged (`daemon.tcp_listen`, port chosen by the OS).
    pub fn tcp_addr(&self) -> Option<std::net::SocketAddr> {
        let log = self.log();
        log.lines()
            .filter(|l| l.contains("transport=\"tcp\"") && l.contains("listening"))
            .find_map(|l| {
                let at = l.find("listen.addr=")? + "listen.addr=".len();
                l[at..].split_whitespace().next()?.parse().ok()
            })
    }

    /// Sends one request over loopback TCP.
    pub async fn request_tcp(&self, method: &str, path: &str, body: Option<&[u8]>) -> Answer {
        let addr = self
            .tcp_addr()
            .unwrap_or_else(|| panic!("no TCP listener in the log:\n{}", self.log()));
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("tcp connect");
        send(stream, method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

async fn send<S>(stream: S, method: &str, path: &str, body: Option<&[u8]>) -> Result<Answer, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, "localhost");
    if body.is_some() {
        req = req.header(http::header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default().to_vec())))
        .map_err(|e| format!("request: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes()
        .to_vec();
    Ok(Answer { status, body })
}

impl Daemon {
    /// Sends `signal` to the daemon.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).expect("pid fits i32"));
        nix::sys::signal::kill(pid, signal).expect("kill");
    }

    /// Waits at most `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The temporary directory (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
