#!/usr/bin/env bash
# The main job: a real ZooKeeper client authenticating to a real, patched ZooKeeper
# server with SASL OAUTHBEARER through saslgate, on the embedded default configuration.
#
#   scripts/demo.sh
#
# Steps (numbered as in its output; each prints what happened; the script exits non-zero if one
# does not behave as expected):
#   before the steps: builds saslgate (release), the Java shim (mvn install, no JNI library needed:
#      the sidecar transport is used), the patched ZooKeeper (patches/build.sh zookeeper
#      -Dupstream.tests.skip=true; installed in the local Maven repository, as Maven reports it,
#      MAVEN_OPTS included, and rebuilt only when patches/ changes) and the demo client
#      (tests/zookeeper); one line per build step with its duration on stderr, the builds' output
#      in $SASLGATE_CACHE/demo-build.log. Two demos at once build one after the other (flock on
#      $SASLGATE_CACHE/demo-build.lock): they share patches/zookeeper/target and the build log
#   1. starts `saslgate dev --serve-only`: the development OIDC issuer (127.0.0.1, ephemeral key;
#      clients zk-client, zk-app2, zk-other) and the daemon on a private Unix socket
#   2. starts a ZooKeeper server (its own JVM) on a free 127.0.0.1 port with
#      configs/zookeeper/{zoo.cfg,jaas-sidecar.conf,java.env,java.security} (paths and port
#      filled in): OAUTHBEARER through the daemon, the `sasl` ACL scheme, auth enforced
#   3. runs the demo client (another JVM, org.saslgate.zkdemo.DemoClient):
#      zk-client authenticates, creates /saslgate-demo with ACL sasl:zk-client:cdrwa, reads it
#      back; zk-app2 authenticates and gets NoAuth on it; a token with a flipped signature bit
#      is refused (AuthFailed)
#   4. reads the daemon's audit log: the accepted logins and the refusal's reason (bad_signature)
#   afterwards: stops everything it started and removes its temporary directory (also on Ctrl-C; after a
#      failed step the directory is kept and named, for its logs). A signal (Ctrl-C, SIGTERM)
#      is handled at once, also during a build step or the client run: each long step runs in
#      a process group of its own, which the cleanup ends.
#
# Prerequisites: Rust (cargo), a JDK 17+ (java), Maven (mvn), GNU patch, git, flock and setsid
# (util-linux); the first run downloads ZooKeeper's sources and dependencies through Maven.
#
# Environment: SASLGATE_CACHE (default ~/.cache/saslgate), CARGO_TARGET_DIR (default
# $SASLGATE_CACHE/target), MAVEN_OPTS (e.g. -Dmaven.repo.local=DIR, honoured when finding the
# installed patched ZooKeeper); SASLGATE_DEMO_KEEP=1 keeps the temporary directory (logs);
# SASLGATE_DEMO_ZOOKEEPER=groupId:version runs against another ZooKeeper build (plumbing checks).
set -euo pipefail
# The script's own path, symbolic links resolved (a link to it elsewhere still finds the clone).
SELF="$(readlink -f "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$SELF")/.." && pwd)"
cd "$ROOT"
export SASLGATE_CACHE="${SASLGATE_CACHE:-$HOME/.cache/saslgate}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SASLGATE_CACHE/target}"
ZNODE=/saslgate-demo

say() { printf '%s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for tool in cargo java mvn patch git flock setsid; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (prerequisites: Rust, JDK 17+, Maven, GNU patch, git, util-linux's flock and setsid)"
done

WORK=""
DEV_PID=""
ZK_PID=""
STEP_PID=""
LINE_OPEN=0
# The script's own stderr, kept on fd 8 for the cleanup: a signal during a step runs the traps
# inside step's caller, whose stderr may be a log file (the build log, client.log).
exec 8>&2
cleanup() {
    local rc=$?
    # The step in progress (a build, the client run): its whole process group (Maven's JVM under
    # patches/build.sh, rustc under cargo), then the process itself if it had no group of its own.
    if [[ -n "$STEP_PID" ]]; then
        (( LINE_OPEN )) && printf 'interrupted\n' >&2
        kill -TERM -- "-$STEP_PID" 2>/dev/null || kill -TERM "$STEP_PID" 2>/dev/null || true
        wait "$STEP_PID" 2>/dev/null || true
    fi
    for pid in "$ZK_PID" "$DEV_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ -n "$WORK" ]]; then
        # A failed step keeps the logs; success and Ctrl-C/SIGTERM remove everything.
        if [[ "${SASLGATE_DEMO_KEEP:-0}" == 1 || $rc -eq 1 ]]; then
            say "demo: logs kept in $WORK" >&2
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$rc"
} 2>&8
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step COMMAND...: runs COMMAND in the background in a session (so a process group) of its own and
# waits for it; returns its exit status. Bash runs a trap only between commands, and `wait` is
# interrupted by a trapped signal, so Ctrl-C/SIGTERM take effect at once and the cleanup ends
# the group (STEP_PID). (A non-interactive shell's background child leads no group, so setsid
# does not fork and STEP_PID is the group's id; -w keeps the exit status if it ever forks.)
step() {
    setsid -w "$@" &
    STEP_PID=$!
    local rc=0
    wait "$STEP_PID" || rc=$?
    STEP_PID=""
    return "$rc"
}

