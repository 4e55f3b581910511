//! End-to-end check of the bridge in a real JVM: compiles the shim's `Native.java`
//! (`java-shim/src/main/java/…`) and `NativeSmoke.java` with `javac`, then runs the harness with
//! `java`, loading this crate's cdylib (built with the `testing` feature, enabled for tests by
//! the self dev-dependency) against a loopback JWKS server.
//!
//! Skipped with a message when `javac`/`java` are missing, unless `SASLGATE_REQUIRE_JVM=1`.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/common/keys.rs"]
mod keys;

use keys::{JwksServer, TestKey};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether `tool -version` runs.
fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The cdylib built for this test run: next to the test binary's `deps/` directory.
fn native_library() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    for dir in [deps, deps.parent().expect("profile dir")] {
        let candidate = dir.join("libsaslgate_jni.so");
        if candidate.exists() {
            return candidate;
        }
    }
    panic!("libsaslgate_jni.so not found next to {}", exe.display());
}

/// The shim's own `Native.java` (the one the jar ships, so the bridge is tested against it)
/// and the harness.
fn java_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![
        root.join("../java-shim/src/main/java/org/saslgate/internal/Native.java"),
        root.join("tests/java/org/saslgate/internal/NativeSmoke.java"),
    ]
}

/// Flips one character in the middle of the signature (the last characters of base64url may
/// only carry padding bits).
fn tamper(token: &str) -> String {
    let sig_start = token.rfind('.').expect("JWT") + 1;
    let i = sig_start + (token.len() - sig_start) / 2;
    let mut bytes = token.as_bytes().to_vec();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_runs_a_full_exchange_in_a_real_jvm() {
    if !have("javac") || !have("java") {
        assert!(
            std::env::var("SASLGATE_REQUIRE_JVM").as_deref() != Ok("1"),
            "SASLGATE_REQUIRE_JVM=1 but javac/java are not on PATH"
        );
        eprintln!("SKIPPED: javac/java not found on PATH (set SASLGATE_REQUIRE_JVM=1 to fail)");
        return;
    }

    let (server, base) = JwksServer::start().await;
    let key = TestKey::generate(jsonwebtoken::Algorithm::ES256, Some("k1"));
    server.set_keys(&[&key.jwk]);
    let issuer = "https://idp.example/realms/smoke";
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = key.sign(&serde_json::json!({
        "iss": issuer, "sub": "alice", "aud": "zookeeper", "exp": now + 600, "iat": now - 5,
        "groups": ["admins", "ops"],
    }));
    let tampered = tamper(&token);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("saslgate.toml");
    std::fs::write(
        &config,
        format!(
            "[[issuers]]\nname = \"smoke\"\nkind = \"oidc\"\nissuer = \"{issuer}\"\n\
             discovery = false\njwks_uri = \"{base}/jwks\"\naudiences = [\"zookeeper\"]\n\n\
             [[services]]\nname = \"zookeeper\"\nissuers = [\"smoke\"]\n"
        ),
    )
    .unwrap();

    let classes = dir.path().join("classes");
    let javac = Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .args(java_sources())
        .output()
        .unwrap();
    assert!(
        javac.status.success(),
        "javac failed:\n{}",
        String::from_utf8_lossy(&javac.stderr)
    );

    let library = native_library();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("java")
            .arg("-Xcheck:jni")
            .arg("-cp")
            .arg(&classes)
            .arg("org.saslgate.internal.NativeSmoke")
            .arg(&library)
            .arg(&config)
            .arg(&token)
            .arg(&tampered)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("--- java stdout ---\n{stdout}\n--- java stderr ---\n{stderr}");
    assert!(run.status.success(), "the smoke harness failed");
    assert!(stdout.contains("SMOKE OK"), "harness did not finish");
    assert!(server.hits() >= 1, "the JWKS was never fetched");
}

#[test]
fn a_native_class_that_does_not_match_the_table_fails_to_load_with_a_clear_message() {
    if !have("javac") || !have("java") {
        assert!(
            std::env::var("SASLGATE_REQUIRE_JVM").as_deref() != Ok("1"),
            "SASLGATE_REQUIRE_JVM=1 but javac/java are not on PATH"
        );
        eprintln!("SKIPPED: javac/java not found on PATH (set SASLGATE_REQUIRE_JVM=1 to fail)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src/org/saslgate/internal");
    std::fs::create_dir_all(&src).unwrap();
    // The contract's class with one descriptor changed: serverState returns long, not int.
    let native = std::fs::read_to_string(&java_sources()[0]).unwrap();
    let mismatched = native.replace(
        "static native int serverState(long session);",
        "static native long serverState(long session);",
    );
    assert_ne!(
        native, mismatched,
        "the declaration to change is in Native.java"
    );
    std::fs::write(src.join("Native.java"), mismatched).unwrap();
    std::fs::write(
        src.join("LoadOnly.java"),
        "package org.saslgate.internal;\n\
         final class LoadOnly {\n\
             public static void main(String[] a) {\n\
                 try { System.load(a[0]); System.out.println(\"LOADED\"); }\n\
                 catch (UnsatisfiedLinkError e) { System.out.println(\"REFUSED: \" + e.getMessage()); }\n\
             }\n\
         }\n",
    )
    .unwrap();
    let classes = dir.path().join("classes");
    let javac = Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .arg(src.join("Native.java"))
        .arg(src.join("LoadOnly.java"))
        .output()
        .unwrap();
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let run = Command::new("java")
        .arg("-cp")
        .arg(&classes)
        .arg("org.saslgate.internal.LoadOnly")
        .arg(native_library())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("REFUSED: saslgate-jni ")
            && stdout.contains("cannot register the natives of org.saslgate.internal.Native")
            && stdout.contains("serverState"),
        "{stdout}"
    );
}
