#!/usr/bin/env bash
# The smoke runs' results are fitted: `batchcost fit` must read every JSON the benchmark binaries
# wrote in their smoke tests (2 repetitions each) and write a model. Where no GPU ran them there
# is nothing to fit: skipped (77), saying so.
#   fit_smoke.sh BATCHCOST SMOKE_DIR
set -u
exe=$1 dir=$2
shopt -s nullglob
files=("$dir"/*.json)
if [ ${#files[@]} -eq 0 ]; then
  echo "skipped: no smoke results in $dir (no GPU ran the smoke tests)"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$exe" fit "${files[@]}" --out "$out/model.json" || { echo "FAIL: batchcost fit ${files[*]}"; exit 1; }
[ -s "$out/model.json" ] || { echo "FAIL: no model written"; exit 1; }
echo "ok: fitted ${#files[@]} smoke result file(s)"
