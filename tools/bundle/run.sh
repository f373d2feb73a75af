#!/usr/bin/env bash
# One complete, bounded calibration of this machine's GPU from the bundle (tools/bundle.sh made
# it): no compiler, network or package manager needed, only bash, coreutils, tar and gzip.
#
#   ./run.sh --out DIR [--quick] [--budget SECONDS]
#   ./run.sh --preflight        only check that this box can run this bundle (a second or two)
#   ./run.sh --pack DIR         pack a run folder, however its run ended (run.sh killed, the box
#                               rebooted), into DIR/batchcost-<gpu>-<date>.tar.gz for import.sh
#
# 0. a preflight: the NVIDIA driver against the one the bundle's CUDA needs (BUNDLE.json
#    min_driver) and every library it needs from the box (needs.txt) resolving; one line says
#    what is wrong and which bundle to carry instead, and the run exits 77 with the report packed.
# In order, each step's output written into DIR as it finishes (a run cut short keeps them):
#   1. environment report (DIR/run/env/): nvidia-smi, driver, OS, the CUDA, cuBLAS, cuBLASLt and
#      NCCL libraries found (a CUDA toolkit, PyTorch's pip packages site-packages/nvidia/*/lib,
#      or the loader's paths; BATCHCOST_CUDA_LIBS=DIR:DIR looks there first) and which were used
#   2. the GPU tests (DIR/run/tests/*.xml)
#   3. a first-contact probe of each risky path, one benchmark each, one repetition
#      (DIR/run/probe/): fp8 GEMM at M=1, grouped MoE GEMMs, graph capture, collectives
#   4. every benchmark binary that fits the rest of the budget (DIR/<name>.json): each binary's
#      --estimate (h200 or h100 constants, by the GPU's name; the collectives priced at the box's
#      GPU count) decides; a binary whose default plan does not fit runs --quick if that fits,
#      else it is skipped and listed. A binary without --estimate runs under an equal share of
#      what is left. Each runs with --deadline ahead of its hard limit, so a binary stopped for
#      time keeps every benchmark it finished (the step's status is then "partial").
#   5. where python3 has PyTorch, its bf16 matmul 8192^3 and 1 GiB copy (DIR/reference.json,
#      family `reference`, never fitted)
# then packs DIR into DIR/batchcost-<gpu>-<date>.tar.gz with DIR/run/manifest.json (each step:
# command, exit status, wall time, estimate; the files with their sizes and SHA-256).
# --budget (default 480 s) bounds the whole run, every phase included; no step starts that
# cannot finish inside it, and a watchdog stops run.sh itself at budget + 60 s. SIGINT, SIGTERM
# and SIGHUP stop the step running (which writes what it finished) and pack what exists.
# Libraries: the user's LD_LIBRARY_PATH first (a forward-compatibility libcuda.so.1 stays in
# front), then the bundle's lib/, then the folders where the CUDA and NCCL libraries were found.
#
# Exit status: 0 every step passed; 1 some step failed, timed out or was stopped early (the
# others still ran); 2 usage error; 77 no usable GPU, or this bundle cannot run on this box (one
# line says so; the environment report is packed); 130 interrupted (what finished is packed).
set -uo pipefail  # not -e: a failing step must not stop the run

B=$(cd "$(dirname "$0")" && pwd)
usage() {
  echo "run.sh: $*" >&2
  echo "usage: run.sh --out DIR [--quick] [--budget SECONDS] | --preflight | --pack DIR" >&2
  exit 2
}