# --- before the steps: build ----------------------------------------------------------------
BUILD_LOG="$SASLGATE_CACHE/demo-build.log"
mkdir -p "$SASLGATE_CACHE"
# One build at a time: two demos share patches/zookeeper/target, java-shim/target,
# tests/zookeeper/target and the build log. The lock is on fd 9's open file description, so the
# `flock` child (run as a step, to stay interruptible) takes it for this script, which holds it
# until fd 9 is closed after the build (or the script ends).
exec 9>"$SASLGATE_CACHE/demo-build.lock"
if ! flock -n 9; then
    say "demo: waiting for another demo build (lock: $SASLGATE_CACHE/demo-build.lock) ..." >&2
    step flock 9 || die "could not lock $SASLGATE_CACHE/demo-build.lock"
fi
: >"$BUILD_LOG"
say "demo: building (log: $BUILD_LOG)" >&2
# build WHAT COMMAND...: runs a build step with its output in the build log; prints one line
# (what, its duration) on stderr, and the log's end on failure.
build() {
    local what="$1" start=$SECONDS
    shift
    printf 'demo: building %s ... ' "$what" >&2
    LINE_OPEN=1
    if ! step "$@" </dev/null >>"$BUILD_LOG" 2>&1; then
        LINE_OPEN=0
        printf 'failed after %d s\n' $(( SECONDS - start )) >&2
        tail -n 40 "$BUILD_LOG" >&2
        die "building $what failed (full log: $BUILD_LOG)"
    fi
    LINE_OPEN=0
    printf '%d s\n' $(( SECONDS - start )) >&2
}
build "saslgate (release; the first time about 8 minutes)" cargo build --release --bin saslgate
SASLGATE="$CARGO_TARGET_DIR/release/saslgate"
build "the Java shim (mvn install)" mvn -B -f java-shim/pom.xml -DskipTests install
ZK_VERSION=3.9.5-saslgate.1
# The local Maven repository as Maven itself sees it (settings.xml, MAVEN_OPTS'
# -Dmaven.repo.local=...), where the pipeline installs the patched ZooKeeper. Written to a file
# (help:evaluate's `output`): on the console Maven wraps it in colour codes even with -B.
M2_OUT="$SASLGATE_CACHE/demo-m2-repository.txt"
rm -f "$M2_OUT"
start=$SECONDS
printf 'demo: asking Maven for its local repository ... ' >&2
LINE_OPEN=1
if ! step mvn -q -B -f java-shim/pom.xml help:evaluate -Dexpression=settings.localRepository \
        "-Doutput=$M2_OUT" </dev/null >>"$BUILD_LOG" 2>&1; then
    LINE_OPEN=0
    printf 'failed after %d s\n' $(( SECONDS - start )) >&2
    tail -n 40 "$BUILD_LOG" >&2
    die "mvn help:evaluate -Dexpression=settings.localRepository failed (full log: $BUILD_LOG)"
