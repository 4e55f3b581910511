#!/usr/bin/env bash
# JMH benchmarks of the Java shim next to the Rust in-process number (DESIGN §10 "JNI: a cached
# server step costs under 0.5 µs more than the same call in Rust").
#
# Builds what is needed (release `saslgate` binary, release `libsaslgate_jni.so`, the shim jar,
# target/benchmarks.jar), runs the JMH benchmarks (ServerStepBench: it starts and stops
# `saslgate dev --serve-only` itself), then `cargo bench --bench validate --
# sasl/server_step_cache_hit`, and prints a comparison table. Loopback/Unix socket only.
#
# Usage: java-shim/jmh/run.sh [extra JMH arguments, e.g. a benchmark regex]
# Environment:
#   CARGO_TARGET_DIR  cargo's target directory (default: <repo>/target)
#   JMH_ARGS          JMH settings (default: -f 1 -wi 3 -w 1s -i 5 -r 1s: about 1.5 minutes)
#   SKIP_BUILD=1      use the existing builds
#   SKIP_RUST=1       do not run the Rust bench (the table then lacks the Rust column)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
JMH_ARGS=${JMH_ARGS:--f 1 -wi 3 -w 1s -i 5 -r 1s}
bin=$CARGO_TARGET_DIR/release/saslgate
lib=$CARGO_TARGET_DIR/release/libsaslgate_jni.so
out=$(mktemp -d "${TMPDIR:-/tmp}/saslgate-jmh-run.XXXXXX")
trap 'rm -rf "$out"' EXIT

cd "$root"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "== building: saslgate (release), saslgate-jni (release), shim jar, benchmarks jar" >&2
    cargo build --release --bin saslgate
    cargo build --release -p saslgate-jni
    # The shim jar only (no tests): the benchmarks jar links to it (see jmh/pom.xml).
    mvn -B -q -f java-shim/pom.xml -Dmaven.test.skip=true package
    mvn -B -q -f java-shim/jmh/pom.xml package
fi
for f in "$bin" "$lib" java-shim/jmh/target/benchmarks.jar; do
    [[ -e "$f" ]] || { echo "missing $f (run without SKIP_BUILD=1)" >&2; exit 1; }
done

props="-Dsaslgate.binary=$bin -Dsaslgate.native.path=$lib -Dsaslgate.devConfig=$root/configs/dev.toml"
echo "== JMH: $JMH_ARGS $*" >&2
# shellcheck disable=SC2086  # JMH_ARGS and props are word lists
java $props -jar java-shim/jmh/target/benchmarks.jar $JMH_ARGS -jvmArgsAppend "$props" "$@" \
    | tee "$out/jmh.txt"

rust_us=""
rust_median_us=""
if [[ "${SKIP_RUST:-0}" != 1 ]]; then
    echo "== Rust: cargo bench --bench validate -- sasl/server_step_cache_hit" >&2
    cargo bench --bench validate -- sasl/server_step_cache_hit 2>&1 | tee "$out/rust.txt"
    # criterion: "sasl/server_step_cache_hit" then "time:   [low unit mid unit high unit]".
    rust_us=$(awk '
        /sasl\/server_step_cache_hit/ { seen = 1 }
        seen && /time:/ {
            sub(/.*\[/, ""); v = $3; u = $4
            if (u == "ns") v /= 1000; else if (u == "ms") v *= 1000
            printf "%.3f", v; exit
        }' "$out/rust.txt")
    # the bench's own median of interleaved batches: "server SASL step on a cache hit: 3.52 µs"
    rust_median_us=$(sed -n 's/^server SASL step on a cache hit: \([0-9.]*\) µs.*/\1/p' "$out/rust.txt" | head -1)
fi

# JMH summary lines: "ServerStepBench.<name>  avgt  5  3.912 ± 0.123  us/op"
# (the error column is absent with a single iteration)
jmh() {
    awk -v n="ServerStepBench.$1" '
        $1 == n && $2 == "avgt" {
            s = ""; e = ""
            for (i = 3; i <= NF; i++) if ($i == "±") { s = $(i - 1); e = $(i + 1) }
            if (s == "") s = $(NF - 1)
            print (e == "" ? s : s " ± " e); exit
        }' "$out/jmh.txt"
}
jmh_value() { jmh "$1" | awk '{ print $1 }'; }

jni=$(jmh_value jniCachedServerStep)
overhead="n/a"
verdict=""
if [[ -n "$rust_us" && -n "$jni" ]]; then
    overhead=$(awk -v j="$jni" -v r="$rust_us" 'BEGIN { printf "%.3f", j - r }')
    verdict=$(awk -v o="$overhead" 'BEGIN { print (o < 0.5) ? "meets target" : "OVER target" }')
fi

echo
echo "== saslgate JNI vs Rust (µs per server exchange on a validation-cache hit; JMH avg ± 99.9% CI)"
printf '%-52s %20s  %s\n' "measurement (µs per operation)" "value" "note"
printf '%-52s %20s  %s\n' "Rust in-process step (criterion, sasl/server_step_cache_hit)" "${rust_us:-n/a}" \
    "bench median of interleaved batches: ${rust_median_us:-n/a}"
printf '%-52s %20s  %s\n' "JNI step: Native create+step+dispose" "$(jmh jniCachedServerStep)" ""
printf '%-52s %20s  %s\n' "overhead JNI - Rust" "$overhead" "target < 0.5 µs ${verdict:+($verdict)}"
printf '%-52s %20s  %s\n' "public API via JNI (Sasl.createSaslServer)" "$(jmh jniSaslServer)" \
    "JDK provider lookup + options + SaslServer"
printf '%-52s %20s  %s\n' "public API via JNI (provider factory directly)" "$(jmh jniSaslServerViaFactory)" \
    "without Sasl.createSaslServer's lookup"
printf '%-52s %20s  %s\n' "sidecar step (Sasl.createSaslServer, Unix socket)" "$(jmh sidecarSaslServer)" \
    "two HTTP requests to the daemon (create, step)"
printf '%-52s %20s  %s\n' "bare JNI call: serverDispose(0)" "$(jmh floorJniNoop)" "cheapest native: boundary only"
printf '%-52s %20s  %s\n' "JNI call with byte[0]: clientEvaluateChallenge" "$(jmh floorJniEmptyChallenge)" \
    "returns null"
printf '%-52s %20s  %s\n' "JNI call with 1 KiB byte[]: clientInitialResponse" "$(jmh floorJni1KiB)" \
    "DESIGN floor 0.2-0.3 µs; includes the rsasl client message"
