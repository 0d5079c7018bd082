#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang-14, CMakePresets.json
# "fuzz") and runs each for a bounded time.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   # default 300 s, all targets
# Seeds come from tests/fuzz/corpus/<target>/ (committed, read only); new
# inputs go to build-fuzz/corpus/<target>/, crashes to build-fuzz/artifacts/.
# A crash fails the run: add the input as tests/fuzz/corpus/<target>/regression-<what>
# (fuzz_corpus_test then replays it in every build) and fix the bug.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls tests/fuzz/corpus)
fi
jobs="${ATTNSERVE_JOBS:-$(nproc)}"
export ATTNSERVE_MODEL_DIR="${ATTNSERVE_MODEL_DIR:-$root/models/use-lite}"

start=$SECONDS
CC=clang-14 CXX=clang++-14 cmake --preset fuzz >/dev/null
cmake --build build-fuzz --parallel "$jobs" --target fuzzers
echo "fuzz: build took $((SECONDS - start)) s (load: $(cut -d' ' -f1-3 /proc/loadavg))"

mkdir -p build-fuzz/artifacts
rm -f build-fuzz/artifacts/*.failed
# fuzz_one TARGET: runs it for $seconds; a crash, leak, timeout or sanitizer
# report leaves build-fuzz/artifacts/TARGET.failed.
fuzz_one() {
  local t="$1" bin="build-fuzz/tests/fuzz/fuzz_$1"
  [ -x "$bin" ] || { echo "fuzz: no target $t" >&2; touch "build-fuzz/artifacts/$t.failed"; return; }
  mkdir -p "build-fuzz/corpus/$t"
  # Every target runs with a per-input timeout. Targets that call oneDNN run
  # it on a thread that blocks asynchronous signals (RunOnSignalFreeThread in
  # tests/fuzz/fuzz_target.h), so libFuzzer's SIGALRM check never runs on the
  # heap workspace oneDNN's GEMM uses as its stack (docs/RELIABILITY.md).
  local per_input=20
  if ! ASAN_OPTIONS="halt_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      "$bin" -max_total_time="$seconds" -timeout="$per_input" -rss_limit_mb=4096 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
      "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" > "build-fuzz/artifacts/$t.log" 2>&1; then
    touch "build-fuzz/artifacts/$t.failed"
  fi
}
# One target per core at a time: each fuzzer is a single process.
echo "fuzz: ${#targets[@]} targets, $seconds s each, $jobs at a time"
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
failed=()
for t in "${targets[@]}"; do
  if [ -e "build-fuzz/artifacts/$t.failed" ]; then
    failed+=("$t")
    tail -60 "build-fuzz/artifacts/$t.log" 2>/dev/null || true
  fi
  echo "fuzz: $t: $(grep -E '^stat::number_of_executed_units' "build-fuzz/artifacts/$t.log" 2>/dev/null || echo 'no stats')"
done
echo "fuzz: all targets took $((SECONDS - start)) s"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in build-fuzz/artifacts/)" >&2
  exit 1
fi
