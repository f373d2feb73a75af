#!/usr/bin/env bash
# The bundle as tools/bundle.sh builds it for a GPU box (not --from): a Release build with
# libstdc++ and Google Benchmark linked statically, so that no file in it needs more than
# glibc 2.34 or GLIBCXX_3.4.29 (RHEL 9), by the dynamic symbols' versions (objdump -T) and by
# the version references (objdump -p); BUNDLE.json records the CUDA version, the lowest driver
# and the sonames the box must provide. `--cuda 12` builds a CUDA 12 bundle where a CUDA 12
# toolkit is found (CUDA12_HOME, /usr/local/cuda-12.*) or PyPI's wheels and clang++-22 are here,
# and is refused in words, exit 2 and no tarball, where neither is. Bad --cuda values are refused.
#   bundle_static_test.sh SOURCE_DIR WORK_DIR
set -u
src=$1 work=$2
# The build folder is kept between runs (a rebuild is incremental); the rest is made anew.
mkdir -p "$work" && find "$work" -mindepth 1 -maxdepth 1 ! -name build13 ! -name build12 -exec rm -rf {} +
fail() { echo "FAIL: $*"; exit 1; }

# Every ELF file of an unpacked bundle against the limits; $1 the bundle folder, $2 its CUDA major.
check_bundle() {
  local b=$1 major=$2 f v bad=""
  for f in "$b"/bin/* "$b"/tests/* "$b"/lib/*; do
    [ -f "$f" ] || continue
    for v in $( (objdump -T "$f"; objdump -p "$f") 2>/dev/null | grep -oE 'GLIBC(XX)?_[0-9.]+' | sort -u); do
      case $v in
        GLIBCXX_*) [ "$(printf '%s\n' "${v#GLIBCXX_}" 3.4.29 | sort -V | tail -n 1)" = 3.4.29 ] || bad+=" ${f##*/}:$v" ;;
        GLIBC_*) [ "$(printf '%s\n' "${v#GLIBC_}" 2.34 | sort -V | tail -n 1)" = 2.34 ] || bad+=" ${f##*/}:$v" ;;
      esac
    done
  done
  [ -z "$bad" ] || fail "CUDA $major bundle: files need more than glibc 2.34 / GLIBCXX_3.4.29:$bad"
  python3 - "$b/BUNDLE.json" "$major" <<'PY' || fail "CUDA $major bundle: BUNDLE.json is wrong"
import json, sys
m, major = json.load(open(sys.argv[1])), sys.argv[2]
assert m["cuda"].split(".")[0] == major, m["cuda"]
assert m["min_driver"] == {"13": "580.65.06", "12": "525.60.13"}[major], m["min_driver"]
assert f"libcudart.so.{major}" in m["needs"] and "libnccl.so.2" in m["needs"], m["needs"]
g = m["requires"]["glibc"]
assert g and tuple(map(int, g.split("."))) <= (2, 34), m["requires"]
x = m["requires"]["glibcxx"]
assert x is None or tuple(map(int, x.split("."))) <= (3, 4, 29), m["requires"]
assert not any(l.startswith("libbenchmark") for l in m["bundled_libraries"]), m["bundled_libraries"]
assert "batchcost-gemm" in m["benchmarks"], m["benchmarks"]
PY
  [ "$(wc -l <"$b/needs.txt")" -ge 3 ] || fail "CUDA $major bundle: needs.txt: $(cat "$b/needs.txt")"
}

for bad in 11 thirteen; do
  "$src/tools/bundle.sh" --cuda "$bad" --out "$work/bad.tar.gz" >"$work/bad.log" 2>&1
  [ $? -eq 2 ] && grep -q -- "--cuda '$bad': 12 or 13" "$work/bad.log" || fail "--cuda $bad: $(cat "$work/bad.log")"
done
[ ! -e "$work/bad.tar.gz" ] || fail "a refused --cuda left a tarball"

"$src/tools/bundle.sh" --build "$work/build13" --out "$work/cuda13.tar.gz" >"$work/cuda13.log" 2>&1 ||
  fail "tools/bundle.sh: $(tail -5 "$work/cuda13.log")"
mkdir -p "$work/13" && tar -xzf "$work/cuda13.tar.gz" -C "$work/13" || fail "the CUDA 13 bundle does not unpack"
check_bundle "$work/13/batchcost-bundle" 13
"$work/13/batchcost-bundle/bin/batchcost-memory" --estimate=h200 --quick | tail -n 1 | grep -q '^estimate: ' ||
  fail "the static batchcost-memory does not run here"

# The CUDA 12 bundle: with a CUDA 12 toolkit where there is one; else against PyPI's cu12 wheels
# with clang++-22 where both are here (tools/setup.sh --bundle-cuda12; never fetched by the test);
# else refused in words, exit 2 and no tarball.
cuda12="" wheels=""
for d in "${CUDA12_HOME:-}" $(ls -d /usr/local/cuda-12.* 2>/dev/null); do
  [ -n "$d" ] && [ -x "$d/bin/nvcc" ] && { cuda12=$d; break; }
done
[ -z "$cuda12" ] && [ -f "$src/.deps/cuda-12.9/ASSEMBLED" ] &&
  command -v "${CUDA12_CLANG:-clang++-22}" >/dev/null && wheels=$src/.deps/cuda-12.9
build12() {
  BATCHCOST_NO_FETCH=1 "$src/tools/bundle.sh" --cuda 12 --build "$work/build12" \
    --out "$work/cuda12.tar.gz" >"$work/cuda12.log" 2>&1
}
if [ -n "$cuda12" ] || [ -n "$wheels" ]; then
  if [ -n "$cuda12" ]; then export CUDA12_HOME=$cuda12; else unset CUDA12_HOME; fi
  build12 || fail "tools/bundle.sh --cuda 12 (${cuda12:-PyPI wheels}): $(tail -5 "$work/cuda12.log")"
  mkdir -p "$work/12" && tar -xzf "$work/cuda12.tar.gz" -C "$work/12" || fail "the CUDA 12 bundle does not unpack"
  check_bundle "$work/12/batchcost-bundle" 12
  if [ -n "$wheels" ]; then
    python3 - "$work/12/batchcost-bundle/BUNDLE.json" <<'PY' || fail "CUDA 12 bundle (wheels): BUNDLE.json is wrong"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["cuda"] == "12.9" and m["nvcc"] is None, (m["cuda"], m["nvcc"])
assert m["cuda_compiler"].startswith("Clang "), m["cuda_compiler"]
assert "sm_90" in m["cuda_code"] and "compute_90" in m["cuda_code"], m["cuda_code"]
PY
  fi
  "$work/12/batchcost-bundle/bin/batchcost-memory" --estimate=h200 --quick | tail -n 1 | grep -q '^estimate: ' ||
    fail "the CUDA 12 batchcost-memory does not run here"
  echo "CUDA 12 bundle built with ${cuda12:-the PyPI cu12 wheels and clang}"
else
  (unset CUDA12_HOME; build12)
  rc=$?
  [ $rc -eq 2 ] || fail "--cuda 12 without a CUDA 12 toolkit: exit $rc, expected 2: $(cat "$work/cuda12.log")"
  grep -q "no CUDA 12 toolkit here (CUDA12_HOME, /usr/local/cuda-12.\*)" "$work/cuda12.log" ||
    fail "--cuda 12: $(cat "$work/cuda12.log")"
  [ ! -e "$work/cuda12.tar.gz" ] || fail "--cuda 12 without a toolkit left a tarball"
  echo "no CUDA 12 toolkit here: --cuda 12 refused as it should be"
fi
echo "ok"
