#!/usr/bin/env bash
# README command 1: set up, then run the main job. Until the gRPC server
# lands this embeds a few sentences with attnctl (JSON lines on stdout).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
printf '%s\n' '{"text": "attnserve runs USE-lite on the edge."}' \
              '{"text": "The quick brown fox jumps over the lazy dog."}' |
  ./build/clients/attnctl/attnctl embed --model models/use-lite |
  cut -c1-200
