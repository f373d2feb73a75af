#!/usr/bin/env bash
# run.sh's path with a GPU, without one: a bundle whose binaries are stand-ins that answer
# --print_gpu with a GPU name, --estimate as the benchmark binaries do (or, like today's
# binaries, not at all), list benchmarks, and write the committed plot fixture as their results.
# Checks that run.sh runs every step in order and never stops at a failure (a failing GPU test,
# a failing probe, a benchmark killed at its time limit), skips and lists a binary whose
# estimate exceeds the budget, runs one without an estimate under a share of the budget, skips
# the PyTorch reference without PyTorch, and packs a tarball that import.sh brings home and fits.
# With BENCH_DIR (a build with the real binaries), every command line run.sh gave a stand-in is
# given again to the real binary of that name, which must accept its flags: without a GPU it
# exits 77 (or 0 for --estimate and --benchmark_list_tests), never 2, a usage error.
#   run_sh_test.sh SOURCE_DIR WORK_DIR BATCHCOST [BENCH_DIR]
set -u
src=$1 work=$2 batchcost=$3 bench_dir=${4:-}
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

b=$work/batchcost-bundle
mkdir -p "$b/bin" "$b/tests" "$b/lib" "$b/stated"
cp "$src/tools/bundle/run.sh" "$src/tools/torch_reference.py" "$b/"
: >"$b/needs.txt"
echo '{"schema": "batchcost.bundle/1", "commit": "test"}' >"$b/BUNDLE.json"
fixtures=$src/tests/data/plot/h100

cat >"$b/bin/stub" <<EOF
#!/usr/bin/env bash
# A benchmark binary's interface; what each one does is chosen by its name.
name=\${0##*/batchcost-}
fixture=$fixtures
{ printf '%s' "\$name"; printf ' %q' "\$@"; echo; } >>"$work/calls.log"
filter="" out=""
for a in "\$@"; do
  case "\$a" in
    --print_gpu) echo h100-sxm; exit 0 ;;
    --estimate=h100)
      case \$name in
        memory) echo "memory/copy_kernel/bytes:4096: 5 samples, 0.1 s"; echo "estimate: 2 benchmarks, 3.5 s" ;;
        launch) echo "error: unrecognized command-line flag: \$a" >&2; exit 2 ;;
        gemm) echo "estimate: 4 benchmarks, 1 s (h100, stated)"; echo "estimate: 9 benchmarks, 1000 s" >&2; echo "estimate: 4 benchmarks, 1 s (h100, stated)" ;;
        moe) echo "estimate: 99 benchmarks, 99999 s" ;;
        collectives) echo "estimate: 1 benchmark, 2e0 s" ;;
      esac
      exit 0 ;;
    --estimate=*) echo "wrong constants: \$a" >&2; exit 2 ;;
    --benchmark_filter=*) filter=\${a#--benchmark_filter=} ;;
    --benchmark_out=*) out=\${a#--benchmark_out=} ;;
  esac
done
list() {
  case \$name in
    gemm) printf '%s\n' gemm/square/bf16/m:128/n:128/k:128/manual_time gemm/dsv3/fp8_e4m3/m:1/n:7168/k:2048/manual_time ;;
    moe) printf '%s\n' moe/dsv3/per_expert_graph/uniform/tokens:1/manual_time moe/dsv3/grouped/uniform/tokens:1/manual_time moe/dsv3/grouped_d2h/uniform/tokens:1/manual_time ;;
    launch) printf '%s\n' launch/graph_replay/nodes:1/manual_time ;;
    *) ;;
  esac
}
for a in "\$@"; do
  # A one-GPU box registers no collective: Google Benchmark then says so on stderr.
  [ "\$a" = --benchmark_list_tests ] && [ "\$name" = collectives ] &&
    { echo "Failed to match any benchmarks against regex: \$filter" >&2; exit 0; }
  [ "\$a" = --benchmark_list_tests ] && { list | grep -E -- "\${filter:-.}"; exit 0; }
