//! `saslgate dev` (DESIGN §7): the whole flow on a fresh machine, with nothing else installed.
//!
//! 1. Starts the built-in development issuer ([`DevIssuer`]) on a loopback address (an ephemeral
//!    port by default) with three clients, whose random secrets are written to `0600` files in a
//!    private temporary directory: `zk-client` and `zk-app2` (both carry the writer role the
//!    service `zookeeper` requires; `scripts/demo.sh` uses `zk-app2` as the second ZooKeeper
//!    identity that authenticates but is not the znode's owner) and `zk-other` (refused by the
//!    service policy).
//! 2. Renders the embedded default configuration (`configs/dev.toml`, see [`render`]) with the
//!    issuer URL, the socket path and the secrets directory, and runs the daemon on it through
//!    the same [`serve::run_until`] as `saslgate serve`.
//! 3. Unless `--serve-only`: runs the main-job demo through the real sidecar path (the daemon's
//!    HTTP API on its Unix socket) and exits 0 when every step ended as expected, 1 otherwise.
//!    With `--serve-only` it prints the issuer URL and socket path and serves until SIGINT or
//!    SIGTERM.
//!
//! It binds loopback addresses only and says so; every log line starts with
//! [`logging::DEV_PREFIX`]. Tokens are never printed, only their fingerprints.

use super::{logging, runtime, serve, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::acquire::TokenSources;
use crate::config::{Config, LogConfig};
use crate::daemon::api::{CreateSessionResponse, StepResponse};
use crate::daemon::dev_issuer::{DevClient, DevIssuer};
use crate::daemon::{signal, ConfigSource};
use crate::http::HttpClient;
use crate::sasl::{ClientOutcome, ClientSession};
use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The embedded default configuration, with `{{issuer}}`, `{{socket}}` and `{{secrets_dir}}`
/// placeholders.
pub(crate) const TEMPLATE: &str = include_str!("../../configs/dev.toml");
/// The identity whose token is accepted.
const CLIENT: &str = "zk-client";
/// A second identity the service accepts (same role as [`CLIENT`], a different ACL id).
const APP2: &str = "zk-app2";
/// The identity whose token the service policy refuses.
const OTHER: &str = "zk-other";
/// The service of the demo.
const SERVICE: &str = "zookeeper";
/// The role `[[services]] zookeeper` requires (see `configs/dev.toml`).
const WRITER_ROLE: &str = "zk-writer";
/// Lifetime of the development issuer's tokens, in seconds.
const TOKEN_LIFETIME_SECS: u64 = 300;
/// How long the demo waits for `/readyz`, in seconds.
const READY_TIMEOUT_SECS: u64 = 30;

/// The command-line options of `saslgate dev`.
#[derive(Debug, Clone)]
pub(crate) struct DevArgs {
    /// Address of the development issuer (loopback only).
    pub(crate) issuer_listen: SocketAddr,
    /// Optional loopback TCP address for the daemon API.
    pub(crate) tcp_listen: Option<SocketAddr>,
    /// The Unix socket path (default: in a private temporary directory).
    pub(crate) socket: Option<PathBuf>,
    /// Serve until a signal instead of running the demo.
    pub(crate) serve_only: bool,
}

/// Runs `saslgate dev` and returns the exit code: 0 when the demo ran as expected (or serving
/// ended on a signal), 1 when something failed, 64 for a non-loopback address or an unusable
/// socket path.
pub(crate) fn dev(args: DevArgs) -> i32 {
    for addr in std::iter::once(args.issuer_listen).chain(args.tcp_listen) {
        if !addr.ip().is_loopback() {
            eprintln!(
                "saslgate dev: refusing to listen on {addr}: development mode binds loopback addresses only (127.0.0.1 or ::1)"
            );
            return EXIT_USAGE;
        }
    }
    if let Some(socket) = &args.socket {
        if !fits_toml_string(socket) {
            eprintln!(
                "saslgate dev: --socket {}: the path must be UTF-8 without quotes, backslashes or control characters",
                socket.display()
            );
            return EXIT_USAGE;
        }
    }
    logging::init_dev(&LogConfig::default());
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let code = rt.block_on(run(args));
    rt.shutdown_timeout(Duration::from_secs(1));
    code
}

/// Replaces the placeholders of [`TEMPLATE`]: `issuer` (the issuer URL without a trailing
/// slash), `socket`, `secrets_dir`; adds `tcp_listen` to `[daemon]` when given. The paths must
/// pass [`fits_toml_string`].
pub(crate) fn render(
    issuer: &str,
    socket: &Path,
    secrets_dir: &Path,
    tcp_listen: Option<SocketAddr>,
) -> String {
    let mut text = TEMPLATE.to_string();
    if let Some(addr) = tcp_listen {
        text = text.replace(
            "socket = \"{{socket}}\"",
            &format!("socket = \"{{{{socket}}}}\"\ntcp_listen = \"{addr}\""),
        );
    }
    text.replace("{{socket}}", &socket.display().to_string())
        .replace("{{issuer}}", issuer)
        .replace("{{secrets_dir}}", &secrets_dir.display().to_string())
}

/// True when `path` can be written between TOML double quotes as is.
fn fits_toml_string(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|s| !s.chars().any(|c| c == '"' || c == '\\' || c.is_control()))
}

