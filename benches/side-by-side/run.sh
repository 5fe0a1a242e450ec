#!/bin/sh
# qapi-gen generate beside QEMU 10.0.13's own generator on QEMU 10.0.13's
# QMP schema, RUNS times each (default 11), each run writing into a fresh
# folder; prints both medians and the ratio.
#
#   QAPI_CORPUS=../shared benches/side-by-side/run.sh [RUNS]
#
# The qapi-gen measured is the release build (built here if needed).
set -eu
corpus=${QAPI_CORPUS:?set QAPI_CORPUS to the corpus folder (../shared)}
runs=${1:-11}
root=$(cd "$(dirname "$0")/../.." && pwd)
schema=$corpus/schemas/qemu-10.0.13/qapi/qapi-schema.json
python_gen=$corpus/peers/qapi-gen-10.0.13/qapi-gen.py
cargo build --quiet --release -p qapi-gen --manifest-path "$root/Cargo.toml"
ours=$root/target/release/qapi-gen
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Microseconds one command takes.  Dirty pages the last run left (QEMU's
# generator writes many files) are written out first, so that neither
# generator pays for the other's output.
time_us() {
    sync
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

: >"$out/ours.txt"
: >"$out/qemu.txt"
# Each generator's runs together, as criterion runs them: interleaved, a
# run pays for the other generator's files being written and deleted.
i=0
while [ "$i" -lt "$runs" ]; do
    rm -rf "$out/a"
    time_us "$ours" generate "$schema" -o "$out/a" >>"$out/ours.txt"
    i=$((i + 1))
done
i=0
while [ "$i" -lt "$runs" ]; do
    rm -rf "$out/b"
    time_us python3 "$python_gen" -b -o "$out/b" "$schema" >>"$out/qemu.txt"
    i=$((i + 1))
done
ours_us=$(median <"$out/ours.txt")
qemu_us=$(median <"$out/qemu.txt")
awk -v a="$qemu_us" -v b="$ours_us" -v n="$runs" 'BEGIN {
    printf "qapi-gen generate:             median %.1f ms of %d runs\n", b / 1000, n
    printf "qapi-gen.py -b (QEMU 10.0.13): median %.1f ms of %d runs\n", a / 1000, n
    printf "ratio: %.1fx\n", a / (b > 0 ? b : 1)
}'
