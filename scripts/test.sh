#!/usr/bin/env bash
# The one test command: installs what is missing, starts the identity providers, and runs
# every check. Exits non-zero if any step fails; every step runs even after a failure, and a
# summary with timings is printed at the end.
#
#   scripts/test.sh
#
# Steps:
#   1. tools: rustfmt and clippy components; npm dependencies of tests/oidc-provider (npm ci);
#      moto[server] and awscli from PyPI in the virtual environment $SASLGATE_CACHE/aws-venv
#      (created once, reused), for tests/aws.rs
#   2. Keycloak: install (through Maven, cached) and start on free loopback ports, in the
#      background while cargo compiles; stopped on exit
#   3. cargo fmt --check, cargo clippy --all-targets -D warnings
#   4. cargo test --workspace with SASLGATE_REQUIRE_KEYCLOAK=1, SASLGATE_REQUIRE_OIDC_PROVIDER=1,
#      SASLGATE_REQUIRE_AWS_VENV=1 and SASLGATE_REQUIRE_JVM=1 (the jni-bridge smoke test in a real JVM), so a missing
#      provider or JVM fails instead of skipping
#   5. java-shim, if java-shim/pom.xml exists: builds the debug JNI library with the testing
#      natives (cargo build -p saslgate-jni --features testing) and the saslgate binary, copies
#      the library (debug info stripped) into the test jar, then mvn verify with
#      -Dsaslgate.native.path=<that library> -Dsaslgate.requireJni=true
#      -Dsaslgate.requireJarNative=true, so the JNI suites fail rather than skip. (The jar left in
#      java-shim/target then carries that test library; scripts/build.sh makes the release one.)
#   6. ZooKeeper, if tests/zookeeper/pom.xml exists: the patched ZooKeeper installed into ~/.m2
#      (patches/build.sh zookeeper -DskipTests), the end-to-end tests (mvn verify in
#      tests/zookeeper: real Keycloak, saslgate serve, patched ZooKeeper servers in their own
#      JVMs, both transports, a three-server quorum, clients with AWS roles assumed at moto
#      (SASLGATE_REQUIRE_AWS_VENV=1); the shim installed from step 5,
#      -Dsaslgate.requireJni=true), then the whole pipeline with the upstream tests
#      (patches/build.sh zookeeper) and its reproducibility check (two builds, same jar bytes)
#   7. Hadoop, if tests/hadoop/pom.xml exists: the rebuild pipeline (patches/build.sh hadoop:
#      the patched hadoop-common with its upstream tests, installed into ~/.m2), then the
#      end-to-end tests (mvn verify in tests/hadoop: real Keycloak, saslgate serve, Hadoop RPC
#      servers in their own JVMs, both transports) with the shim installed from step 5 and
#      -Dsaslgate.requireJni=true, and its reproducibility check
#   8. fuzzing: each cargo-fuzz target in tests/fuzz for SASLGATE_FUZZ_SECS (default 20) s,
#      if tests/fuzz exists and a nightly toolchain is installed (skipped with a notice if not)
#
# Environment:
#   SASLGATE_CACHE     cache root outside the clone (default: $HOME/.cache/saslgate)
#   CARGO_TARGET_DIR   cargo's target dir (default: $SASLGATE_CACHE/target)
#   SASLGATE_FUZZ_SECS time per fuzz target in seconds (default: 20; 0 skips fuzzing)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export SASLGATE_CACHE="${SASLGATE_CACHE:-$HOME/.cache/saslgate}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SASLGATE_CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
FUZZ_SECS="${SASLGATE_FUZZ_SECS:-20}"
mkdir -p "$SASLGATE_CACHE"

# Remove run directories left by killed runs (older than a day, server no longer alive).
for stale in $(find "$SASLGATE_CACHE" -maxdepth 1 -name 'run.*' -type d -mmin +1440 2>/dev/null); do
    pid="$(cat "$stale/keycloak.pid" 2>/dev/null || true)"
    if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
        rm -rf "$stale"
    fi