/// A private temporary directory (mode 0700), removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> std::io::Result<Self> {
        let name = format!(
            "saslgate-dev-{}-{}",
            std::process::id(),
            hex(&rand::random::<[u8; 6]>())
        );
        let path = std::env::temp_dir().join(name);
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a fresh random secret to `dir/<client>.secret` (0600) and returns the client.
fn client_with_secret(dir: &Path, client_id: &str, claims: Value) -> anyhow::Result<DevClient> {
    let secret = hex(&rand::random::<[u8; 32]>());
    let path = dir.join(format!("{client_id}.secret"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(secret.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(DevClient::with_secret(client_id, secret).claims(claims))
}

/// The three development clients, Keycloak-shaped service accounts.
fn clients(dir: &Path) -> anyhow::Result<Vec<DevClient>> {
    Ok(vec![
        client_with_secret(
            dir,
            CLIENT,
            json!({
                "aud": [SERVICE],
                "preferred_username": format!("service-account-{CLIENT}"),
                "realm_access": { "roles": [WRITER_ROLE] },
                "scope": "zookeeper",
            }),
        )?,
        client_with_secret(
            dir,
            APP2,
            json!({
                "aud": [SERVICE],
                "preferred_username": format!("service-account-{APP2}"),
                "realm_access": { "roles": [WRITER_ROLE] },
                "scope": "zookeeper",
            }),
        )?,
        client_with_secret(
            dir,
            OTHER,
            json!({
                "aud": [SERVICE],
                "preferred_username": format!("service-account-{OTHER}"),
                "realm_access": { "roles": ["zk-reader"] },
                "scope": "zookeeper",
            }),
        )?,
    ])
}

async fn run(args: DevArgs) -> i32 {
    match run_inner(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("saslgate dev: {e:#}");
            EXIT_FAILURE
        }
    }
}

async fn run_inner(args: DevArgs) -> anyhow::Result<i32> {
    let dir = TempDir::create().context("cannot create a temporary directory")?;
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| dir.0.join("saslgate.sock"));
    if !fits_toml_string(&dir.0) {
        bail!(
            "the temporary directory {} cannot be written into a configuration (set TMPDIR)",
            dir.0.display()
        );
    }
    let issuer = DevIssuer::start(args.issuer_listen, clients(&dir.0)?, TOKEN_LIFETIME_SECS)
        .await
        .context("cannot start the development issuer")?;
    let text = render(issuer.issuer(), &socket, &dir.0, args.tcp_listen);
    let origin = "<embedded configs/dev.toml>".to_string();
    let config = Config::from_toml_str(&text, &origin)
        .context("the embedded configuration is invalid (a bug)")?;
    serve::log_configuration(&config);
    let source = ConfigSource::Text { text, origin };

    let code = if args.serve_only {
        let shutdown = signal::shutdown().context("cannot install signal handlers")?;
        let reloads = signal::reload().context("cannot install signal handlers")?;
        println!(
            "saslgate dev: DEVELOPMENT SETUP (loopback only, ephemeral keys, not for production)"
        );
        println!("issuer: {}", issuer.issuer());
        println!("socket: {}", socket.display());
        println!(
            "identities: {CLIENT}, {APP2}, {OTHER} (client secrets in {})",
            dir.0.display()
        );
        println!("service: {SERVICE}");
        println!("serving until SIGINT (Ctrl-C) or SIGTERM");
        let _ = std::io::stdout().flush();
        serve::run_until(config, source, shutdown, Some(reloads)).await
    } else {
        demo_with_daemon(&issuer, config, source, &socket).await
    };
    issuer.shutdown().await;
    Ok(code)
}

/// Serves the daemon while the demo runs, then stops it. Returns the exit code.
async fn demo_with_daemon(
    issuer: &DevIssuer,
    config: Config,
    source: ConfigSource,
    socket: &Path,
) -> i32 {
    let config = Arc::new(config);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stop_rx.await;
        "demo finished"
    };
    let server = serve::run_until((*config).clone(), source, shutdown, None);
    tokio::pin!(server);
    let demo = demo(issuer, config, socket);
    tokio::pin!(demo);
    let outcome = tokio::select! {
        code = &mut server => {
            eprintln!("saslgate dev: the daemon stopped before the demo finished");
            return if code == EXIT_OK { EXIT_FAILURE } else { code };
        }
        outcome = &mut demo => outcome,
    };
    let _ = stop_tx.send(());
    let served = server.await;
    match outcome {
        Ok(()) if served == EXIT_OK => EXIT_OK,
        Ok(()) => served,
        Err(e) => {
            println!("demo FAILED: {e:#}");
            EXIT_FAILURE
        }
    }
}

