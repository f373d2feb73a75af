#!/usr/bin/env bash
# tools/import.sh on a small synthetic calibration tarball (tests/make_run_tarball.py: the plot
# fixture's results, a PyTorch reference 1.25x faster at the GEMM and 0.8x at the copy, and a
# manifest), always into a temporary results folder: it unpacks exactly what was written, fits
# model.json without the reference family, prints the constants and the two ratios; the same
# run again is re-fitted; a different run, a damaged or edited file, an unlisted file, a member
# outside the folder or a bad manifest are refused with exit 2 and leave nothing behind.
#   import_test.sh SOURCE_DIR WORK_DIR BATCHCOST
set -u
src=$1 work=$2 batchcost=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
make_tarball() { python3 "$src/tests/make_run_tarball.py" --results "$src/tests/data/plot/h100" "$@"; }
import() { "$src/tools/import.sh" "$1" --results "$work/results" --batchcost "$batchcost" --no-plots; }
refused() {  # TARBALL WHAT-THE-MESSAGE-SAYS
  local before after
  before=$(find "$work/results" -type f -exec sha256sum {} + 2>/dev/null | sort)
  import "$1" >"$work/refused.log" 2>&1
  local rc=$?
  [ $rc -eq 2 ] || fail "$1: exit $rc, expected 2: $(cat "$work/refused.log")"
  grep -qF -- "$2" "$work/refused.log" || fail "$1: message lacks '$2': $(cat "$work/refused.log")"
  after=$(find "$work/results" -type f -exec sha256sum {} + 2>/dev/null | sort)
  [ "$before" = "$after" ] || fail "$1: the refused import changed $work/results"
  [ -z "$(find "$work/results" -maxdepth 1 -name '.import.*')" ] || fail "$1: left a staging folder"
}

make_tarball --gpu h100-sxm --out "$work/run.tar.gz" || fail "make_run_tarball.py failed"
# The first import renders the plots too, where some python3 has matplotlib.
"$src/tools/import.sh" "$work/run.tar.gz" --results "$work/results" --batchcost "$batchcost" \
  >"$work/import.log" 2>&1 || fail "import.sh failed: $(cat "$work/import.log")"
if python3 -c "import matplotlib" 2>/dev/null || /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  [ -f "$work/results/h100-sxm/roofline.png" ] || fail "no plots: $(cat "$work/import.log")"
fi
dest=$work/results/h100-sxm
for f in gemm.json memory.json reference.json run/manifest.json run/logs/bench-gemm.log model.json; do
  [ -f "$dest/$f" ] || fail "no $dest/$f"
done
mkdir -p "$work/check" && tar -xzf "$work/run.tar.gz" -C "$work/check"
for f in gemm.json reference.json run/manifest.json; do
  cmp -s "$work/check/$f" "$dest/$f" || fail "$f was not unpacked exactly as written"
done
grep -q "^P\[bf16\]" "$work/import.log" || fail "no constants printed: $(cat "$work/import.log")"
grep -q "reference *validate" "$work/import.log" || fail "the reference family was not kept out of the fit"
grep -q "gemm/bf16/m:8192/n:8192/k:8192/manual_time: .* ratio 1.250$" "$work/import.log" ||
  fail "no GEMM ratio 1.250: $(cat "$work/import.log")"
grep -q "memory/copy_kernel/bytes:1073741824/manual_time: .* ratio 0.800$" "$work/import.log" ||
  fail "no copy ratio 0.800: $(cat "$work/import.log")"

# The same run again: re-fitted; another run of the same GPU: refused.
import "$work/run.tar.gz" >"$work/again.log" 2>&1 || fail "re-import failed: $(cat "$work/again.log")"
grep -q "already holds this run" "$work/again.log" || fail "re-import: $(cat "$work/again.log")"
make_tarball --gpu h100-sxm --date 20261202T000000Z --out "$work/other.tar.gz"
refused "$work/other.tar.gz" "already exists and holds a different run"

