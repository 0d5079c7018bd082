#!/usr/bin/env bash
# What Classify and the auto policy need beside the model, made once on this
# machine (skipped when present; FORCE=1 redoes it):
#   - classification heads: labelled data (tools/fetch_datasets.sh, npm,
#     pinned) and tools/train_heads per data set -> <model>/heads/<set>.json;
#   - the auto policy's table: tools/calibrate --quick -> <model>/calibration.json
#     (run tools/calibrate without --quick for the full sweep; docs/AUTO_POLICY.md).
# Usage: bash scripts/prepare_policy.sh [MODEL_DIR]   (default models/use-lite)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
model="${1:-models/use-lite}"
force="${FORCE:-0}"
sets=(imdb yelp amazon spam_assassin)

if [ "$force" = 1 ] || ! ls "$model"/heads/*.json >/dev/null 2>&1; then
  [ -f data/imdb/test.jsonl ] || bash tools/fetch_datasets.sh data
  for set in "${sets[@]}"; do
    echo "prepare_policy: training heads on $set" >&2
    build/tools/train_heads --model "$model" --data "data/$set" 2>&1 | grep -v '/[0-9]*$' >&2 || true
    [ -f "$model/heads/$set.json" ] || { echo "prepare_policy: no head for $set" >&2; exit 1; }
  done
fi
if [ "$force" = 1 ] || [ ! -f "$model/calibration.json" ]; then
  echo "prepare_policy: calibrating the auto policy (quick sweep)" >&2
  build/tools/calibrate --quick --model "$model" --data data
fi
