//! Validation benchmarks (DESIGN §10), each next to its floor, measured in the same run:
//! - cached validation vs SHA-256 of the token + one cache lookup;
//! - uncached RS256 / ES256 / EdDSA validation vs the raw signature verification with a
//!   pre-parsed aws-lc-rs key.
//!
//! Run: `cargo bench --bench validate`. Besides criterion's report, it prints the ratios,
//! measured by interleaved batches so that both sides see the same machine state.

use criterion::Criterion;
use jsonwebtoken::Algorithm;
use saslgate::cache::{token_hash, ValidationCache};
use saslgate::http::HttpClient;
use saslgate::validate::{Clock, Validator};
use saslgate::Config;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../tests/common/keys.rs"]
mod keys;
use keys::{JwksServer, TestKey};

const ISS: &str = "http://127.0.0.1:9/realms/bench";

fn claims(now: u64) -> serde_json::Value {
    serde_json::json!({
        "iss": ISS, "sub": "f:2b3c:alice", "aud": ["zookeeper", "account"], "exp": now + 3600, "iat": now,
        "typ": "Bearer", "azp": "zk-client", "preferred_username": "alice", "scope": "openid profile email",
        "realm_access": {"roles": ["zk-admin", "offline_access", "uma_authorization"]},
        "resource_access": {"zookeeper": {"roles": ["writer"]}, "account": {"roles": ["manage-account"]}},
        "email": "alice@example.org", "email_verified": true, "sid": "8a1b5e3c-7d2f-4c8e-9f61-3b2a1c0d9e8f"
    })
}

struct Setup {
    rt: tokio::runtime::Runtime,
    validator: Validator,
    validator_config: Arc<Config>,
    _server: JwksServer,
}

fn session_authzid(
    core: &Arc<saslgate::Core>,
    message: &[u8],
    rt: &tokio::runtime::Runtime,
) -> String {
    let mut session = saslgate::ServerSession::new(core.clone(), "zookeeper", "zk1.example.org")
        .expect("session");
    rt.block_on(session.step(message)).expect("step");
    session.authorization_id().unwrap_or_default().to_string()
}

fn setup(keys: &[&TestKey]) -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (server, base) = rt.block_on(JwksServer::start());
    server.set_keys(&keys.iter().map(|k| &k.jwk).collect::<Vec<_>>());
    let text = format!(
        "[[issuers]]\nname = \"kc\"\nkind = \"keycloak\"\nissuer = \"{ISS}\"\ndiscovery = false\njwks_uri = \"{base}/jwks\"\naudiences = [\"zookeeper\"]\n\
         [[services]]\nname = \"zookeeper\"\nissuers = [\"kc\"]\n"
    );
    let config = Arc::new(Config::from_toml_str(&text, "<bench>").expect("bench config"));
    let http = HttpClient::new(&config).expect("http");
    let validator = Validator::new(config.clone(), http)
        .expect("validator")
        .with_clock(Clock::system());
    let (loaded, _refresh_tasks) = rt.block_on(validator.start());
    assert!(
        loaded.iter().all(|(_, r)| r.is_ok()),
        "JWKS loaded: {loaded:?}"
    );
    Setup {
        rt,
        validator,
        validator_config: config,
        _server: server,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Raw verification with a pre-parsed key: the floor of an uncached validation.
struct RawVerify {
    key: aws_lc_rs::signature::ParsedPublicKey,
    message: Vec<u8>,
    signature: Vec<u8>,
}

impl RawVerify {
    fn new(key: &TestKey, token: &str) -> Self {
        use aws_lc_rs::signature as sig;
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwk = serde_json::to_value(&key.jwk).expect("jwk json");
        let field = |n: &str| {
            b64.decode(jwk[n].as_str().expect("jwk field"))
                .expect("b64")
        };
        let parsed = match key.alg {
            Algorithm::RS256 => sig::RsaPublicKeyComponents {
                n: field("n"),
                e: field("e"),
            }
            .to_parsed_public_key(&sig::RSA_PKCS1_2048_8192_SHA256)
            .expect("rsa key"),
            Algorithm::ES256 => {
                let point = [vec![4u8], field("x"), field("y")].concat();
                sig::ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).expect("ec key")
            }
            Algorithm::EdDSA => {
                sig::ParsedPublicKey::new(&sig::ED25519, field("x")).expect("ed key")
            }
            other => panic!("no raw verifier for {other:?}"),
        };
        let (message, signature) = token.rsplit_once('.').expect("jws");
        RawVerify {
            key: parsed,
            message: message.as_bytes().to_vec(),
            signature: b64.decode(signature).expect("sig"),
        }
    }

    fn verify(&self) {
        self.key
            .verify_sig(black_box(&self.message), black_box(&self.signature))
            .expect("verifies");
    }
}

