#!/usr/bin/env bash
# README command 2: set up, then run every test (unit, golden, integration),
# then the engineering gates (docs/CONTRIBUTING.md): format, ASan+UBSan
# suite, TSan concurrency tests, short fuzz runs, a 3-minute soak. A time
# report per step is printed at the end. ATTNSERVE_GATES=0 skips the
# sanitizer, fuzz and soak gates (a quick local run); CI runs them all.
# The model must be present: tests that need it fail instead of skipping.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export ATTNSERVE_REQUIRE_MODEL=1
export ATTNSERVE_MODEL_DIR="$root/models/use-lite"
failed=()
report=()

# CPU seconds (user + system) of this shell's finished children.
child_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($16 + $17) / hz }' "/proc/$$/stat"
}

# step NAME COMMAND...: runs it, records its wall and CPU time, and notes a
# failure without stopping the other steps.
step() {
  local name="$1" start=$SECONDS cpu0
  shift
  cpu0="$(child_cpu)"
  "$@" || failed+=("$name")
  report+=("$(printf '%-8s wall %5d s  cpu %6d s  load after %s' "$name" \
    $((SECONDS - start)) $(($(child_cpu) - cpu0)) "$(cut -d' ' -f1-3 /proc/loadavg)")")
}

step setup bash scripts/setup.sh
[ ${#failed[@]} -eq 0 ] || { echo "test.sh: set-up failed" >&2; exit 1; }
step tests ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 600
step format bash scripts/check_format.sh
if [ "${ATTNSERVE_GATES:-1}" != "0" ]; then
  step asan bash scripts/sanitizers.sh asan
  step tsan bash scripts/sanitizers.sh tsan
  # Seconds per fuzz target: 12 targets x 15 s, two at a time, is ~1.5 min.
  step fuzz bash scripts/fuzz.sh "${ATTNSERVE_FUZZ_SECONDS:-15}"
  # The soak's short form: 3 minutes of everything moving (docs/RELIABILITY.md).
  step soak bash scripts/soak.sh "${ATTNSERVE_SOAK_SECONDS:-180}"
fi

echo "test.sh: time per step ($(nproc) cores):"
printf '  %s\n' "${report[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all passed"
