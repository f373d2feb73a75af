#!/usr/bin/env bash
# Fuzzes every reader of user input with libFuzzer, for a bounded time shared by the targets:
#   results_fuzz      Google Benchmark JSON (model/results.h)
#   model_fuzz        model.json (core/model_file.h)
#   nccl_text_fuzz    nccl-tests text logs (model/nccl_tests.h)
#   nccl_json_fuzz    nccl-tests -J JSON (the same reader, seeded with -J files)
#   llm_predict_fuzz  LLM configurations and the predictor (predict/model_config.h, predict.h)
#   cli_fuzz          the command line's parser and checks (cli/cli.h)
#
#   tools/fuzz.sh [SECONDS] [TARGET...]   # default 60 s over all six; needs clang with libFuzzer
#
# Builds build-fuzz/ (clang, -fsanitize=fuzzer-no-link,address,undefined; no CUDA), seeds each
# corpus from tests/data/ (including the bad inputs of tests/data/bad/), and gives each target
# SECONDS / (number of targets). A crash does not stop the run: libFuzzer saves the input as
# build-fuzz/crashes/TARGET/crash-* and is started again for the time left. At the end, one line
# per target: executions, crashes, seconds run; and the real time of the whole run. Exit status 0:
# nothing crashed; 1: something did (the files named reproduce it: build-fuzz/tests/fuzz/TARGET FILE).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
all=(results_fuzz model_fuzz nccl_text_fuzz nccl_json_fuzz llm_predict_fuzz cli_fuzz)
[ "$#" -gt 0 ] && targets=("$@") || targets=("${all[@]}")
cxx="${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}"
cc="${CC_FUZZ:-$(command -v clang || command -v clang-14)}"
[ -n "$cxx" ] || { echo "fuzz.sh: needs clang++ (Debian: clang)" >&2; exit 2; }
out=build-fuzz
flags="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$out"
if [ ! -f "$out/build.ninja" ]; then
  cmake -S . -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_FLAGS="$flags" -DBATCHCOST_CUDA=OFF \
    -DBATCHCOST_BUILD_TESTS=OFF -DBATCHCOST_FUZZ=ON >"$out/configure.log" 2>&1 ||
    { cat "$out/configure.log"; exit 2; }
fi
cmake --build "$out" --target "${targets[@]}" >"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; exit 2; }

seed() {  # seed TARGET: the corpus folder, filled once from the checked-in inputs
  local dir="$out/corpus/$1"
  mkdir -p "$dir"
  [ -n "$(ls -A "$dir")" ] && return
  case $1 in
    results_fuzz) find tests/data/fit tests/data/golden tests/data/bad/json tests/data/bad/rep \
                    tests/data/bad/good -name '*.json' -exec cp {} "$dir/" \; ;;
    model_fuzz) find tests/data -name 'model.json' -exec sh -c 'cp "$1" "$2/$(echo "$1" | tr / _)"' \
                  _ {} "$dir" \;
                cp tests/data/predict/*.json tests/data/bad/json/*model*.json "$dir/" ;;
    nccl_text_fuzz) cp tests/data/nccl-tests/*.txt tests/data/bad/nccl/*.log \
                      tests/data/bad/good/*.log "$dir/" ;;
    nccl_json_fuzz) cp tests/data/nccl-tests/*.json tests/data/bad/nccl/*.json "$dir/" ;;
    llm_predict_fuzz) cp models/*.json tests/data/bad/llm/*.json "$dir/" ;;
    cli_fuzz)  # each line of a case's command is one argument
      grep -E '^[a-z0-9_]+ \|' tests/data/bad/cases.txt | sed 's/^.*| *batchcost //; s/ *>.*$//' |
        while read -r cmd; do
          printf '%s' "$cmd" | tr ' ' '\n' >"$dir/$(printf '%s' "$cmd" | sha1sum | cut -c1-16)"
        done ;;
  esac
}

share=$(( seconds / ${#targets[@]} ))
[ "$share" -ge 1 ] || share=1
start_all=$(date +%s)
crashed=0
report=()
for t in "${targets[@]}"; do
  seed "$t"
  mkdir -p "$out/crashes/$t"
  log="$out/$t.log"
  : >"$log"
  extra=()
  [ "$t" = cli_fuzz ] && extra=(-close_fd_mask=3)
  start=$(date +%s)
  execs=0 crashes=0
  while :; do
    left=$(( share - ($(date +%s) - start) ))
    [ "$left" -ge 1 ] || break
    "$out/tests/fuzz/$t" -max_total_time="$left" -max_len=262144 -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$out/crashes/$t/" "${extra[@]}" "$out/corpus/$t" \
      >>"$log" 2>&1
    status=$?
    if [ "$status" -eq 126 ] || [ "$status" -eq 127 ]; then
      echo "fuzz.sh: $out/tests/fuzz/$t cannot be run" >&2; exit 2
    fi
    n=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    execs=$(( execs + ${n:-0} ))
    # Count each run's units once: mark them read.
    sed -i 's/stat::number_of_executed_units:/stat::counted_units:/' "$log"
    [ "$status" -eq 0 ] && break
    crashes=$(( crashes + 1 ))
    # A seed that crashes would crash every restart: move it out of the corpus.
    for f in "$out/crashes/$t"/*; do
      sha=${f##*-}
      for c in "$out/corpus/$t"/*; do
        [ "$(sha1sum <"$c" | cut -c1-40)" = "$sha" ] && rm -f "$c"
      done
    done
  done
  ran=$(( $(date +%s) - start ))
  [ "$crashes" -gt 0 ] && crashed=1
  report+=("$(printf '%-17s %12s executions  %3s crashes  %4s s' "$t" "$execs" "$crashes" "$ran")")
done
for line in "${report[@]}"; do echo "fuzz: $line"; done
echo "fuzz: $(( $(date +%s) - start_all )) s of real time for ${#targets[@]} targets ($share s each)"
if [ "$crashed" -ne 0 ]; then
  echo "fuzz: crashes saved:"; find "$out/crashes" -type f -name 'crash-*' -o -type f -name 'timeout-*' -o -type f -name 'oom-*' | sort
fi
exit "$crashed"
