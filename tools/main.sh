#!/usr/bin/env bash
# The main job: set up, build, and calibrate this machine's GPU; without a GPU, fit the published
# reference measurements instead and show what they say.
#
#   tools/main.sh                   default profile: every benchmark binary, results/<gpu>/*.json
#   tools/main.sh --quick           coarse sweeps, about a minute
#   tools/main.sh --estimate=GPU    no GPU needed: what each binary would run and how long it would
#                                   take on GPU (h100, h200 or a model.json); with --quick too
#
# With a GPU: runs each benchmark binary, writing results/<gpu>/<benchmark>.json (each file
# appears only when its binary finished: the harness writes a temporary file and renames it),
# then fits results/<gpu>/model.json and renders its plots there.
# Without a GPU (or with --no-gpu): one line says so, then every reference set (reference/*/,
# published measurements) and every results/<gpu>/ folder is fitted: constants with intervals
# and the files they came from, the held-out validation errors, a DeepSeek-V3 and a Llama-3-70B
# prediction. Reports, model.json files and plots go to build/report/ (never into results/ or
# reference/). The setup and build output goes to build/main-build.log; its tail is printed only
# when a step fails.
#
# For tests and repeated runs: --no-build (use what is built), --build-dir=DIR (where the
# binaries are, default build), --report-dir=DIR (default build/report), --no-plots.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=() estimate="" build_dir=build report_dir="" no_build=0 force_no_gpu=0 no_plots=0
for arg in "$@"; do
  case "$arg" in
    --quick) profile+=(--quick) ;;
    --estimate=?*) estimate=${arg#--estimate=} ;;
    --no-build) no_build=1 ;;
    --no-gpu) force_no_gpu=1 ;;
    --no-plots) no_plots=1 ;;
    --build-dir=?*) build_dir=${arg#--build-dir=} ;;
    --report-dir=?*) report_dir=${arg#--report-dir=} ;;
    *)
      echo "main.sh: unknown argument '$arg' (--quick, --estimate=GPU, --no-build, --no-gpu," \
           "--no-plots, --build-dir=DIR, --report-dir=DIR)" >&2
      exit 2 ;;
  esac
done
report_dir=${report_dir:-$build_dir/report}
if [ $no_build -eq 0 ] && [ "$build_dir" != build ]; then
  echo "main.sh: --build-dir=$build_dir needs --no-build (main.sh builds with the default preset into build/)" >&2
  exit 2
fi

# Setup and build, quietly: the output goes to a log, whose tail is shown if a step fails.
if [ $no_build -eq 0 ]; then
  mkdir -p build
  log=build/main-build.log
  : >"$log"
  step() {
    local what=$1
    shift
    echo "== $what: $*" >>"$log"
    if ! "$@" >>"$log" 2>&1; then
      echo "main.sh: $what failed ($*); the last lines of $log:" >&2
      tail -n 40 "$log" >&2
      exit 1
    fi
  }
  step setup bash tools/setup.sh
  step configure cmake --preset default
  step build cmake --build --preset default
fi

# The benchmark binaries in calibration order (the MPI variant of the collectives is launched
# by hand with mpirun).
binaries=()
for name in memory launch gemm moe collectives; do
  for dir in bench moe collectives; do
    [ -x "$build_dir/$dir/batchcost-$name" ] && binaries+=("$build_dir/$dir/batchcost-$name")
  done
done
fitter=$build_dir/tools/batchcost
if [ $no_build -eq 0 ]; then
  version=$([ -x "$fitter" ] && "$fitter" --version || echo "batchcost (no fitter: Ceres missing?)")
  echo "== $version built (setup and build output: $log)"
fi

