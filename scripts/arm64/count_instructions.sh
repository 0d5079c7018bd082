#!/usr/bin/env bash
# Retired arm64 instructions of one dense layer (issue 18; docs/QUANTIZATION.md):
# attnserve's f32 (OpenBLAS) and int8 (the s8 GEMM, engine/kernels/s8_gemm.h,
# with its per-token quantise and rescale) against Debian's XNNPACK on the same
# shapes, f32 and qs8 (static int8), on qemu CPU models with and without the
# dot product. qemu's timings mean nothing, but the instructions a program
# retires are the program's: this counts them from qemu's in_asm + exec log
# (count_instructions.py) over the last of two calls, which both programs
# mark (tools/layer_calls, bench/arm64/xnnpack_fc_calls.cc): one steady-state
# call. Needs the arm64 build of scripts/arm64_proof.sh (stages 3-4);
# XNNPACK's arm64 packages are fetched into build-arm64/xnnpack (no
# dependency of attnserve's). ARM64_XNNPACK=0 leaves XNNPACK out.
#   bash scripts/arm64/count_instructions.sh [BUILD_DIR [SYSROOT]]
# Prints a markdown table; the raw counts go to BUILD_DIR/instructions.jsonl.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build-arm64/build}"
sysroot="${2:-$repo/build-arm64/sysroot}"
ours="$build/tools/layer_calls"
[ -x "$ours" ] || { echo "count_instructions: no $ours (ninja layer_calls)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="$build/instructions.jsonl"
: >"$out"

xnn=""
if [ "${ARM64_XNNPACK:-1}" != 0 ]; then
  xdir="$repo/build-arm64/xnnpack"
  if [ ! -f "$xdir/usr/include/xnnpack.h" ]; then
    export ARM64_APT_DIR="$repo/build-arm64/apt"
    bash "$repo/scripts/arm64/apt.sh" update >/dev/null
    bash "$repo/scripts/arm64/apt.sh" fetch "$repo/build-arm64/debs/xnnpack" \
      libxnnpack-dev libpthreadpool-dev >/dev/null
    for p in libxnnpack0 libxnnpack-dev libcpuinfo0 libpthreadpool0 libpthreadpool-dev; do
      dpkg-deb -x "$(ls "$repo"/build-arm64/debs/xnnpack/"${p}"_*.deb)" "$xdir"
    done
  fi
  xlib="$xdir/usr/lib/aarch64-linux-gnu"
  xnn="$build/xnnpack_fc_calls"
  aarch64-linux-gnu-g++ -std=c++20 -O2 -I"$repo" -I"$xdir/usr/include" \
    "$repo/bench/arm64/xnnpack_fc_calls.cc" -o "$xnn" -L"$xlib" -lXNNPACK \
    -Wl,-rpath-link,"$xlib" -Wl,--allow-shlib-undefined
  echo "XNNPACK: $(ls "$repo"/build-arm64/debs/xnnpack/libxnnpack0_*.deb | xargs -n1 basename)" >&2
fi

# count CPU PROGRAM ARGS... -> JSON of one call's instructions. The log
# streams through a FIFO (a run logs gigabytes; none of it is kept).
count() {
  local cpu="$1"
  shift
  rm -f "$work/log"
  mkfifo "$work/log"
  python3 "$repo/scripts/arm64/count_instructions.py" --between layer_calls_begin layer_calls_end \
    "$work/log" >"$work/count.json" &
  local reader=$!
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 QEMU_CPU="$cpu" QEMU_LD_PREFIX="$sysroot" \
    LD_LIBRARY_PATH="${xlib:-}" qemu-aarch64-static -d in_asm,exec,nochain -D "$work/log" \
    "$@" --calls 2 >/dev/null
  wait "$reader"
  cat "$work/count.json"
}

# Layer shapes: USE-lite's (256 wide, 512 hidden, 2048 FFN) and MiniLM-L6's.
shapes=("use-lite qkv:256:768" "use-lite ffn-up:512:2048" "use-lite ffn-down:2048:512"
  "minilm ffn-up:384:1536")
echo "| CPU model | layer | in x out | rows | f32 OpenBLAS | f32 XNNPACK | int8 attnserve | qs8 XNNPACK | f32 / int8 (attnserve) | int8 multiply-add insns |"
echo "|---|---|---|---|---:|---:|---:|---:|---:|---:|"
for cpu in cortex-a72 cortex-a76; do
  for s in "${shapes[@]}"; do
    IFS=: read -r name in n <<<"$s"
    for rows in 16 128; do
      args=(--in "$in" --out "$n" --rows "$rows")
      : >"$work/row.jsonl"
      for run in "attnserve f32" "attnserve int8" "xnnpack f32" "xnnpack qs8"; do
        read -r who p <<<"$run"
        if [ "$who" = xnnpack ]; then
          [ -n "$xnn" ] || continue
          prog="$xnn"
        else
          prog="$ours"
        fi
        count "$cpu" "$prog" "${args[@]}" --precision "$p" | python3 -c '
import json, sys
c = json.load(sys.stdin)
cpu, name, k, n, rows, who, p = sys.argv[1:]
m = c["mnemonics"]
mac = sum(v for op, v in m.items() if op in ("sdot", "smull", "smull2", "smlal", "smlal2", "sadalp", "addp"))
print(json.dumps({"cpu": cpu, "layer": name, "in": int(k), "out": int(n), "rows": int(rows),
                  "program": who, "precision": p, "total": c["total"], "int_mac": mac,
                  "fmla": m.get("fmla", 0), "mnemonics": m}))' "$cpu" "$name" "$in" "$n" "$rows" "$who" "$p" \
          >>"$work/row.jsonl"
      done
      cat "$work/row.jsonl" >>"$out"
      python3 - "$work/row.jsonl" <<'PY'
import json, sys
runs = {(r["program"], r["precision"]): r for r in map(json.loads, open(sys.argv[1]))}
f, i = runs["attnserve", "f32"], runs["attnserve", "int8"]
cell = lambda key: f"{runs[key]['total']:,}" if key in runs else "-"
print(f"| {f['cpu']} | {f['layer']} | {f['in']} x {f['out']} | {f['rows']} | {cell(('attnserve', 'f32'))} | "
      f"{cell(('xnnpack', 'f32'))} | {cell(('attnserve', 'int8'))} | {cell(('xnnpack', 'qs8'))} | "
      f"{f['total'] / i['total']:.2f} | {i['int_mac']:,} |")
PY
    done
  done
done
