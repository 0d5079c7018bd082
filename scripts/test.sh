#!/usr/bin/env bash
# README command 2: set up, then run every test (unit, golden, integration).
# The model must be present: tests that need it fail instead of skipping.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export ATTNSERVE_REQUIRE_MODEL=1
export ATTNSERVE_MODEL_DIR="$root/models/use-lite"
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 600
