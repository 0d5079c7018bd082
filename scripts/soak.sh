#!/usr/bin/env bash
# Soak: bench/overload.sh for a long time (default 30 minutes at 4x capacity),
# sampling resident memory every 10 s. Not part of the tests.
#   bash scripts/soak.sh [SECONDS]      # BUILD_DIR=build
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OVERLOAD_SECONDS="${1:-1800}" exec bash "$root/bench/overload.sh"
