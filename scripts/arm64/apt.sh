#!/usr/bin/env bash
# An apt of its own for Debian arm64 packages, state under $ARM64_APT_DIR:
# the host's sources, arm64 only, an empty dpkg status (so every dependency is
# resolved and fetched). It only downloads; it never touches the host's dpkg.
#   apt.sh update
#   apt.sh fetch DEST_DIR PKG...   # .debs of PKG... and all their dependencies
set -euo pipefail
dir="${ARM64_APT_DIR:?set ARM64_APT_DIR}"
mkdir -p "$dir/sources.list.d" "$dir/state/lists/partial" "$dir/cache/archives/partial"
touch "$dir/state/status"
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && cp -f "$f" "$dir/sources.list.d/"
done
[ -f /etc/apt/sources.list ] && cp -f /etc/apt/sources.list "$dir/sources.list" || : >"$dir/sources.list"
opts=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts="$dir/sources.list.d"
  -o Dir::State="$dir/state" -o Dir::State::status="$dir/state/status"
  -o Dir::Cache="$dir/cache" -o Dir::Cache::pkgcache="" -o Dir::Cache::srcpkgcache=""
  -o APT::Architecture=arm64 -o APT::Architectures::=arm64
  -o APT::Get::AllowUnauthenticated=false -o Debug::NoLocking=1 -q)
case "${1:-}" in
  update) apt-get "${opts[@]}" update ;;
  fetch)
    mkdir -p "$2"
    dest="$(cd "$2" && pwd)"; shift 2  # apt reads a relative one under Dir::Cache
    apt-get "${opts[@]}" -o Dir::Cache::archives="$dest" install -y --download-only \
      --no-install-recommends "$@" ;;
  *) echo "usage: apt.sh update | fetch DEST PKG..." >&2; exit 2 ;;
esac
