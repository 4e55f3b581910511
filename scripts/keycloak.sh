#!/usr/bin/env bash
# Install, start and stop the Keycloak server that the integration tests talk to.
#
#   scripts/keycloak.sh install   download (through Maven) and unpack Keycloak, build it once
#   scripts/keycloak.sh start     start it on free loopback ports, wait until ready, write the env file
#   scripts/keycloak.sh stop      stop the server started by `start`
#   scripts/keycloak.sh status    print the env file and whether the server answers
#
# Environment:
#   SASLGATE_CACHE          cache root outside the clone (default: $HOME/.cache/saslgate)
#   SASLGATE_RUN_DIR        where the env file, PID file, log and data of a running server live
#                           (default: $SASLGATE_CACHE/run)
#   SASLGATE_KEYCLOAK_JAVA_HOME  JDK to run Keycloak with (default: the first JDK >= 21 found,
#                           else the default `java` if it is >= 17)
#   SASLGATE_KEYCLOAK_START_TIMEOUT_SECS  how long `start` waits for readiness (default: 300)
#
# The env file ($SASLGATE_RUN_DIR/keycloak.env) holds the variables the Rust fixture
# (tests/common/keycloak.rs) reads:
#   SASLGATE_TEST_KEYCLOAK_URL, SASLGATE_TEST_KEYCLOAK_ADMIN_USER,
#   SASLGATE_TEST_KEYCLOAK_ADMIN_PASSWORD, SASLGATE_TEST_KEYCLOAK_MANAGEMENT_URL.
#
# The server runs in production mode from a distribution built once at install time
# (`kc.sh build` with an in-memory H2 database, a local cache and health checks), then
# `kc.sh start --optimized` with plain HTTP on 127.0.0.1. Building once makes each start
# about twice as fast as `start-dev` (which re-augments on every start) and leaves the
# installed distribution read-only, so several servers can run from it at the same time.
set -euo pipefail

KEYCLOAK_VERSION=26.7.3
KEYCLOAK_ARTIFACT="org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:tar.gz"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# Build-time options; changing them triggers a rebuild of the cached distribution.
KEYCLOAK_BUILD_OPTS=(--db=dev-mem --cache=local --health-enabled=true)

SASLGATE_CACHE="${SASLGATE_CACHE:-$HOME/.cache/saslgate}"
SASLGATE_RUN_DIR="${SASLGATE_RUN_DIR:-$SASLGATE_CACHE/run}"
KEYCLOAK_CACHE="$SASLGATE_CACHE/keycloak"
KEYCLOAK_TARBALL="$KEYCLOAK_CACHE/keycloak-quarkus-dist-${KEYCLOAK_VERSION}.tar.gz"
KEYCLOAK_HOME="$KEYCLOAK_CACHE/keycloak-${KEYCLOAK_VERSION}"
KEYCLOAK_BUILT_MARKER="$KEYCLOAK_HOME/.saslgate-built"
ENV_FILE="$SASLGATE_RUN_DIR/keycloak.env"
PID_FILE="$SASLGATE_RUN_DIR/keycloak.pid"
LOG_FILE="$SASLGATE_RUN_DIR/keycloak.log"
DATA_DIR="$SASLGATE_RUN_DIR/keycloak-data"

