#!/usr/bin/env bash
# Builds a patched upstream artifact with its Maven pipeline (see patches/README.md).
#
# Usage:
#   patches/build.sh zookeeper [MAVEN_ARGS...]
#       mvn -f patches/zookeeper/pom.xml install: fetch + verify the upstream jars, apply the
#       series, compile, run our tests and the upstream tests (patched vs unpatched), package,
#       check the version, write provenance + SBOM, install into the local Maven repository.
#       Extra arguments go to Maven (e.g. -DskipTests, -o).
#   patches/build.sh hadoop [MAVEN_ARGS...]
#       the same for hadoop-common (mvn -f patches/hadoop/pom.xml install).
#   patches/build.sh zookeeper|hadoop --check-reproducible
#       Builds the jar twice (tests skipped, nothing installed) into two separate directories
#       and compares the SHA-256 of the two jars; prints both. Exit 1 if they differ.
#
# Environment: MVN (default: mvn). Exit codes: 0 success, 1 build or check failure, 64 usage.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mvn=${MVN:-mvn}

usage() {
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 64
}

[[ $# -ge 1 ]] || usage
target=$1
shift
case $target in
    zookeeper) build_dir_prop=zk.build.dir; jar_glob='zookeeper-*-saslgate.*.jar' ;;
    hadoop) build_dir_prop=hc.build.dir; jar_glob='hadoop-common-*-saslgate.*.jar' ;;
    -h|--help) usage ;;
    *) echo "build.sh: unknown target '$target' (known: zookeeper, hadoop)" >&2; exit 64 ;;
esac
pom=$here/$target/pom.xml

if [[ ${1:-} == --check-reproducible ]]; then
    shift
    work=$(mktemp -d "${TMPDIR:-/tmp}/saslgate-repro.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    start=$(date +%s)
    for run in a b; do
        echo "build.sh: reproducibility build $run into $work/$run"
        "$mvn" -B -q -f "$pom" -D$build_dir_prop="$work/$run" -DskipTests "$@" package \
            >"$work/build-$run.log" 2>&1 || {
            tail -n 40 "$work/build-$run.log" >&2
            echo "build.sh: reproducibility build $run failed" >&2
            exit 1
        }
    done
    # shellcheck disable=SC2086 # the glob is meant to expand
    jar_a=$(ls "$work"/a/$jar_glob)
    # shellcheck disable=SC2086
    jar_b=$(ls "$work"/b/$jar_glob)
    sum_a=$(sha256sum "$jar_a" | cut -d' ' -f1)
    sum_b=$(sha256sum "$jar_b" | cut -d' ' -f1)
    echo "build 1: $sum_a  $(basename "$jar_a")"
    echo "build 2: $sum_b  $(basename "$jar_b")"
    echo "build.sh: two builds took $(( $(date +%s) - start )) s"
    if [[ $sum_a != "$sum_b" ]]; then
        echo "build.sh: NOT reproducible: the two jars differ" >&2
        exit 1
    fi
    echo "build.sh: reproducible: both builds gave the same jar bytes"
    exit 0
fi

start=$(date +%s)
"$mvn" -B -f "$pom" "$@" install
out=$here/$target/target
echo "build.sh: done in $(( $(date +%s) - start )) s"
# shellcheck disable=SC2086
echo "  jar:          $(ls "$out"/$jar_glob)"
echo "  classpath:    $out/classpath.txt (jar + runtime dependencies)"
echo "  provenance:   $(ls "$out"/*.provenance.json)"
echo "  SBOM:         $(ls "$out"/*.cyclonedx.json)"
[[ -f $out/upstream-tests.md ]] && echo "  test report:  $out/upstream-tests.md"
exit 0
