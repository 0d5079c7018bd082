#!/usr/bin/env bash
# Kernel-level attention benchmark: every registered kernel, n = 128 ... 8192,
# 1 and 2 threads; prints the Markdown tables of docs/ATTENTION.md and writes
# docs/attention_time_vs_n.png. Not part of the tests; takes minutes.
#   BUILD_DIR=build bash bench/run_attention_bench.sh [extra attention_bench flags]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build}"
out="$build/attention-results"
mkdir -p "$out"

{
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, GEMM: oneDNN $(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo '?')"
  echo "Load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"

"$build/bench/attention_bench" --benchmark_min_time=0.1 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/attention.json" --benchmark_out_format=json "$@"
echo "Load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
/usr/bin/python3 bench/attention_report.py "$out/attention.json" "$out/machine.txt" \
  docs/attention_time_vs_n.png | tee "$out/report.md"
