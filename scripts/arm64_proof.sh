#!/usr/bin/env bash
# The arm64 proof of the container image without a container engine (issue 8;
# docs/DEPLOYMENT.md). As root on a Debian bookworm x86-64 host:
#   bash scripts/arm64_proof.sh
# 1 host tools   crossbuild-essential-arm64, qemu-user-static, binfmt-support, debootstrap
# 2 binfmt       qemu-aarch64 registered, so arm64 programs run (also in a chroot)
# 3 sysroot      deploy/arm64-build-packages.txt + dependencies, arm64 .debs
#                unpacked into build-arm64/sysroot (the host's dpkg is untouched)
# 4 build        cross build (Release, OpenBLAS) into build-arm64/build
# 5 tests        unit and golden tests under qemu-user (ctest), on CPU models
#                with (cortex-a76) and without (cortex-a72) the dot product
# 6 rootfs       debootstrap arm64 + deploy/runtime-packages.txt (build-arm64/rootfs)
# 7 serve        attnserve in the rootfs under qemu, both CPU models: health,
#                one Embed, and the same in int8 (cosine to f32 >= 0.999)
# Idempotent: finished stages (sysroot, rootfs) are reused, the build is
# incremental. Not part of scripts/test.sh: a first run takes over an hour.
# ARM64_JOBS (default 2) sets the build's parallelism. ARM64_SOURCE=HEAD
# (default) builds the committed tree, checked out into build-arm64/src (only
# changed files are rewritten); ARM64_SOURCE=keep builds the commit checked out
# there last time (reruns without rebuilding); worktree, the working tree.
# ARM64_TESTS=0 skips stage 5 (it takes about half an hour under qemu).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
out="$repo/build-arm64"
export ARM64_APT_DIR="$out/apt"
jobs="${ARM64_JOBS:-2}"
mkdir -p "$out"
t0=$SECONDS
stage() {
  echo "== [$(date -u +%H:%M:%S)] stage $1 (previous took $((SECONDS - ${ts:-$t0})) s)"
  ts=$SECONDS
}
trap 'echo "arm64_proof: FAILED (exit $?) in the stage above" >&2' ERR

stage "1/7 host tools"
[ "$(id -u)" -eq 0 ] || { echo "arm64_proof: run as root" >&2; exit 1; }
need=(crossbuild-essential-arm64 qemu-user-static binfmt-support debootstrap
  cmake ninja-build pkg-config protobuf-compiler protobuf-compiler-grpc python3)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

stage "2/7 binfmt"
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 || true
# Without it (a sandbox that cannot mount binfmt_misc) every arm64 program is
# started as qemu-aarch64-static PROGRAM; only tests that start another arm64
# program, and packages' scripts in the rootfs, cannot run.
export ARM64_BINFMT=1
if grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null &&
  grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  echo "qemu-aarch64 binfmt: enabled, $(grep flags /proc/sys/fs/binfmt_misc/qemu-aarch64)"
else
  ARM64_BINFMT=0
  echo "arm64_proof: WARNING no qemu-aarch64 binfmt entry with the F flag: qemu runs each" \
    "program explicitly, attnctl_test is skipped, the rootfs is unpacked, not installed" >&2
fi

stage "3/7 sysroot"
sysroot="$out/sysroot"
want="$(sha256sum deploy/arm64-build-packages.txt scripts/arm64/make_sysroot.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$sysroot/.attnserve-sysroot" 2>/dev/null)" != "$want" ]; then
  bash scripts/arm64/apt.sh update
  rm -rf "$out/debs/build"
  mapfile -t pkgs < <(grep -vE '^\s*(#|$)' deploy/arm64-build-packages.txt)
  bash scripts/arm64/apt.sh fetch "$out/debs/build" "${pkgs[@]}"
  bash scripts/arm64/make_sysroot.sh "$out/debs/build" "$sysroot"
  echo "$want" >"$sysroot/.attnserve-sysroot"
else
  echo "reusing $sysroot"
fi
echo "sysroot: $(ls "$out"/debs/build/*.deb | wc -l) arm64 packages, $(du -sh "$sysroot" | cut -f1)"

stage "4/7 build"
bdir="$out/build-worktree"
src="$repo"
case "${ARM64_SOURCE:-HEAD}" in
  HEAD | keep)
    src="$out/src"
    bdir="$out/build"
    mkdir -p "$src"
    if [ "${ARM64_SOURCE:-HEAD}" = HEAD ] || [ ! -f "$out/src.commit" ]; then
      GIT_INDEX_FILE="$out/src.index" git --work-tree="$src" checkout -f HEAD -- .
      git rev-parse HEAD >"$out/src.commit"
    fi
    ln -sfn ../../models "$src/models" # the model is not committed
    echo "building commit $(cut -c1-7 "$out/src.commit") checked out in $src"
    ;;
  worktree) ;;
  *) echo "ARM64_SOURCE must be HEAD, keep or worktree" >&2; exit 1 ;;
