#!/usr/bin/env bash
# Builds saslgate: the Rust parts and the Java shim jar with the native library inside.
#
#   scripts/build.sh [--debug]
#
# Steps:
#   1. cargo build --release -p saslgate-jni --bin saslgate: libsaslgate_jni.so and the saslgate
#      binary (--debug: the dev profile with the jni-bridge `testing` feature, i.e. the library
#      scripts/test.sh builds, so the two do not rebuild each other; for local tries, never for
#      shipping: the testing natives panic and throw on request)
#   2. copies libsaslgate_jni.so to java-shim/target/native/<os>-<arch>/ (the pom adds
#      target/native as a resource directory, so the jar carries
#      META-INF/native/<os>-<arch>/libsaslgate_jni.so, where NativeLoader looks for it)
#   3. mvn package with -DskipTests: the test suites need the development daemon and a debug
#      library with the testing natives; scripts/test.sh builds those and runs every test
#   4. checks the jar: its library entry is byte-identical (SHA-256) to the (debug-stripped) library copied in, and
#      NativeJarLoadTest extracts and loads it from the jar alone (no saslgate.native.path, in a
#      JVM of its own: surefire:test@jar-native with saslgate.requireJarNative=true)
#   5. prints the jar path as the last line of standard output
#
# Environment:
#   SASLGATE_CACHE     cache root outside the clone (default: $HOME/.cache/saslgate)
#   CARGO_TARGET_DIR   cargo's target dir (default: $SASLGATE_CACHE/target)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export SASLGATE_CACHE="${SASLGATE_CACHE:-$HOME/.cache/saslgate}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SASLGATE_CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

PROFILE_FLAG=(--release)
PROFILE_DIR=release
JNI_FEATURES=()
case "${1:-}" in
    "") ;;
    --debug) PROFILE_FLAG=(); PROFILE_DIR=debug; JNI_FEATURES=(--features testing) ;;
    *) echo "usage: scripts/build.sh [--debug]" >&2; exit 64 ;;
esac

note() { printf '==> %s\n' "$*" >&2; }

# shellcheck source=scripts/platform.sh
. "$(dirname "${BASH_SOURCE[0]}")/platform.sh"

PLATFORM="$(platform)"
LIB="$CARGO_TARGET_DIR/$PROFILE_DIR/libsaslgate_jni.so"
NATIVE_DIR="java-shim/target/native/$PLATFORM"
ENTRY="META-INF/native/$PLATFORM/libsaslgate_jni.so"

note "cargo build ${PROFILE_FLAG[*]:-(dev profile)} -p saslgate-jni ${JNI_FEATURES[*]:-}; --bin saslgate"
cargo build "${PROFILE_FLAG[@]}" -p saslgate-jni "${JNI_FEATURES[@]}"
cargo build "${PROFILE_FLAG[@]}" --bin saslgate
[[ -f "$LIB" ]] || { echo "scripts/build.sh: $LIB was not built" >&2; exit 1; }

note "copy $LIB to $NATIVE_DIR/ (debug info stripped: the jar ships symbols, not DWARF)"
rm -rf "$NATIVE_DIR"
mkdir -p "$NATIVE_DIR"
if command -v strip >/dev/null 2>&1; then
    strip --strip-debug -o "$NATIVE_DIR/libsaslgate_jni.so" "$LIB"
else
    cp "$LIB" "$NATIVE_DIR/libsaslgate_jni.so"
fi

note "mvn package (tests: scripts/test.sh)"
mvn -B -q -f java-shim/pom.xml package -DskipTests </dev/null
JAR="$(find java-shim/target -maxdepth 1 -name 'saslgate-shim-*.jar' ! -name '*-sources.jar' ! -name '*-javadoc.jar' | head -n 1)"
[[ -n "$JAR" ]] || { echo "scripts/build.sh: mvn package produced no jar" >&2; exit 1; }

note "check $JAR: $ENTRY"
CHECK_DIR="$(mktemp -d)"
trap 'rm -rf "$CHECK_DIR"' EXIT
(cd "$CHECK_DIR" && jar xf "$ROOT/$JAR" "$ENTRY")
if [[ ! -f "$CHECK_DIR/$ENTRY" ]]; then
    echo "scripts/build.sh: $JAR has no $ENTRY" >&2
    exit 1
fi
want="$(sha256sum <"$NATIVE_DIR/libsaslgate_jni.so" | cut -d' ' -f1)"
got="$(sha256sum <"$CHECK_DIR/$ENTRY" | cut -d' ' -f1)"
if [[ "$want" != "$got" ]]; then
    echo "scripts/build.sh: $ENTRY in $JAR (sha256 $got) differs from $NATIVE_DIR/libsaslgate_jni.so (sha256 $want)" >&2
    exit 1
fi
extracted_before="$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'saslgate-jni-*' 2>/dev/null | sort)"
mvn -B -q -f java-shim/pom.xml surefire:test@jar-native -Dsaslgate.requireJarNative=true </dev/null
extracted_after="$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'saslgate-jni-*' 2>/dev/null | sort)"
left="$(comm -13 <(echo "$extracted_before") <(echo "$extracted_after"))"
if [[ -n "$left" ]]; then
    # A warning only: another JVM on this machine may be running at the same time.
    echo "scripts/build.sh: warning: extraction directories left in ${TMPDIR:-/tmp}: $left" >&2
fi

note "built $JAR ($(du -h "$JAR" | cut -f1), $ENTRY sha256 $want)"
echo "$ROOT/$JAR"
