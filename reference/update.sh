#!/usr/bin/env bash
# Makes each reference set's data files from their sources in this repository: every line
#   - copy: <repository path> -> <file name>
# of reference/<set>/README.md copies the source byte for byte to reference/<set>/<file name>.
#
#   reference/update.sh           copy (only what differs; says what it wrote)
#   reference/update.sh --check   change nothing; exit 1 naming every copy that is missing or
#                                 differs from its source, or a source that is missing
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "reference/update.sh: unknown argument '$1' (only --check)" >&2; exit 2 ;;
esac

bad=0
shopt -s nullglob
for readme in reference/*/README.md; do
  set_dir=${readme%/README.md}
  found=0
  while IFS= read -r line; do
    if [[ "$line" =~ ^-\ copy:\ ([^[:space:]]+)\ -\>\ ([A-Za-z0-9._-]+)$ ]]; then
      found=1
      src=${BASH_REMATCH[1]} dest="$set_dir/${BASH_REMATCH[2]}"
      if [ ! -f "$src" ]; then
        echo "$readme: the source $src does not exist" >&2
        bad=1
      elif ! cmp -s "$src" "$dest"; then
        if [ $check -eq 1 ]; then
          echo "$dest: missing or differs from $src (run reference/update.sh)" >&2
          bad=1
        else
          cp "$src" "$dest.partial" && mv "$dest.partial" "$dest"
          echo "wrote $dest (from $src)"
        fi
      fi
    elif [[ "$line" =~ ^-\ copy: ]]; then
      echo "$readme: malformed line '$line' (expected '- copy: PATH -> NAME')" >&2
      bad=1
    fi
  done < "$readme"
  if [ $found -eq 0 ]; then
    echo "$readme: no '- copy: PATH -> NAME' line: where do this set's files come from?" >&2
    bad=1
  fi
done
exit $bad
