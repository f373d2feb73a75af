#!/usr/bin/env bash
# The bundle as CI can check it: tools/bundle.sh packages this build (--from), within 20 MiB,
# with every binary, Google Benchmark's library and run.sh; unpacked and run where no GPU is
# visible (CUDA_VISIBLE_DEVICES=-1, so on any machine) with a bare environment, run.sh says so on
# one line, exits 77 and leaves a tarball whose run/manifest.json import.sh accepts as a manifest
# (and refuses as a run without a GPU). Also: the size limit, and run.sh's usage errors.
#   bundle_test.sh SOURCE_DIR BUILD_DIR WORK_DIR BATCHCOST
set -u
src=$1 build=$2 work=$3 batchcost=$4
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

# The size limit: a bundle over it is an error and leaves no tarball.
BATCHCOST_BUNDLE_MAX_BYTES=1000 "$src/tools/bundle.sh" --from "$build" --out "$work/small.tar.gz" \
  >"$work/small.log" 2>&1 && fail "a 1000-byte limit was not enforced"
grep -q "over the limit of 1000" "$work/small.log" || fail "no size message: $(cat "$work/small.log")"
# A build without CUDA is refused in words (it once ended silently under set -e).
mkdir -p "$work/nocuda" && echo "CMAKE_BUILD_TYPE:STRING=Release" >"$work/nocuda/CMakeCache.txt"
"$src/tools/bundle.sh" --from "$work/nocuda" --out "$work/nocuda.tar.gz" >"$work/nocuda.log" 2>&1
[ $? -eq 2 ] && grep -q "configured without CUDA" "$work/nocuda.log" && [ ! -e "$work/nocuda.tar.gz" ] ||
  fail "a build without CUDA: $(cat "$work/nocuda.log")"
[ ! -e "$work/small.tar.gz" ] || fail "an oversized bundle was left behind"
"$src/tools/bundle.sh" --from "$build" 90-real >/dev/null 2>&1 && fail "ARCHS with --from accepted"

"$src/tools/bundle.sh" --from "$build" --out "$work/bundle.tar.gz" || fail "bundle.sh failed"
size=$(stat -c %s "$work/bundle.tar.gz")
[ "$size" -le $((20 * 1024 * 1024)) ] || fail "the bundle is $size bytes, over 20 MiB"
tar -xzf "$work/bundle.tar.gz" -C "$work" || fail "the bundle does not unpack"
b=$work/batchcost-bundle
for f in run.sh torch_reference.py needs.txt BUNDLE.json bin/batchcost-memory bin/batchcost-gemm \
         bin/batchcost-launch bin/batchcost-moe tests/gpu_kernels_test tests/gpu_gemm_test; do
  [ -e "$b/$f" ] || fail "the bundle lacks $f"
done
ls "$b"/lib/libbenchmark.so* >/dev/null 2>&1 || fail "the bundle lacks Google Benchmark's library"
grep -qx 'libcudart.so.[0-9]*' "$b/needs.txt" || fail "needs.txt does not name libcudart: $(cat "$b/needs.txt")"
python3 - "$b/BUNDLE.json" <<'EOF' || fail "BUNDLE.json is wrong"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["schema"] == "batchcost.bundle/1" and m["build_type"], m
assert any(c.startswith(("sm_", "compute_")) for c in m["cuda_code"]), m["cuda_code"]
assert m["requires"]["glibc"] and m["requires"]["glibcxx"], m["requires"]
assert "batchcost-memory" in m["benchmarks"] and m["bundled_libraries"], m
EOF

# Usage errors: exit 2, nothing run.
"$b/run.sh" >/dev/null 2>&1; [ $? -eq 2 ] || fail "run.sh without --out did not exit 2"
"$b/run.sh" --out "$work/x" --budget soon >/dev/null 2>&1; [ $? -eq 2 ] || fail "--budget soon accepted"
mkdir -p "$work/full" && touch "$work/full/old.json"
"$b/run.sh" --out "$work/full" >/dev/null 2>&1; [ $? -eq 2 ] || fail "a non-empty --out accepted"

# No GPU: one line, exit 77, a tarball with the manifest and the environment report.
env -i PATH=/usr/bin:/bin HOME="$work" CUDA_VISIBLE_DEVICES=-1 \
  "$b/run.sh" --out "$work/out" --budget 60 >"$work/stdout" 2>"$work/stderr"
