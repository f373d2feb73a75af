#!/usr/bin/env bash
# ctest of tools/main.sh without a GPU. One case per call:
#   main_test.sh no_gpu SOURCE_DIR BUILD_DIR WORK_DIR
#       the no-GPU path on the committed reference sets: exit 0; the "no GPU" line, constants with
#       their origins, held-out errors, both predictions and the GPU-box command printed; a page
#       per reference set written under WORK_DIR; results/ and reference/ unchanged (checksums).
#   main_test.sh estimate SOURCE_DIR BUILD_DIR WORK_DIR
#       --estimate sums the binaries' last lines, and fails naming a binary that prints none
#       (stand-in binaries: the contract of the flag, not the GPU branch's numbers).
set -uo pipefail
case_name=$1 src=$2 build=$3 work=$4
fail() {
  echo "FAIL: $*"
  [ -f "$work/out.txt" ] && sed 's/^/  | /' "$work/out.txt"
  exit 1
}
rm -rf "$work"
mkdir -p "$work"

case "$case_name" in
  no_gpu)
    snapshot() {
      (cd "$src" && find reference results -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum)
    }
    before=$(snapshot)
    bash "$src/tools/main.sh" --no-build --no-gpu --no-plots --build-dir="$build" \
      --report-dir="$work/report" >"$work/out.txt" 2>&1 || fail "main.sh exited $?"
    [ "$(snapshot)" = "$before" ] || fail "results/ or reference/ changed"
    grep -c 'no GPU here' "$work/out.txt" | grep -qx 1 || fail "not exactly one 'no GPU' line"
    for want in 'all_reduce/8 #1 bandwidth' 'reference/h100-nvlink8-nccl-tests-290/all_reduce_8gpu.log' \
                'published: measured by others (https://' 'held out' 'DeepSeek-V3' 'Llama-3 70B' \
                '\* stated, not measured' 'bash tools/main.sh'; do
      grep -q -- "$want" "$work/out.txt" || fail "no '$want' in the output"
    done
    for set in "$src"/reference/*/; do
      page="$work/report/reference-$(basename "$set").md"
      [ -s "$page" ] || fail "no page $page"
      grep -q '^### Held out' "$page" || fail "$page has no held-out section"
    done
    grep -q 'reference-h100-nvlink8-nccl-tests-290.md' "$work/report/README.md" ||
      fail "the index does not list the pages"
    ;;
  estimate)
    mkdir -p "$work/build/bench" "$work/build/moe"
    printf '#!/bin/sh\necho "memory/copy: 5 samples, 0.5 s"\necho "estimate: 3 benchmarks, 1.5 s"\n' \
      >"$work/build/bench/batchcost-memory"
    printf '#!/bin/sh\necho "moe/grouped: 5 samples, 0.5 s"\necho "estimate: 2 benchmarks, 0.5 s"\n' \
      >"$work/build/moe/batchcost-moe"
    chmod +x "$work/build/bench/batchcost-memory" "$work/build/moe/batchcost-moe"
    bash "$src/tools/main.sh" --no-build --estimate=h100 --build-dir="$work/build" \
      --report-dir="$work/report" >"$work/out.txt" 2>&1 || fail "main.sh --estimate exited $?"
    tail -n 1 "$work/out.txt" | grep -qx 'estimate: total 5 benchmarks, 2.0 s' || fail "wrong total"
    grep -q 'memory/copy: 5 samples' "$work/report/estimate-h100.txt" || fail "no plan file"
    # A binary without the flag (its last line is something else).
    printf '#!/bin/sh\necho "unknown flag --estimate" >&2\nexit 2\n' >"$work/build/moe/batchcost-moe"
    if bash "$src/tools/main.sh" --no-build --estimate=h100 --build-dir="$work/build" \
      --report-dir="$work/report" >"$work/out.txt" 2>&1; then
      fail "main.sh --estimate exited 0 with a binary that gave no estimate"
    fi
    grep -q "batchcost-moe --estimate=h100 gave no estimate" "$work/out.txt" ||
      fail "the failing binary is not named"
    ;;
  *) echo "main_test.sh: unknown case '$case_name'" >&2; exit 2 ;;
esac
echo "ok: $case_name"
