#!/usr/bin/env bash
# The main job: set up, build, and calibrate this machine's GPU.
#
#   tools/main.sh            default profile: every benchmark binary, results/<gpu>/*.json
#   tools/main.sh --quick    coarse sweeps, about a minute
#
# With a GPU: runs each benchmark binary, writing results/<gpu>/<benchmark>.json (each file
# appears only when its binary finished: the harness writes a temporary file and renames it),
# then fits results/<gpu>/model.json where the fitter is built.
# Without a GPU: says so, lists the sweeps each binary would run, and fits the committed
# reference results under results/ where there are any.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=()
for arg in "$@"; do
  case "$arg" in
    --quick) profile+=(--quick) ;;
    *) echo "main.sh: unknown argument '$arg' (only --quick)" >&2; exit 2 ;;
  esac
done

bash tools/setup.sh
cmake --preset default
cmake --build --preset default

# The benchmark binaries in calibration order (the MPI variant of the collectives is launched
# by hand with mpirun).
binaries=()
for name in memory launch gemm moe collectives; do
  [ -x "build/bench/batchcost-$name" ] && binaries+=("build/bench/batchcost-$name")
  for dir in moe collectives; do
    [ -x "build/$dir/batchcost-$name" ] && binaries+=("build/$dir/batchcost-$name")
  done
done
if [ ${#binaries[@]} -eq 0 ]; then
  echo "main.sh: no benchmark binary was built (no CUDA toolkit?): nothing to measure" >&2
fi
fitter=build/tools/batchcost
# A python with matplotlib for the plots: Debian's (tools/setup.sh installs python3-matplotlib).
plotter=""
for py in python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null && "$py" -c "import matplotlib" 2>/dev/null; then
    plotter=$py
    break
  fi
done

# Fits a results folder, shows its constants, validation and a DeepSeek-V3 prediction, and
# renders its plots. $1: the folder; $2: "write" to write model.json and the PNGs into it.
show_folder() {
  local folder=$1 write=${2:-}
  [ -x "$fitter" ] || { echo "main.sh: the fitter was not built (Ceres missing?)" >&2; return; }
  if [ "$write" = write ]; then
    "$fitter" fit "$folder" --out "$folder/model.json"
  else
    "$fitter" fit "$folder"
  fi
  echo
  # The MoE family is predicted from the other families' constants: its errors, worst first.
  "$fitter" validate "$folder" |
    awk '/^== moe ==/ { m = 1 } m && n < 8 { print; n++ } /^summary per family/ { s = 1 } s'
  if [ -f "$folder/model.json" ]; then
    echo
    "$fitter" predict --hardware "$folder/model.json" --model deepseek-v3 --gpus 8 --tp 8 \
      --batch 1,8,64,512,4096 || true
    if [ -n "$plotter" ] && [ "$write" = write ]; then
      "$plotter" tools/plot.py "$folder" --batchcost "$fitter" || true
    fi
  fi
}

set +e
gpu=$("${binaries[0]:-/bin/false}" --print_gpu 2>/tmp/batchcost-gpu.$$)
rc=$?
set -e
why=$(cat /tmp/batchcost-gpu.$$ 2>/dev/null || true)
rm -f /tmp/batchcost-gpu.$$

if [ $rc -eq 0 ] && [ -n "$gpu" ]; then
  out="results/$gpu"
  mkdir -p "$out"
  echo "== batchcost: calibrating $gpu into $out/"
  i=0
  for bin in "${binaries[@]}"; do
    i=$((i + 1))
    name=${bin##*/batchcost-}
    echo "== [$i/${#binaries[@]}] $name ..."
    start=$(date +%s)
    "$bin" "${profile[@]}" --benchmark_out="$out/$name.json" || {
      echo "main.sh: $name failed (exit $?); its results, if written, are in $out/$name.json" >&2
    }
    echo "== [$i/${#binaries[@]}] $name done in $(( $(date +%s) - start )) s"
  done
  show_folder "$out" write
  exit 0
fi

echo
echo "== batchcost: no GPU found on this machine"
echo "   ${why:-no benchmark binary to ask}"
echo "   Nothing can be measured here. The benchmark binaries would run these sweeps:"
for bin in "${binaries[@]}"; do
  "$bin" "${profile[@]}" --benchmark_list_tests | sed 's#/manual_time$##' |
    awk -v b="${bin##*/}" -F/ '{ n[$1"/"$2]++ } END { for (k in n) printf "   %-22s %-40s %4d sizes/shapes\n", b, k, n[k] }' | sort
done

shopt -s nullglob
folders=(results/*/)
if [ ${#folders[@]} -gt 0 ]; then
  for folder in "${folders[@]}"; do
    echo
    echo "== committed reference results: ${folder%/}"
    show_folder "${folder%/}"
  done
elif [ ${#folders[@]} -eq 0 ]; then
  echo
  echo "   No reference results are committed under results/ yet: run this command on a GPU box."
fi
