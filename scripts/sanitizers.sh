#!/usr/bin/env bash
# Sanitizer builds and their tests (docs/CONTRIBUTING.md, CMakePresets.json).
#   bash scripts/sanitizers.sh asan   # build-asan/: ASan+UBSan, every unit, integration and golden test
#   bash scripts/sanitizers.sh tsan   # build-tsan/: TSan, the concurrency tests (server, policy swap, admission)
#   bash scripts/sanitizers.sh        # both
# Any sanitizer report fails the run (halt_on_error; UBSan does not recover).
# The model must be present (tools/fetch_model.sh), as for scripts/test.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${ATTNSERVE_JOBS:-$(nproc)}"
export ATTNSERVE_REQUIRE_MODEL="${ATTNSERVE_REQUIRE_MODEL:-1}"
export ATTNSERVE_MODEL_DIR="${ATTNSERVE_MODEL_DIR:-$root/models/use-lite}"

timed() {  # label command...: runs it and prints its wall time
  local label="$1" start=$SECONDS
  shift
  "$@"
  echo "sanitizers: $label took $((SECONDS - start)) s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
}

# Labels run under ASan: unit, integration and golden (the golden suite's
# long inputs cost ~1 min more and reach the engine's largest buffers). e2e
# tests (label e2e, some also integration) test the deployment with
# Prometheus; attnserve itself runs under ASan in process_test and the client
# tests. ATTNSERVE_ASAN_LABELS='unit|integration' skips golden.
asan_labels="${ATTNSERVE_ASAN_LABELS:-unit|integration|golden}"
run_asan() {
  cmake --preset asan >/dev/null
  # Everything the preset configures (no benchmarks): the tests and the
  # binaries they start (attnserve, attnctl, attnbench).
  timed "asan build" cmake --build build-asan --parallel "$jobs"
  # Leaks are checked too (LeakSanitizer runs at exit of every test binary).
  ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_init_order=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    timed "asan tests" ctest --test-dir build-asan --output-on-failure --parallel "$jobs" \
      --timeout 900 -L "$asan_labels" -LE e2e
}

# TSan: only the concurrency tests. Everything else is single-threaded or
# parallel through OpenMP, and libgomp (like oneDNN's use of it) is not
# TSan-instrumented: its barriers are invisible to TSan, which then reports
# races between OpenMP threads that cannot happen. OMP_NUM_THREADS=1 and one
# thread per request (the fixtures' threads_per_request) keep OpenMP on the
# calling thread, so what TSan sees is our own threads: gRPC callbacks, the
# admission queue, policy swaps, model reloads, the metrics exposer.
tsan_targets=(server_test server_load_test metrics_test http_test multi_model_test)
run_tsan() {
  cmake --preset tsan >/dev/null
  timed "tsan build" cmake --build build-tsan --parallel "$jobs" --target "${tsan_targets[@]}"
  OMP_NUM_THREADS=1 \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=7:ignore_noninstrumented_modules=1:suppressions=$root/scripts/tsan.supp" \
    timed "tsan tests" ctest --test-dir build-tsan --output-on-failure --parallel "$jobs" \
      --timeout 900 -R '^(ServerTest|HttpTest|MultiModelTest)\.'
}

case "${1:-all}" in
  asan) run_asan ;;
  tsan) run_tsan ;;
  all) run_asan; run_tsan ;;
  *) echo "usage: $0 [asan|tsan|all]" >&2; exit 2 ;;
esac