OUT="" quick=0 budget=480 mode=run
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || usage "--out needs a folder"; OUT=$2; shift 2 ;;
    --out=*) OUT=${1#--out=}; shift ;;
    --quick) quick=1; shift ;;
    --budget) [ $# -ge 2 ] || usage "--budget needs seconds"; budget=$2; shift 2 ;;
    --budget=*) budget=${1#--budget=}; shift ;;
    --preflight) mode=preflight; shift ;;
    --pack) [ $# -ge 2 ] || usage "--pack needs a run folder"; mode=pack; OUT=$2; shift 2 ;;
    --pack=*) mode=pack; OUT=${1#--pack=}; shift ;;
    -h|--help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown argument '$1'" ;;
  esac
done
[[ $budget =~ ^[0-9]+$ ]] && [ "$budget" -ge 30 ] ||
  usage "--budget '$budget': need a whole number of seconds, at least 30"
case $mode in
  run)
    [ -n "$OUT" ] || usage "--out DIR is required"
    if [ -e "$OUT" ] && { [ ! -d "$OUT" ] || [ -n "$(ls -A "$OUT")" ]; }; then
      usage "--out $OUT: exists and is not an empty folder (each run gets its own)"
    fi
    mkdir -p "$OUT/run/env" "$OUT/run/logs" "$OUT/run/tests" "$OUT/run/probe" ||
      usage "--out $OUT: cannot create it" ;;
  pack)
    [ -d "$OUT/run" ] || usage "--pack $OUT: not a run folder (no run/ in it)" ;;
  preflight)
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/batchcost-preflight.XXXXXX") || usage "no temporary folder"
    mkdir -p "$OUT/run/env"
    trap 'rm -rf "$OUT"' EXIT ;;
esac
OUT=$(cd "$OUT" && pwd)
cd "$OUT" || exit 2

profile=()
[ $quick -eq 1 ] && profile=(--quick)
t_start=$(date +%s)
date_tag=$(date -u +%Y%m%dT%H%M%SZ)
deadline=$((t_start + budget))
PACK_RESERVE=15  # seconds kept for the manifest and the tarball

