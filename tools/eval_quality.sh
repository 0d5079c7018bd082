#!/usr/bin/env bash
# The quality evaluation in one command (docs/QUALITY.md): fetches the data
# sets if missing, builds eval_quality and train_heads into build-quality/,
# trains the classification heads into build-quality/heads/ once (reused when
# present; the model's own heads folder is left alone), runs the grid and
# writes docs/results/quality.json, docs/results/quality_long.json, the
# generated table in docs/QUALITY.md and docs/results/quality_pareto.png.
#
#   bash tools/eval_quality.sh [extra eval_quality flags, e.g. --max-texts 100 --skip-long]
#
# Env: BUILD_DIR (default build-quality), MODEL_DIR (default models/use-lite),
# JOBS (default 2).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build-quality}"
model="${MODEL_DIR:-models/use-lite}"
heads="$build/heads"
sets=(imdb yelp amazon spam_assassin)

if [[ ! -f "$model/model.json" ]]; then
  echo "eval_quality.sh: no model in $model (run tools/fetch_model.sh $model)" >&2
  exit 2
fi
for s in "${sets[@]}"; do
  if [[ ! -f "data/$s/test.jsonl" ]]; then
    bash tools/fetch_datasets.sh data
    break
  fi
done

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" -j"${JOBS:-2}" --target eval_quality train_heads

for s in "${sets[@]}"; do
  if [[ ! -f "$heads/$s.json" ]]; then
    echo "eval_quality.sh: training the $s head" >&2
    "$build/tools/train_heads" --model "$model" --data "data/$s" --name "$s" --out "$heads/$s.json"
  fi
done

"$build/tools/eval_quality" --model "$model" --heads "$heads" --data data "$@"
/usr/bin/python3 tools/plot_quality.py docs/results/quality.json docs/results/quality_long.json \
  docs/results/quality_pareto.png
