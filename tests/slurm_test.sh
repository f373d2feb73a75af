#!/usr/bin/env bash
# tools/slurm/collectives.sbatch with stand-ins for sbatch, srun and the MPI binary on PATH: the
# srun command of each node count (1, 2, 4 and the job's 6; --mpi, ranks per node, GPUs, the
# flags passed through), the results moved into place, a failed node count leaving no file, and
# bad settings refused with exit 2.
#   slurm_test.sh SOURCE_DIR WORKDIR
set -u
src=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir/bin"
fail() { echo "FAIL: $*"; echo "--- srun log:"; cat "$dir/srun.log" 2>/dev/null; exit 1; }
# srun: records its arguments; writes a results file where asked (as the binary would), fails
# for the node count in FAIL_NODES.
cat >"$dir/bin/srun" <<'SH'
#!/usr/bin/env bash
echo "srun $*" >>"$SRUN_LOG"
nodes=""
for a in "$@"; do
  case $a in
    --nodes=*) nodes=${a#--nodes=} ;;
    --print_gpu) echo h200; exit 0 ;;
    --benchmark_out=*) out=${a#--benchmark_out=} ;;
  esac
done
[ "$nodes" = "${FAIL_NODES:-}" ] && exit 1
echo "{\"nodes\": $nodes}" >"$out"
SH
# sbatch: records its arguments and runs the script as Slurm would, with the job's node count.
cat >"$dir/bin/sbatch" <<'SH'
#!/usr/bin/env bash
echo "sbatch $*" >>"$SRUN_LOG"
for a in "$@"; do case $a in --nodes=*) export SLURM_JOB_NUM_NODES=${a#--nodes=} ;; esac; done
while [ "${1#-}" != "$1" ]; do shift; done
script=$1; shift
exec bash "$script" "$@"
SH
printf '#!/bin/sh\nexit 0\n' >"$dir/bin/batchcost-collectives-mpi"
chmod +x "$dir/bin/"*
export PATH="$dir/bin:$PATH" SRUN_LOG="$dir/srun.log" BATCHCOST_BIN="$dir/bin/batchcost-collectives-mpi"
export RESULTS="$dir/results"
cd "$dir"

sbatch --nodes=6 "$src/tools/slurm/collectives.sbatch" --quick -o all 2>"$dir/stderr" ||
  fail "exit status $?: $(cat "$dir/stderr")"
bin=$BATCHCOST_BIN
for n in 1 2 4 6; do
  want="srun --mpi=pmix --nodes=$n --ntasks-per-node=8 --gpus-per-node=8 --kill-on-bad-exit=1 $bin --benchmark_out=$RESULTS/h200/.collectives-mpi-${n}nodes.json."
  grep -qF -- "$want" "$dir/srun.log" || fail "no '$want'"
  grep -F -- "--nodes=$n " "$dir/srun.log" | grep -q -- "--quick -o all$" || fail "flags not passed on $n nodes"
  [ "$(cat "$RESULTS/h200/collectives-mpi-${n}nodes.json")" = "{\"nodes\": $n}" ] || fail "$n nodes: results"
done
[ "$(grep -c -- '--benchmark_out' "$dir/srun.log")" -eq 4 ] || fail "not exactly 4 runs"
grep -q -- "--print_gpu" "$dir/srun.log" || fail "the GPU name was not asked of the binary"
[ -z "$(ls -A "$RESULTS/h200" | grep '^\.')" ] || fail "left a temporary file: $(ls -A "$RESULTS/h200")"

# pmi2, chosen node counts, one failing: the others written, the failed one untouched, exit 1.
: >"$dir/srun.log"
echo old >"$RESULTS/h200/collectives-mpi-2nodes.json"
SLURM_JOB_NUM_NODES=4 SRUN_MPI=pmi2 NODE_COUNTS="2 3" GPUS_PER_NODE=4 FAIL_NODES=2 GPU=h100-sxm \
  bash "$src/tools/slurm/collectives.sbatch" 2>"$dir/stderr"
rc=$?
[ $rc -eq 1 ] || fail "a failed node count: exit status $rc, expected 1"
grep -q -- "--mpi=pmi2 --nodes=3 --ntasks-per-node=4 --gpus-per-node=4" "$dir/srun.log" || fail "pmi2 run"
grep -q -- "--print_gpu" "$dir/srun.log" && fail "GPU= given, yet --print_gpu asked"
[ -f "$RESULTS/h100-sxm/collectives-mpi-3nodes.json" ] || fail "3 nodes not written"
[ -e "$RESULTS/h100-sxm/collectives-mpi-2nodes.json" ] && fail "the failed 2-node run wrote a file"
[ "$(cat "$RESULTS/h200/collectives-mpi-2nodes.json")" = old ] || fail "another GPU's file changed"
[ -z "$(ls -A "$RESULTS/h100-sxm" | grep '^\.')" ] || fail "left a temporary file"
grep -q "the run on 2 node(s) failed" "$dir/stderr" || fail "no message for the failed run"

# Bad settings: exit 2, a message, nothing run.
for bad in "NODE_COUNTS=8" "NODE_COUNTS=x" "SRUN_MPI=openmpi" "GPUS_PER_NODE=0" \
           "BATCHCOST_BIN=$dir/missing" "SLURM_JOB_NUM_NODES="; do
  : >"$dir/srun.log"
  env SLURM_JOB_NUM_NODES=4 GPU=h200 "$bad" bash "$src/tools/slurm/collectives.sbatch" 2>"$dir/stderr"
  rc=$?
  [ $rc -eq 2 ] || fail "$bad: exit status $rc, expected 2"
  grep -q "collectives.sbatch: " "$dir/stderr" || fail "$bad: no message"
  [ -s "$dir/srun.log" ] && fail "$bad: ran srun"
done
echo "ok"