# ---- JSON without python: strings escaped, numbers formatted by the caller ----
json_str() {
  local s
  s=$(printf '%s' "$1" | LC_ALL=C tr -cd '[:print:]\t\n')
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\t'/\\t}; s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}
json_num() { [ -n "$1" ] && printf '%s' "$1" || printf 'null'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
left() { echo $((deadline - $(date +%s) - PACK_RESERVE)); }
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-400; }
show() { printf '%q ' "$@" | sed -e "s#$B/##g" -e "s#$OUT/##g" -e 's/ $//'; }

gpu=nogpu gpu_name="" gpu_reason="" estimate_kind="" have_gpu=0 have_torch=0
steps=() skipped=() libs=()
say() { [ $have_gpu -eq 1 ] && echo "run.sh: $*" >&2; return 0; }

list_files() {  # every file of the run folder but tarballs and the manifest, as manifest entries
  local f files=""
  while IFS= read -r f; do
    files+="${files:+,}"$'\n    '"{\"path\": $(json_str "$f"), \"bytes\": $(stat -c %s "$f"),"
    files+=" \"sha256\": \"$(sha256sum "$f" | cut -d' ' -f1)\"}"
  done < <(find . -type f ! -name '*.tar.gz' ! -path ./run/manifest.json ! -name '*.partial' |
           sed 's#^\./##' | LC_ALL=C sort)
  printf '%s' "$files"
}
complete_run=""  # "false": the manifest says incomplete even with an exit status (--pack)
write_manifest() {  # $1: the run's exit status, or empty while it is still going
  local status=${1:-} files="" f tmp=run/manifest.json.partial
  [ -n "$status" ] && files=$(list_files)
  {
    echo "{"
    echo "  \"schema\": \"batchcost.run/1\","
    echo "  \"gpu\": $(json_str "$gpu"),"
    echo "  \"gpu_name\": $(json_str "$gpu_name"),"
    echo "  \"gpu_reason\": $(json_str "$gpu_reason"),"
    echo "  \"date\": \"$date_tag\","
    echo "  \"started_utc\": \"$(date -u -d "@$t_start" +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"command\": $(json_str "run.sh --out DIR${profile[*]:+ ${profile[*]}} --budget $budget"),"
    echo "  \"profile\": \"$([ $quick -eq 1 ] && echo quick || echo default)\","
    echo "  \"budget_s\": $budget,"
    echo "  \"estimate_constants\": $(json_str "$estimate_kind"),"
    echo "  \"wall_s\": $(( $(date +%s) - t_start )),"
    echo "  \"complete\": ${complete_run:-$([ -n "$status" ] && echo true || echo false)},"
    echo "  \"exit_status\": $(json_num "$status"),"
    echo "  \"bundle\": $(cat "$B/BUNDLE.json" 2>/dev/null || echo null),"
    local IFS=,
    echo "  \"libraries\": [${libs[*]:-}],"
    echo "  \"steps\": [${steps[*]:-}"
    echo "  ],"
    echo "  \"skipped\": [${skipped[*]:-}],"
    echo "  \"files\": [$files"
    echo "  ]"
    echo "}"
  } >"$tmp" && mv -f "$tmp" run/manifest.json
}

# add_step NAME KIND COMMAND STATUS EXIT WALL ESTIMATE LIMIT LOG REASON
add_step() {
  steps+=($'\n    '"{\"name\": $(json_str "$1"), \"kind\": \"$2\", \"command\": $(json_str "$3"), \"status\": \"$4\", \"exit\": $(json_num "$5"), \"wall_s\": $(json_num "$6"), \"estimate_s\": $(json_num "$7"), \"limit_s\": $(json_num "$8"), \"log\": $(json_str "$9"), \"reason\": $(json_str "${10}")}")
  write_manifest
}
skip() {  # NAME REASON: a step not run, listed
  skipped+=("{\"name\": $(json_str "$1"), \"reason\": $(json_str "$2")}")
  add_step "$1" "${3:-step}" "" skipped "" "" "${4:-}" "" "" "$2"
  say "$1: skipped: $2"
}

CHILD=""
failures=0
# run_step NAME KIND LIMIT ESTIMATE CMD...: runs CMD under `timeout LIMIT`, output in its log.
run_step() {
  local name=$1 kind=$2 limit=$3 est=$4 log="run/logs/$1.log" t0 rc status reason=""
  shift 4
  say "$name: running (limit ${limit} s${est:+, estimate $est s})"
  t0=$(now)
  timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null &
  CHILD=$!
  wait "$CHILD"
  rc=$?
  CHILD=""
  case $rc in
    0) status=ok ;;
    3) status=partial; reason="stopped at its --deadline"; failures=$((failures + 1)) ;;
    77) status=skipped; reason=$(last_line "$log") ;;
    124|137) status=timeout; reason="stopped after its limit of $limit s"; failures=$((failures + 1)) ;;
    *) status=failed; reason=$(last_line "$log"); failures=$((failures + 1)) ;;
  esac
  # A benchmark binary stopped for time (or by a signal) keeps what it finished: partial.
  if [ -n "${RESULT_FILE:-}" ] && [ -f "$RESULT_FILE" ] && [ "$status" != ok ] &&
     grep -q '"incomplete": true' "$RESULT_FILE"; then
    local not_run
    not_run=$(awk '/"not_run": \[/ { f = 1; next } f && /\]/ { exit } f { n++ } END { print n + 0 }' "$RESULT_FILE")
    reason="${reason:+$reason; }$not_run benchmark(s) not run, the rest kept"
    status=partial
  fi
  local wall
  wall=$(since "$t0")
  add_step "$name" "$kind" "$(show "$@")" "$status" "$rc" "$wall" "$est" "$limit" "$log" "$reason"
  say "$name: $status (exit $rc) in ${wall%.*} s${reason:+: $reason}"
}

