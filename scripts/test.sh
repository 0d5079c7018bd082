#!/usr/bin/env bash
# README command 2: set up, then run every test (unit, golden, integration),
# then the format gate (and, with ATTNSERVE_GATES=1, sanitizers and fuzzing).
# The model must be present: tests that need it fail instead of skipping.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export ATTNSERVE_REQUIRE_MODEL=1
export ATTNSERVE_MODEL_DIR="$root/models/use-lite"
failed=()
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 600 || failed+=(tests)

# The engineering gates (docs/CONTRIBUTING.md). The format check is cheap
# and always runs. The sanitizer builds (ASan+UBSan suite, TSan concurrency
# tests) and the short fuzz runs each build their own directory from scratch;
# they run with ATTNSERVE_GATES=1 until their clean-build time on the 2-core
# CI machine is measured to fit the CI budget (issue 9).
bash scripts/check_format.sh || failed+=(format)
if [ "${ATTNSERVE_GATES:-0}" = "1" ]; then
  bash scripts/sanitizers.sh asan || failed+=(asan)
  bash scripts/sanitizers.sh tsan || failed+=(tsan)
  bash scripts/fuzz.sh "${ATTNSERVE_FUZZ_SECONDS:-20}" || failed+=(fuzz)
fi
if [ ${#failed[@]} -ne 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all passed"
