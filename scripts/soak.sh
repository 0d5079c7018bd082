#!/usr/bin/env bash
# Soak with everything moving (docs/RELIABILITY.md): attnserve on loopback
# under mixed traffic (every kernel, f32/int8/bf16, pruning, early exit,
# auto, streams, Classify, bad requests, expired deadlines, cancellations,
# golden checks) and attnbench, while the policy is switched and the model
# reloaded (a corrupt copy too). RSS, threads, fds, queue depth and p99 are
# sampled every 5 s; pass rules in scripts/soak_driver.py. Exit 1 when a rule
# fails. Results: $BUILD_DIR/bench-results/soak/{samples.csv,soak.png,summary.json}.
#   bash scripts/soak.sh [SECONDS]      # default 180 (the CI form); 3600 for the record
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build}"
seconds="${1:-180}"
model="${ATTNSERVE_MODEL_DIR:-models/use-lite}"
out="${SOAK_OUT:-$build/bench-results/soak}"
for bin in "$build/server/attnserve" "$build/clients/attnbench/attnbench"; do
  [ -x "$bin" ] || { echo "soak.sh: $bin not built (ninja -C $build attnserve attnbench)" >&2; exit 2; }
done
rm -rf "$out"
mkdir -p "$out"
{
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
  echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"
status=0
ATTNSERVE_PY_STUBS="$build/clients/python/gen" /usr/bin/python3 scripts/soak_driver.py \
  --bin "$build/server/attnserve" --attnbench "$build/clients/attnbench/attnbench" \
  --model "$model" --seconds "$seconds" --out "$out" > "$out/driver.log" 2>&1 || status=$?
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"
/usr/bin/python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
for name, ok in s["checks"].items(): print(("PASS " if ok else "FAIL ") + name)
print("answers:", json.dumps(s["answers_by_kind_and_code"]))
for f in s["failures"][:10]: print("failure:", f)' "$out/summary.json" 2>/dev/null || tail -40 "$out/driver.log"
exit "$status"
