#!/usr/bin/env bash
# clang-tidy-14 with the root .clang-tidy over our sources (or the files
# given), using build-tidy/compile_commands.json. Advisory, not part of CI:
# it takes long on a small machine, and findings need a human's judgement.
#   bash scripts/tidy.sh                       # every .cc of ours
#   bash scripts/tidy.sh engine/engine.cc server/server.cc
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmake -S . -B build-tidy -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSERVE_BUILD_BENCH=OFF >/dev/null
# The generated protobuf headers the server sources include.
cmake --build build-tidy --target attnserve_proto --parallel "${ATTNSERVE_JOBS:-$(nproc)}"
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cc' \
                       | grep -vE '^(build[^/]*|node_modules)/' | sort)
fi
exec "${CLANG_TIDY:-clang-tidy-14}" -p build-tidy --quiet "${files[@]}"
