#!/usr/bin/env bash
# Brings a calibration home: the tarball that the bundle's run.sh wrote on a GPU box.
#
#   tools/import.sh TARBALL [--results DIR] [--batchcost PATH] [--no-plots]
#
# Checks the tarball (plain files with relative names only; run/manifest.json of schema
# batchcost.run/1 listing every other file with its size and SHA-256, and nothing unlisted),
# unpacks it into DIR/<gpu>/ (default results/<gpu>/) exactly as written, refusing a folder that
# already holds a different run (the same run again is re-fitted, not copied twice), fits
# DIR/<gpu>/model.json with `batchcost fit` (the `reference` family predicted, never fitted),
# renders the plots with tools/plot.py, and prints the constants and our GEMM and copy as ratios
# to PyTorch's in the same run (reference.json, written by tools/torch_reference.py).
#
# A run that did not finish (run.sh killed, or a folder packed by run.sh --pack: complete false),
# steps that were stopped early (partial) and results files marked incomplete are imported too:
# what is missing is listed first, and everything that finished is fitted.
#
# Exit status: 0 imported and fitted; 1 the fit or the plots failed (the unpacked results stay);
# 2 a bad tarball or argument (nothing written).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "import.sh: $*" >&2; exit 2; }

tarball="" results=$src/results batchcost="" plots=1
while [ $# -gt 0 ]; do
  case "$1" in
    --results) [ $# -ge 2 ] || die "--results needs a folder"; results=$2; shift 2 ;;
    --results=*) results=${1#--results=}; shift ;;
    --batchcost) [ $# -ge 2 ] || die "--batchcost needs a path"; batchcost=$2; shift 2 ;;
    --batchcost=*) batchcost=${1#--batchcost=}; shift ;;
    --no-plots) plots=0; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$tarball" ] || die "one TARBALL only ('$tarball', then '$1')"; tarball=$1; shift ;;
  esac
done
[ -n "$tarball" ] || die "usage: tools/import.sh TARBALL [--results DIR] [--batchcost PATH] [--no-plots]"
[ -f "$tarball" ] || die "$tarball: no such file"
if [ -z "$batchcost" ]; then
  for b in "$src"/build/tools/batchcost "$src"/build-*/tools/batchcost; do
    [ -x "$b" ] && { batchcost=$b; break; }
  done
fi
[ -n "$batchcost" ] && [ -x "$batchcost" ] ||
  die "no batchcost fitter (build it: cmake --build --preset default --target batchcost; or --batchcost PATH)"
python=""
for p in python3 /usr/bin/python3; do command -v "$p" >/dev/null && { python=$p; break; }; done
[ -n "$python" ] || die "needs python3 to check the manifest"

# Only regular files and folders with relative names that stay inside the destination.
listing=$(tar -tvzf "$tarball" 2>/dev/null) ||
  die "$tarball: not a readable .tar.gz: $(tar -tzf "$tarball" 2>&1 >/dev/null | tail -n 1)"