finish() {  # $1: exit status. Writes the manifest with every file's digest, then the tarball.
  local status=$1 tarball="batchcost-$gpu-$date_tag.tar.gz"
  [ -n "${WATCHDOG:-}" ] && kill "$WATCHDOG" 2>/dev/null
  write_manifest "$status"
  find . -type f ! -name '*.tar.gz' ! -name '*.partial' | sed 's#^\./##' | LC_ALL=C sort |
    tar --owner=0 --group=0 --numeric-owner -czf "$tarball.partial" -T - &&
    mv -f "$tarball.partial" "$tarball"
  TARBALL=$OUT/$tarball
}
on_signal() {  # $1: the signal's name. The step running writes what it finished, then we pack.
  trap '' INT TERM HUP
  [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD"
  add_step interrupted signal "" failed 130 "" "" "" "" "run.sh was stopped by SIG$1"
  finish 130
  echo "run.sh: stopped by SIG$1; what finished is in $TARBALL" >&2
  exit 130
}

# ---- --pack DIR: the tarball of a run folder however its run ended ----
# The steps recorded so far (the manifest is rewritten after every step) are kept; the files
# are listed afresh; the run is marked incomplete unless it had finished.
if [ "$mode" = pack ]; then
  cd "$OUT" || exit 2
  old=run/manifest.json
  field() { sed -n "s/^  \"$1\": \"\(.*\)\",\$/\1/p" "$old" 2>/dev/null | head -n 1; }
  gpu=$(field gpu) gpu_name=$(field gpu_name) date_tag=$(field date)
  [ -n "$gpu" ] || gpu=$(head -n 1 run/env/gpu.txt 2>/dev/null | tr -cd 'A-Za-z0-9._-' | tr 'A-Z' 'a-z')
  gpu=${gpu:-unknown}
  date_tag=${date_tag:-$(date -u -d "@$(stat -c %Y run)" +%Y%m%dT%H%M%SZ)}
  was_complete=false
  grep -q '^  "complete": true,' "$old" 2>/dev/null && was_complete=true
  tmp=run/manifest.json.partial
  if [ -f "$old" ] && grep -q '^  "files": \[' "$old"; then
    { sed -n '/^  "files": \[/q; p' "$old" |
        sed -e "s/^  \"complete\": .*/  \"complete\": $was_complete,/" \
            -e "s/^  \"schema\": \(.*\)/  \"schema\": \1\n  \"packed_utc\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",/"
      echo "  \"files\": [$(list_files)"
      echo "  ]"
      echo "}"
    } >"$tmp" && mv -f "$tmp" "$old"
  else  # killed before its first step was recorded
    t_start=$(stat -c %Y run) complete_run=false
    write_manifest 1
  fi
  tarball="batchcost-$gpu-$date_tag.tar.gz"
  find . -type f ! -name '*.tar.gz' ! -name '*.partial' | sed 's#^\./##' | LC_ALL=C sort |
    tar --owner=0 --group=0 --numeric-owner -czf "$tarball.partial" -T - &&
    mv -f "$tarball.partial" "$tarball" || { echo "run.sh: --pack: cannot write $OUT/$tarball" >&2; exit 1; }
  echo "run.sh: packed $OUT/$tarball ($([ $was_complete = true ] && echo complete || echo "incomplete: import.sh lists what is missing"))" >&2
  exit 0
fi
for sig in INT TERM HUP; do trap "on_signal $sig" "$sig"; done
# The watchdog: should a step hang past every limit, run.sh itself is stopped (and packs).
( sleep $((budget + 60)) && kill -TERM $$ 2>/dev/null ) </dev/null >/dev/null 2>&1 &
WATCHDOG=$!

# ---- 1. the environment: libraries, GPU, driver, Python ----
t_env=$(now)
candidate_dirs() {
  [ -n "${BATCHCOST_CUDA_LIBS:-}" ] && tr ':' '\n' <<<"$BATCHCOST_CUDA_LIBS" | sed 's/$/\toverride/'
  local d s
  for d in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda /usr/local/cuda-[0-9]*; do
    [ -n "$d" ] && printf '%s\ttoolkit\n' "$d/lib64" "$d/lib" "$d/targets/x86_64-linux/lib"
  done
  for py in python3 python; do
    command -v "$py" >/dev/null || continue
    timeout 30 "$py" -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null
  done | cat - <(ls -d /opt/*/.venv/lib/python3*/site-packages /usr/local/lib/python3*/dist-packages 2>/dev/null) |
    while read -r s; do
      for d in "$s"/nvidia/*/lib; do [ -d "$d" ] && printf '%s\tpip\n' "$d"; done
    done
  printf '%s\tsystem\n' /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/wsl/lib
}
cands=$(candidate_dirs | awk -F'\t' '!seen[$1]++')
find_lib() {  # prints "path<TAB>source" of the first candidate holding soname $1
  local dir src
  while IFS=$'\t' read -r dir src; do
    [ -e "$dir/$1" ] && { printf '%s\t%s\n' "$dir/$1" "$src"; return 0; }
  done <<<"$cands"
  local p
  p=$(ldconfig -p 2>/dev/null | awk -v s="$1" '$1 == s { print $NF; exit }')
  [ -n "$p" ] && { printf '%s\tloader\n' "$p"; return 0; }
  return 1
}
lib_dirs=""
{
  printf '# soname\tpath\tresolves to\tfound in\n'
  for soname in $(cat "$B/needs.txt" 2>/dev/null) libcuda.so.1 libnvidia-ml.so.1; do
    if found=$(find_lib "$soname"); then
      path=${found%%$'\t'*} src=${found##*$'\t'}
      real=$(readlink -f "$path")
      printf '%s\t%s\t%s\t%s\n' "$soname" "$path" "$real" "$src"
      libs+=($'\n    '"{\"soname\": $(json_str "$soname"), \"path\": $(json_str "$path"), \"file\": $(json_str "${real##*/}"), \"found_in\": \"$src\"}")
      [[ ":$lib_dirs:" == *":${path%/*}:"* ]] || lib_dirs+="${lib_dirs:+:}${path%/*}"
    else
      printf '%s\tNOT FOUND\t\t\n' "$soname"
      libs+=($'\n    '"{\"soname\": $(json_str "$soname"), \"path\": null, \"file\": null, \"found_in\": null}")
    fi
  done
} >run/env/libraries.txt
# The user's path first: a forward-compatibility libcuda.so.1 (NGC-style containers on an older
# host driver) must stay in front of the driver's own.
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$B/lib${lib_dirs:+:$lib_dirs}"

