#!/usr/bin/env bash
# Dynamic batching on and off, one run, same box (docs/BATCHING.md): Embed
# requests of one 16-token text (f32 and int8 dense layers) and of one
# 128-token text from attnbench at
# concurrency 1 and 16 against a local attnserve with its default admission
# for this machine, under three batching settings:
#   off      max_batch_requests 1
#   on       max_batch_requests 32, max_batch_tokens 1024, no waiting (the default)
#   delay    the same, waiting up to 2 ms for more requests
# Prints requests/s, p50 and p99 per point and the ratios the goals name.
# Only 127.0.0.1 is used. Not part of the tests (machines here are shared).
#   bash bench/batching_bench.sh            # BUILD_DIR=build, 5 s per point
#   ADMISSION="workers: 1 threads_per_request: 2" bash bench/batching_bench.sh
#                                            # another admission than the default
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build}"
secs="${SECONDS_PER_POINT:-5}"
model="${ATTNSERVE_MODEL_DIR:-models/use-lite}"
py=/usr/bin/python3
out="${OUT_DIR:-$build/bench-results/batching}"
mkdir -p "$out"
for bin in "$build/server/attnserve" "$build/clients/attnbench/attnbench"; do
  [ -x "$bin" ] || { echo "batching_bench.sh: $bin not built" >&2; exit 2; }
done
. bench/server_lib.sh
case_jsonl tok16 tok128
record_machine

for setting in off on delay; do
  case "$setting" in
    off) batching="max_batch_requests: 1" ;;
    on) batching="max_batch_requests: 32 max_queue_delay_us: 0" ;;
    delay) batching="max_batch_requests: 32 max_queue_delay_us: 2000" ;;
  esac
  printf 'admission { queue_capacity: 64 %s }\nbatching { %s }\n' "${ADMISSION:-}" "$batching" \
    > "$out/$setting.textproto"
  start_server "$out/$setting.textproto" "$setting"
  grep -o 'serving: .*' "$out/server-$setting.log" > "$out/admission.txt"
  for case in tok16 tok128 tok16-int8; do
    for c in 1 16; do
      bench "$setting-$case-c$c" --concurrency "$c" --duration "$secs" \
        --input "$out/${case%-int8}.jsonl" $([ "$case" = tok16-int8 ] && echo --linear-precision int8)
    done
  done
  stop_server
done
echo "Load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"

"$py" - "$out" <<'PY' | tee "$out/report.md"
import json, os, sys
out = sys.argv[1]
def load(name):
    return json.load(open(os.path.join(out, name + ".json")))
admission = open(os.path.join(out, "admission.txt")).read().strip()
print(f"Dynamic batching, closed loop, one text per request ({admission}):\n")
print("| input | concurrency | batching | requests/s | p50 ms | p99 ms | errors |")
print("|---|---:|---|---:|---:|---:|---:|")
for case in ("tok16", "tok128", "tok16-int8"):
    for c in (1, 16):
        for setting in ("off", "on", "delay"):
            s = load(f"{setting}-{case}-c{c}")
            lat = s["latency_ms"]
            print(f"| {case} | {c} | {setting} | {s['throughput']['requests_per_s']:.1f} |"
                  f" {lat['p50']:.2f} | {lat['p99']:.2f} | {s['errors']} |")
print("\nGoals (16-token texts, f32 then int8 dense layers):\n")
for case, setting, delay_ms in (("tok16", "on", 0.0), ("tok16", "delay", 2.0),
                                ("tok16-int8", "on", 0.0), ("tok16-int8", "delay", 2.0)):
    off1, off16 = load(f"off-{case}-c1"), load(f"off-{case}-c16")
    on1, on16 = load(f"{setting}-{case}-c1"), load(f"{setting}-{case}-c16")
    gain = on16["throughput"]["requests_per_s"] / off16["throughput"]["requests_per_s"]
    p99 = on16["latency_ms"]["p99"] / off1["latency_ms"]["p99"]
    p50 = on1["latency_ms"]["p50"] / (off1["latency_ms"]["p50"] + delay_ms)
    print(f"- {case} {setting}: concurrency 16 serves {gain:.2f}x the requests/s of batching off"
          f" (goal >= 2.5x); its p99 is {p99:.2f}x batching off's p99 at concurrency 1"
          f" (goal <= 1.5x); at concurrency 1 p50 is {p50:.2f}x of off's p50 + the delay"
          f" (goal <= 1.05x)")
print()
for line in open(os.path.join(out, "machine.txt")).read().strip().splitlines():
    print(f"{line}  ")
PY
