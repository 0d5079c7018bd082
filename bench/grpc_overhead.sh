#!/usr/bin/env bash
# The gRPC service and the HTTP/JSON API against the in-process engine, on
# the same inputs in one run (docs/PERFORMANCE.md, "gRPC service" and "HTTP
# API"):
#   1. overhead: the tok16 and tok128 texts of bench/data/inputs.json timed
#      in-process (engine_bench: tokenize + encoder, 1 thread), over gRPC and
#      over HTTP POST /v1/embeddings (attnbench [--http], concurrency 1,
#      against a local attnserve with 1 worker x 1 thread);
#   2. throughput and p99 at concurrency 1, 4 and 16 over both transports,
#      against attnserve with its default admission settings for this machine.
# Only 127.0.0.1 is used. Not part of the tests (machines here are shared).
#   bash bench/grpc_overhead.sh            # BUILD_DIR=build, 5 s per point
#   BUILD_DIR=build-x SECONDS_PER_POINT=3 bash bench/grpc_overhead.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build}"
secs="${SECONDS_PER_POINT:-5}"
model="${ATTNSERVE_MODEL_DIR:-models/use-lite}"
py=/usr/bin/python3
out="$build/bench-results/grpc"
mkdir -p "$out"
for bin in "$build/server/attnserve" "$build/clients/attnbench/attnbench" "$build/bench/engine_bench"; do
  [ -x "$bin" ] || { echo "grpc_overhead.sh: $bin not built (ninja -C $build attnserve attnbench engine_bench)" >&2; exit 2; }
done

# The two cases as JSON lines for attnbench, and the machine.
. bench/server_lib.sh
case_jsonl tok16 tok128
record_machine

# 1. In-process, then the same texts over gRPC (1 worker x 1 thread).
"$build/bench/engine_bench" --model "$model" --inputs bench/data/inputs.json \
  --benchmark_filter='^(embed/(tok16|tok128)/threads:1/|tokenize/(tok16|tok128)$)' \
  --benchmark_min_time="$secs" --benchmark_out="$out/engine.json" \
  --benchmark_out_format=json > /dev/null
printf 'admission { workers: 1 queue_capacity: 16 threads_per_request: 1 }\n' > "$out/one_thread.textproto"
start_server "$out/one_thread.textproto" one_thread
for case in tok16 tok128; do
  bench "overhead-$case" --concurrency 1 --duration "$secs" --input "$out/$case.jsonl"
  bench "http-overhead-$case" --http "$http" --concurrency 1 --duration "$secs" \
    --input "$out/$case.jsonl"
done
stop_server

# 2. Throughput and p99 at concurrency 1, 4, 16 (default admission; the
# queue is large enough that nothing is refused at 16).
printf 'admission { queue_capacity: 32 }\n' > "$out/default.textproto"
start_server "$out/default.textproto" default
grep -o 'serving: .*' "$out/server-default.log" > "$out/admission.txt"
for case in tok16 tok128; do
  for c in 1 4 16; do
    bench "load-$case-c$c" --concurrency "$c" --duration "$secs" --input "$out/$case.jsonl"
    bench "http-load-$case-c$c" --http "$http" --concurrency "$c" --duration "$secs" \
      --input "$out/$case.jsonl"
  done
done
stop_server
echo "Load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"

"$py" - "$out" <<'EOF' | tee "$out/report.md"
import json, os, sys
out = sys.argv[1]
# Benchmark names may carry suffixes such as /real_time.
engine = {}
for b in json.load(open(os.path.join(out, "engine.json")))["benchmarks"]:
    parts = b["name"].split("/")
    engine["/".join(parts[:3] if parts[0] == "embed" else parts[:2])] = b
def ms(b):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale
def load(name):
    return json.load(open(os.path.join(out, name + ".json")))
machine = open(os.path.join(out, "machine.txt")).read().strip().splitlines()
admission = open(os.path.join(out, "admission.txt")).read().strip()
print("Transport overhead, concurrency 1, 1 worker x 1 thread (ms per request; in-process ="
      " engine_bench tokenize + encoder at 1 thread; HTTP = POST /v1/embeddings, float JSON,"
      " keep-alive, the client parses the answer):\n")
print("| input | tokens | transport | in-process | p50 | mean | p99 | overhead (p50) |"
      " HTTP - gRPC (p50) | server queue + compute (mean) |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for case in ("tok16", "tok128"):
    e = engine[f"embed/{case}/threads:1"]
    inproc = ms(e) + ms(engine[f"tokenize/{case}"])
    grpc_p50 = load(f"overhead-{case}")["latency_ms"]["p50"]
    for transport, name in (("gRPC", f"overhead-{case}"), ("HTTP", f"http-overhead-{case}")):
        s = load(name)
        lat, srv = s["latency_ms"], s["server_ms"]
        delta = f"{(lat['p50'] - grpc_p50) * 1e3:+.0f} us" if transport == "HTTP" else ""
        print(f"| {case} | {int(e.get('tokens', 0))} | {transport} | {inproc:.2f} | {lat['p50']:.2f} |"
              f" {lat['mean']:.2f} | {lat['p99']:.2f} |"
              f" {lat['p50'] - inproc:+.2f} ({(lat['p50'] / inproc - 1) * 100:+.0f}%) | {delta} |"
              f" {srv['queue_mean'] + srv['compute_mean']:.2f} |")
print(f"\nThroughput and latency by concurrency (closed loop, {admission}):\n")
print("| input | concurrency | transport | requests/s | p50 ms | p99 ms | errors |")
print("|---|---:|---|---:|---:|---:|---:|")
for case in ("tok16", "tok128"):
    for c in (1, 4, 16):
        for transport, name in (("gRPC", f"load-{case}-c{c}"), ("HTTP", f"http-load-{case}-c{c}")):
            s = load(name)
            lat = s["latency_ms"]
            print(f"| {case} | {c} | {transport} | {s['throughput']['requests_per_s']:.1f} |"
                  f" {lat['p50']:.2f} | {lat['p99']:.2f} | {s['errors']} |")
print()
for line in machine:
    print(f"{line}  ")
EOF