# ---- 0. preflight: can this box run this bundle at all? ----
bundle_field() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$B/BUNDLE.json" 2>/dev/null | head -n 1; }
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }
preflight() {  # prints one line and returns 1 where this bundle cannot run here
  local cuda min_driver driver missing
  cuda=$(bundle_field cuda) min_driver=$(bundle_field min_driver)
  driver=$(sed -n 's/.*Kernel Module *\([0-9][0-9.]*\).*/\1/p' "${BATCHCOST_DRIVER_VERSION_FILE:-/proc/driver/nvidia/version}" 2>/dev/null | head -n 1)
  [ -n "$driver" ] || driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)
  # CUDA 12.x runtimes run from driver 525.60.13 on (minor-version compatibility): an older
  # driver than a CUDA 13 bundle needs takes the CUDA 12 one (tools/bundle.sh --cuda 12).
  local other="batchcost-bundle-cuda12.tar.gz instead (tools/bundle.sh --cuda 12; CUDA 12 runs from driver 525.60.13), or update the driver"
  [ "${cuda%%.*}" = 12 ] && other="a newer driver"
  if [ -z "$driver" ]; then
    echo "no NVIDIA driver on this box (no ${BATCHCOST_DRIVER_VERSION_FILE:-/proc/driver/nvidia/version}, no nvidia-smi); this bundle (CUDA ${cuda:-?}) needs driver >= ${min_driver:-?}"
    return 1
  fi
  if [ -n "$min_driver" ] && ! version_ge "$driver" "$min_driver"; then
    echo "this bundle is built with CUDA $cuda and needs an NVIDIA driver >= $min_driver; this box has $driver: carry $other"
    return 1
  fi
  missing=$(awk -F'\t' '$2 == "NOT FOUND" { printf "%s%s", sep, $1; sep = ", " }' run/env/libraries.txt)
  if [ -n "$missing" ]; then
    echo "driver $driver is new enough, but $missing cannot be found (a CUDA ${cuda:-?} toolkit, PyTorch's pip packages, or BATCHCOST_CUDA_LIBS=DIR)"
    return 1
  fi
  [ -n "$min_driver" ] || { echo "driver $driver; this bundle records no min_driver (an older bundle): not checked"; return 0; }
  echo "driver $driver >= $min_driver for CUDA $cuda; every library the bundle needs resolves"
}
preflight_line=$(preflight)
preflight_ok=$?
echo "$preflight_line" >run/env/preflight.txt
if [ "$mode" = preflight ]; then
  kill "$WATCHDOG" 2>/dev/null
  echo "run.sh: preflight: $preflight_line" >&2
  [ $preflight_ok -eq 0 ] && exit 0 || exit 77
fi