fi
LINE_OPEN=0
M2_REPO="$(cat "$M2_OUT" 2>/dev/null || true)"
printf '%d s: %s\n' $(( SECONDS - start )) "$M2_REPO" >&2
[[ -n "$M2_REPO" && -d "$M2_REPO" ]] || die "Maven reported no usable local repository ('$M2_REPO'; log: $BUILD_LOG)"
ZK_JAR="$M2_REPO/org/saslgate/patched/zookeeper/$ZK_VERSION/zookeeper-$ZK_VERSION.jar"
if [[ -z "${SASLGATE_DEMO_ZOOKEEPER:-}" ]]; then
    # The pipeline (its own tests run, the upstream ones are skipped here; scripts/test.sh runs
    # them) installs the patched build into the local Maven repository. It is rebuilt unless a
    # stamp records that the installed jar was built from exactly the current patches/
    # (checksums of both).
    STAMP="$SASLGATE_CACHE/demo-zookeeper.stamp"
    # The tracked files of patches/ (the build writes untracked ones, e.g. the flattened pom).
    patches_sum() { git ls-files -z patches | xargs -0 sha256sum | sha256sum; }
    stamp() { printf '%s %s\n' "$(patches_sum)" "$(sha256sum 2>/dev/null <"$ZK_JAR" || echo none)"; }
    if [[ -f "$ZK_JAR" && -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp)" ]]; then
        say "demo: the patched ZooKeeper $ZK_VERSION in the local Maven repository is up to date" >&2
    else
        if [[ -x patches/build.sh ]]; then
            build "the patched ZooKeeper (about 40 s)" patches/build.sh zookeeper -Dupstream.tests.skip=true
        else
            build "the patched ZooKeeper (about 40 s)" mvn -B -f patches/zookeeper/pom.xml -Dupstream.tests.skip=true install
        fi
        [[ -f "$ZK_JAR" ]] || die "the patched ZooKeeper build did not install $ZK_JAR (local Maven repository: $M2_REPO; log: $BUILD_LOG)"
        stamp >"$STAMP"
    fi
    ZK_MVN=("-Dzookeeper.version=$ZK_VERSION")
else
    # SASLGATE_DEMO_ZOOKEEPER=groupId:version picks another ZooKeeper build (for the plumbing only:
    # stock ZooKeeper cannot select OAUTHBEARER, so the demo then fails at its first check).
    ZK_MVN=("-Dzookeeper.groupId=${SASLGATE_DEMO_ZOOKEEPER%%:*}" "-Dzookeeper.version=${SASLGATE_DEMO_ZOOKEEPER#*:}")
fi
build "the demo client (tests/zookeeper)" mvn -B -f tests/zookeeper/pom.xml "${ZK_MVN[@]}" -DskipTests package
CLASSPATH_JVM="$ROOT/tests/zookeeper/target/classes:$(cat tests/zookeeper/target/runtime.classpath)"
# The build is over: another demo may build now (nothing started below inherits the lock).
exec 9>&-

WORK="$(mktemp -d "${TMPDIR:-/tmp}/saslgate-demo.XXXXXX")"
chmod 700 "$WORK"

# A free loopback TCP port (nothing answers on it).
free_port() {
    local p
    for _ in $(seq 1 100); do
        p=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found on 127.0.0.1"
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
    local what="$1" secs="$2"
    shift 2
    local deadline=$(( $(date +%s) + secs ))
    until "$@" >/dev/null; do
        (( $(date +%s) < deadline )) || die "$what did not come up within $secs s (logs in $WORK)"
        sleep 0.2
    done
}

say "saslgate main job: a ZooKeeper client authenticates to a patched ZooKeeper server with SASL OAUTHBEARER through saslgate"
say "(DEVELOPMENT SETUP: loopback only, ephemeral keys, not for production)"

# --- 1. issuer and daemon -------------------------------------------------------------------
SOCKET="$WORK/saslgate.sock"
"$SASLGATE" dev --serve-only --socket "$SOCKET" >"$WORK/dev.out" 2>"$WORK/daemon.log" </dev/null &
DEV_PID=$!
wait_for "saslgate dev" 60 grep -qs '^serving until' "$WORK/dev.out"
ISSUER="$(sed -n 's/^issuer: //p' "$WORK/dev.out")"
say " 1. ✓ saslgate dev: development issuer at $ISSUER (clients zk-client, zk-app2, zk-other),"
say "      daemon on $SOCKET (embedded configs/dev.toml: service zookeeper, role zk-writer required)"

# --- 2. ZooKeeper server --------------------------------------------------------------------
PORT="$(free_port)"
mkdir -p "$WORK/data"
sed -e "s|^dataDir=.*|dataDir=$WORK/data|" -e "s|^clientPort=.*|clientPort=$PORT|" \
    configs/zookeeper/zoo.cfg >"$WORK/zoo.cfg"
# The JAAS file with this daemon's socket, plus a section for the second identity.
sed "s|/run/saslgate/saslgate.sock|$SOCKET|" configs/zookeeper/jaas-sidecar.conf >"$WORK/jaas-sidecar.conf"
sed -n '/^Client {/,/^};/p' "$WORK/jaas-sidecar.conf" \
    | sed -e 's/^Client {/ClientApp2 {/' -e 's/identity="zk-client"/identity="zk-app2"/' >>"$WORK/jaas-sidecar.conf"
cp configs/zookeeper/java.security configs/zookeeper/zookeeper-client.properties "$WORK/"
SERVER_JVMFLAGS=""
CLIENT_JVMFLAGS=""
# shellcheck source=configs/zookeeper/java.env
. configs/zookeeper/java.env
SERVER_JVMFLAGS="${SERVER_JVMFLAGS//\/etc\/saslgate/$WORK}"
CLIENT_JVMFLAGS="${CLIENT_JVMFLAGS//\/etc\/saslgate/$WORK}"
# shellcheck disable=SC2086 # the flags are words
java -cp "$CLASSPATH_JVM" $SERVER_JVMFLAGS -Dorg.slf4j.simpleLogger.showDateTime=true \
    org.apache.zookeeper.server.ZooKeeperServerMain "$WORK/zoo.cfg" >"$WORK/zookeeper.log" 2>&1 </dev/null &
ZK_PID=$!
# The `srvr` four-letter word (4lw.commands.whitelist in zoo.cfg), in a subshell of its own.
srvr() ( exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'srvr' >&3 && cat <&3 )
zk_ready() {
    kill -0 "$ZK_PID" 2>/dev/null || die "the ZooKeeper server exited: $(tail -n 20 "$WORK/zookeeper.log")"
    local out
    out="$(srvr 2>/dev/null)" && [[ "$out" == *Mode:* ]]
}
wait_for "the ZooKeeper server" 60 zk_ready
VERSION="$(srvr | sed -n 's/^Zookeeper version: //p')"
say " 2. ✓ ZooKeeper server (separate JVM, pid $ZK_PID) on 127.0.0.1:$PORT, srvr reports: $VERSION"
say "      zookeeper.sasl.server.mechanism=OAUTHBEARER, JAAS Server section: SaslGateLoginModule (sidecar, $SOCKET)"
case "$VERSION" in
    *saslgate*) ;;
    *) say "   ✗ the server is not the patched build (no 'saslgate' in its version)"; exit 1 ;;