# Damaged tarballs, each for a new GPU name so that only the damage can refuse them.
tamper() {  # NAME EDIT-COMMAND...: a copy of a fresh run for GPU NAME, edited in its folder
  local name=$1
  shift
  rm -rf "$work/t" && mkdir -p "$work/t"
  make_tarball --gpu "$name" --out "$work/t.tar.gz" && tar -xzf "$work/t.tar.gz" -C "$work/t"
  (cd "$work/t" && "$@") || fail "tamper $name: the edit failed"
  tar -czf "$work/$name.tar.gz" -C "$work/t" .
}
tamper edited sed -i '0,/manual_time/s//manual_tiME/' gemm.json  # same size, other bytes
refused "$work/edited.tar.gz" "gemm.json: SHA-256 differs"
tamper extra sh -c 'echo "{}" >stray.json'
refused "$work/extra.tar.gz" "stray.json is in the tarball but not in the manifest"
tamper missing rm memory.json
refused "$work/missing.tar.gz" "memory.json is listed but not in the tarball"
tamper schema sed -i 's#batchcost.run/1#batchcost.run/9#' run/manifest.json
refused "$work/schema.tar.gz" "not 'batchcost.run/1'"
tamper cut sh -c 'head -c 200 run/manifest.json >m && mv m run/manifest.json'
refused "$work/cut.tar.gz" "malformed JSON"
# A run that did not finish (run.sh killed, a folder packed by run.sh --pack) is imported, its
# missing parts listed; so is a step stopped at its deadline, and a results file marked incomplete.
tamper unfinished sh -c 'sed -i -e "s#\"complete\": true#\"complete\": false#" run/manifest.json &&
  python3 -c "import json,hashlib,sys
m=json.load(open(\"run/manifest.json\")); d=json.load(open(\"gemm.json\"))
d[\"context\"].update(incomplete=True, stopped_by=\"deadline\", not_run=[\"gemm/x\"])
open(\"gemm.json\",\"w\").write(json.dumps(d))
m[\"steps\"].append(dict(name=\"bench-gemm\", status=\"partial\", reason=\"stopped at its --deadline\"))
for f in m[\"files\"]:
    if f[\"path\"] == \"gemm.json\":
        b=open(\"gemm.json\",\"rb\").read(); f[\"bytes\"]=len(b); f[\"sha256\"]=hashlib.sha256(b).hexdigest()
json.dump(m, open(\"run/manifest.json\",\"w\"))"'
import "$work/unfinished.tar.gz" >"$work/unfinished.log" 2>&1 ||
  fail "an unfinished run was refused: $(cat "$work/unfinished.log")"
for what in "the run did not finish" "step bench-gemm: partial" \
            "gemm.json: incomplete (stopped by deadline): 1 benchmark(s) not run"; do
  grep -qF "$what" "$work/unfinished.log" || fail "unfinished: no '$what': $(cat "$work/unfinished.log")"
done
tamper badname sed -i 's#"gpu": "badname"#"gpu": "../up"#' run/manifest.json
refused "$work/badname.tar.gz" "is not a folder name"
tamper nomanifest rm run/manifest.json
refused "$work/nomanifest.tar.gz" "no run/manifest.json"
echo x >"$work/evil.json"  # GNU tar strips ../ when it writes; Python's tarfile does not
python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "w:gz").add(sys.argv[2], "../evil.json")' \
  "$work/escape.tar.gz" "$work/evil.json"
refused "$work/escape.tar.gz" "would land outside the results folder"
echo "not a tarball" >"$work/junk.tar.gz"
refused "$work/junk.tar.gz" "not a readable .tar.gz"
refused "$work/absent.tar.gz" "no such file"
[ ! -e "$work/results/edited" ] && [ ! -e "$work/results/up" ] || fail "a refused run was unpacked"
echo "ok: imported, re-fitted, imported an unfinished run, and refused 10 bad tarballs"
