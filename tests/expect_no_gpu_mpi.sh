#!/usr/bin/env bash
# The MPI variant started on 2 ranks where no GPU is visible: every rank takes the no-GPU exit
# (77), rank 0 alone says so, and no results file is written.
#   expect_no_gpu_mpi.sh WORKDIR MPIEXEC [MPIEXEC FLAGS...] -- BINARY
set -u
dir=$1; shift
launcher=()
while [ "$1" != "--" ]; do launcher+=("$1"); shift; done
shift
bin=$1
rm -rf "$dir" && mkdir -p "$dir"
CUDA_VISIBLE_DEVICES=-1 "${launcher[@]}" -x CUDA_VISIBLE_DEVICES "$bin" \
  --benchmark_out="$dir/out.json" >"$dir/stdout" 2>"$dir/stderr"
rc=$?
fail() { echo "FAIL: $*"; echo "--- stdout:"; cat "$dir/stdout"; echo "--- stderr:"; cat "$dir/stderr"; exit 1; }
[ $rc -eq 77 ] || fail "exit status $rc, expected 77"
[ "$(grep -c "no usable CUDA GPU" "$dir/stderr")" -eq 1 ] || fail "not exactly one 'no usable CUDA GPU' message"
[ -z "$(ls "$dir" | grep -v -e '^stdout$' -e '^stderr$')" ] || fail "left files behind: $(ls "$dir")"
echo "ok: $(grep "no usable CUDA GPU" "$dir/stderr")"
