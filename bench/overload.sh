#!/usr/bin/env bash
# Overload check (docs/RELIABILITY.md): measure the server's capacity, offer 4x
# that for a bounded time, and check that it stays up, sheds with
# RESOURCE_EXHAUSTED, keeps the admitted requests' p99 within 2x of the
# unloaded p99, and does not grow its resident memory. Loopback only; not part
# of the tests (machines here are shared). scripts/soak.sh runs it for longer.
#   bash bench/overload.sh                       # BUILD_DIR=build, 60 s at 4x
#   OVERLOAD_SECONDS=600 FACTOR=4 QUEUE=1 bash bench/overload.sh
# Exit status 1 when a check fails; figures in $BUILD_DIR/bench-results/overload/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build}"
seconds="${OVERLOAD_SECONDS:-60}"
factor="${FACTOR:-4}"
queue="${QUEUE:-1}"          # admission queue capacity (waiting requests)
length="${LENGTH:-128}"      # tokens per text
rss_growth_limit="${RSS_GROWTH_LIMIT:-0.10}"  # allowed resident-memory growth (fraction)
model="${ATTNSERVE_MODEL_DIR:-models/use-lite}"
out="$build/bench-results/overload"
mkdir -p "$out"
for bin in "$build/server/attnserve" "$build/clients/attnbench/attnbench"; do
  [ -x "$bin" ] || { echo "overload.sh: $bin not built (ninja -C $build attnserve attnbench)" >&2; exit 2; }
done

cat > "$out/config.textproto" <<CONF
admission { workers: 1 threads_per_request: 1 queue_capacity: $queue }
CONF
server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"; wait "$server_pid" || true
  fi
}
trap stop_server EXIT
"$build/server/attnserve" --model "$model" --config "$out/config.textproto" \
  --grpc_address 127.0.0.1:0 --metrics_address 127.0.0.1:0 --http_address "" > "$out/server.log" 2>&1 &
server_pid=$!
port="" metrics_port=""
for _ in $(seq 1 600); do
  if grep -q "serving:" "$out/server.log"; then
    port=$(grep -o 'listening on .*(port [0-9]*' "$out/server.log" | grep -o '[0-9]*$' | head -1)
    metrics_port=$(grep -o 'metrics on .*(port [0-9]*' "$out/server.log" | grep -o '[0-9]*$' | head -1)
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { cat "$out/server.log"; echo "overload.sh: server did not start" >&2; exit 1; }

rss() {
  /usr/bin/python3 -c 'import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
print(next(int(float(l.split()[-1])) for l in text.splitlines()
           if l.startswith("attnserve_process_resident_memory_bytes")))' "$metrics_port"
}
bench() {  # name, then attnbench flags
  local name="$1"
  shift
  "$build/clients/attnbench/attnbench" --address "127.0.0.1:$port" --admin-free --quiet \
    --lengths "$length" --max-tokens "$length" --timeout 30 "$@" > "$out/$name.json" || true
}
field() {  # file, python expression over the summary `s`
  /usr/bin/python3 -c 'import json, sys
s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/machine.txt"
bench warmup --concurrency 1 --duration 5
# Unloaded: one request at a time (the p99 reference), then the capacity: a
# closed loop that keeps the worker and the queue busy.
bench unloaded --concurrency 1 --duration 20
bench capacity --concurrency $((1 + queue)) --duration 20
p99_unloaded=$(field "$out/unloaded.json" 's["latency_ms"]["p99"]')
capacity=$(field "$out/capacity.json" 's["throughput"]["requests_per_s"]')
rate=$(/usr/bin/python3 -c "print(round($factor * $capacity, 2))")
rss_before=$(rss)
echo "unloaded p99 ${p99_unloaded} ms, capacity ${capacity} req/s; offering ${rate} req/s for ${seconds} s"

# Overload, sampling resident memory every 10 s.
bench overload --rate "$rate" --arrival poisson --duration "$seconds" &
bench_pid=$!
samples=("$rss_before")
while kill -0 "$bench_pid" 2>/dev/null; do
  sleep 10
  samples+=("$(rss)")
done
wait "$bench_pid" || true
bench after --concurrency 1 --duration 5
rss_after=$(rss)

/usr/bin/python3 - "$out" "$p99_unloaded" "$capacity" "$rate" "$rss_before" "$rss_after" \
    "$rss_growth_limit" "${samples[*]}" <<'PY'
import json, os, sys
out, p99_unloaded, capacity, rate, before, after, limit, samples = sys.argv[1:]
p99_unloaded, capacity, rate = float(p99_unloaded), float(capacity), float(rate)
before, after, limit = int(before), int(after), float(limit)
o = json.load(open(os.path.join(out, "overload.json")))
a = json.load(open(os.path.join(out, "after.json")))
shed = o.get("errors_by_code", {}).get("RESOURCE_EXHAUSTED", 0)
other = {k: v for k, v in o.get("errors_by_code", {}).items() if k != "RESOURCE_EXHAUSTED"}
p99 = o["latency_ms"]["p99"]
checks = {
    "server up after (a request succeeds)": a["ok"] > 0,
    "sheds with RESOURCE_EXHAUSTED": shed > 0,
    "no other errors": not other,
    "admitted p99 <= 2x unloaded p99": p99 <= 2 * p99_unloaded,
    "resident memory growth <= %.0f%%" % (100 * limit): after <= before * (1 + limit),
}
summary = {
    "capacity_rps": capacity, "offered_rps": rate, "sent": o["sent"], "ok": o["ok"],
    "shed_resource_exhausted": shed, "other_errors": other,
    "client_dropped": o.get("client_dropped", 0),
    "p99_unloaded_ms": p99_unloaded, "p99_admitted_ms": p99,
    "rss_before_bytes": before, "rss_after_bytes": after,
    "rss_samples_bytes": [int(x) for x in samples.split()],
    "checks": checks,
}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(json.dumps(summary, indent=2))
sys.exit(0 if all(checks.values()) else 1)
PY