/// Numbered output lines.
struct Steps(u32);

impl Steps {
    fn say(&mut self, text: impl std::fmt::Display) {
        self.0 += 1;
        println!("{:>2}. {text}", self.0);
    }

    fn detail(&self, text: impl std::fmt::Display) {
        println!("    {text}");
    }
}

/// The main-job demo, steps (a) to (e) of the brief, through the daemon's API.
async fn demo(issuer: &DevIssuer, config: Arc<Config>, socket: &Path) -> anyhow::Result<()> {
    let mut out = Steps(0);
    println!("saslgate dev: DEVELOPMENT SETUP (loopback only, ephemeral keys, not for production)");
    out.say(format_args!(
        "started the development issuer at {} (ephemeral ES256 key, kid {}; clients {CLIENT}, {OTHER})",
        issuer.issuer(),
        issuer.current_kid()
    ));
    let api = Api {
        socket: socket.to_path_buf(),
    };
    api.wait_ready(Duration::from_secs(READY_TIMEOUT_SECS))
        .await?;
    out.say(format_args!(
        "started the daemon on the embedded configuration (configs/dev.toml): Unix socket {}, service {SERVICE} (audience {SERVICE}, role {WRITER_ROLE} required); /readyz: ready",
        socket.display()
    ));

    // (a) this node's token, through TokenSources (client credentials at the dev issuer).
    let http = HttpClient::new(&config).context("cannot build the HTTP client")?;
    let sources = TokenSources::new(config.clone(), http).context("identities")?;
    let token = sources
        .token(CLIENT)
        .await
        .with_context(|| format!("{CLIENT}: no token"))?;
    out.say(format_args!(
        "(a) {CLIENT}: obtained an access token by client credentials from the development issuer: token.fp={}{}",
        token.fingerprint(),
        token
            .expires_at
            .map(|exp| format!(", expires in {} s", exp.saturating_sub(token.obtained_at)))
            .unwrap_or_default()
    ));

    // (b) the OAUTHBEARER initial client response.
    let host = "localhost".to_string();
    let port = 2181;
    let (initial_len, accepted) = api.login(token.secret.clone(), &host, port).await?;
    out.say(format_args!(
        "(b) {CLIENT}: built the OAUTHBEARER initial client response (RFC 7628 §3.1): no authzid, host={host}, port={port}, {initial_len} bytes"
    ));

    // (c) the server side, over the daemon's HTTP API.
    if !accepted.last.success {
        bail!(
            "{CLIENT} was refused: {}",
            accepted.last.reason.as_deref().unwrap_or("no reason given")
        );
    }
    out.say(format_args!(
        "(c) daemon: server session for service {SERVICE} over {} (create session, step): ACCEPTED",
        socket.display()
    ));
    out.detail(format_args!(
        "authorization identity: {}",
        accepted.last.authorization_id.as_deref().unwrap_or("")
    ));
    out.detail(format_args!(
        "groups: {}",
        accepted.last.groups.clone().unwrap_or_default().join(", ")
    ));
    if let Some(exp) = accepted.last.expires_at {
        out.detail(format_args!("token expires at {exp} (Unix seconds)"));
    }
    if accepted.client_outcome != Some(ClientOutcome::Success) {
        bail!(
            "the client did not see success: {:?}",
            accepted.client_outcome
        );
    }
    out.detail("client: empty final challenge, authentication succeeded (RFC 7628 §3.2.1)");

    // (d) a tampered token: the payload changed, the signature kept.
    let tampered = tamper(token.secret.expose_secret())?;
    out.say(format_args!(
        "(d) tampered token: changed client_id \"{CLIENT}\" to \"zk-admin\" in the payload and kept the signature: token.fp={}",
        crate::cache::fingerprint(tampered.as_bytes())
    ));
    let (_, refused) = api.login(SecretString::from(tampered), &host, port).await?;
    expect_refusal(&out, &refused, "bad_signature", "the tampered token")?;

    // (e) another client of the same issuer, refused by the service policy.
    let other = sources
        .token(OTHER)
        .await
        .with_context(|| format!("{OTHER}: no token"))?;
    out.say(format_args!(
        "(e) {OTHER}: obtained an access token from the same issuer (token.fp={}); it carries role zk-reader only, and service {SERVICE} requires {WRITER_ROLE}",
        other.fingerprint()
    ));
    let (_, policy) = api.login(other.secret.clone(), &host, port).await?;
    expect_refusal(&out, &policy, "insufficient_scope", OTHER)?;
    out.say(format_args!(
        "demo finished as expected: {CLIENT} accepted as \"{}\", the tampered token refused (bad_signature), {OTHER} refused by the service policy (insufficient_scope); stopping",
        accepted.last.authorization_id.as_deref().unwrap_or("")
    ));
    Ok(())
}