bad=$(awk '$1 !~ /^[-d]/ { print "not a plain file or folder: " $NF }' <<<"$listing" | head -n 1)
[ -z "$bad" ] || die "$tarball: $bad"
while IFS= read -r member; do
  case "$member" in
    /*|../*|*/../*|..) die "$tarball: member '$member' would land outside the results folder" ;;
  esac
done < <(tar -tzf "$tarball" 2>/dev/null)

mkdir -p "$results"
stage=$(mktemp -d "$results/.import.XXXXXX")
trap 'rm -rf "$stage"' EXIT
tar -xzf "$tarball" -C "$stage" --no-same-owner || die "$tarball: cannot be unpacked"
[ -f "$stage/run/manifest.json" ] || die "$tarball: no run/manifest.json (not written by the bundle's run.sh)"

# The manifest: its schema, its GPU name, and every file it lists, byte for byte.
gpu=$("$python" - "$stage" "$tarball" <<'EOF'
import hashlib, json, os, re, sys
stage, tarball = sys.argv[1], sys.argv[2]
where = f"{tarball}: run/manifest.json"
def fail(why):
    print(f"import.sh: {where}: {why}", file=sys.stderr)
    sys.exit(2)
try:
    with open(os.path.join(stage, "run", "manifest.json")) as f:
        m = json.load(f)
except ValueError as e:
    fail(f"malformed JSON: {e}")
if not isinstance(m, dict) or m.get("schema") != "batchcost.run/1":
    fail(f"schema is {m.get('schema') if isinstance(m, dict) else None!r}, not 'batchcost.run/1'")
for key, kind in (("gpu", str), ("date", str), ("steps", list), ("files", list),
                  ("complete", bool), ("skipped", list)):
    if not isinstance(m.get(key), kind):
        fail(f'"{key}" is missing or not a {kind.__name__}')
if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", m["gpu"]):
    fail(f'"gpu" {m["gpu"]!r} is not a folder name')
STATUSES = ("ok", "failed", "timeout", "skipped", "partial")
for i, step in enumerate(m["steps"]):
    if not isinstance(step, dict) or not isinstance(step.get("name"), str) or \
       step.get("status") not in STATUSES:
        fail(f"steps[{i}]: needs a name and a status of {', '.join(STATUSES)}")
listed = set()
for i, entry in enumerate(m["files"]):
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        fail(f"files[{i}]: no path")
    path = entry["path"]
    full = os.path.join(stage, path)
    if not os.path.isfile(full):
        fail(f"files[{i}]: {path} is listed but not in the tarball")
    if os.path.getsize(full) != entry.get("bytes"):
        fail(f"files[{i}]: {path} has {os.path.getsize(full)} bytes, the manifest says {entry.get('bytes')}")
    with open(full, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != entry.get("sha256"):
        fail(f"files[{i}]: {path}: SHA-256 differs from the manifest's (damaged or edited)")
    listed.add(path)
for folder, _, names in os.walk(stage):
    for name in names:
        rel = os.path.relpath(os.path.join(folder, name), stage)
        if rel != os.path.join("run", "manifest.json") and rel not in listed:
            fail(f"{rel} is in the tarball but not in the manifest")
if m["gpu"] == "nogpu":
    fail(f"the run found no GPU ({m.get('gpu_reason') or 'no reason given'}): nothing to import")
print(m["gpu"])
EOF
) || exit 2

dest=$results/$gpu
if [ -e "$dest" ]; then
  if [ -f "$dest/run/manifest.json" ] && cmp -s "$dest/run/manifest.json" "$stage/run/manifest.json"; then
    echo "import.sh: $dest already holds this run; fitting it again"
  else
    die "$dest already exists and holds a different run (or one not imported by this script):" \
        "refusing to overwrite it; move it away or import with --results DIR"
  fi
else
  mv "$stage" "$dest"
  chmod 755 "$dest"  # mktemp made it private
  echo "import.sh: unpacked $(basename "$tarball") into $dest"
fi

# What this run does not have: a run that never finished, steps not ok, benchmarks not run.
"$python" - "$dest" <<'EOF'
import glob, json, os, sys
folder = sys.argv[1]
m = json.load(open(os.path.join(folder, "run", "manifest.json")))
missing = []
if not m["complete"]:
    missing.append("the run did not finish (complete: false): steps after the last recorded one never ran")
for s in m["steps"]:
    if s["status"] != "ok":
        missing.append(f"step {s['name']}: {s['status']}" + (f" ({s['reason']})" if s.get("reason") else ""))
for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
    try:
        ctx = json.load(open(path)).get("context", {})
    except (ValueError, OSError):
        continue
    if isinstance(ctx, dict) and ctx.get("incomplete") is True:
        nr = ctx.get("not_run") or []
        missing.append(f"{os.path.basename(path)}: incomplete (stopped by {ctx.get('stopped_by', '?')}): "
                       f"{len(nr)} benchmark(s) not run" + (f", e.g. {nr[0]}" if nr else ""))
if missing:
    print(f"import.sh: this run is missing {len(missing)} thing(s):")
    for x in missing:
        print(f"  - {x}")
EOF

status=0
echo
"$batchcost" fit "$dest" --validate reference --out "$dest/model.json" || status=1
if [ $status -eq 0 ] && [ $plots -eq 1 ]; then
  plotter=""
  for p in python3 /usr/bin/python3; do
    command -v "$p" >/dev/null && "$p" -c "import matplotlib" 2>/dev/null && { plotter=$p; break; }
  done
  if [ -n "$plotter" ]; then
    echo
    "$plotter" "$src/tools/plot.py" "$dest" --batchcost "$batchcost" || status=1
  else
    echo "import.sh: no python3 with matplotlib: plots skipped (Debian: python3-matplotlib)" >&2
  fi
fi

# The run's steps: what each cost against its estimate (for the results folder's README).
echo
"$python" - "$dest/run/manifest.json" <<'EOF' || status=1
import json, sys
m = json.load(open(sys.argv[1]))
print(f"the run: {m['gpu']} ({m.get('gpu_name') or '?'}), {m.get('command', '?')}, "
      f"{m.get('wall_s', '?')} s, exit status {m.get('exit_status')}")
print(f"  {'step':28} {'status':8} {'wall s':>8} {'estimate s':>10}  reason")
fmt = lambda v: "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))
for s in m["steps"]:
    print(f"  {s['name']:28} {s['status']:8} {fmt(s.get('wall_s')):>8} "
          f"{fmt(s.get('estimate_s')):>10}  {(s.get('reason') or '')[:70]}")
EOF

# Our GEMM and copy against PyTorch's in the same run: each reference benchmark's label names
# its counterparts; the median time of each, and the ratio ours / PyTorch's (below 1: faster).
echo
"$python" - "$dest" <<'EOF' || status=1
import glob, json, os, sys
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
folder = sys.argv[1]
times = {}  # run name -> (seconds, work counters)
for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
    if os.path.basename(path) == "model.json":
        continue
    with open(path) as f:
        doc = json.load(f)
    reps = {}
    for e in doc.get("benchmarks", []):
        if e.get("error_occurred"):
            continue
        run = e.get("run_name", e["name"])
        if e.get("run_type") == "aggregate":
            if e.get("aggregate_name") == "median":
                times[run] = (e["real_time"] * UNIT[e["time_unit"]], e, e.get("label", ""))
        else:
            reps.setdefault(run, []).append((e["real_time"] * UNIT[e["time_unit"]], e))
    for run, rs in reps.items():
        if run not in times:
            rs.sort(key=lambda r: r[0])
            t, e = rs[len(rs) // 2]
            times[run] = (t, e, e.get("label", ""))
# Google Benchmark appends /manual_time to manually timed benchmarks: match with or without it.
base = lambda name: name[: -len("/manual_time")] if name.endswith("/manual_time") else name
times.update({base(n): v for n, v in list(times.items())})
refs = {n: v for n, v in times.items() if n.startswith("reference/") and n == base(n)}
if not refs:
    print("ratios to PyTorch: no reference.json in this run (python3 had no PyTorch, or it failed)")
    sys.exit(0)
print("ours against PyTorch in the same run (median times; ratio = ours / PyTorch's, below 1 is faster)")
for name, (t_ref, e_ref, label) in sorted(refs.items()):
    pairs = dict(p.split("=", 1) for p in label.split() if "=" in p)
    rate = lambda t, e: (f"{e['flops'] / t / 1e12:8.1f} TFLOP/s" if e.get("flops")
                         else f"{e.get('bytes', 0) / t / 1e12:8.3f} TB/s")
    print(f"  {name}: {t_ref * 1e3:.3f} ms, {rate(t_ref, e_ref)}")
    for ours in filter(None, pairs.get("counterpart", "").split(",")):
        if base(ours) in times:
            t, e, _ = times[base(ours)]
            print(f"    {ours}: {t * 1e3:.3f} ms, {rate(t, e)}, ratio {t / t_ref:.3f}")
        else:
            print(f"    {ours}: not in this run (a --quick profile, or it failed)")
EOF
exit $status
