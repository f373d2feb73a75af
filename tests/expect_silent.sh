#!/usr/bin/env bash
# A non-primary rank (MainSpec::primary = false) prints nothing, writes no results file, and
# still exits 1 when a benchmark failed.
#   expect_silent.sh BINARY WORKDIR
set -u
bin=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
"$bin" --benchmark_out="$dir/out.json" --benchmark_repetitions=1 \
  >"$dir/stdout" 2>"$dir/stderr"
rc=$?
fail() { echo "FAIL: $*"; echo "--- stdout:"; cat "$dir/stdout"; echo "--- stderr:"; cat "$dir/stderr"; exit 1; }
[ $rc -eq 1 ] || fail "exit status $rc, expected 1 (a failed check)"
[ ! -s "$dir/stdout" ] || fail "printed on stdout"
[ ! -s "$dir/stderr" ] || fail "printed on stderr"
[ -z "$(ls "$dir" | grep -v -e '^stdout$' -e '^stderr$')" ] || fail "left files behind: $(ls "$dir")"
echo "ok: silent, exit 1"
