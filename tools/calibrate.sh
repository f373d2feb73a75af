#!/usr/bin/env bash
# Fits the shipped calibrations, tools/calibrated/<gpu>.json, from the published reference sets
# of each GPU type (reference/*/README.md says where each comes from). `--hardware h100|h200` in
# predict and serve prices with them; what no set measures comes from tools/stated/ and is marked
# stated (predict/hardware.h).
#
#   tools/calibrate.sh [--batchcost EXE]           refit and write tools/calibrated/*.json
#   tools/calibrate.sh [--batchcost EXE] --check   change nothing; exit 1 naming a calibration
#                                                  that is missing or differs from a refit
#                                                  (every number within 1e-6, the batchcost
#                                                  version that wrote it aside)
set -euo pipefail
cd "$(dirname "$0")/.."

exe=build/tools/batchcost check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --batchcost) exe=${2:?--batchcost needs a path}; shift 2 ;;
    --check) check=1; shift ;;
    *) echo "tools/calibrate.sh: unknown argument '$1' (--batchcost EXE, --check)" >&2; exit 2 ;;
  esac
done
[ -x "$exe" ] || { echo "tools/calibrate.sh: $exe is not an executable (build first, or --batchcost EXE)" >&2; exit 2; }

# One line per calibration: its file stem, then the reference sets of that GPU type, within one
# node. NOTES: the 16-GPU sets (reference/h100-ib16-nccl-tests-290, reference/h100-a3mega16)
# measure two clusters' inter-node networks, which disagree with each other far beyond their
# intervals (batchcost fit on both says so): a property of a cluster, not of the GPU type, so
# they stay reference sets of their own.
calibrations=(
  "h100-sxm reference/h100-azure-ndv5 reference/h100-nvlink8-nccl-tests-290"
  "h200 reference/h200-azure-ndv5"
)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
bad=0
for line in "${calibrations[@]}"; do
  read -r stem sets <<< "$line"
  # shellcheck disable=SC2086 # the sets are one word each
  "$exe" fit $sets --out "$scratch/$stem.json" > "$scratch/$stem.log" 2>&1 || {
    cat "$scratch/$stem.log" >&2
    echo "tools/calibrate.sh: fitting $stem failed" >&2
    exit 1
  }
  dest=tools/calibrated/$stem.json
  if [ $check -eq 1 ]; then
    python3 - "$dest" "$scratch/$stem.json" <<'PY' || bad=1
import json, math, sys
def load(p):
    try:
        with open(p) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{sys.argv[1]}: missing or unreadable ({e}): run tools/calibrate.sh")
    d.pop("batchcost", None)
    return d
def same(a, b, where):
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{where}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            r = same(a[k], b[k], f"{where}.{k}")
            if r: return r
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b): return f"{where}: {len(a)} != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            r = same(x, y, f"{where}[{i}]")
            if r: return r
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if not math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-300):
            return f"{where}: {a} != {b}"
    elif a != b:
        return f"{where}: {a!r} != {b!r}"
    return None
r = same(load(sys.argv[1]), load(sys.argv[2]), "")
if r:
    sys.exit(f"{sys.argv[1]} differs from a refit of its reference sets ({r}): run tools/calibrate.sh")
PY
  else
    cp "$scratch/$stem.json" "$dest.partial" && mv "$dest.partial" "$dest"
    echo "wrote $dest ($sets)"
  fi
done
exit $bad
