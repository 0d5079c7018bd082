#!/usr/bin/env bash
# The arm64 s8 GEMM (engine/kernels/s8_gemm.h) under qemu-user, in a minute,
# without the sysroot of scripts/arm64_proof.sh: cross-compiles its unit test
# statically (GoogleTest from /usr/src/googletest) and runs it on CPU models
# with and without the dot product, checking which path each picks.
# Needs crossbuild-essential-arm64, qemu-user-static, googletest.
#   bash scripts/arm64/s8_gemm_qemu_check.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
out="$repo/build-arm64/s8_gemm_check"
mkdir -p "$out"
# -O3 -DNDEBUG: what CMake's Release build compiles the kernels with.
cxx=(aarch64-linux-gnu-g++ -std=c++20 -O3 -DNDEBUG -I. -I/usr/src/googletest/googletest/include)
gt=/usr/src/googletest/googletest
"${cxx[@]}" -I"$gt" -c "$gt/src/gtest-all.cc" -o "$out/gtest-all.o"
"${cxx[@]}" -c "$gt/src/gtest_main.cc" -o "$out/gtest_main.o"
"${cxx[@]}" -Wall -Wextra -Werror -fopenmp -c engine/kernels/s8_gemm.cc -o "$out/s8_gemm.o"
"${cxx[@]}" -Wall -Wextra -Werror -c engine/kernels/arm64/s8_gemm_neon.cc -o "$out/neon.o"
"${cxx[@]}" -Wall -Wextra -Werror -march=armv8.2-a+dotprod \
  -c engine/kernels/arm64/s8_gemm_neon_dot.cc -o "$out/neon_dot.o"
"${cxx[@]}" -c engine/kernels/reference/naive_kernels.cc -o "$out/naive.o"
"${cxx[@]}" -c tests/unit/s8_gemm_test.cc -o "$out/test.o"
"${cxx[@]}" -static -fopenmp "$out"/{test,s8_gemm,neon,neon_dot,naive,gtest-all,gtest_main}.o \
  -o "$out/s8_gemm_test" -lpthread 2>/dev/null
# CPU model : the path it must pick.
for pair in cortex-a53:neon cortex-a72:neon cortex-a76:neon_dot max:neon_dot; do
  echo "== qemu -cpu ${pair%:*} (expects ${pair#*:})"
  ATTNSERVE_EXPECT_S8_PATH="${pair#*:}" qemu-aarch64-static -cpu "${pair%:*}" \
    "$out/s8_gemm_test" | grep -E 's8 GEMM path|PASSED|FAILED'
done
# Instruction mix of the compiled micro-kernels (docs/QUANTIZATION.md, arm64):
# multiply-add instructions and stack accesses (spills) in each kernel.
for obj in neon_dot neon; do
  aarch64-linux-gnu-objdump -d --no-show-raw-insn -C "$out/$obj.o" >"$out/$obj.s"
  echo "== $obj kernel: $(grep -cE '\s(sdot|smull2?|smlal2?|addp|sadalp)\s' "$out/$obj.s") multiply-add" \
    "instructions, $(grep -c '\[sp' "$out/$obj.s") stack accesses;" \
    "$(grep -oE '\s(sdot|smull2?|smlal2?|addp|sadalp|ld1r|dup)\s' "$out/$obj.s" | sort | uniq -c | tr -s ' \n' ' ')"
done
echo "s8_gemm_qemu_check: OK"