done
if [ -n "\$filter" ]; then  # a probe: one exact name
  [ "\$(list | grep -cE -- "\$filter")" -eq 1 ] || { echo "probe filter matches not one: \$filter" >&2; exit 3; }
  case "\$filter" in *grouped/*) echo "CUDA error: an illegal memory access" >&2; exit 1 ;; esac
  echo '{"benchmarks": []}' >"\$out"; exit 0
fi
case \$name in
  gemm) sleep 60 ;;  # past its limit (twice the estimate and 20 s)
  collectives) cp "\$fixture/collective.json" "\$out" ;;
  *) cp "\$fixture/\$name.json" "\$out" ;;
esac
EOF
chmod +x "$b/bin/stub"
for n in memory launch gemm moe collectives; do ln -s stub "$b/bin/batchcost-$n"; done
printf '#!/bin/sh\nfor a; do case $a in --gtest_output=xml:*) echo "<testsuites/>" >"${a#--gtest_output=xml:}";; esac; done\n' >"$b/tests/gpu_pass_test"
printf '#!/bin/sh\necho "[  FAILED  ] GpuCheck.Something"; exit 1\n' >"$b/tests/gpu_fail_test"
chmod +x "$b/tests/"*

start=$(date +%s)
env -i PATH="$PATH" HOME="$work" "$b/run.sh" --out "$work/out" --budget 300 >"$work/stdout" 2>"$work/stderr"
rc=$?
took=$(( $(date +%s) - start ))
[ $rc -eq 1 ] || fail "run.sh exited $rc, expected 1 (some steps failed); stderr: $(cat "$work/stderr")"
[ $took -lt 60 ] || fail "run.sh took $took s: the gemm stand-in should be stopped at 22 s"
tarballs=("$work"/out/batchcost-h100-sxm-*.tar.gz)
[ -f "${tarballs[0]}" ] || fail "no batchcost-h100-sxm-*.tar.gz: $(ls "$work/out")"
python3 - "$work/out/run/manifest.json" <<'EOF' || fail "the manifest is wrong (above)"
import json, sys
m = json.load(open(sys.argv[1]))
steps = {s["name"]: s for s in m["steps"]}
order = [s["name"] for s in m["steps"]]
expect = ["env", "test-gpu_fail_test", "test-gpu_pass_test", "probe-fp8_m1", "probe-grouped",
          "probe-grouped_d2h", "probe-graph_capture", "probe-graph_replay", "probe-collective",
          "probe-collective_graph", "bench-memory", "bench-launch", "bench-gemm", "bench-moe",
          "bench-collectives", "reference"]
assert order == expect, order
want = {"env": "ok", "test-gpu_fail_test": "failed", "test-gpu_pass_test": "ok",
        "probe-fp8_m1": "ok", "probe-grouped": "failed", "probe-grouped_d2h": "ok",
        "probe-graph_capture": "ok", "probe-graph_replay": "ok", "probe-collective": "skipped",
        "bench-memory": "ok", "bench-launch": "ok", "bench-gemm": "timeout",
        "bench-moe": "skipped", "bench-collectives": "ok", "reference": "skipped"}
for name, status in want.items():
    assert steps[name]["status"] == status, (name, steps[name])
assert steps["bench-memory"]["estimate_s"] == 4, steps["bench-memory"]
assert steps["bench-launch"]["estimate_s"] is None, steps["bench-launch"]
assert steps["bench-gemm"]["limit_s"] == 22 and steps["bench-gemm"]["exit"] == 124, steps["bench-gemm"]
assert "illegal memory access" in steps["probe-grouped"]["reason"], steps["probe-grouped"]
assert "fp8_e4m3/m:1/" in steps["probe-fp8_m1"]["command"], steps["probe-fp8_m1"]
assert "--benchmark_repetitions=1" in steps["probe-fp8_m1"]["command"]
assert "99999 s" in steps["bench-moe"]["reason"], steps["bench-moe"]
skipped = {s["name"] for s in m["skipped"]}
assert {"bench-moe", "reference", "probe-collective"} <= skipped, skipped
assert m["complete"] and m["exit_status"] == 1 and m["gpu"] == "h100-sxm", m
assert m["estimate_constants"] == "h100", m["estimate_constants"]
paths = {f["path"] for f in m["files"]}
assert {"memory.json", "launch.json", "collectives.json", "run/logs/bench-gemm.log",
        "run/tests/gpu_pass_test.xml", "run/probe/fp8_m1.json"} <= paths, paths
assert "gemm.json" not in paths and "moe.json" not in paths, paths
EOF
grep -q "bench-gemm: timeout" "$work/stderr" || fail "no progress line for the timeout: $(cat "$work/stderr")"

"$src/tools/import.sh" "${tarballs[0]}" --results "$work/results" --batchcost "$batchcost" \
  --no-plots >"$work/import.log" 2>&1 || fail "import.sh failed: $(cat "$work/import.log")"
[ -f "$work/results/h100-sxm/model.json" ] || fail "import.sh wrote no model.json"
[ -f "$work/results/h100-sxm/run/manifest.json" ] || fail "import.sh did not keep the manifest"
grep -q "no reference.json in this run" "$work/import.log" || fail "import.sh: $(cat "$work/import.log")"

# --pack: the folder a killed run.sh leaves (no tarball, the manifest as it was mid-run, or none
# at all) becomes a tarball that import.sh imports, listing what is missing.
for case in midrun nomanifest; do
  k=$work/killed-$case
  cp -r "$work/out" "$k" && rm -f "$k"/*.tar.gz
  sed -i 's/^  "complete": true,/  "complete": false,/' "$k/run/manifest.json"
  [ $case = nomanifest ] && rm "$k/run/manifest.json"
  "$b/run.sh" --pack "$k" 2>"$work/pack-$case.err" || fail "--pack $case: exit $?: $(cat "$work/pack-$case.err")"
  packed=("$k"/batchcost-h100-sxm-*.tar.gz)
  [ -f "${packed[0]}" ] || fail "--pack $case wrote no tarball: $(ls "$k")"
  "$src/tools/import.sh" "${packed[0]}" --results "$work/results-$case" --batchcost "$batchcost" \
    --no-plots >"$work/import-$case.log" 2>&1 || fail "import of --pack $case: $(cat "$work/import-$case.log")"
  grep -q "the run did not finish" "$work/import-$case.log" ||
    fail "import of --pack $case does not say the run did not finish: $(cat "$work/import-$case.log")"
  [ -f "$work/results-$case/h100-sxm/model.json" ] || fail "--pack $case: nothing fitted"
done
grep -q "step bench-gemm: timeout" "$work/import-midrun.log" || fail "import lists no timed-out step"

replayed=0
if [ -n "$bench_dir" ]; then
  mkdir -p "$work/replay"
  while read -r name rest; do
    real=$(find "$bench_dir" -path "$bench_dir/tests" -prune -o -name "batchcost-$name" -type f \
      -perm -u+x -print | head -n 1)
    [ -n "$real" ] || fail "no real batchcost-$name under the build folder"
    eval "args=($rest)"
    args=("${args[@]/#--benchmark_out=*/--benchmark_out=$work/replay/out.json}")
    "$real" "${args[@]}" >"$work/replay/stdout" 2>"$work/replay/stderr" </dev/null
    rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 77 ] ||
      fail "batchcost-$name $rest: exit $rc with the real binary:" \
        "$(head -n 3 "$work/replay/stderr")"
    replayed=$((replayed + 1))
  done <"$work/calls.log"
  [ "$replayed" -gt 10 ] || fail "only $replayed command lines recorded from run.sh"
fi
echo "ok: run.sh took $took s; $replayed command lines accepted by the real binaries;" \
  "$(tail -n 1 "$work/stderr")"
