#!/usr/bin/env bash
# Retired arm64 instructions of one dense layer, f32 (OpenBLAS) against int8
# (the s8 GEMM, engine/kernels/s8_gemm.h), on qemu CPU models with and
# without the dot product (issue 18; docs/QUANTIZATION.md). qemu's timings
# mean nothing, but the instructions a program retires are the program's:
# this counts them from qemu's in_asm + exec log (count_instructions.py),
# over the last of two calls (layer_calls marks it): one steady-state call.
# Needs the arm64 build of scripts/arm64_proof.sh (stages 3-4), with
# tools/layer_calls built:
#   bash scripts/arm64/count_instructions.sh [BUILD_DIR [SYSROOT]]
# Prints a markdown table; the raw counts go to BUILD_DIR/instructions.jsonl.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build-arm64/build}"
sysroot="${2:-$repo/build-arm64/sysroot}"
prog="$build/tools/layer_calls"
[ -x "$prog" ] || { echo "count_instructions: no $prog (ninja layer_calls)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="$build/instructions.jsonl"
: >"$out"

# count CPU IN OUT ROWS PRECISION -> JSON of one call's instructions. The
# log streams through a FIFO (a run logs gigabytes; none of it is kept).
count() {
  rm -f "$work/log"
  mkfifo "$work/log"
  python3 "$repo/scripts/arm64/count_instructions.py" --between layer_calls_begin layer_calls_end \
    "$work/log" >"$work/count.json" &
  local reader=$!
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 QEMU_CPU="$1" QEMU_LD_PREFIX="$sysroot" \
    qemu-aarch64-static -d in_asm,exec,nochain -D "$work/log" \
    "$prog" --in "$2" --out "$3" --rows "$4" --precision "$5" --calls 2 >/dev/null
  wait "$reader"
  cat "$work/count.json"
}

# Layer shapes: USE-lite's (256 wide, 512 hidden, 2048 FFN) and MiniLM-L6's.
shapes=("use-lite qkv:256:768" "use-lite ffn-up:512:2048" "use-lite ffn-down:2048:512"
  "minilm ffn-up:384:1536")
echo "| CPU model | layer | in x out | rows | f32 insns | int8 insns | f32 / int8 | int8: multiply-add insns | f32: fmla |"
echo "|---|---|---|---|---|---|---|---|---|"
for cpu in cortex-a72 cortex-a76; do
  for s in "${shapes[@]}"; do
    IFS=: read -r name in n <<<"$s"
    for rows in 16 128; do
      declare -A one=()
      for p in f32 int8; do
        one[$p]="$(count "$cpu" "$in" "$n" "$rows" "$p" | python3 -c '
import json, sys
c = json.load(sys.stdin)
cpu, name, k, n, rows, p = sys.argv[1:]
m = c["mnemonics"]
mac = sum(v for op, v in m.items() if op in ("sdot", "smull", "smull2", "sadalp", "addp"))
print(json.dumps({"cpu": cpu, "layer": name, "in": int(k), "out": int(n), "rows": int(rows),
                  "precision": p, "total": c["total"], "int_mac": mac,
                  "fmla": m.get("fmla", 0), "mnemonics": m}))' "$cpu" "$name" "$in" "$n" "$rows" "$p")"
        echo "${one[$p]}" >>"$out"
      done
      python3 - "${one[f32]}" "${one[int8]}" <<'PY'
import json, sys
f, i = (json.loads(a) for a in sys.argv[1:3])
print(f"| {f['cpu']} | {f['layer']} | {f['in']} x {f['out']} | {f['rows']} | {f['total']:,} | "
      f"{i['total']:,} | {f['total'] / i['total']:.2f} | {i['int_mac']:,} | {f['fmla']:,} |")
PY
      unset one
    done
  done
done