# --estimate: each binary plans its sweeps without a GPU and ends with
# "estimate: N benchmarks, T s"; the total is their sum.
if [ -n "$estimate" ]; then
  if [ ${#binaries[@]} -eq 0 ]; then
    echo "main.sh: no benchmark binary in $build_dir (no CUDA toolkit?): nothing to estimate" >&2
    exit 1
  fi
  mkdir -p "$report_dir"
  tag=$(basename "$estimate" .json)${profile:+-quick}
  plan="$report_dir/estimate-$tag.txt"
  : >"$plan.partial"
  total_n=0 total_s=0
  for bin in "${binaries[@]}"; do
    set +e
    out=$("$bin" "${profile[@]}" --estimate="$estimate" 2>&1)
    rc=$?
    set -e
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [ $rc -ne 0 ] || ! [[ "$last" =~ ^estimate:\ ([0-9]+)\ benchmarks,\ ([0-9]+(\.[0-9]+)?)\ s$ ]]; then
      echo "main.sh: ${bin##*/} --estimate=$estimate gave no estimate (exit $rc; it must end" \
           "with 'estimate: N benchmarks, T s'); its last lines:" >&2
      printf '%s\n' "$out" | tail -n 5 | sed 's/^/  /' >&2
      rm -f "$plan.partial"
      exit 1
    fi
    n=${BASH_REMATCH[1]} s=${BASH_REMATCH[2]}
    { echo "== ${bin##*/}"; printf '%s\n' "$out"; } >>"$plan.partial"
    printf '%-24s %s\n' "${bin##*/}" "$last"
    total_n=$((total_n + n))
    total_s=$(awk -v a="$total_s" -v b="$s" 'BEGIN { printf "%.1f", a + b }')
  done
  echo "estimate: total $total_n benchmarks, $total_s s" >>"$plan.partial"
  mv "$plan.partial" "$plan"
  echo "(every benchmark's plan: $plan)"
  echo "estimate: total $total_n benchmarks, $total_s s"
  exit 0
fi

# A python with matplotlib for the plots: Debian's (tools/setup.sh installs python3-matplotlib).
plotter=""
[ $no_plots -eq 1 ] || for py in python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null && "$py" -c "import matplotlib" 2>/dev/null; then
    plotter=$py
    break
  fi
done

gpu="" why="--no-gpu given"
if [ $force_no_gpu -eq 0 ]; then
  if [ ${#binaries[@]} -eq 0 ]; then
    why="no benchmark binary was built (no CUDA toolkit?)"
  else
    set +e
    gpu=$("${binaries[0]}" --print_gpu 2>"$build_dir/main-gpu.err")
    rc=$?
    set -e
    why=$(head -n 1 "$build_dir/main-gpu.err" 2>/dev/null || true)
    rm -f "$build_dir/main-gpu.err"
    [ $rc -eq 0 ] || gpu=""
  fi
fi

if [ -n "$gpu" ]; then
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
    echo "== [$i/${#binaries[@]}] $name done in $(($(date +%s) - start)) s"
  done
  "$fitter" fit "$out" --out "$out/model.json"
  [ -z "$plotter" ] || "$plotter" tools/plot.py "$out" --batchcost "$fitter" || true
  mkdir -p "$report_dir"
  "$fitter" report "$out" --out "$report_dir/$gpu.md" --plots "$out" >/dev/null
  echo "== report: $report_dir/$gpu.md"
  exit 0
fi

echo "== batchcost: no GPU here (${why:-the CUDA runtime gave no reason}): fitting published measurements instead"
if [ ! -x "$fitter" ]; then
  echo "main.sh: the fitter $fitter was not built (Ceres Solver missing?)" >&2
  exit 1
fi

# Stated constants for what a folder does not measure (marked * in predictions): tools/stated/
# (sourced, per GPU) where it exists, else the H100-like fixture of the predict tests.
stated_for() {
  local gpu_text=$1 kind=h100
  [[ "$gpu_text" =~ [Hh]200 ]] && kind=h200
  for f in tools/stated/$kind-sxm.json tools/stated/$kind.json; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  echo tests/data/predict/h100_stated.json
}

# Prints the table of one prediction, or nothing when none of the folder's own constants enter
# it (every constant used is stated).
predict_one() {
  local hw=$1 stated=$2
  shift 2
  local text
  text=$("$fitter" predict --hardware "$hw" --stated "$stated" --batch 1,64,512 "$@" \
    2>>"$report_dir/main-predict.err") || return 1
  if printf '%s\n' "$text" | awk '/^constants used:/ { u = 1; getline; next } /^  \* stated/ { u = 0 }
      u && !/\*[[:space:]]*$/ { own = 1 } END { exit own ? 0 : 1 }'; then
    printf '%s\n' "$text" | grep -v -e '^note: ' -e '^front: ' -e '^$' | sed 's/^/    /'
  else
    echo "    ($*: none of this folder's constants enters the step; not shown)"
  fi
}

shopt -s nullglob
mkdir -p "$report_dir"
: >"$report_dir/main-predict.err"
pages=() failed=0
folders=()
# First the shipped calibrations (tools/calibrated/: tools/calibrate.sh fits them from the
# published reference sets of each GPU type), what `--hardware h100|h200` prices with: the two
# compared constant by constant, then one dense model's batch sweep on each.
echo
echo "== Shipped calibrations: H100 SXM and H200, fitted from published measurements (tools/calibrated/)"
if "$fitter" compare tools/calibrated/h100-sxm.json tools/calibrated/h200.json \
    >"$report_dir/calibrations-compare.txt" 2>/dev/null; then
  sed -n '/^constants/,/^hardware and software/p' "$report_dir/calibrations-compare.txt" |
    sed '$d' | sed 's/^/  /'
else
  echo "main.sh: comparing the shipped calibrations failed" >&2
  failed=1
fi
for hw in h100 h200; do
  echo "  llama-3-70b, tensor parallel over 8 GPUs, on --hardware $hw (* stated: what no published set measures)"
  "$fitter" predict --hardware "$hw" --model llama-3-70b --tp 8 --batch 1,64,256 \
      2>>"$report_dir/main-predict.err" | sed -n '/^batch /,/^$/p' | sed '/^$/d' | sed 's/^/    /' ||
    failed=1
done
for d in reference/*/ results/*/; do folders+=("${d%/}"); done
if [ ${#folders[@]} -eq 0 ]; then
  echo "   No reference set under reference/ and no results under results/: nothing to fit."
fi
for folder in "${folders[@]}"; do
  name=${folder//\//-}
  echo
  if [[ "$folder" == reference/* ]]; then
    readme="$folder/README.md"
    source=$(grep -m1 -o 'https://[^ ,)]*' "$readme" 2>/dev/null || echo "see $readme")
    gpu_text=$(grep -m1 '^- \*\*GPU\*\*:' "$readme" 2>/dev/null | sed 's/^- \*\*GPU\*\*: *//; s/ *(.*//')
    origin="published: measured by others ($source)"
    echo "== $folder: $gpu_text"
    echo "   $origin"
  else
    gpu_text=${folder#results/}
    origin="measured here: our benchmark binaries' results"
    echo "== $folder: $origin"
  fi
  mkdir -p "$report_dir/$name"
  # Plots first, so that the report links them.
  if [ -n "$plotter" ]; then
    "$plotter" tools/plot.py "$folder" --out "$report_dir/$name" --batchcost "$fitter" \
      >"$report_dir/$name/plot.log" 2>&1 || true
  fi
  if ! summary=$("$fitter" report "$folder" --out "$report_dir/$name.md" --plots "$report_dir/$name" \
      2>"$report_dir/$name/report.err"); then
    echo "main.sh: fitting $folder failed:" >&2
    sed 's/^/  /' "$report_dir/$name/report.err" >&2
    failed=1
    continue
  fi
  pages+=("$name.md|$folder|$gpu_text")
  printf '%s\n' "$summary" | sed -n '2,$p' | grep -v '^wrote ' | sed 's/^/  /'
  "$fitter" fit "$folder" --out "$report_dir/$name/model.json" >/dev/null 2>&1
  stated=$(stated_for "$gpu_text")
  # Tensor parallelism over as many GPUs as the folder's all_reduce measured (8 by default).
  ranks=$(printf '%s\n' "$summary" | grep -m1 -o 'all_reduce/[0-9]*' | cut -d/ -f2 || true)
  ranks=${ranks:-8}
  echo "  predictions, tensor parallel over $ranks GPUs (8 a node), batch 1, 64, 512 (unmarked constants: ${origin%%:*}, from $folder;"
  echo "  * stated, from $stated)"
  [ "$stated" = tests/data/predict/h100_stated.json ] &&
    echo "  (stated: round H100-like numbers of the predict tests, until tools/stated/ ships sourced ones)"
  for model in deepseek-v3 llama-3-70b; do
    predict_one "$report_dir/$name/model.json" "$stated" --model $model --tp "$ranks" \
      --gpus-per-node 8 || failed=1
  done
  plots=("$report_dir/$name"/*.png)
  if [ ${#plots[@]} -gt 0 ]; then
    echo "  plots: ${#plots[@]} in $report_dir/$name/"
  else
    if [ -n "$plotter" ]; then
      echo "  plots: none for these files (tools/plot.py says why: $report_dir/$name/plot.log)"
    elif [ $no_plots -eq 1 ]; then
      echo "  plots: not drawn (--no-plots)"
    else
      echo "  plots: none (no python with matplotlib: Debian's python3-matplotlib)"
    fi
  fi
done
if [ -s "$report_dir/main-predict.err" ]; then
  grep -v 'the measured value is used$' "$report_dir/main-predict.err" >&2 || true
fi

# An index of the pages.
{
  echo "# batchcost reports"
  echo
  echo "Written by \`tools/main.sh\` without a GPU; every page is one folder fitted on its own."
  echo
  echo "| page | folder | GPU |"
  echo "| --- | --- | --- |"
  for p in "${pages[@]}"; do
    IFS='|' read -r page folder gpu_text <<<"$p"
    echo "| [$page]($page) | \`$folder\` | $gpu_text |"
  done
} >"$report_dir/README.md.partial"
mv "$report_dir/README.md.partial" "$report_dir/README.md"

echo
echo "== reports: $report_dir/README.md (one page per folder, with its plots)"
echo "== to measure a GPU, run on a machine with one:   bash tools/main.sh"
echo "   (bash tools/main.sh --estimate=h100 first says how long it takes; --quick is coarser)"
exit $failed
