#!/usr/bin/env bash
# Unpacks the .debs of DEB_DIR into SYSROOT (dpkg-deb -x, no dpkg database),
# makes absolute symlinks relative so they resolve inside the sysroot, and
# points the sysroot's code generators at the host's amd64 ones (gRPC's CMake
# config names /usr/bin/grpc_*_plugin of its own prefix).
#   make_sysroot.sh DEB_DIR SYSROOT
set -euo pipefail
debs="$1"; root="$2"
rm -rf "$root"; mkdir -p "$root"
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$root"; done
root="$(cd "$root" && pwd)"
# Maintainer scripts do not run, so replay their update-alternatives links
# (openblas.pc, libopenblas.so, cblas.h are alternatives).
for d in "$debs"/*.deb; do
  dpkg-deb -I "$d" postinst 2>/dev/null || true
done | python3 -c '
import re, sys
text = sys.stdin.read().replace("\\\n", " ")
for m in re.finditer(r"--(?:install|slave)\s+(/\S+)\s+\S+\s+(/\S+)", text):
    print(m.group(1), m.group(2))' | while read -r link target; do
  [ -e "$root$target" ] || continue
  mkdir -p "$(dirname "$root$link")"
  ln -sfn "$(realpath -m -s --relative-to="$(dirname "$root$link")" "$root$target")" "$root$link"
done
while IFS= read -r link; do
  target="$(readlink "$link")"
  ln -sfn "$(realpath -m -s --relative-to="$(dirname "$link")" "$root$target")" "$link"
done < <(find "$root" -type l -lname '/*')
mkdir -p "$root/usr/bin"
for tool in protoc grpc_cpp_plugin grpc_python_plugin grpc_ruby_plugin grpc_php_plugin; do
  host="$(command -v "$tool" || true)"
  [ -n "$host" ] && ln -sfn "$host" "$root/usr/bin/$tool"
done
for tool in protoc grpc_cpp_plugin; do
  [ -x "$root/usr/bin/$tool" ] || { echo "make_sysroot: host $tool missing (protobuf-compiler, protobuf-compiler-grpc)" >&2; exit 1; }
done
