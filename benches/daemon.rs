//! Sidecar daemon benchmark (DESIGN §10 "Sidecar"), with its floor measured in the same run.
//!
//! Starts the `saslgate` binary (`serve`) on a Unix socket in a temporary directory, with one
//! issuer whose JWKS is served by a real loopback server in this process and one service
//! (`zookeeper`), and measures over keep-alive HTTP/1.1 connections (hyper over
//! `tokio::net::UnixStream`):
//! - a server SASL exchange on a validation-cache hit: `POST /v1/sasl/server/sessions` then
//!   `POST /v1/sasl/server/sessions/{id}/step` with an OAUTHBEARER initial response;
//! - the floor: the daemon's own `GET /healthz` (axum, the same listener and middleware), measured
//!   the same way;
//! - daemon CPU per request: utime + stime of the daemon process from `/proc/<pid>/stat`, in clock
//!   ticks (`getconf CLK_TCK`), read before and after a batch, divided by the batch's requests;
//! - latency with one caller and with 64 concurrent callers (each with its own connection), and
//!   throughput (exchanges per second, and per daemon CPU-second).
//!
//! The binary: Cargo builds the package's binaries before its benchmarks and sets
//! `CARGO_BIN_EXE_saslgate` for them (as for integration tests), so `cargo bench` runs the
//! `saslgate` it has just built with the `bench` profile (release settings). The environment
//! variable `SASLGATE_BENCH_BIN` overrides the path.
//!
//! Run: `cargo bench --bench daemon` (about a minute on two cores). Prints criterion's report for
//! a single-caller exchange and a table of the measured numbers next to the DESIGN §10 targets.
//! Other processes on the machine add to the latencies but not to the daemon's CPU figures.

use criterion::Criterion;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use jsonwebtoken::Algorithm;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/common/keys.rs"]
mod keys;
use keys::{JwksServer, TestKey};

const ISS: &str = "http://127.0.0.1:9/realms/bench";
/// Concurrent callers in the load phases.
const CALLERS: usize = 64;
/// Exchanges per caller in the load phase (`/healthz` callers send twice as many requests).
const EXCHANGES_PER_CALLER: usize = 500;
/// Single-caller CPU batches: rounds of `EXCHANGES_PER_ROUND` exchanges and twice as many
/// `/healthz` requests, interleaved so that both see the same machine state.
const ROUNDS: usize = 5;
const EXCHANGES_PER_ROUND: usize = 3_000;
/// No phase runs longer than this.
const PHASE_LIMIT: Duration = Duration::from_secs(25);

