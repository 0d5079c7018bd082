# Shared by the service benchmarks (sourced, not run): the input texts, the
# machine record, and a local attnserve on free loopback ports. The caller
# sets $build, $model, $out and $py.

# case_jsonl CASE...: the texts of each case of bench/data/inputs.json as
# JSON lines {"text": ...} in $out/CASE.jsonl, for attnbench --input.
case_jsonl() {
  local case
  for case in "$@"; do
    "$py" -c 'import json,sys
d = json.load(open("bench/data/inputs.json"))
c = next(c for c in d["cases"] if c["name"] == sys.argv[1])
for t in c["texts"]: print(json.dumps({"text": t}))' "$case" > "$out/$case.jsonl"
  done
}

# The CPU and the load before the run, in $out/machine.txt (the caller
# appends the load after).
record_machine() {
  {
    echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
    echo "Load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  } > "$out/machine.txt"
}

server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"; wait "$server_pid" || true
  fi
  server_pid=""
}
trap stop_server EXIT

# start_server CONFIG NAME: attnserve with config CONFIG, its log in
# $out/server-NAME.log; sets $port (gRPC) and $http (the HTTP API's base URL).
start_server() {
  local config="$1" log="$out/server-$2.log"
  "$build/server/attnserve" --model "$model" --config "$config" --grpc_address 127.0.0.1:0 \
    --metrics_address none --http_address 127.0.0.1:0 > "$log" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 1 600); do
    if grep -q "serving:" "$log"; then
      port=$(grep -o '(port [0-9]*' "$log" | head -1 | grep -o '[0-9]*$')
      http="http://127.0.0.1:$(grep -o '(http port [0-9]*' "$log" | grep -o '[0-9]*$')"
      break
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "$0: attnserve did not start:" >&2; cat "$log" >&2; exit 1; }
}

# bench NAME ATTNBENCH_FLAGS...: attnbench against $port, its JSON summary
# in $out/NAME.json.
bench() {
  local name="$1"; shift
  "$build/clients/attnbench/attnbench" --address "127.0.0.1:$port" --admin-free --quiet \
    --max-tokens 128 "$@" > "$out/$name.json"
}
