#!/usr/bin/env bash
# Builds every fuzz target and runs each one in turn for SECONDS seconds (default 600), then
# prints the executions, executions per second and crashes of each target.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# This is a benchmark, not a CI step. It needs a nightly toolchain (`rustup toolchain install
# nightly`) and cargo-fuzz (`cargo install cargo-fuzz`). Crashing inputs are written to
# fuzz/artifacts/TARGET/, the libFuzzer output to fuzz/logs/TARGET.log, new corpus entries to
# fuzz/corpus/TARGET/ and the seeds to fuzz/seeds/TARGET/, all git-ignored.
set -euo pipefail

seconds="${1:-600}"
shift || true
all_targets=(images data_pack data_hdf5 weights_safetensors weights_onnx weights_keras_h5)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

cd "$(dirname "$0")"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "error: no nightly toolchain; install one with \`rustup toolchain install nightly\`" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is missing; install it with \`cargo install cargo-fuzz\`" >&2
    exit 1
fi

# The seed writer is a plain native build. It shares the main crate's target folder, so it
# reuses the dependencies that `cargo build --release` has compiled there.
echo "==> writing the seed corpora to fuzz/seeds/"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../target}" nice -n 19 cargo run --release --example seeds -- seeds

echo "==> building the fuzz targets (nightly, AddressSanitizer)"
nice -n 19 cargo +nightly fuzz build

mkdir -p logs
summary=()
for target in "${targets[@]}"; do
    echo "==> fuzzing $target for $seconds s"
    mkdir -p "corpus/$target"
    # -fork=1 runs one fuzzing process at a time, like -jobs=1, but carries on after a crash,
    # an out-of-memory or a timeout, so the run lasts the full time and counts every crash.
    # An input that runs longer than 10 s counts as a timeout, because a user waiting for one
    # image or file would give up.
    command=(nice -n 19 cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" --
        -max_total_time="$seconds" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1
        -timeout=10 -rss_limit_mb=2048)
    echo "${command[*]}"
    "${command[@]}" >"logs/$target.log" 2>&1 || true

    # Fork mode prints status lines such as
    # "#1234: cov: 10 ft: 20 corp: 5 exec/s: 99 oom/timeout/crash: 0/0/1 time: 60s job: 3".
    status=$(grep -E '^#[0-9]+: cov:' "logs/$target.log" | tail -n 1 || true)
    if [[ -z "$status" ]]; then
        summary+=("$target: no status line; see fuzz/logs/$target.log")
        continue
    fi
    # Its exec/s field is not the average over the whole run, so the average is computed here.
    executions=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$status")
    failures=$(sed -E 's/.* oom\/timeout\/crash: ([0-9]+\/[0-9]+\/[0-9]+).*/\1/' <<<"$status")
    elapsed=$(sed -E 's/.* time: ([0-9]+)s.*/\1/' <<<"$status")
    rate=$((executions / (elapsed > 0 ? elapsed : 1)))
    artifacts=$(find "artifacts/$target" -type f 2>/dev/null | wc -l)
    summary+=("$target: $executions executions in ${elapsed} s, $rate exec/s, oom/timeout/crash $failures, $artifacts files in fuzz/artifacts/$target")
done

echo "==> summary"
printf '%s\n' "${summary[@]}"
