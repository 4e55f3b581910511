#!/usr/bin/env bash
# Applies a patch series strictly with GNU patch; called by the Maven builds under patches/.
#
# Usage: apply-series.sh PRISTINE_DIR WORK_DIR SERIES_DIR
#   PRISTINE_DIR  unpacked upstream sources (left untouched)
#   WORK_DIR      recreated as a copy of PRISTINE_DIR, then patched
#   SERIES_DIR    holds `series` (one patch file name per line, '#' comments) and the patches
#
# Each patch is applied with `patch -p1 --fuzz=0 --batch --forward --no-backup-if-mismatch`
# from WORK_DIR. The script fails (exit 1), naming the patch, when:
#   - a listed patch is missing, or a *.patch file in SERIES_DIR is not listed;
#   - GNU patch exits non-zero (a hunk failed: no fuzz is allowed, so any mismatch fails;
#     or the patch is reversed/already applied);
#   - GNU patch reports an offset, fuzz, a reject or a failed hunk in its output, even
#     when it exits 0.
# It is a driver for GNU patch, not a patch applier of its own.
set -euo pipefail

die() {
    echo "apply-series: $*" >&2
    exit 1
}

[[ $# -eq 3 ]] || die "usage: apply-series.sh PRISTINE_DIR WORK_DIR SERIES_DIR"
pristine=$1
work=$2
series_dir=$3
series=$series_dir/series

[[ -d $pristine ]] || die "pristine source directory $pristine does not exist"
[[ -f $series ]] || die "series file $series does not exist"
command -v patch >/dev/null || die "GNU patch is not installed (apt-get install patch)"
patch --version | head -n1 | grep -q "GNU patch" || die "'patch' is not GNU patch"

# Read the series: strip comments and blank lines, keep the order.
mapfile -t listed < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$series" | grep -v '^$' || true)

for name in "${listed[@]}"; do
    [[ $name == */* ]] && die "$series: '$name' must be a file name in $series_dir, not a path"
    [[ -f $series_dir/$name ]] || die "$series lists '$name', which does not exist in $series_dir"
done
for file in "$series_dir"/*.patch; do
    [[ -e $file ]] || continue
    base=$(basename "$file")
    printf '%s\n' "${listed[@]}" | grep -qxF "$base" || die "$file is not listed in $series (list it or remove it)"
done

rm -rf "$work"
mkdir -p "$(dirname "$work")"
cp -a "$pristine" "$work"

for name in "${listed[@]}"; do
    patch_file=$(cd "$series_dir" && pwd)/$name
    echo "apply-series: applying $name"
    set +e
    output=$(cd "$work" && patch -p1 --fuzz=0 --batch --forward --no-backup-if-mismatch \
        --reject-file=- -i "$patch_file" 2>&1)
    status=$?
    set -e
    printf '%s\n' "$output" | sed 's/^/    /'
    if [[ $status -ne 0 ]]; then
        die "$name does not apply cleanly (GNU patch exit $status); refresh it against the pristine sources"
    fi
    if printf '%s\n' "$output" | grep -qiE 'offset|fuzz|FAILED|reject|reversed|malformed'; then
        die "$name applied only with an offset or fuzz (see above); refresh it so it applies exactly"
    fi
done
echo "apply-series: ${#listed[@]} patch(es) applied to $work"