# The environment report is bounded as a whole: 90 s, or a tenth of the budget if more.
env_end=$(( $(date +%s) + (budget / 10 > 90 ? budget / 10 : 90) ))
env_left() { local l=$(( env_end - $(date +%s) )); [ "$l" -gt 1 ] && echo "$l" || echo 1; }
capture() {  # FILE CMD...: the command's output (or why there is none) into run/env/FILE
  local file=run/env/$1
  shift
  if command -v "$1" >/dev/null 2>&1; then
    { echo "\$ $*"; timeout "$(min 60 "$(env_left)")" "$@" 2>&1; echo "(exit $?)"; } >"$file"
  else
    echo "$1: not found on this machine" >"$file"
  fi
}
capture nvidia-smi.txt nvidia-smi
capture nvidia-smi-q.txt nvidia-smi -q
capture nvidia-smi-topo.txt nvidia-smi topo -m
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
  echo "kernel: $(uname -a)"
  grep -h '^PRETTY_NAME=' /etc/os-release 2>/dev/null
  echo "cpus: $(nproc)"
  grep -h '^MemTotal' /proc/meminfo 2>/dev/null
  echo "driver: $(cat /proc/driver/nvidia/version 2>/dev/null | head -n 1 || echo none)"
  echo "glibc: $(ldd --version 2>/dev/null | head -n 1)"
  echo "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-<unset>}"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "bundle: $B"
} >run/env/system.txt 2>&1
cp "$B/BUNDLE.json" run/env/BUNDLE.json 2>/dev/null
for d in "${CUDA_HOME:-}" /usr/local/cuda; do  # the toolkit's own record of its version
  [ -n "$d" ] && [ -f "$d/version.json" ] && { cp "$d/version.json" run/env/cuda-version.json; break; }
done
for f in "$B"/bin/* "$B"/tests/*; do
  [ -f "$f" ] && { echo "== ${f#$B/}"; ldd "$f" 2>&1; }
done >run/env/ldd.txt
if command -v python3 >/dev/null; then
  { echo "\$ python3 ($(command -v python3))"; timeout "$(min 120 "$(env_left)")" python3 - <<'EOF' 2>&1; } >run/env/python.txt
import sys
print("python", sys.version.split()[0])
try:
    import torch
except ImportError as e:
    print("torch: not importable:", e)
    sys.exit(0)
from importlib import metadata
for dist in sorted(metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
    if dist.metadata["Name"].lower().startswith(("nvidia-", "torch", "triton")):
        print("package", dist.metadata["Name"], dist.version)
print("torch", torch.__version__, "cuda", torch.version.cuda)
print("cuda available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0))
    try:
        print("nccl", ".".join(map(str, torch.cuda.nccl.version())))
    except Exception as e:
        print("nccl: unknown:", e)
print("TORCH_OK")
EOF
  grep -q '^cuda available True' run/env/python.txt && have_torch=1
else
  echo "python3: not found on this machine" >run/env/python.txt
fi

probe_bin=$B/bin/batchcost-memory
pre=""  # what the preflight found wrong, for the lines that say why nothing ran
[ $preflight_ok -eq 0 ] || pre="; preflight: $preflight_line"
timeout 60 "$probe_bin" --print_gpu >run/env/gpu.txt 2>run/env/gpu-stderr.txt
rc=$?
if [ $rc -eq 0 ] && [ -s run/env/gpu.txt ]; then
  have_gpu=1
  gpu=$(head -n 1 run/env/gpu.txt | tr -cd 'A-Za-z0-9._-' | tr 'A-Z' 'a-z')
  gpu=${gpu:-unknown}
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
  case "$gpu" in
    *h200*) estimate_kind=h200 ;;
    *) estimate_kind=h100 ;;  # the other stated constants: optimistic for a slower GPU, whose
                              # time limit (twice the estimate) then stops it rather than the run
  esac
else
  gpu_reason=$(last_line run/env/gpu-stderr.txt)
  if [ $rc -ne 77 ]; then
    gpu_reason="batchcost-memory --print_gpu exited $rc: ${gpu_reason:-no message}"
    if nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
      add_step env env "" failed "$rc" "$(since "$t_env")" "" "" run/env "$gpu_reason"
      finish 1
      echo "run.sh: a GPU is present but the benchmark binaries cannot run ($gpu_reason)$pre; see run/env/ in $TARBALL" >&2
      exit 1
    fi
  fi
fi
add_step env env "" ok 0 "$(since "$t_env")" "" "" run/env "$gpu_reason"

if [ $have_gpu -eq 0 ]; then
  finish 77
  echo "run.sh: no usable GPU on this machine (${gpu_reason:-batchcost-memory --print_gpu found none})$pre; nothing measured, environment report in $TARBALL" >&2
  exit 77
fi
say "$gpu (${gpu_name:-nvidia-smi gives no name}), budget $budget s, profile ${profile[*]:-default}, libraries: $lib_dirs"

# Seconds kept back for the PyTorch reference (about 20 s on an H200, most of it start-up).
ref_reserve=0
[ $have_torch -eq 1 ] && ref_reserve=90

# ---- 2. the GPU tests: at most a fifth of the budget together ----
phase_end=$(( $(date +%s) + (budget / 5 > 60 ? budget / 5 : 60) ))
for t in "$B"/tests/*; do
  [ -x "$t" ] || continue
  name=test-${t##*/}
  limit=$(min 180 $(( phase_end - $(date +%s) )))
  limit=$(min "$limit" $(( $(left) - ref_reserve )))
  if [ "$limit" -lt 10 ]; then skip "$name" "no time left in the tests' share of the budget" test; continue; fi
  run_step "$name" test "$limit" "" "$t" "--gtest_output=xml:$OUT/run/tests/${t##*/}.xml"
