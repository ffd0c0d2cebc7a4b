#!/usr/bin/env bash
# CI smoke run of every cargo-fuzz target in fuzz/: each runs SECONDS_PER_TARGET seconds
# (default 20) from the seed corpora (scripts/rules/fuzz-seed.sh). Fails on any crash;
# the crashing input is left in fuzz/artifacts/<target>/.
#
# The machine has a stable toolchain only: cargo-fuzz needs nightly flags
# (-Zsanitizer=address), which RUSTC_BOOTSTRAP=1 enables on stable.
# Needs `cargo install cargo-fuzz` (done here when missing).
#
# Longer run of one target (e.g. an hour, both cores):
#   scripts/rules/fuzz-seed.sh
#   cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run save_strict corpus/save_strict -- \
#       -max_total_time=3600 -jobs=2 -workers=2
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SECS="${SECONDS_PER_TARGET:-20}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/fuzz/target}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
"$ROOT/scripts/rules/fuzz-seed.sh" >/dev/null
cd "$ROOT/fuzz"
cargo fuzz build -O --debug-assertions
targets=$(cargo fuzz list)
fail=0
for t in $targets; do
  mkdir -p "corpus/$t"
  log="$(mktemp)"
  # -rss_limit_mb: 2 GB; -timeout: one input may take at most 10 s.
  if timeout $((SECS + 120)) cargo fuzz run -O --debug-assertions "$t" "corpus/$t" -- \
      -max_total_time="$SECS" -seed="${FUZZ_SEED:-1}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz $t: ok, $execs execs in ${SECS}s"
  else
    echo "fuzz $t: FAILED"
    tail -40 "$log"
    fail=1
  fi
  rm -f "$log"
done
exit $fail