esac

# --- 3. the client --------------------------------------------------------------------------
say " 3. ZooKeeper client (separate JVM): zookeeper.sasl.client.mechanism=OAUTHBEARER, JAAS Client section: SaslGateLoginModule (sidecar)"
rc=0
# shellcheck disable=SC2086
step java -cp "$CLASSPATH_JVM" $CLIENT_JVMFLAGS org.saslgate.zkdemo.DemoClient \
    "127.0.0.1:$PORT" "$ZNODE" "$WORK/zookeeper-client.properties" </dev/null 2>"$WORK/client.log" || rc=$?

# --- 4. the daemon's audit log ---------------------------------------------------------------
# The daemon's audit events: the accepted logins, and the refusal with its reason.
AUDIT="$(grep 'saslgate::audit' "$WORK/daemon.log" || true)"
allowed_ids="$(grep 'decision="allow"' <<<"$AUDIT" | sed -n 's/.* authzid=\([^ ]*\) .*/\1/p' | sort -u | paste -sd, - || true)"
accepted="$(grep -c 'decision="allow"' <<<"$AUDIT" || true)"
refused="$(grep 'decision="deny"' <<<"$AUDIT" | sed -n 's/.*reason="\([a-z_]*\)".*/\1/p' | sort -u | paste -sd, - || true)"
say " 4. daemon audit log: $accepted authentications allowed (authorization ids: ${allowed_ids:-none}); refused: ${refused:-none}"
if [[ "$refused" == *bad_signature* ]]; then
    say "   ✓ the tampered token was refused by the daemon with reason bad_signature (signature verification failed)"
else
    say "   ✗ no refusal with reason bad_signature in the daemon's audit log"
    rc=1
fi
if (( rc != 0 )); then
    tail -n 30 "$WORK/client.log"
    say "demo FAILED (logs: $WORK: daemon.log, zookeeper.log, client.log)"
    exit 1
fi
say "demo finished as expected: zk-client owns $ZNODE (sasl:zk-client:cdrwa), zk-app2 got NoAuth, the tampered token got AuthFailed (bad_signature); stopping"