done

# ---- 3. first contact: one benchmark of each risky path, one repetition ----
# name | binary | extra flags | regular expression of the benchmarks it may pick (the first listed)
probes=(
  "probe-fp8_m1|batchcost-gemm||^gemm/[^/]+/fp8_e4m3/m:1/"
  "probe-grouped|batchcost-moe||^moe/[^/]+/grouped/"
  "probe-grouped_d2h|batchcost-moe||^moe/[^/]+/grouped_d2h/"
  "probe-graph_capture|batchcost-moe||^moe/[^/]+/per_expert_graph/"
  "probe-graph_replay|batchcost-launch||^launch/graph_replay/"
  "probe-collective|batchcost-collectives||^collective/"
  "probe-collective_graph|batchcost-collectives|--graph|^collective/"
)
phase_end=$(( $(date +%s) + (budget * 3 / 20 > 60 ? budget * 3 / 20 : 60) ))
for p in "${probes[@]}"; do
  IFS='|' read -r name bin extra regex <<<"$p"
  if [ ! -x "$B/bin/$bin" ]; then skip "$name" "$bin is not in this bundle" probe; continue; fi
  limit=$(min 90 $(( phase_end - $(date +%s) )))
  limit=$(min "$limit" $(( $(left) - ref_reserve )))
  if [ "$limit" -lt 10 ]; then skip "$name" "no time left in the probes' share of the budget" probe; continue; fi
  # shellcheck disable=SC2086 # $extra: zero or one flag
  # The names alone: a message on stderr (Google Benchmark's "Failed to match any benchmarks"
  # where a one-GPU box registers no collective) is never taken for a benchmark to probe.
  listed=$(timeout "$(min 30 "$limit")" "$B/bin/$bin" $extra --benchmark_list_tests \
             "--benchmark_filter=$regex" 2>run/logs/list-$name.log)
  lrc=$?
  if [ $lrc -ne 0 ]; then
    add_step "$name" probe "$bin $extra --benchmark_list_tests" failed "$lrc" "" "" "" "" \
      "listing failed: $(tail -n 1 "run/logs/list-$name.log")"
    failures=$((failures + 1))
    continue
  fi
  pick=$(grep -m1 . <<<"$listed")
  if [ -z "$pick" ]; then skip "$name" "$bin lists no benchmark matching $regex" probe; continue; fi
  exact="^$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$pick")\$"
  # shellcheck disable=SC2086
  run_step "$name" probe "$limit" "" "$B/bin/$bin" $extra "--benchmark_filter=$exact" \
    --benchmark_repetitions=1 --samples=2 "--benchmark_out=$OUT/run/probe/${name#probe-}.json"
done