/// Prints the refusal of an exchange and fails unless it was refused for `reason`.
fn expect_refusal(out: &Steps, ex: &Exchange, reason: &str, what: &str) -> anyhow::Result<()> {
    report_refusal(out, ex)?;
    if ex.last.reason.as_deref() != Some(reason) {
        bail!("{what} was not refused with {reason}: {:?}", ex.last);
    }
    Ok(())
}

/// Prints the refusal of an exchange: the error challenge, the client's `%x01`, the reason.
fn report_refusal(out: &Steps, ex: &Exchange) -> anyhow::Result<()> {
    if ex.last.success {
        bail!("the daemon ACCEPTED a token it must refuse");
    }
    if let Some(json) = &ex.challenge_json {
        out.detail(format_args!(
            "daemon: error challenge (RFC 7628 §3.2.2): {json}"
        ));
    }
    if let (Some(reply), Some(ClientOutcome::ServerError(e))) =
        (&ex.client_reply, &ex.client_outcome)
    {
        out.detail(format_args!(
            "client: read status {:?} and answered {} (RFC 7628 §3.2.3)",
            e.status,
            if reply.as_slice() == [0x01] {
                "%x01".to_string()
            } else {
                format!("{reply:?}")
            }
        ));
    }
    out.detail(format_args!(
        "daemon: REFUSED, reason {}",
        ex.last.reason.as_deref().unwrap_or("(none given)")
    ));
    Ok(())
}

/// `token` with its payload's `client_id` replaced by `zk-admin` and the original signature:
/// a well-formed JWT whose signature no longer verifies.
fn tamper(token: &str) -> anyhow::Result<String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        bail!("the token is not a compact JWS");
    };
    let mut claims: serde_json::Map<String, Value> = serde_json::from_slice(
        &b64.decode(payload)
            .map_err(|e| anyhow!("token payload is not base64url: {e}"))?,
    )
    .context("token payload is not a JSON object")?;
    claims.insert("client_id".into(), json!("zk-admin"));
    let payload = b64.encode(serde_json::to_vec(&claims).context("re-encoding the payload")?);
    Ok(format!("{header}.{payload}.{signature}"))
}

/// One exchange as seen from both sides.
#[derive(Debug)]
struct Exchange {
    /// The error challenge as text, when the server sent one.
    challenge_json: Option<String>,
    /// What the client answered to the challenge.
    client_reply: Option<Vec<u8>>,
    /// How the client saw the end of the exchange.
    client_outcome: Option<ClientOutcome>,
    /// The daemon's final step answer.
    last: StepResponse,
}

/// A client of the daemon's HTTP API on its Unix socket (HTTP/1.1, one connection per request).
struct Api {
    socket: PathBuf,
}

impl Api {
    async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok((200, _)) = self.request("GET", "/readyz", None).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the daemon on {} was not ready after {} s",
                    self.socket.display(),
                    timeout.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One login with `token`: builds the initial response (no authzid, `host`, `port`) and runs
    /// [`Api::exchange`]. Returns the initial response's size in bytes and the exchange.
    async fn login(
        &self,
        token: SecretString,
        host: &str,
        port: u16,
    ) -> anyhow::Result<(usize, Exchange)> {
        let mut client =
            ClientSession::new(token, None, Some(host.to_string()), Some(port), Vec::new());
        let initial = client
            .initial_response()
            .context("building the initial response")?;
        Ok((initial.len(), self.exchange(&initial, &mut client).await?))
    }

