#!/usr/bin/env bash
# nccl-tests' flags parsed by the collective binaries, proved without a GPU by their listing:
#   collective_list_test.sh single BINARY          -g 4 -b 1K -e 1M -f 4 -o max -d bfloat16
#   collective_list_test.sh mpi MPIEXEC [FLAGS...] -- BINARY   the same list once under -np 2
set -u
mode=$1; shift
fail() { echo "FAIL: $*"; exit 1; }
flags=(-g 4 -b 1K -e 1M -f 4 -o max -d bfloat16 --benchmark_list_tests)
if [ "$mode" = single ]; then
  out=$(CUDA_VISIBLE_DEVICES=-1 "$1" "${flags[@]}") || fail "exit status $?"
  # Only 4 ranks (-g is exact), bf16 only, redop max in the reducing ops' names and no other
  # redop, sizes 1K, 4K, ..., 1M only.
  [ -n "$out" ] || fail "nothing listed"
  echo "$out" | grep -v '/ranks:4/' && fail "a rank count other than 4"
  echo "$out" | grep -v '/bf16/' && fail "a dtype other than bf16"
  for op in all_reduce reduce_scatter reduce; do
    echo "$out" | grep "^collective/$op/" | grep -v "/bf16/redop:max/" && fail "$op without redop:max"
  done
  echo "$out" | grep -E '^collective/(all_gather|broadcast|all_to_all|send_recv)/.*redop' &&
    fail "a redop on an op that does not reduce"
  sizes=$(echo "$out" | sed -n 's|^collective/all_reduce/.*/bytes:\([0-9]*\)/inplace:0.*|\1|p' | tr '\n' ' ')
  [ "$sizes" = "1024 4096 16384 65536 262144 1048576 " ] || fail "all_reduce sizes: $sizes"
  [ "$(echo "$out" | grep -c '^collective/all_reduce/bf16/redop:max/ranks:4/bytes:1024/inplace:0/')" -eq 1 ] ||
    fail "collective/all_reduce/bf16/redop:max/ranks:4/bytes:1024/inplace:0 missing"
  # A datatype nccl-tests has and we do not: refused, naming what is supported.
  err=$(CUDA_VISIBLE_DEVICES=-1 "$1" -d half --benchmark_list_tests 2>&1 >/dev/null)
  rc=$?
  [ $rc -eq 2 ] || fail "-d half: exit status $rc, expected 2"
  echo "$err" | grep -q "supported: float, bfloat16, all" || fail "-d half: $err"
  # Sizes that hold no whole element per rank: a usage error, not an empty run.
  err=$(CUDA_VISIBLE_DEVICES=-1 "$1" -g 4 -b 1 -e 8 -d float --ops=all_gather --benchmark_list_tests 2>&1 >/dev/null)
  rc=$?
  [ $rc -eq 2 ] || fail "-b 1 -e 8 all_gather on 4 ranks: exit status $rc, expected 2"
  echo "$err" | grep -q "no size from 1 to 8 bytes" || fail "-b 1 -e 8: $err"
  # No -g on a machine without GPUs: nothing registered; the listing is empty and says why on
  # stderr (not Google Benchmark's "Failed to match any benchmarks"), exit 0.
  none=$(CUDA_VISIBLE_DEVICES=-1 "$1" --benchmark_list_tests 2>"${TMPDIR:-/tmp}/list_err.$$")
  rc=$?
  err=$(cat "${TMPDIR:-/tmp}/list_err.$$"); rm -f "${TMPDIR:-/tmp}/list_err.$$"
  [ $rc -eq 0 ] && [ -z "$none" ] || fail "listing with no rank count: exit $rc, stdout '$none'"
  echo "$err" | grep -q "nothing to list: " || fail "listing with no rank count says: $err"
  echo "$err" | grep -q "Failed to match" && fail "Google Benchmark's message: $err"
  echo "ok: $(echo "$out" | wc -l) benchmarks"
  exit 0
fi
launcher=()
while [ "$1" != "--" ]; do launcher+=("$1"); shift; done
bin=$2
mflags=(-b 1K -e 1M -f 4 -o max -d bfloat16 --benchmark_list_tests)
out=$(CUDA_VISIBLE_DEVICES=-1 "${launcher[@]}" -x CUDA_VISIBLE_DEVICES "$bin" "${mflags[@]}") ||
  fail "exit status $?"
[ -n "$out" ] || fail "nothing listed"
dups=$(echo "$out" | sort | uniq -d)
[ -z "$dups" ] || fail "listed more than once (once per rank?): $(echo "$dups" | head -3)"
echo "$out" | grep -v '/ranks:2/' && fail "a rank count other than the world's 2"
echo "ok: $(echo "$out" | wc -l) benchmarks, each once"
