#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ and runs each for SECONDS (default 30) of libFuzzer time,
# starting from the committed seeds in fuzz/corpus/<target>/ and whatever earlier runs left in
# fuzz/work/<target>/ (new inputs go there, never into the seeds), with fuzz/dicts/<target>.dict
# when there is one. Exits non-zero on the first crash, panic, failed invariant, timeout or
# out-of-memory; libFuzzer leaves the input in fuzz/artifacts/<target>/, and
# `cargo fuzz run --sanitizer none <target> <file>` replays it.
#
# Works on the stable toolchain: with `--sanitizer none` cargo-fuzz passes only stable codegen
# flags (the SanitizerCoverage pass and its options), so no nightly and no RUSTC_BOOTSTRAP are
# needed; no sanitizer is wanted either, since the fuzzed code has no `unsafe`. cargo-fuzz itself
# is installed from crates.io when missing.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]    (TARGET default: every target)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-30}
shift || true
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
start=$SECONDS
cargo fmt --check
cargo fuzz build --sanitizer none
echo "fuzz: built in $((SECONDS - start)) s"
for t in "${targets[@]}"; do
  mkdir -p "work/$t"
  dict=()
  [ -f "dicts/$t.dict" ] && dict=(-dict="dicts/$t.dict")
  t0=$SECONDS
  # -timeout: one input taking over 10 s is a finding; -rss_limit_mb: so is 2 GB of memory.
  # -print_final_stats gives the execution count on the last line.
  cargo fuzz run --sanitizer none "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" 2> "work/$t.log" || {
    tail -n 60 "work/$t.log"
    echo "fuzz: $t FAILED; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  }
  runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "work/$t.log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz: $t ok, $runs executions in $((SECONDS - t0)) s"
done
echo "fuzz: ${#targets[@]} targets, no crash, $((SECONDS - start)) s in all"
