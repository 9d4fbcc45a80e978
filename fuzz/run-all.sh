#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 30) on the seeded corpus and prints one summary
# line per target: executions and crashes. Exits non-zero if any target crashed.
# Usage: fuzz/run-all.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
shift || true
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
python3 seeds.py >/dev/null
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
cargo +nightly fuzz build -O >/dev/null 2>&1 || cargo +nightly fuzz build -O
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log=$(mktemp)
  if cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result=CRASH
    status=1
  fi
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  printf '%-22s %-6s %12s executions in %ss\n' "$t" "$result" "${execs:-?}" "$seconds"
  [ "$result" = ok ] || grep -E 'panicked|ERROR|SUMMARY' "$log" | head -5
  rm -f "$log"
done
exit $status