    /// Creates a server session for [`SERVICE`], sends `initial`, and on an error challenge lets
    /// `client` answer it and sends that answer too.
    async fn exchange(
        &self,
        initial: &[u8],
        client: &mut ClientSession,
    ) -> anyhow::Result<Exchange> {
        let created: CreateSessionResponse = self
            .json(
                "POST",
                "/v1/sasl/server/sessions",
                &json!({"mechanism": "OAUTHBEARER", "service": SERVICE, "server_name": "localhost"}),
                201,
            )
            .await?;
        let path = format!("/v1/sasl/server/sessions/{}/step", created.session_id);
        let b64 = base64::engine::general_purpose::STANDARD;
        let first: StepResponse = self
            .json(
                "POST",
                &path,
                &json!({"response": b64.encode(initial)}),
                200,
            )
            .await?;
        let challenge = b64
            .decode(&first.challenge)
            .context("the daemon's challenge is not base64")?;
        let step = client.step(&challenge).context("the client's step")?;
        if first.complete {
            return Ok(Exchange {
                challenge_json: None,
                client_reply: None,
                client_outcome: Some(step.outcome),
                last: first,
            });
        }
        let last: StepResponse = self
            .json(
                "POST",
                &path,
                &json!({"response": b64.encode(&step.response)}),
                200,
            )
            .await?;
        Ok(Exchange {
            challenge_json: Some(String::from_utf8_lossy(&challenge).into_owned()),
            client_reply: Some(step.response),
            client_outcome: Some(step.outcome),
            last,
        })
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        expected_status: u16,
    ) -> anyhow::Result<T> {
        let (status, bytes) = self
            .request(method, path, Some(serde_json::to_vec(body)?))
            .await?;
        if status != expected_status {
            bail!(
                "{method} {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        serde_json::from_slice(&bytes).with_context(|| format!("{method} {path}: reply"))
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .with_context(|| format!("connect {}", self.socket.display()))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        let conn = tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "localhost");
        if body.is_some() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let resp = sender.send_request(req).await.context("HTTP request")?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .context("HTTP body")?
            .to_bytes()
            .to_vec();
        drop(sender);
        let _ = conn.await;
        Ok((status, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(issuer: &str, tcp: Option<&str>) -> DevArgs {
        DevArgs {
            issuer_listen: issuer.parse().expect("addr"),
            tcp_listen: tcp.map(|t| t.parse().expect("addr")),
            socket: None,
            serve_only: false,
        }
    }

    #[test]
    fn dev_refuses_a_non_loopback_issuer_address() {
        assert_eq!(dev(args("0.0.0.0:8080", None)), EXIT_USAGE);
    }

    #[test]
    fn dev_refuses_a_non_loopback_tcp_listener() {
        assert_eq!(dev(args("127.0.0.1:0", Some("192.0.2.1:9000"))), EXIT_USAGE);
    }

    #[test]
    fn dev_refuses_a_socket_path_that_cannot_be_quoted() {
        let mut a = args("127.0.0.1:0", None);
        a.socket = Some(PathBuf::from("/tmp/a\"b.sock"));
        assert_eq!(dev(a), EXIT_USAGE);
    }

    #[test]
    fn the_rendered_embedded_configuration_is_valid() {
        let text = render(
            "http://127.0.0.1:40000",
            Path::new("/tmp/x/saslgate.sock"),
            Path::new("/tmp/x"),
            Some("127.0.0.1:0".parse().expect("addr")),
        );
        assert!(!text.contains("{{"), "placeholder left: {text}");
        let config = Config::from_toml_str(&text, "<test>").expect("valid");
        assert_eq!(config.issuers[0].issuer.as_str(), "http://127.0.0.1:40000/");
        assert_eq!(
            config.daemon.socket.as_deref(),
            Some(Path::new("/tmp/x/saslgate.sock"))
        );
        assert!(config.daemon.tcp_listen.is_some());
        assert_eq!(
            config.identities[0].client_secret_file.as_deref(),
            Some(Path::new("/tmp/x/zk-client.secret"))
        );
        assert_eq!(config.services[0].required_roles, vec![WRITER_ROLE]);
    }

    #[test]
    fn tampering_keeps_a_well_formed_jwt_with_the_original_signature() {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!(
            "{}.{}.c2ln",
            b64.encode(br#"{"alg":"ES256"}"#),
            b64.encode(br#"{"client_id":"zk-client","sub":"s"}"#)
        );
        let t = tamper(&token).expect("tampered");
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], "c2ln");
        let claims: Value =
            serde_json::from_slice(&b64.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims["client_id"], "zk-admin");
        assert_eq!(claims["sub"], "s");
    }

    #[test]
    fn tamper_refuses_a_non_jwt() {
        assert!(tamper("opaque")
            .expect_err("not a JWT")
            .to_string()
            .contains("compact JWS"));
    }
}
