#!/usr/bin/env bash
# Runs the arm64 server inside the arm64 rootfs under qemu-user, the way the
# image's runtime stage would (its config, uid 10001), on loopback ports, then
# checks `attnctl health`, one Embed against the golden embedding of the same
# text (cosine >= 0.9999) and the same Embed in int8 against f32 (>= 0.999),
# and stops it with SIGTERM. QEMU_CPU, when set, picks qemu's CPU model.
#   serve_check.sh ROOTFS BUILD_DIR
set -euo pipefail
root="$1"; build="$2"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
qemu="$(command -v qemu-aarch64-static)"

install -m 0755 "$qemu" "$root/usr/bin/qemu-aarch64-static"
install -m 0755 "$build/server/attnserve" "$build/clients/attnctl/attnctl" "$root/usr/local/bin/"
rm -rf "$root/opt/attnserve/models/use-lite"
cp -r "$repo/models/use-lite" "$root/opt/attnserve/models/use-lite"
install -m 0644 "$repo/deploy/attnserve.textproto" "$root/etc/attnserve/attnserve.textproto"
install -d -m 0755 "$root/run/secrets"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$root/run/secrets/attnserve_admin_token"
chmod 0444 "$root/run/secrets/attnserve_admin_token"

ports="$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])')"
read -r grpc_port metrics_port <<<"$ports"
in_root() { chroot --userspec=10001:10001 "$root" /usr/bin/qemu-aarch64-static "$@"; }

# A container has /proc (the power estimate reads /proc/stat).
mkdir -p "$root/proc"
mounted=0
mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc"; mounted=1; }
pid=
cleanup() {
  [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
  [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
  [ $mounted = 0 ] || umount "$root/proc" || true
}
trap cleanup EXIT

log="$build/arm64-server.log"
# chroot execs qemu, which runs the server: $! is the server's process.
chroot --userspec=10001:10001 "$root" /usr/bin/qemu-aarch64-static /usr/local/bin/attnserve --config /etc/attnserve/attnserve.textproto \
  --grpc_address "127.0.0.1:$grpc_port" --metrics_address "127.0.0.1:$metrics_port" --http_address "" >"$log" 2>&1 &
pid=$!
ctl=(/usr/local/bin/attnctl --server "127.0.0.1:$grpc_port" --timeout 10)

start=$SECONDS
until in_root "${ctl[@]}" health >/dev/null 2>&1; do
  if ! kill -0 $pid 2>/dev/null; then
    echo "serve_check: the server exited; its log:" >&2; cat "$log" >&2; exit 1
  fi
  if [ $((SECONDS - start)) -gt 180 ]; then
    echo "serve_check: not SERVING after 180 s; log:" >&2; cat "$log" >&2; exit 1
  fi
  sleep 2
done
echo "serve_check: health SERVING after $((SECONDS - start)) s (arm64 attnserve in the rootfs, port $grpc_port)"

golden="$repo/tests/golden/data/use_lite_golden.jsonl"
text="$(python3 -c 'import json,sys
print(json.dumps({"text": json.loads(open(sys.argv[1]).readline())["texts"][0]}))' "$golden")"
out="$(echo "$text" | in_root "${ctl[@]}" embed)"
# The int8 dense layers (on arm64: the s8 GEMM, SDOT or plain NEON as the CPU
# model allows) against f32 on the same server: cosine >= 0.999 (issue 18).
out_int8="$(echo "$text" | in_root "${ctl[@]}" embed --linear-precision int8)"
python3 - "$golden" "$out" "$out_int8" <<'PY'
import json, math, sys
def cosine(x, y):
    dot = sum(a * b for a, b in zip(x, y))
    return dot / math.sqrt(sum(a * a for a in x) * sum(b * b for b in y))
want = json.loads(open(sys.argv[1]).readline())["embeddings"][0]
got = json.loads(sys.argv[2])["embedding"]
got_int8 = json.loads(sys.argv[3])["embedding"]
cos = cosine(want, got)
cos_int8 = cosine(got, got_int8)
print(f"serve_check: Embed over gRPC: {len(got)} floats, first {[round(x, 5) for x in got[:4]]}, "
      f"cosine to the golden embedding {cos:.7f}")
print(f"serve_check: Embed with linear_precision int8: cosine to the f32 reply {cos_int8:.7f}")
sys.exit(0 if len(got) == len(want) and cos >= 0.9999 and len(got_int8) == len(got)
         and cos_int8 >= 0.999 else 1)
PY
kill -TERM $pid
rc=0
wait $pid || rc=$?
pid=
[ $rc -eq 0 ] || { echo "serve_check: the server exited $rc after SIGTERM; log:" >&2; cat "$log" >&2; exit 1; }
echo "serve_check: SIGTERM drained, exit 0"