/// Median nanoseconds per call of `f` and of `g`, over `batches` alternating batches of `n`
/// calls each, so that both see the same machine state.
fn median_pair(batches: usize, n: usize, mut f: impl FnMut(), mut g: impl FnMut()) -> (f64, f64) {
    let time = |h: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            h();
        }
        t.elapsed().as_nanos() as f64 / n as f64
    };
    let (mut fs, mut gs) = (Vec::new(), Vec::new());
    for _ in 0..batches {
        fs.push(time(&mut f));
        gs.push(time(&mut g));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    (median(fs), median(gs))
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    let mut ratios = Vec::new();

    // Cached validation vs SHA-256 + one cache lookup.
    {
        let key = TestKey::generate(Algorithm::RS256, Some("k"));
        let s = setup(&[&key]);
        let token = key.sign(&claims(now()));
        let verified =
            s.rt.block_on(s.validator.validate("zookeeper", &token))
                .expect("valid");
        let floor_cache = ValidationCache::new(100_000, 64 << 20);
        floor_cache.insert(token_hash(token.as_bytes()), verified);
        let floor = || {
            black_box(floor_cache.get(&token_hash(black_box(token.as_bytes()))));
        };
        let cached = || {
            black_box(
                s.validator
                    .validate_cached("zookeeper", black_box(&token))
                    .expect("hit")
                    .expect("valid"),
            );
        };
        c.bench_function("floor/sha256+cache_lookup", |b| b.iter(floor));
        c.bench_function("validate/cached", |b| b.iter(cached));
        let (f, v) = median_pair(21, 20_000, floor, cached);
        ratios.push(("cached validation / (SHA-256 + lookup)", v, f, 1.25));
    }

    // A whole server SASL exchange on a validation-cache hit: session creation, parsing of the
    // initial response, cached validation, principal checks, the rsasl state machine.
    {
        let key = TestKey::generate(Algorithm::RS256, Some("k"));
        let s = setup(&[&key]);
        let core = saslgate::Core::new(s.validator_config.clone()).expect("core");
        s.rt.block_on(core.start());
        let token = key.sign(&claims(now()));
        let message = saslgate::ClientSession::new(
            token.clone().into(),
            None,
            Some("zk1.example.org".into()),
            Some(2181),
            Vec::new(),
        )
        .initial_response()
        .expect("initial response");
        let step = || {
            let mut session =
                saslgate::ServerSession::new(core.clone(), "zookeeper", "zk1.example.org")
                    .expect("session");
            let out =
                s.rt.block_on(session.step(black_box(&message)))
                    .expect("step");
            black_box(out);
        };
        step();
        assert_eq!(session_authzid(&core, &message, &s.rt), "alice");
        c.bench_function("sasl/server_step_cache_hit", |b| b.iter(step));
        let cached = || {
            black_box(
                core.validator()
                    .validate_cached("zookeeper", black_box(&token))
                    .expect("hit")
                    .expect("valid"),
            );
        };
        let (v, f) = median_pair(21, 5_000, step, cached);
        println!("server SASL step on a cache hit: {:.2} µs (target < 10 µs); cached validation alone {:.2} µs", v / 1000.0, f / 1000.0);
    }

    // Uncached validation vs raw signature verification, per algorithm.
    for (alg, target) in [
        (Algorithm::RS256, 1.2),
        (Algorithm::ES256, 1.1),
        (Algorithm::EdDSA, 1.1),
    ] {
        let key = TestKey::generate(alg, Some("k"));
        let s = setup(&[&key]);
        let token = key.sign(&claims(now()));
        let raw = RawVerify::new(&key, &token);
        let name = format!("{alg:?}");
        // With keys loaded nothing awaits, so one poll completes the future: this measures the
        // validator, not the runtime's block_on.
        let uncached = || {
            let fut = s
                .validator
                .validate_uncached("zookeeper", black_box(&token));
            let out =
                futures_util::FutureExt::now_or_never(fut).expect("completes without waiting");
            black_box(out.expect("valid"));
        };
        c.bench_function(&format!("floor/raw_verify_{name}"), |b| {
            b.iter(|| raw.verify())
        });
        c.bench_function(&format!("validate/uncached_{name}"), |b| b.iter(uncached));
        let (f, v) = median_pair(11, 500, || raw.verify(), uncached);
        ratios.push((
            Box::leak(format!("uncached {name} validation / raw verify").into_boxed_str()),
            v,
            f,
            target,
        ));
    }

    c.final_summary();
    println!("\nratios measured in this run (median of interleaved batches):");
    println!(
        "{:<45} {:>12} {:>12} {:>8} {:>8}",
        "pair", "ns/op", "floor ns", "ratio", "target"
    );
    for (name, v, f, target) in ratios {
        let ratio = v / f;
        println!(
            "{name:<45} {v:>12.0} {f:>12.0} {ratio:>8.2} {target:>8.2}{}",
            if ratio <= target {
                ""
            } else {
                "  (over target)"
            }
        );
    }
}