done

# This run's Keycloak lives in its own run directory, so concurrent runs do not collide.
RUN_DIR="$(mktemp -d "$SASLGATE_CACHE/run.XXXXXX")"
export SASLGATE_RUN_DIR="$RUN_DIR"
KEYCLOAK_START_PID=""

SUMMARY=()
FAILED=0
T0="$(date +%s)"

note() { printf '\n==> %s\n' "$*" >&2; }

# step NAME COMMAND...: runs the command, records its outcome and duration.
step() {
    local name="$1"
    shift
    note "$name"
    local t rc=0
    t="$(date +%s)"
    "$@" || rc=$?
    local secs=$(( $(date +%s) - t ))
    if (( rc == 0 )); then
        SUMMARY+=("$(printf '%-28s ok      %5d s' "$name" "$secs")")
    else
        SUMMARY+=("$(printf '%-28s FAILED  %5d s  (exit %d)' "$name" "$secs" "$rc")")
        FAILED=1
    fi
    return 0
}

skip() {
    note "$1: skipped ($2)"
    SUMMARY+=("$(printf '%-28s skipped         (%s)' "$1" "$2")")
}

cleanup() {
    local rc=$?
    if [[ -n "$KEYCLOAK_START_PID" ]] && kill -0 "$KEYCLOAK_START_PID" 2>/dev/null; then
        kill "$KEYCLOAK_START_PID" 2>/dev/null || true
        wait "$KEYCLOAK_START_PID" 2>/dev/null || true
    fi
    scripts/keycloak.sh stop >/dev/null 2>&1 || true
    if (( rc == 0 )); then
        rm -rf "$RUN_DIR"
    else
        echo "scripts/test.sh: Keycloak logs kept in $RUN_DIR" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rust_components() {
    local installed
    installed="$(rustup component list --installed 2>/dev/null || true)"
    local missing=()
    grep -q '^rustfmt' <<<"$installed" || missing+=(rustfmt)
    grep -q '^clippy' <<<"$installed" || missing+=(clippy)
    if (( ${#missing[@]} > 0 )); then
        rustup component add "${missing[@]}"
    fi
}

npm_ci() {
    (cd tests/oidc-provider && npm ci --no-audit --no-fund </dev/null)
}

# moto (the AWS emulator) and the AWS CLI for tests/aws.rs, pinned, installed once.
AWS_VENV="$SASLGATE_CACHE/aws-venv"
aws_venv() {
    if [[ -x "$AWS_VENV/bin/moto_server" && -x "$AWS_VENV/bin/aws" ]]; then
        return 0
    fi
    python3 -m venv "$AWS_VENV"
    "$AWS_VENV/bin/pip" install --quiet --disable-pip-version-check \
        'moto[server]==5.2.5' 'awscli==1.46.3' </dev/null
}

wait_keycloak() {
    local rc=0
    wait "$KEYCLOAK_START_PID" || rc=$?
    KEYCLOAK_START_PID=""
    cat "$RUN_DIR/keycloak-start.log" >&2 || true
    if (( rc != 0 )); then
        return "$rc"
    fi
    set -a
    # shellcheck source=/dev/null
    . "$RUN_DIR/keycloak.env"
    set +a
    export SASLGATE_TEST_KEYCLOAK_ENV_FILE="$RUN_DIR/keycloak.env"
}

cargo_test() {
    SASLGATE_REQUIRE_KEYCLOAK=1 SASLGATE_REQUIRE_OIDC_PROVIDER=1 SASLGATE_REQUIRE_JVM=1 \
        SASLGATE_REQUIRE_AWS_VENV=1 SASLGATE_AWS_VENV="$AWS_VENV" cargo test --workspace
}

# shellcheck source=scripts/platform.sh
. "$(dirname "${BASH_SOURCE[0]}")/platform.sh"

JNI_LIBRARY="$CARGO_TARGET_DIR/debug/libsaslgate_jni.so"

# The library the Java tests load: the debug build with the testing natives; a copy without
# debug info goes into the test jar, so NativeJarLoadTest loads it from the jar alone.
jni_library() {
    cargo build -p saslgate-jni --features testing
    cargo build --bin saslgate
    local dir
    dir="java-shim/target/native/$(platform)"
    rm -rf "$dir"
    mkdir -p "$dir"
    if command -v strip >/dev/null 2>&1; then
        strip --strip-debug -o "$dir/libsaslgate_jni.so" "$JNI_LIBRARY"
    else
        cp "$JNI_LIBRARY" "$dir/libsaslgate_jni.so"
    fi
}

java_shim_verify() {
    mvn -B -f java-shim/pom.xml verify \
        -Dsaslgate.native.path="$JNI_LIBRARY" \
        -Dsaslgate.requireJni=true \
        -Dsaslgate.requireJarNative=true </dev/null
}

# DESIGN §3: one TLS, HTTP and crypto stack in the default build.
dependency_check() {
    local dups
    dups="$(cargo tree -d -e normal --workspace --depth 0 --prefix none 2>/dev/null | grep -E '^(rustls|hyper|reqwest|ring) ' | sort -u || true)"
    if [[ -n "$dups" ]]; then
        echo "duplicate TLS/HTTP crates in the default build:" >&2
        echo "$dups" >&2
        return 1
    fi
    if cargo tree -e normal --workspace -i ring 2>/dev/null | grep -q '^ring '; then
        echo "ring is in the default build (aws-lc-rs is the one crypto provider)" >&2
        return 1
    fi
    echo "no duplicate rustls/hyper/reqwest, no ring"
}

# DESIGN §3: every provider feature builds on its own.
feature_builds() {
    local f rc=0
    cargo check --quiet -p saslgate --no-default-features --all-targets || rc=1
    for f in oidc kubernetes aws; do
        cargo check --quiet -p saslgate --no-default-features --features "$f" || rc=1
    done
    return "$rc"
}

# patches/build.sh zookeeper [MAVEN_ARGS...] (or the pipeline's pom directly, before the script exists).
zookeeper_build() {
    if [[ -x patches/build.sh ]]; then
        patches/build.sh zookeeper "$@" </dev/null
    else
        mvn -B -f patches/zookeeper/pom.xml "$@" install </dev/null
    fi
}

# The patched ZooKeeper (DESIGN §8) in the local Maven repository, for the end-to-end tests.
zookeeper_install() {
    zookeeper_build -DskipTests >"$RUN_DIR/zookeeper-install.log" 2>&1 \
        || { tail -n 40 "$RUN_DIR/zookeeper-install.log" >&2; return 1; }
    echo "installed org.saslgate.patched:zookeeper (pipeline log: $RUN_DIR/zookeeper-install.log)"
}

# The shim jar step 5 built (with the JNI library) goes into ~/.m2 for tests/zookeeper and
# tests/hadoop.
shim_install() {
    mvn -B -f java-shim/pom.xml -DskipTests install </dev/null >"$RUN_DIR/shim-install.log" 2>&1 \
        || { tail -n 40 "$RUN_DIR/shim-install.log" >&2; return 1; }
    echo "installed org.saslgate:saslgate-shim (log: $RUN_DIR/shim-install.log)"
}

zookeeper_e2e() {
    SASLGATE_REQUIRE_KEYCLOAK=1 SASLGATE_REQUIRE_AWS_VENV=1 SASLGATE_AWS_VENV="$AWS_VENV" \
        mvn -B -f tests/zookeeper/pom.xml verify \
        -Dsaslgate.native.path="$JNI_LIBRARY" \
        -Dsaslgate.requireJni=true </dev/null
}

# The patched hadoop-common (DESIGN §8), installed into the local Maven repository.
hadoop_pipeline() {
    patches/build.sh hadoop </dev/null
}

hadoop_e2e() {
    SASLGATE_REQUIRE_KEYCLOAK=1 mvn -B -f tests/hadoop/pom.xml verify \
        -Dsaslgate.native.path="$JNI_LIBRARY" \
        -Dsaslgate.requireJni=true </dev/null
}

fuzz() {
    local targets t rc=0
    targets="$(cargo +nightly fuzz list --fuzz-dir tests/fuzz)"
    for t in $targets; do
        note "fuzz $t for $FUZZ_SECS s"
        # libFuzzer prints a line per new input; keep that in a log and show the end.
        if CARGO_TARGET_DIR="$CARGO_TARGET_DIR-fuzz" \
            cargo +nightly fuzz run --fuzz-dir tests/fuzz "$t" -- \
            -max_total_time="$FUZZ_SECS" -print_final_stats=1 </dev/null >"$RUN_DIR/fuzz-$t.log" 2>&1; then
            grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$RUN_DIR/fuzz-$t.log" >&2 || true
        else
            tail -n 60 "$RUN_DIR/fuzz-$t.log" >&2
            rc=1
        fi
    done
    return "$rc"
}

step "rust components" rust_components
step "npm ci (oidc-provider)" npm_ci
step "aws venv (moto, awscli)" aws_venv
step "keycloak install" scripts/keycloak.sh install

# Keycloak boots (about 20 s) while cargo compiles.
note "keycloak start (background)"
KEYCLOAK_T0="$(date +%s)"
scripts/keycloak.sh start >"$RUN_DIR/keycloak-start.log" 2>&1 </dev/null &
KEYCLOAK_START_PID=$!

step "cargo fmt --check" cargo fmt --all --check
step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
step "dependency check" dependency_check
step "feature builds" feature_builds
step "cargo test --no-run" cargo test --workspace --no-run
step "keycloak ready" wait_keycloak
note "keycloak ready $(( $(date +%s) - KEYCLOAK_T0 )) s after its start was launched"
step "cargo test" cargo_test

if [[ -f java-shim/pom.xml ]]; then
    step "jni library (testing)" jni_library
    step "java-shim mvn verify" java_shim_verify
fi

if [[ -f tests/zookeeper/pom.xml || -f tests/hadoop/pom.xml ]]; then
    step "shim install" shim_install
fi

if [[ -f tests/zookeeper/pom.xml ]]; then
    step "zookeeper install" zookeeper_install
    step "zookeeper e2e mvn verify" zookeeper_e2e
    step "zookeeper pipeline + tests" zookeeper_build
    step "zookeeper reproducible" zookeeper_build --check-reproducible
fi

if [[ -f tests/hadoop/pom.xml ]]; then
    step "hadoop pipeline" hadoop_pipeline
    step "hadoop e2e mvn verify" hadoop_e2e
    step "hadoop reproducible" patches/build.sh hadoop --check-reproducible
fi

if [[ ! -d tests/fuzz ]]; then
    skip "fuzz" "no tests/fuzz"
elif [[ "$FUZZ_SECS" == 0 ]]; then
    skip "fuzz" "SASLGATE_FUZZ_SECS=0"
elif ! cargo +nightly --version >/dev/null 2>&1; then
    skip "fuzz" "no nightly toolchain installed; cargo-fuzz needs one"
else
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        step "install cargo-fuzz" cargo install cargo-fuzz --locked
    fi
    if cargo +nightly fuzz --version >/dev/null 2>&1; then
        step "fuzz" fuzz
    else
        skip "fuzz" "cargo-fuzz could not be installed"
    fi
fi

note "summary (total $(( $(date +%s) - T0 )) s)"
printf '  %s\n' "${SUMMARY[@]}" >&2
if (( FAILED )); then
    echo "scripts/test.sh: FAILED" >&2
    exit 1
fi
echo "scripts/test.sh: all checks passed" >&2
