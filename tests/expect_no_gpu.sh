#!/usr/bin/env bash
# A benchmark binary run where no GPU is visible must say so on one line, exit 77, and write no
# results file. CUDA_VISIBLE_DEVICES=-1 hides every GPU, so this holds on any machine. Further
# arguments are passed on (--devices=all must fail the same way).
#   expect_no_gpu.sh BINARY WORKDIR [ARG...]
set -u
bin=$1 dir=$2
shift 2
rm -rf "$dir" && mkdir -p "$dir"
CUDA_VISIBLE_DEVICES=-1 "$bin" --benchmark_out="$dir/out.json" "$@" >"$dir/stdout" 2>"$dir/stderr"
rc=$?
fail() { echo "FAIL: $*"; echo "--- stderr:"; cat "$dir/stderr"; exit 1; }
[ $rc -eq 77 ] || fail "exit status $rc, expected 77"
grep -q "no usable CUDA GPU" "$dir/stderr" || fail "no 'no usable CUDA GPU' message"
[ "$(wc -l <"$dir/stderr")" -eq 1 ] || fail "more than one line on stderr"
[ -z "$(ls "$dir" | grep -v -e '^stdout$' -e '^stderr$')" ] || fail "left files behind: $(ls "$dir")"
echo "ok: $(cat "$dir/stderr")"
