#!/usr/bin/env bash
# Runs one case of the corpus of bad inputs (tests/data/bad/cases.txt) and checks it: the exit
# status; for a refusal, that stderr names the file and the entry, and that no file was created,
# changed or removed (the old output out/model.json intact, no temporary left behind).
#   run_bad_input.sh BATCHCOST BAD_DIR DATA_DIR CASE
set -uo pipefail
exe=$(realpath "$1") bad=$(realpath "$2") data=$(realpath "$3") name=$4
line=$(grep -E "^$name \|" "$bad/cases.txt")
[ -n "$line" ] || { echo "FAIL: no case '$name' in $bad/cases.txt"; exit 1; }
IFS='|' read -r _ want file entry cmd <<<"$line"
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }
want=$(trim "$want") file=$(trim "$file") entry=$(trim "$entry") cmd=$(trim "$cmd")

scratch=$(mktemp -d "${TMPDIR:-/tmp}/batchcost_bad.XXXXXX")
logs=$(mktemp -d "${TMPDIR:-/tmp}/batchcost_bad_logs.XXXXXX")
trap 'rm -rf "$scratch" "$logs"' EXIT
cp -a "$bad/." "$scratch/"
cd "$scratch" || exit 1
ln -s "$data" data
./gen.sh || { echo "FAIL: gen.sh"; exit 1; }
mkdir -p out && echo "old output" >out/model.json
snapshot() {  # every file and link under the scratch folder but data/, with its content
  find . -path ./data -prune -o -type f -print0 | sort -z | xargs -0 sha1sum
  find . -path ./data -prune -o -type l -printf '%p -> %l\n' | sort
}
before=$(snapshot)

batchcost() { "$exe" "$@"; }
export -f batchcost 2>/dev/null || true
export exe
(eval "$cmd") >"$logs/stdout" 2>"$logs/stderr"
rc=$?
fail() {
  echo "FAIL [$name]: $*"
  echo "command: $cmd"
  echo "--- stderr (first 2000 bytes):"; head -c 2000 "$logs/stderr"; echo
  echo "--- stdout (first 1000 bytes):"; head -c 1000 "$logs/stdout"; echo
  exit 1
}
[ "$rc" = "$want" ] || fail "exit status $rc, expected $want"
if [ "$want" != 0 ]; then
  [ "$file" = "-" ] || grep -qF -- "$file" "$logs/stderr" || fail "the message does not name '$file'"
  [ "$entry" = "-" ] || grep -qF -- "$entry" "$logs/stderr" || fail "the message does not name '$entry'"
  [ "$(wc -l <"$logs/stderr")" -le 5 ] || fail "more than a short message on stderr"
  after=$(snapshot)
  [ "$before" = "$after" ] || fail "files changed: $(diff <(echo "$before") <(echo "$after") | head -20)"
else
  ! grep -q '^batchcost:' "$logs/stderr" || fail "an error on a valid input"
fi
echo "ok [$name]: exit $rc${entry:+, names $file / $entry}"