rc=$?
[ $rc -eq 77 ] || fail "run.sh exit status $rc, expected 77; stderr: $(cat "$work/stderr")"
[ ! -s "$work/stdout" ] || fail "run.sh wrote to stdout: $(cat "$work/stdout")"
[ "$(wc -l <"$work/stderr")" -eq 1 ] || fail "not one line: $(cat "$work/stderr")"
grep -q "^run.sh: no usable GPU" "$work/stderr" || fail "the line does not say 'no usable GPU'"
tarballs=("$work"/out/batchcost-nogpu-*.tar.gz)
[ ${#tarballs[@]} -eq 1 ] && [ -f "${tarballs[0]}" ] || fail "no single batchcost-nogpu-*.tar.gz in $work/out"
grep -qF "${tarballs[0]}" "$work/stderr" || fail "the line does not name the tarball"
members=$(tar -tzf "${tarballs[0]}")
for f in run/manifest.json run/env/system.txt run/env/libraries.txt run/env/nvidia-smi.txt run/env/ldd.txt; do
  grep -qx "$f" <<<"$members" || fail "the tarball lacks $f"
done
mkdir -p "$work/unpacked" && tar -xzf "${tarballs[0]}" -C "$work/unpacked"
python3 - "$work/unpacked/run/manifest.json" <<'EOF' || fail "the manifest is wrong"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["schema"] == "batchcost.run/1" and m["gpu"] == "nogpu", m
assert m["complete"] is True and m["exit_status"] == 77, m
assert [s["name"] for s in m["steps"]] == ["env"], m["steps"]
assert "no usable CUDA GPU" in m["gpu_reason"], m["gpu_reason"]
libs = {l["soname"]: l for l in m["libraries"]}
assert any(n.startswith("libcudart") for n in libs), libs
assert m["bundle"]["schema"] == "batchcost.bundle/1", m["bundle"]
assert {f["path"] for f in m["files"]} >= {"run/env/system.txt", "run/env/libraries.txt"}
EOF
# The bundled Google Benchmark is the one the binaries load.
grep -q "libbenchmark.*=> $b/lib/" "$work/unpacked/run/env/ldd.txt" ||
  fail "the binaries do not load the bundled libbenchmark: $(grep libbenchmark "$work/unpacked/run/env/ldd.txt")"

# import.sh reads this manifest (it passes every check) and refuses a run without a GPU.
"$src/tools/import.sh" "${tarballs[0]}" --results "$work/results" --batchcost "$batchcost" \
  >"$work/import.log" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "import.sh of a no-GPU run exited $rc, expected 2: $(cat "$work/import.log")"
grep -q "the run found no GPU" "$work/import.log" || fail "import.sh: $(cat "$work/import.log")"
[ -z "$(ls -A "$work/results")" ] || fail "import.sh left files in $work/results: $(ls -A "$work/results")"
# The preflight: BUNDLE.json names the CUDA version and the driver it needs; a driver older than
# that is refused in one line naming both, before anything runs; no driver at all likewise.
grep -q '^  "cuda": "[0-9][0-9]*\.[0-9]*",$' "$b/BUNDLE.json" || fail "BUNDLE.json has no cuda"
need=$(sed -n 's/^  "min_driver": "\([0-9.]*\)",$/\1/p' "$b/BUNDLE.json")
[ -n "$need" ] || fail "BUNDLE.json has no min_driver: $(cat "$b/BUNDLE.json")"
echo "NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.57.02  Tue Jul 13 16:14:05 UTC 2021" >"$work/driver"
BATCHCOST_DRIVER_VERSION_FILE=$work/driver "$b/run.sh" --preflight 2>"$work/preflight.err"
rc=$?
[ $rc -eq 77 ] || fail "--preflight with driver 470 exited $rc: $(cat "$work/preflight.err")"
grep -qF "needs an NVIDIA driver >= $need; this box has 470.57.02" "$work/preflight.err" ||
  fail "--preflight does not name both drivers: $(cat "$work/preflight.err")"
BATCHCOST_DRIVER_VERSION_FILE=$work/absent PATH=/usr/bin:/bin "$b/run.sh" --preflight 2>"$work/preflight.err"
[ $? -eq 77 ] && grep -q "no NVIDIA driver on this box.*needs driver >= $need" "$work/preflight.err" ||
  fail "--preflight without a driver: $(cat "$work/preflight.err")"
echo "ok: $(cat "$work/stderr")"
