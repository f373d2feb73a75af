#!/usr/bin/env bash
# Fuzzes the readers of results and nccl-tests logs (tests/fuzz/reader_fuzz.cc) with libFuzzer,
# for a bounded time.
#
#   tools/fuzz.sh [SECONDS]        # default 60; needs clang (Debian: clang) with libFuzzer
#
# Builds into build-fuzz/ with AddressSanitizer and UBSan, seeds the corpus with the checked-in
# results under tests/data/fit/ and the nccl-tests logs, and prints how many inputs ran. Exit
# status 0: nothing crashed; otherwise libFuzzer's crash-* file in build-fuzz/ reproduces the failure.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
cxx="${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}"
out=build-fuzz
mkdir -p "$out/corpus"
"$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I. tests/fuzz/reader_fuzz.cc model/results.cc model/model_file.cc model/cost_model.cc \
  model/contract.cc model/nccl_tests.cc collectives/ops.cc -o "$out/reader_fuzz"
find tests/data/fit -name '*.json' -exec cp {} "$out/corpus/" \;
cp tests/data/nccl-tests/* "$out/corpus/"
cd "$out"
set +e
./reader_fuzz -max_total_time="$seconds" -max_len=65536 -timeout=10 -print_final_stats=1 corpus \
  >fuzz.log 2>&1
status=$?
set -e
grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" fuzz.log || true
echo "fuzz: $(grep -o 'stat::number_of_executed_units: [0-9]*' fuzz.log | grep -o '[0-9]*$') inputs in ${seconds} s, exit status ${status}"
exit "$status"
