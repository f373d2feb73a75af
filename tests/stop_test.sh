#!/usr/bin/env bash
# A benchmark binary told to stop keeps every benchmark it finished (issue: the GPU slot keeps
# every result). Through the real harness with a fake device (stop_bench): SIGTERM, SIGINT and
# SIGHUP in the middle of a run, --deadline, and SIGKILL after a checkpoint each leave a valid
# results file holding every finished benchmark, the rest named in context.not_run, marked
# incomplete with the reason; `batchcost fit` reads it (and says it is incomplete).
#   stop_test.sh STOP_BENCH BATCHCOST WORKDIR
set -u
set -m  # job control: a background job keeps SIGINT (without it, bash starts it ignoring SIGINT)
bench=$1 batchcost=$2 work=$3
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work" || fail "cannot make $work"
total=$("$bench" --benchmark_list_tests | grep -c .)
[ "$total" -ge 8 ] || fail "stop_bench lists $total benchmarks"

# check FILE REASON: valid JSON, incomplete for REASON, finished + not_run = all, fit reads it.
check() {
  python3 - "$1" "$2" "$total" <<'PY' || fail "$1: see above"
import json, sys
path, reason, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = json.load(open(path))
ctx = doc["context"]
assert ctx.get("incomplete") is True, f"not marked incomplete: {ctx.get('incomplete')}"
assert ctx.get("stopped_by") == reason, f"stopped_by {ctx.get('stopped_by')!r}, not {reason!r}"
finished = {b["run_name"].removesuffix("/manual_time") for b in doc["benchmarks"]}
not_run = set(ctx["not_run"])
assert finished and not_run, f"finished {len(finished)}, not run {len(not_run)}: stopped too early or late"
assert not finished & not_run, f"both finished and not run: {finished & not_run}"
assert len(finished | not_run) == total, f"{len(finished | not_run)} of {total} accounted for"
for b in doc["benchmarks"]:
    assert not b.get("error_occurred"), f"an error entry kept: {b['name']}"
# every finished benchmark has all its repetitions and their aggregates
reps = {}
for b in doc["benchmarks"]:
    if b["run_type"] == "iteration":
        reps[b["run_name"]] = reps.get(b["run_name"], 0) + 1
assert len(set(reps.values())) == 1, f"repetitions differ: {reps}"
print(f"{path}: {len(finished)} finished, {len(not_run)} not run, stopped by {reason}")
PY
  # --force: the few sizes a stopped run leaves may not bound W; reading it is the point.
  "$batchcost" fit "$1" --force --out "$work/model-$2.json" >"$work/fit-$2.out" 2>"$work/fit-$2.err" ||
    fail "batchcost fit $1 exited $?: $(tail -n 3 "$work/fit-$2.err")"
  grep -q "incomplete" "$work/fit-$2.err" || fail "fit did not say $1 is incomplete: $(cat "$work/fit-$2.err")"
}

# wait_for FILE PATTERN: until the binary's stderr shows PATTERN (at most 60 s)
wait_for() {
  for _ in $(seq 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  fail "never saw '$2' in $1"
}

for sig in TERM INT HUP; do
  out=$work/$sig.json err=$work/$sig.err
  "$bench" "--benchmark_out=$out" >/dev/null 2>"$err" &
  pid=$!
  wait_for "$err" "\[4/$total\]"
  kill -s "$sig" "$pid"
  wait "$pid"
  rc=$?
  want=$((128 + $(kill -l "$sig")))
  [ "$rc" -eq "$want" ] || fail "SIG$sig: exit $rc, not $want: $(tail -n 3 "$err")"
  grep -q "stopped (SIG$sig)" "$err" || fail "SIG$sig: no stop line on stderr"
  ! ls "$work"/*.partial >/dev/null 2>&1 || fail "SIG$sig left a .partial file"
  check "$out" "SIG$sig"
done

# --deadline: the benchmarks started before it finish, the rest are not run; exit 3.
out=$work/deadline.json
STOP_BENCH_SAMPLE_MS=30 "$bench" "--benchmark_out=$out" --deadline=1.5 >/dev/null 2>"$work/deadline.err"
rc=$?
[ "$rc" -eq 3 ] || fail "--deadline: exit $rc, not 3: $(tail -n 3 "$work/deadline.err")"
check "$out" deadline

# SIGKILL: no handler runs; the last checkpoint (at most a second old) is what remains.
out=$work/kill.json err=$work/kill.err
"$bench" "--benchmark_out=$out" >/dev/null 2>"$err" &
pid=$!
wait_for "$err" "\[7/$total\]"
kill -s KILL "$pid"
wait "$pid" 2>/dev/null
[ -f "$out" ] || fail "SIGKILL after six benchmarks left no checkpoint"
check "$out" unfinished

# A run that is not stopped writes a complete file, no longer marked incomplete.
out=$work/complete.json
STOP_BENCH_SAMPLE_MS=1 "$bench" "--benchmark_out=$out" >/dev/null 2>"$work/complete.err" ||
  fail "a full run exited $?"
python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['context']; assert 'incomplete' not in c and 'not_run' not in c, c" "$out" ||
  fail "a complete run is marked incomplete"
# CUDA_LAUNCH_BLOCKING=1 would make every latency the kernel's wait: refused before any work,
# naming the variable, unless allowed; the variables that change numbers are in the context.
CUDA_LAUNCH_BLOCKING=1 "$bench" "--benchmark_out=$work/blocking.json" >/dev/null 2>"$work/blocking.err"
rc=$?
[ $rc -eq 2 ] && grep -q "CUDA_LAUNCH_BLOCKING=1" "$work/blocking.err" && [ ! -e "$work/blocking.json" ] ||
  fail "CUDA_LAUNCH_BLOCKING=1: exit $rc: $(cat "$work/blocking.err")"
NCCL_ALGO=Ring STOP_BENCH_SAMPLE_MS=1 "$bench" "--benchmark_out=$work/env.json" >/dev/null 2>&1 ||
  fail "a run with NCCL_ALGO set failed"
python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['context']['environment']; assert e.get('NCCL_ALGO') == 'Ring', e" "$work/env.json" ||
  fail "the context does not record NCCL_ALGO"
echo "stop_test: every stop kept what finished"