fn claims(now: u64) -> serde_json::Value {
    serde_json::json!({
        "iss": ISS, "sub": "f:2b3c:alice", "aud": ["zookeeper", "account"], "exp": now + 3600, "iat": now,
        "typ": "Bearer", "azp": "zk-client", "preferred_username": "alice", "scope": "openid profile email",
        "realm_access": {"roles": ["zk-admin", "offline_access", "uma_authorization"]},
        "resource_access": {"zookeeper": {"roles": ["writer"]}, "account": {"roles": ["manage-account"]}},
        "email": "alice@example.org", "email_verified": true, "sid": "8a1b5e3c-7d2f-4c8e-9f61-3b2a1c0d9e8f"
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The daemon process, killed on drop (with its temporary directory).
struct Daemon {
    child: Child,
    socket: PathBuf,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start(jwks_base: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("saslgate.sock");
        let config_path = dir.path().join("saslgate.toml");
        let config = format!(
            "[daemon]\nsocket = \"{socket}\"\nsocket_mode = \"0660\"\nshutdown_grace_secs = 1\n\
             [log]\nfilter = \"info\"\n\
             [[issuers]]\nname = \"kc\"\nkind = \"keycloak\"\nissuer = \"{ISS}\"\ndiscovery = false\n\
             jwks_uri = \"{jwks_base}/jwks\"\naudiences = [\"zookeeper\"]\n\
             [[services]]\nname = \"zookeeper\"\nissuers = [\"kc\"]\n",
            socket = socket.display()
        );
        std::fs::write(&config_path, config).expect("write config");
        let log_path = dir.path().join("daemon.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let bin = std::env::var_os("SASLGATE_BENCH_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_saslgate")));
        let child = Command::new(&bin)
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        Daemon {
            child,
            socket,
            log_path,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// utime + stime of the daemon (all threads), in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("stat");
        // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields[n - 3].parse::<u64>().expect("tick count");
        field(14) + field(15)
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("saslgate exited early ({status}):\n{}", self.log());
            }
            if self.socket.exists() {
                if let Ok(mut c) = Conn::connect(&self.socket).await {
                    if let Ok((200, _)) = c.request("GET", "/readyz", None).await {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "saslgate not ready:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clock ticks per second, from `getconf CLK_TCK`.
fn clock_ticks_per_sec() -> f64 {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

/// One keep-alive HTTP/1.1 connection to the socket.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    async fn connect(socket: &Path) -> Result<Self, String> {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        Ok(Conn { sender })
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<(u16, Bytes), String> {
        self.sender
            .ready()
            .await
            .map_err(|e| format!("ready: {e}"))?;
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "localhost");
        if body.is_some() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| format!("request: {e}"))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok((status, body))
    }

    async fn healthz(&mut self) -> Duration {
        let t = Instant::now();
        let (status, _) = self
            .request("GET", "/healthz", None)
            .await
            .expect("healthz");
        assert_eq!(status, 200);
        t.elapsed()
    }

    /// One server exchange; returns the latencies of the create and step requests and the step
    /// reply.
    async fn exchange(&mut self, bodies: &Bodies) -> (Duration, Duration, Bytes) {
        let t = Instant::now();
        let (status, created) = self
            .request(
                "POST",
                "/v1/sasl/server/sessions",
                Some(bodies.create.clone()),
            )
            .await
            .expect("create session");
        let create = t.elapsed();
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&created));
        let id = session_id(&created);
        let path = format!("/v1/sasl/server/sessions/{id}/step");
        let t = Instant::now();
        let (status, reply) = self
            .request("POST", &path, Some(bodies.step.clone()))
            .await
            .expect("step");
        let step = t.elapsed();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
        (create, step, reply)
    }
}

impl Conn {
    /// One exchange in one request: the session created with the initial response.
    async fn exchange_one(&mut self, bodies: &Bodies) -> Duration {
        let t = Instant::now();
        let (status, reply) = self
            .request(
                "POST",
                "/v1/sasl/server/sessions",
                Some(bodies.create_with_response.clone()),
            )
            .await
            .expect("create session with the initial response");
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&reply));
        t.elapsed()
    }
}

/// `{"session_id":"<32 hex>"}` → the id, without a JSON parser in the measured loop.
fn session_id(body: &[u8]) -> String {
    let text = std::str::from_utf8(body).expect("utf-8");
    let start = text.find(":\"").expect("session_id") + 2;
    let end = start + text[start..].find('"').expect("closing quote");
    text[start..end].to_string()
}

/// The request bodies of one exchange.
#[derive(Clone)]
struct Bodies {
    create: Bytes,
    step: Bytes,
    /// The create request carrying the initial response: a whole exchange in one request.
    create_with_response: Bytes,
}

fn bodies(token: String) -> Bodies {
    use base64::Engine as _;
    let message = saslgate::ClientSession::new(
        token.into(),
        None,
        Some("zk1.example.org".into()),
        Some(2181),
        Vec::new(),
    )
    .initial_response()
    .expect("initial response");
    let response = base64::engine::general_purpose::STANDARD.encode(message);
    Bodies {
        create: serde_json::to_vec(&serde_json::json!({
            "mechanism": "OAUTHBEARER", "service": "zookeeper", "server_name": "zk1.example.org"
        }))
        .expect("json")
        .into(),
        step: serde_json::to_vec(&serde_json::json!({ "response": response }))
            .expect("json")
            .into(),
        create_with_response: serde_json::to_vec(&serde_json::json!({
            "mechanism": "OAUTHBEARER", "service": "zookeeper", "server_name": "zk1.example.org",
            "response": response
        }))
        .expect("json")
        .into(),
    }
}

/// Latencies in nanoseconds, with percentiles.
#[derive(Default)]
struct Latencies(Vec<u64>);

impl Latencies {
    fn push(&mut self, d: Duration) {
        self.0.push(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// The `p`-th percentile (nearest rank), in microseconds.
    fn percentile_us(&mut self, p: f64) -> f64 {
        self.0.sort_unstable();
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1] as f64 / 1000.0
    }
}

/// What a load phase measured.
struct Load {
    /// Latencies of the measured request (step, or healthz).
    latencies: Latencies,
    /// Completed units (exchanges, or healthz requests).
    units: usize,
    /// HTTP requests sent.
    requests: usize,
    wall: Duration,
    cpu_secs: f64,
}

/// `CALLERS` tasks, each on its own connection, each doing `per_caller` units of `work` (an
/// exchange, or two `/healthz` requests), stopping at `PHASE_LIMIT`.
async fn load(daemon: &Daemon, tck: f64, bodies: Option<&Bodies>, per_caller: usize) -> Load {
    let mut conns = Vec::new();
    for _ in 0..CALLERS {
        conns.push(Conn::connect(&daemon.socket).await.expect("connect"));
    }
    let deadline = Instant::now() + PHASE_LIMIT;
    let cpu0 = daemon.cpu_ticks();
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut c| {
            let bodies = bodies.cloned();
            tokio::spawn(async move {
                let mut lat = Latencies::default();
                let mut units = 0;
                for _ in 0..per_caller {
                    if Instant::now() > deadline {
                        break;
                    }
                    match &bodies {
                        Some(b) => lat.push(c.exchange(b).await.1),
                        None => {
                            lat.push(c.healthz().await);
                            lat.push(c.healthz().await);
                        }
                    }
                    units += 1;
                }
                (lat, units)
            })
        })
        .collect();
    let mut latencies = Latencies::default();
    let mut units = 0;
    for t in tasks {
        let (lat, n) = t.await.expect("caller task");
        latencies.0.extend(lat.0);
        units += n;
    }
    let wall = started.elapsed();
    let cpu_secs = (daemon.cpu_ticks() - cpu0) as f64 / tck;
    Load {
        latencies,
        units,
        requests: units * 2,
        wall,
        cpu_secs,
    }
}

fn main() {
    let total = Instant::now();
    let tck = clock_ticks_per_sec();

    // The JWKS server runs on its own runtime thread, so it answers whatever the client does.
    let jwks_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let key = TestKey::generate(Algorithm::RS256, Some("k"));
    let (jwks, base) = jwks_rt.block_on(JwksServer::start());
    jwks.set_keys(&[&key.jwk]);

    // The client: one thread, so that it takes as little CPU from the daemon as it can.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut daemon = Daemon::start(&base);
    rt.block_on(daemon.wait_ready());
    let bodies = bodies(key.sign(&claims(now())));

    // Warm the validation cache and check the exchange succeeds as alice.
    let mut conn = rt.block_on(Conn::connect(&daemon.socket)).expect("connect");
    let (_, _, reply) = rt.block_on(conn.exchange(&bodies));
    let reply: serde_json::Value = serde_json::from_slice(&reply).expect("step reply");
    assert_eq!(reply["success"], serde_json::json!(true), "{reply}");
    assert_eq!(
        reply["authorization_id"],
        serde_json::json!("alice"),
        "{reply}"
    );
    let jwks_hits = jwks.hits();

    // Single caller: interleaved rounds of exchanges and /healthz, CPU and latency of each.
    let (mut ex_lat, mut ex_step_lat, mut hz_lat) = (
        Latencies::default(),
        Latencies::default(),
        Latencies::default(),
    );
    let (mut ex_ticks, mut hz_ticks, mut exchanges, mut healthz) = (0u64, 0u64, 0usize, 0usize);
    let (mut ex_wall, mut hz_wall) = (Duration::ZERO, Duration::ZERO);
    let single_deadline = Instant::now() + PHASE_LIMIT;
    rt.block_on(async {
        for _ in 0..EXCHANGES_PER_ROUND / 10 {
            conn.exchange(&bodies).await;
            conn.healthz().await;
        }
        for _ in 0..ROUNDS {
            if Instant::now() > single_deadline {
                break;
            }
            let cpu0 = daemon.cpu_ticks();
            let t = Instant::now();
            for _ in 0..EXCHANGES_PER_ROUND {
                let (c, s, _) = conn.exchange(&bodies).await;
                ex_lat.push(c + s);
                ex_step_lat.push(s);
            }
            ex_wall += t.elapsed();
            ex_ticks += daemon.cpu_ticks() - cpu0;
            exchanges += EXCHANGES_PER_ROUND;
            let cpu0 = daemon.cpu_ticks();
            let t = Instant::now();
            for _ in 0..2 * EXCHANGES_PER_ROUND {
                hz_lat.push(conn.healthz().await);
            }
            hz_wall += t.elapsed();
            hz_ticks += daemon.cpu_ticks() - cpu0;
            healthz += 2 * EXCHANGES_PER_ROUND;
        }
    });
    let ex_cpu_us = ex_ticks as f64 / tck * 1e6 / exchanges as f64;

    // Single caller, the one-request exchange (initial response on create).
    let (mut one_lat, mut one_ticks, mut one_n) = (Latencies::default(), 0u64, 0usize);
    rt.block_on(async {
        for _ in 0..ROUNDS {
            let cpu0 = daemon.cpu_ticks();
            for _ in 0..EXCHANGES_PER_ROUND {
                one_lat.push(conn.exchange_one(&bodies).await);
            }
            one_ticks += daemon.cpu_ticks() - cpu0;
            one_n += EXCHANGES_PER_ROUND;
        }
    });
    let one_cpu_us = one_ticks as f64 / tck * 1e6 / one_n as f64;
    let hz_cpu_us = hz_ticks as f64 / tck * 1e6 / healthz as f64;

    // Criterion's own report for a single-caller exchange (wall time, client included).
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    c.bench_function("daemon/exchange_single_caller", |b| {
        b.iter(|| rt.block_on(conn.exchange(&bodies)))
    });
    c.bench_function("daemon/healthz_single_caller", |b| {
        b.iter(|| rt.block_on(conn.healthz()))
    });
    c.final_summary();
    drop(conn);

    // 64 concurrent callers: exchanges, then /healthz with the same shape.
    let mut steps = rt.block_on(load(&daemon, tck, Some(&bodies), EXCHANGES_PER_CALLER));
    let mut hz = rt.block_on(load(&daemon, tck, None, EXCHANGES_PER_CALLER));
    assert_eq!(
        jwks.hits(),
        jwks_hits,
        "the JWKS was fetched again during the run"
    );
    let errors = daemon.log().lines().filter(|l| l.contains("ERROR")).count();

    let step_p50 = steps.latencies.percentile_us(50.0);
    let step_p99 = steps.latencies.percentile_us(99.0);
    let hz_p50 = hz.latencies.percentile_us(50.0);
    let hz_p99 = hz.latencies.percentile_us(99.0);
    let step_cpu_load_us = steps.cpu_secs * 1e6 / steps.units as f64;
    let hz_cpu_load_us = hz.cpu_secs * 1e6 / hz.requests as f64;
    let rate = steps.units as f64 / steps.wall.as_secs_f64();
    let rate_per_cpu = steps.units as f64 / steps.cpu_secs;

    println!(
        "\nsidecar daemon, DESIGN §10 (pid {}, CLK_TCK {tck}, {} cores, load average {})",
        daemon.pid(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("an exchange = POST /v1/sasl/server/sessions + POST .../step (cache hit); floor = GET /healthz");
    println!("{:<58} {:>12} {:>16}", "measure", "measured", "target");
    let row = |name: &str, v: String, t: &str| println!("{name:<58} {v:>12} {t:>16}");
    row("single caller", String::new(), "");
    row(
        "  daemon CPU per exchange in one request (create+response), µs",
        format!("{one_cpu_us:.1}"),
        "≤ 15",
    );
    row(
        "  one-request exchange latency p50 / p99, µs",
        format!(
            "{} / {}",
            one_lat.percentile_us(50.0),
            one_lat.percentile_us(99.0)
        ),
        "",
    );
    row(
        "  daemon CPU per exchange (2 requests), µs",
        format!("{ex_cpu_us:.1}"),
        "≤ 15",
    );
    row(
        "  daemon CPU per exchange HTTP request, µs",
        format!("{:.1}", ex_cpu_us / 2.0),
        "",
    );
    row(
        "  daemon CPU per /healthz request (floor), µs",
        format!("{hz_cpu_us:.1}"),
        "≈ 12 (DESIGN)",
    );
    row(
        "  ratio exchange-request CPU / healthz CPU",
        format!("{:.2}", ex_cpu_us / 2.0 / hz_cpu_us),
        "",
    );
    row(
        "  exchange latency p50 / p99, µs",
        format!(
            "{:.0} / {:.0}",
            ex_lat.percentile_us(50.0),
            ex_lat.percentile_us(99.0)
        ),
        "",
    );
    row(
        "  step request latency p50 / p99, µs",
        format!(
            "{:.0} / {:.0}",
            ex_step_lat.percentile_us(50.0),
            ex_step_lat.percentile_us(99.0)
        ),
        "",
    );
    row(
        "  /healthz latency p50 / p99, µs",
        format!(
            "{:.0} / {:.0}",
            hz_lat.percentile_us(50.0),
            hz_lat.percentile_us(99.0)
        ),
        "",
    );
    row(
        "  exchanges / healthz measured",
        format!("{exchanges} / {healthz}"),
        "",
    );
    row(
        "  wall per exchange / per healthz, µs",
        format!(
            "{:.0} / {:.0}",
            ex_wall.as_secs_f64() * 1e6 / exchanges.max(1) as f64,
            hz_wall.as_secs_f64() * 1e6 / healthz.max(1) as f64
        ),
        "",
    );
    row(&format!("{CALLERS} concurrent callers"), String::new(), "");
    row(
        "  step request latency p50 / p99, µs",
        format!("{step_p50:.0} / {step_p99:.0}"),
        "",
    );
    row(
        "  /healthz latency p50 / p99, µs",
        format!("{hz_p50:.0} / {hz_p99:.0}"),
        "",
    );
    row(
        "  p99 added by the step (step p99 - healthz p99), µs",
        format!("{:.0}", step_p99 - hz_p99),
        "≤ 150",
    );
    row(
        "  daemon CPU per exchange / per healthz, µs",
        format!("{step_cpu_load_us:.1} / {hz_cpu_load_us:.1}"),
        "≤ 15 / -",
    );
    row("  exchanges per second (wall)", format!("{rate:.0}"), "");
    row(
        "  exchanges per daemon CPU-second",
        format!("{rate_per_cpu:.0}"),
        "> 50,000",
    );
    row(
        "  exchanges / healthz requests measured",
        format!("{} / {}", steps.units, hz.requests),
        "",
    );
    row(
        "  daemon CPU used by the phases (exchanges / healthz), s",
        format!("{:.2} / {:.2}", steps.cpu_secs, hz.cpu_secs),
        "",
    );
    row("ERROR lines in the daemon log", format!("{errors}"), "0");
    println!("total bench time {:.1} s", total.elapsed().as_secs_f64());
    drop(daemon);
}