esac
cmake -S "$src" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DATTNSERVE_ARM64_SYSROOT="$sysroot" -DATTNSERVE_GEMM_BACKEND=openblas \
  -DATTNSERVE_BUILD_TESTS=ON -DATTNSERVE_BUILD_BENCH=OFF >"$out/cmake.log"
tests=(utf8_test unigram_tokenizer_test kernels_test s8_gemm_test packed_linear_test
  linear_precision_test attention_test attention_pattern_test
  attention_approx_test tfjs_weights_test engine_test attnctl_test power_test
  token_pruning_test adaptive_engine_test logistic_regression_test auto_policy_test
  quality_grid_test golden_test)
# layer_calls: what scripts/arm64/count_instructions.sh counts.
ninja -C "$bdir" -j "$jobs" attnserve attnctl layer_calls "${tests[@]}"
file "$bdir/server/attnserve" | grep -q 'ARM aarch64' || { echo "attnserve is not arm64" >&2; exit 1; }
readelf -d "$bdir/server/attnserve" | grep -q 'libopenblas' || {
  echo "attnserve does not link OpenBLAS" >&2; exit 1; }

stage "5/7 tests under qemu-user"
[ -f models/use-lite/model.json ] || bash tools/fetch_model.sh models/use-lite
if [ "${ARM64_TESTS:-1}" = 0 ]; then
  echo "skipped (ARM64_TESTS=0)"
else
  exclude=()
  [ "$ARM64_BINFMT" = 1 ] || exclude=(-E '^AttnctlTest')
  # QEMU_LD_PREFIX: arm64 programs that a test starts (attnctl) find the
  # sysroot's loader and libraries too. Every test on a CPU model with the
  # dot product (Cortex-A76: the s8 GEMM's SDOT path), then the tests that
  # reach the int8 layers again on one without it (the Pi 4's Cortex-A72:
  # plain NEON); ATTNSERVE_EXPECT_S8_PATH makes s8_gemm_test check the pick.
  # 1800 s a test: EngineTest.RequestMemoryIsBoundedBeforeAllocation took
  # 720 s under qemu on a quiet box and passed 900 s on a loaded one.
  run_ctest() { # CPU_MODEL EXPECTED_PATH LOG [ctest filters...]
    local cpu="$1" path="$2" log="$3"
    shift 3
    echo "-- qemu -cpu $cpu (s8 GEMM path $path)"
    QEMU_CPU="$cpu" ATTNSERVE_EXPECT_S8_PATH="$path" QEMU_LD_PREFIX="$sysroot" \
      ATTNSERVE_REQUIRE_MODEL=1 ctest --test-dir "$bdir" "$@" -j "$jobs" --output-on-failure \
      --timeout 1800 2>&1 | tee "$log" | grep -vE '^\s+Start |^\s*[0-9]+/[0-9]+ Test'
    tail -n 20 "$log" | grep -E 'tests passed|tests failed'
    grep -q '100% tests passed' "$log"
  }
  run_ctest cortex-a76 neon_dot "$out/ctest.log" -L 'unit|golden' "${exclude[@]}"
  run_ctest cortex-a72 neon "$out/ctest-a72.log" \
    -R '^(S8Gemm|PackedLinear|RowQuantize|LinearPrecision|Golden|Reference/Golden|bert_tiny)'
fi

stage "6/7 rootfs"
bash scripts/arm64/make_rootfs.sh "$out/rootfs" deploy/runtime-packages.txt
echo "rootfs: $(wc -l <"$out/rootfs/.attnserve-packages") packages, $(du -sh "$out/rootfs" | cut -f1)"

stage "7/7 the image's check and serving, in the rootfs"
for cpu in cortex-a76 cortex-a72; do
  echo "-- qemu -cpu $cpu"
  QEMU_CPU="$cpu" bash scripts/arm64/serve_check.sh "$out/rootfs" "$bdir"
done
# The Dockerfile's build-stage check, on arm64: every library the binaries
# link comes from a package of deploy/runtime-packages.txt.
if [ "$ARM64_BINFMT" = 1 ]; then
  python3 tests/e2e/runtime_packages_test.py --root "$out/rootfs" \
    --packages deploy/runtime-packages.txt /usr/local/bin/attnserve /usr/local/bin/attnctl
fi

stage "done"
echo "arm64_proof: OK in $((SECONDS - t0)) s"
