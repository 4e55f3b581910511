#!/usr/bin/env bash
# The main job on the embedded default configuration: builds saslgate and runs `saslgate dev`
# (a loopback development issuer + the daemon on a Unix socket), which acquires a token,
# authenticates over OAUTHBEARER through the daemon, and shows a tampered token refused.
#
#   scripts/demo.sh [extra arguments for `saslgate dev`]
#
# Environment: SASLGATE_CACHE (default ~/.cache/saslgate), CARGO_TARGET_DIR (default
# $SASLGATE_CACHE/target): builds are cached outside the clone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export SASLGATE_CACHE="${SASLGATE_CACHE:-$HOME/.cache/saslgate}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SASLGATE_CACHE/target}"
if ! command -v cargo >/dev/null 2>&1; then
    echo "demo: cargo is not installed; install Rust with rustup first" >&2
    exit 1
fi
echo "demo: building saslgate (release) into $CARGO_TARGET_DIR ..." >&2
cargo build --release --quiet --bin saslgate
exec "$CARGO_TARGET_DIR/release/saslgate" dev "$@"
