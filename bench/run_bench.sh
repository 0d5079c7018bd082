#!/usr/bin/env bash
# Runs the engine benchmark and the reference runtime (tfjs, WebAssembly) on
# the same inputs in one go, and prints the table of docs/PERFORMANCE.md.
# Assumes the set-up has run (build/, models/use-lite/). Not part of the tests.
#   bash bench/run_bench.sh [extra engine_bench flags]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out=build/bench-results
mkdir -p "$out"
inputs=bench/data/inputs.json

{
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
  flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512bw|avx512_vnni|avx512_bf16|amx_tile|amx_bf16|amx_int8|asimd|sve)$' | tr '\n' ' ')
  echo "CPU flags used by the kernels: ${flags:-none found}; GEMM: oneDNN $(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo '?')"
  echo "Load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"

if [ ! -d tests/golden/generator/node_modules ]; then
  (cd tests/golden/generator && npm ci --no-audit --no-fund >/dev/null)
fi

./build/bench/engine_bench --inputs "$inputs" --benchmark_min_time=1 \
  --benchmark_out="$out/engine.json" --benchmark_out_format=json "$@"
./build/bench/engine_bench --inputs "$inputs" --peak_rss tok2048 > "$out/peak_rss.json"
node bench/reference/tfjs_bench.mjs "$inputs" > "$out/tfjs.json"
echo "Load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
/usr/bin/python3 bench/report.py "$out/engine.json" "$out/tfjs.json" "$out/peak_rss.json" \
  "$out/machine.txt" | tee "$out/report.md"
