//! `saslgate dev` end to end: the built binary starts the development issuer and the daemon on
//! the embedded configuration and runs the main-job demo through the daemon's Unix socket.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `saslgate <args>` with a timeout; returns (exit code, stdout, stderr).
fn run(args: &[&str], timeout: Duration) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_saslgate"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn saslgate");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (
        out.join().expect("stdout reader"),
        err.join().expect("stderr reader"),
    );
    assert!(
        status.is_some(),
        "saslgate {args:?} did not finish within {timeout:?}\nstdout:\n{out}\nstderr:\n{err}"
    );
    (status.and_then(|s| s.code()), out, err)
}

/// True when `text` holds something shaped like a compact JWT: `eyJ`, then base64url parts
/// joined by dots.
fn contains_jwt(text: &str) -> bool {
    text.match_indices("eyJ").any(|(i, _)| {
        let rest = &text[i..];
        let run: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        // A JWT has two dots; a key id (base64url, no dot) that happens to hold "eyJ" is fine.
        run.len() > 20 && run.matches('.').count() >= 2
    })
}

#[test]
fn dev_runs_the_main_job_demo_and_exits_0() {
    let (code, out, err) = run(&["dev"], Duration::from_secs(60));
    assert_eq!(code, Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("authorization identity: zk-client"),
        "no authorization identity line:\n{out}"
    );
    assert!(out.contains("groups: zk-writer"), "{out}");
    assert!(
        out.contains("REFUSED, reason bad_signature"),
        "the tampered token was not refused for its signature:\n{out}"
    );
    assert!(
        out.contains("answered %x01"),
        "the client's %x01 is not shown:\n{out}"
    );
    assert!(
        out.contains(r#"{"status":"invalid_token""#),
        "no RFC 7628 error JSON:\n{out}"
    );
    assert!(out.contains("REFUSED, reason insufficient_scope"), "{out}");
    assert!(out.contains("token.fp="), "{out}");
    assert!(!contains_jwt(&out), "a token appears on stdout:\n{out}");
    assert!(!contains_jwt(&err), "a token appears on stderr:\n{err}");
    let log_lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!log_lines.is_empty(), "no log output");
    for line in log_lines {
        assert!(
            line.starts_with("[DEVELOPMENT SETUP, loopback only"),
            "a log line does not say it is a development setup: {line}"
        );
    }
}

#[test]
fn dev_refuses_a_non_loopback_issuer_address_and_says_so() {
    let (code, out, err) = run(
        &["dev", "--issuer-listen", "0.0.0.0:0"],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(64), "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("loopback addresses only"), "{err}");
}

#[test]
fn dev_serve_only_prints_the_socket_and_issuer_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("dev.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_saslgate"))
        .args(["dev", "--serve-only", "--socket"])
        .arg(&socket)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn saslgate");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "no socket at {}",
            socket.display()
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "saslgate dev --serve-only exited early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("kill");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("saslgate dev --serve-only did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!("socket: {}", socket.display())),
        "{out}"
    );
    assert!(out.contains("issuer: http://127.0.0.1:"), "{out}");
    assert!(
        out.contains("identities: zk-client, zk-app2, zk-other (client secrets in "),
        "{out}"
    );
    assert!(!socket.exists(), "the socket file was not removed");
}