log() { printf 'keycloak.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now_secs() { date +%s.%N; }
elapsed_since() { awk -v s="$1" -v e="$(now_secs)" 'BEGIN { printf "%.1f", e - s }'; }

# Print a TCP port on 127.0.0.1 that is free right now (the OS picks it).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Print the major version of the `java` binary given as $1 (0 if it cannot be run).
java_major() {
    local v
    v="$("$1" -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')" || true
    v="${v#1.}"
    printf '%s\n' "${v%%[.+-]*}" | grep -E '^[0-9]+$' || echo 0
}

# Print the JAVA_HOME to run Keycloak with. Keycloak 26.7 is built for Java 17 bytecode but
# documents 21 as the supported runtime, so prefer a JDK >= 21 and fall back to >= 17.
pick_java_home() {
    if [[ -n "${SASLGATE_KEYCLOAK_JAVA_HOME:-}" ]]; then
        printf '%s\n' "$SASLGATE_KEYCLOAK_JAVA_HOME"
        return
    fi
    local candidates=() c best="" best_major=0 m
    [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME")
    if command -v java >/dev/null 2>&1; then
        candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
    fi
    for c in /usr/lib/jvm/*/; do candidates+=("${c%/}"); done
    for c in "${candidates[@]}"; do
        [[ -x "$c/bin/java" ]] || continue
        m="$(java_major "$c/bin/java")"
        if (( m >= 21 )); then printf '%s\n' "$c"; return; fi
        if (( m >= 17 && m > best_major )); then best="$c"; best_major=$m; fi
    done
    [[ -n "$best" ]] || die "no JDK >= 17 found; install one or set SASLGATE_KEYCLOAK_JAVA_HOME"
    log "warning: no JDK >= 21 found, running Keycloak on Java $best_major from $best"
    printf '%s\n' "$best"
}

cmd_install() {
    mkdir -p "$KEYCLOAK_CACHE"
    # One installer at a time: concurrent test runs share the cache.
    exec 9>"$KEYCLOAK_CACHE/.install.lock"
    flock 9
    local t
    if [[ ! -s "$KEYCLOAK_TARBALL" ]]; then
        command -v mvn >/dev/null 2>&1 || die "mvn not found; install Maven to download Keycloak"
        log "downloading $KEYCLOAK_ARTIFACT through Maven"
        t="$(now_secs)"
        local tmp
        tmp="$(mktemp -d "$KEYCLOAK_CACHE/.download.XXXXXX")"
        mvn -B -q -Dstyle.color=never "$DEPENDENCY_PLUGIN:copy" \
            -Dartifact="$KEYCLOAK_ARTIFACT" -DoutputDirectory="$tmp" </dev/null
        mv "$tmp/keycloak-quarkus-dist-${KEYCLOAK_VERSION}.tar.gz" "$KEYCLOAK_TARBALL"
        rmdir "$tmp"
        log "downloaded in $(elapsed_since "$t") s"
    fi
    if [[ ! -x "$KEYCLOAK_HOME/bin/kc.sh" ]]; then
        log "unpacking into $KEYCLOAK_HOME"
        t="$(now_secs)"
        local tmp
        tmp="$(mktemp -d "$KEYCLOAK_CACHE/.unpack.XXXXXX")"
        tar -xzf "$KEYCLOAK_TARBALL" -C "$tmp"
        rm -rf "$KEYCLOAK_HOME"
        mv "$tmp/keycloak-${KEYCLOAK_VERSION}" "$KEYCLOAK_HOME"
        rmdir "$tmp"
        log "unpacked in $(elapsed_since "$t") s"
    fi
    local wanted="${KEYCLOAK_BUILD_OPTS[*]}"
    if [[ "$(cat "$KEYCLOAK_BUILT_MARKER" 2>/dev/null || true)" != "$wanted" ]]; then
        log "building Keycloak once with: $wanted"
        t="$(now_secs)"
        local java_home
        java_home="$(pick_java_home)"
        JAVA_HOME="$java_home" JAVA="" "$KEYCLOAK_HOME/bin/kc.sh" build "${KEYCLOAK_BUILD_OPTS[@]}" \
            >"$KEYCLOAK_CACHE/build.log" 2>&1 </dev/null \
            || { tail -n 50 "$KEYCLOAK_CACHE/build.log" >&2; die "kc.sh build failed (log: $KEYCLOAK_CACHE/build.log)"; }
        # The build leaves a data directory behind; runs use their own.
        rm -rf "$KEYCLOAK_HOME/data"
        printf '%s\n' "$wanted" >"$KEYCLOAK_BUILT_MARKER"
        log "built in $(elapsed_since "$t") s"
    fi
    flock -u 9
}

# True if the server recorded in the PID file is still running.
running() {
    [[ -s "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

cmd_start() {
    cmd_install
    mkdir -p "$SASLGATE_RUN_DIR"
    if running; then
        log "already running (pid $(cat "$PID_FILE")); env file: $ENV_FILE"
        return
    fi
    rm -rf "$DATA_DIR"
    mkdir -p "$DATA_DIR/tmp"
    local http_port mgmt_port admin_password java_home t
    http_port="$(free_port)"
    mgmt_port="$(free_port)"
    while [[ "$mgmt_port" == "$http_port" ]]; do mgmt_port="$(free_port)"; done
    admin_password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    java_home="$(pick_java_home)"
    log "starting on http://127.0.0.1:$http_port (management :$mgmt_port, Java from $java_home)"
    t="$(now_secs)"
    # setsid: the server gets its own process group, so `stop` can end kc.sh and its JVM together.
    JAVA_HOME="$java_home" JAVA="" \
    JAVA_OPTS_APPEND="-Djava.io.tmpdir=$DATA_DIR/tmp -Dquarkus.transaction-manager.object-store.directory=$DATA_DIR/transaction-logs" \
    KC_BOOTSTRAP_ADMIN_USERNAME=admin \
    KC_BOOTSTRAP_ADMIN_PASSWORD="$admin_password" \
        setsid "$KEYCLOAK_HOME/bin/kc.sh" start --optimized \
            --http-enabled=true --http-host=127.0.0.1 --http-port="$http_port" \
            --http-management-port="$mgmt_port" \
            --hostname-strict=false \
            --log=file --log-file="$LOG_FILE" \
            >"$LOG_FILE.console" 2>&1 </dev/null &
    local pid=$!
    printf '%s\n' "$pid" >"$PID_FILE"
    local timeout="${SASLGATE_KEYCLOAK_START_TIMEOUT_SECS:-300}"
    local deadline=$(( $(date +%s) + timeout ))
    until curl -fsS -o /dev/null "http://127.0.0.1:$mgmt_port/health/ready" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 50 "$LOG_FILE.console" "$LOG_FILE" >&2 || true
            rm -f "$PID_FILE"
            die "Keycloak exited during startup (log: $LOG_FILE)"
        fi
        if (( $(date +%s) > deadline )); then
            tail -n 50 "$LOG_FILE.console" "$LOG_FILE" >&2 || true
            cmd_stop
            die "Keycloak not ready after ${timeout} s (log: $LOG_FILE)"
        fi
        sleep 0.5
    done
    local tmp_env="$ENV_FILE.tmp"
    umask 077
    cat >"$tmp_env" <<EOF
SASLGATE_TEST_KEYCLOAK_URL=http://127.0.0.1:$http_port
SASLGATE_TEST_KEYCLOAK_MANAGEMENT_URL=http://127.0.0.1:$mgmt_port
SASLGATE_TEST_KEYCLOAK_ADMIN_USER=admin
SASLGATE_TEST_KEYCLOAK_ADMIN_PASSWORD=$admin_password
EOF
    mv "$tmp_env" "$ENV_FILE"
    log "ready in $(elapsed_since "$t") s; env file: $ENV_FILE"
}

cmd_stop() {
    if ! running; then
        log "not running"
        rm -f "$PID_FILE" "$ENV_FILE"
        return
    fi
    local pid
    pid="$(cat "$PID_FILE")"
    log "stopping pid $pid"
    # The server leads its own process group (setsid in `start`).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "still running after 30 s, killing"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE" "$ENV_FILE"
}

cmd_status() {
    if running && [[ -s "$ENV_FILE" ]]; then
        cat "$ENV_FILE" | grep -v PASSWORD
        log "running (pid $(cat "$PID_FILE"))"
    else
        log "not running"
        return 1
    fi
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 64 ;;
esac
