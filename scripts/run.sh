#!/usr/bin/env bash
# README command 1: set up (packages, model, build), then start attnserve in
# the foreground on 127.0.0.1:50051 (gRPC) and 127.0.0.1:9464 (metrics).
# Extra arguments go to attnserve, e.g. --grpc_address 0.0.0.0:50051.
# Try it from another shell:
#   build/clients/attnctl/attnctl --server 127.0.0.1:50051 health
#   echo '{"text": "hello"}' | build/clients/attnctl/attnctl --server 127.0.0.1:50051 embed
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/prepare_policy.sh models/use-lite   # heads + auto-policy table, once
exec ./build/server/attnserve --model models/use-lite "$@"