# ---- 4. the benchmark binaries, as far as the budget goes ----
estimate_of() {  # BIN PROFILE-FLAGS...: seconds from the last line "estimate: N benchmarks, T s"
  local bin=$1 log=run/logs/estimate-${1##*/}${2:+$2}.log lim
  shift
  lim=$(min 30 "$(left)")  # it needs no GPU: a second or two
  [ "$lim" -gt 0 ] || return 0
  timeout "$lim" "$bin" "$@" "--estimate=$estimate_kind" >"$log" 2>&1 </dev/null || return 0
  grep -E '^estimate: *[0-9]+ benchmarks?, *[0-9.]+([eE][+-]?[0-9]+)? *s([^a-z]|$)' "$log" |
    tail -n 1 | sed -E 's/^estimate: *[0-9]+ benchmarks?, *([0-9.eE+-]+) *s.*$/\1/' |
    awk '{ printf "%d", $1 + 0.999 }'
}
# The GPUs the collectives span: those CUDA_VISIBLE_DEVICES leaves, else nvidia-smi's count.
if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
  ngpus=$(tr ',' '\n' <<<"$CUDA_VISIBLE_DEVICES" | grep -c '^ *[0-9A-Za-z]')
else
  ngpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
fi
benches=()
for name in memory launch gemm moe collectives; do
  [ -x "$B/bin/batchcost-$name" ] && benches+=("$name")
done
for i in "${!benches[@]}"; do
  name=${benches[$i]}
  bin=$B/bin/batchcost-$name
  extra=()  # the collectives are priced and run at the box's GPU count
  [ "$name" = collectives ] && [ "${ngpus:-0}" -ge 2 ] && extra=("--max_ranks=$ngpus")
  run_profile=("${profile[@]}")
  est=$(estimate_of "$bin" "${run_profile[@]}" "${extra[@]}")
  avail=$(( $(left) - ref_reserve ))
  if [ -n "$est" ] && [ "$est" -gt "$avail" ] && [ $quick -eq 0 ]; then
    # The default plan does not fit: the quick one, which names a subset of the same benchmarks.
    qest=$(estimate_of "$bin" --quick "${extra[@]}")
    if [ -n "$qest" ] && [ "$qest" -le "$avail" ]; then
      say "bench-$name: its estimate, $est s, exceeds the $avail s left: running --quick ($qest s)"
      run_profile=(--quick) est=$qest
    fi
  fi
  if [ -n "$est" ]; then
    if [ "$est" -gt "$avail" ]; then
      skip "bench-$name" "its estimate, $est s (--quick too), exceeds the $avail s left of the budget" benchmark "$est"
      continue
    fi
    limit=$(min $(( est * 2 + 20 )) "$avail")  # twice the estimate, and start-up
  else
    limit=$(( avail / (${#benches[@]} - i) ))  # no estimate: an equal share of what is left
  fi
  if [ "$limit" -lt 20 ]; then
    skip "bench-$name" "only $avail s left of the budget" benchmark "$est"
    continue
  fi
  # It stops starting benchmarks at its deadline and writes what it finished before the hard
  # limit: a tenth of the limit, at least 10 s, is left for the last benchmark and the write.
  margin=$(( limit / 10 > 10 ? limit / 10 : 10 ))
  RESULT_FILE=$OUT/$name.json
  run_step "bench-$name" benchmark "$limit" "$est" "$bin" "${run_profile[@]}" "${extra[@]}" \
    "--deadline=$(( limit - margin ))" "--benchmark_out=$OUT/$name.json"
  RESULT_FILE=""
done

# ---- 5. PyTorch's GEMM and copy, where python3 has it ----
if [ $have_torch -eq 0 ]; then
  skip reference "python3 has no PyTorch that sees a GPU (run/env/python.txt)" reference
elif [ "$(left)" -lt 30 ]; then
  skip reference "only $(left) s left of the budget" reference
else
  run_step reference reference "$(min 150 "$(left)")" "" python3 "$B/torch_reference.py" \
    "--out=$OUT/reference.json" "${profile[@]}"
fi

status=0
[ $failures -gt 0 ] && status=1
finish $status
echo "run.sh: $gpu: $((${#steps[@]})) steps, $failures failed, ${#skipped[@]} skipped, $(( $(date +%s) - t_start )) s; results in $TARBALL" >&2
exit $status
