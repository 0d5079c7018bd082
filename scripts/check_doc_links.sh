#!/usr/bin/env bash
# Dead-link check for README.md and docs/*.md. Reports, as FILE:LINE: TARGET,
# every reference that names a file which does not exist:
#   - markdown links and images, [text](target) and ![alt](target), and
#     reference definitions, [name]: target; resolved against the file's own
#     folder (as a markdown renderer does); URLs (scheme:...) and pure
#     #anchors are skipped, a #anchor or ?query after a path is ignored;
#   - plain-text mentions of docs/NAME.md (resolved from the repository root,
#     the way these docs write them);
#   - bare mentions of an upper-case NAME.md such as ADDING_A_KERNEL.md
#     (resolved against the file's folder, then the repository root).
# Exit status: 0 when every target exists, 1 when one does not, 2 on misuse.
#   bash scripts/check_doc_links.sh            # README.md and docs/*.md
#   bash scripts/check_doc_links.sh FILE.md... # only these files
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(README.md docs/*.md)
fi

dead=0
checked=0
# report FILE LINE TARGET RESOLVED...: dead unless one of RESOLVED exists.
report() {
  local file="$1" line="$2" target="$3"
  shift 3
  checked=$((checked + 1))
  local p
  for p in "$@"; do
    [ -e "$p" ] && return 0
  done
  echo "$file:$line: $target"
  dead=$((dead + 1))
}

for f in "${files[@]}"; do
  if [ ! -f "$f" ]; then
    echo "check_doc_links: no such file: $f" >&2
    exit 2
  fi
  dir="$(dirname "$f")"

  # 1. Inline links and images: ](target) or ](target "title").
  while IFS=: read -r line match; do
    target="${match#](}"
    target="${target%)}"
    target="${target%% *}"          # drop an optional "title"
    target="${target#<}"
    target="${target%>}"
    case "$target" in
      '' | '#'* | *:*) continue ;;  # empty, anchor, URL (http:, mailto:, ...)
    esac
    path="${target%%#*}"
    path="${path%%\?*}"
    [ -n "$path" ] || continue
    report "$f" "$line" "$target" "$dir/$path"
  done < <(grep -noE '\]\([^)[:space:]]+( +"[^"]*")?\)' "$f" || true)

  # 2. Reference definitions: [name]: target
  while IFS=: read -r line match; do
    target="$(sed -E 's/^[[:space:]]*\[[^]]+\]:[[:space:]]*//; s/[[:space:]].*$//' <<<"$match")"
    target="${target#<}"
    target="${target%>}"
    case "$target" in
      '' | '#'* | *:*) continue ;;
    esac
    path="${target%%#*}"
    [ -n "$path" ] || continue
    report "$f" "$line" "$target" "$dir/$path"
  done < <(grep -noE '^[[:space:]]*\[[^]]+\]:[[:space:]]*[^[:space:]]+' "$f" || true)

  # 3. Plain-text mentions of docs/NAME.md, from the repository root.
  while IFS=: read -r line match; do
    target="$(grep -oE 'docs/[A-Za-z0-9_.-]+\.md' <<<"$match")"
    report "$f" "$line" "$target" "$target"
  done < <(grep -noE '(^|[^A-Za-z0-9_./-])docs/[A-Za-z0-9_.-]+\.md' "$f" || true)

  # 4. Bare upper-case NAME.md mentions (not part of a longer path).
  while IFS=: read -r line match; do
    target="$(grep -oE '[A-Z][A-Z0-9_]*\.md' <<<"$match")"
    report "$f" "$line" "$target" "$dir/$target" "$target"
  done < <(grep -noE '(^|[^A-Za-z0-9_./-])[A-Z][A-Z0-9_]*\.md' "$f" || true)
done

if [ "$dead" -ne 0 ]; then
  echo "check_doc_links: $dead dead reference(s) of $checked checked" >&2
  exit 1
fi
echo "check_doc_links: $checked references in ${#files[@]} files, none dead"
