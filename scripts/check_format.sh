#!/usr/bin/env bash
# Checks that our C++ sources are clang-format clean (.clang-format at the
# root). Exit status 1 lists the files that are not; `--fix` rewrites them.
# Build directories, node_modules and generated code are not ours to format.
#
# Highway sources (foreach_target.h + HWY_TARGET_INCLUDE) keep their include
# order: the includes that must stay in order are in separate blank-line
# blocks, which clang-format never reorders across.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
clang_format="${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format)}"
mapfile -t files < <(git ls-files --cached --others --exclude-standard \
                       -- '*.cc' '*.h' '*.cpp' '*.hpp' \
                     | grep -vE '^(build[^/]*|node_modules|models)/' | sort)
if [ "${1:-}" = "--fix" ]; then
  "$clang_format" -i "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -ne 0 ]; then
  echo "check_format: ${#bad[@]} of ${#files[@]} files need clang-format (scripts/check_format.sh --fix):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check_format: ${#files[@]} files clean"
