#!/usr/bin/env bash
# Builds the self-contained bundle that calibrates a GPU box with no compiler, network or
# package manager (tools/bundle/run.sh runs it there; tools/import.sh brings the results home).
#
#   tools/bundle.sh [ARCHS]                  Release build in build-bundle/ for ARCHS (CMake's
#                                            CUDA architectures; default "90-real;90-virtual":
#                                            sm_90 code and compute_90 PTX), then the bundle
#   tools/bundle.sh --from BUILD_DIR         package an existing build instead (CI: build-ci)
#   tools/bundle.sh ... --out FILE           write FILE, not build/batchcost-bundle.tar.gz
#
# The tarball holds batchcost-bundle/: run.sh, bin/ (the benchmark binaries), tests/ (the GPU
# test binaries), lib/ (every shared library they need that is not libc, libstdc++, CUDA, NCCL or
# the driver: Google Benchmark's, and whatever else ldd shows), stated/ (tools/stated/*.json),
# torch_reference.py, needs.txt (the CUDA and NCCL sonames run.sh must find on the box) and
# BUNDLE.json (what was built, from which commit, for which architectures). At most 20 MiB
# (BATCHCOST_BUNDLE_MAX_BYTES overrides, for tests): larger is an error and no tarball.
set -Eeuo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
# Under set -e a failing step would end the script without a word: say which command failed.
trap 'rc=$?; echo "bundle.sh: failed (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR

die() { echo "bundle.sh: $*" >&2; exit 2; }

from="" out="$src/build/batchcost-bundle.tar.gz" archs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || die "--from needs a build folder"; from=$2; shift 2 ;;
    --from=*) from=${1#--from=}; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a file name"; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$archs" ] || die "one ARCHS argument only (a CMake list: \"90-real;100-real\")"
       archs=$1; shift ;;
  esac
done
max_bytes=${BATCHCOST_BUNDLE_MAX_BYTES:-$((20 * 1024 * 1024))}
[[ $max_bytes =~ ^[0-9]+$ ]] || die "BATCHCOST_BUNDLE_MAX_BYTES='$max_bytes' is not a byte count"

if [ -n "$from" ]; then
  [ -z "$archs" ] || die "ARCHS and --from exclude each other: an existing build has its own"
  [ -f "$from/CMakeCache.txt" ] || die "--from $from: not a CMake build folder (no CMakeCache.txt)"
  build=$(cd "$from" && pwd)
else
  # "sm_90 compute_90" or "90,100" become CMake's list; a bare number means its machine code.
  archs=${archs:-90-real;90-virtual}
  archs=$(echo "$archs" | tr ', ' ';;' | sed -e 's/sm_\([0-9a-z]*\)/\1-real/g' \
            -e 's/compute_\([0-9a-z]*\)/\1-virtual/g' -e 's/;;*/;/g' -e 's/^;//' -e 's/;$//')
  arch_re='^[0-9a-z;-]+$'
  [[ $archs =~ $arch_re ]] || die "ARCHS '$archs' is not a list of CUDA architectures"
  build=$src/build-bundle
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        "-DCMAKE_CUDA_ARCHITECTURES=$archs" -DBATCHCOST_BUILD_TESTS=ON >/dev/null
fi
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n 1; }
build_type=$(cache_value CMAKE_BUILD_TYPE)
# The GPU code the build emits, from its compile lines: sm_XX is machine code, compute_XX PTX.
flag_files=("$build/build.ninja")
while IFS= read -r f; do flag_files+=("$f"); done < <(find "$build" -name flags.make)
built_archs=$(grep -hoE 'arch=compute_[0-9a-z]+,code=\[?[a-z0-9_,]+' "${flag_files[@]}" 2>/dev/null |
              sed -E 's/.*code=\[?//' | tr ',' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//' || true)
[ -n "$built_archs" ] || die "$build was configured without CUDA: no GPU binary to bundle"
[[ " $built_archs " == *" sm_90 "* || " $built_archs " == *" compute_"[0-8]?" "* ||
   " $built_archs " == *" compute_90 "* ]] ||
  echo "bundle.sh: warning: no sm_90 code or PTX an H100/H200 can run in '$built_archs'" >&2
nvml=true
if [[ "$(cache_value NVML_INCLUDE_DIR)" == *NOTFOUND* || -z "$(cache_value NVML_INCLUDE_DIR)" ]]; then
  nvml=false
  echo "bundle.sh: warning: built without NVML (no nvml.h): the results will have no NVML clocks," \
       "power or throttle reasons (tools/setup.sh installs the header)" >&2
fi
nvcc_version=$(sed -n 's/^set(CMAKE_CUDA_COMPILER_VERSION "\(.*\)")/\1/p' \
                 "$build"/CMakeFiles/*/CMakeCUDACompiler.cmake 2>/dev/null | head -n 1)
[ "$build_type" = Release ] ||
  echo "bundle.sh: warning: $build is a '$build_type' build, not Release" >&2

# What goes in: the benchmark binaries (not the MPI one: it needs mpirun and an MPI library the
# box may not have) and the GPU tests. Built here unless packaging an existing build.
benchmarks=(batchcost-memory batchcost-launch batchcost-gemm batchcost-moe batchcost-collectives)
gpu_tests=(gpu_kernels_test gpu_gemm_test gpu_moe_test gpu_collectives_test)
if [ -z "$from" ]; then
  targets=()
  known=$(cmake --build "$build" --target help 2>/dev/null || true)
  for t in "${benchmarks[@]}" "${gpu_tests[@]}"; do
    grep -q "^$t:" <<<"$known" && targets+=("$t")
  done
  [ ${#targets[@]} -gt 0 ] || die "$build has none of the benchmark targets"
  cmake --build "$build" --target "${targets[@]}"
fi
find_binary() {  # where the project's CMake puts that executable
  local d
  for d in bench moe collectives tests; do
    [ -f "$build/$d/$1" ] && [ -x "$build/$d/$1" ] && { echo "$build/$d/$1"; return; }
  done
}

stage=$(mktemp -d "${TMPDIR:-/tmp}/batchcost-bundle.XXXXXX")
trap 'rm -rf "$stage" "$out.partial"' EXIT
root=$stage/batchcost-bundle
mkdir -p "$root/bin" "$root/tests" "$root/lib" "$root/stated"
files=()
for name in "${benchmarks[@]}"; do
  path=$(find_binary "$name")
  if [ -n "$path" ]; then cp "$path" "$root/bin/"; files+=("$root/bin/$name"); fi
done
[ -x "$root/bin/batchcost-memory" ] || die "$build has no batchcost-memory: build it first"
for name in "${gpu_tests[@]}"; do
  path=$(find_binary "$name")
  if [ -n "$path" ]; then cp "$path" "$root/tests/"; files+=("$root/tests/$name"); fi
done

# Libraries by soname. Left to the box: the C and C++ runtimes, which every Linux has; CUDA's,
# NCCL's and the driver's, which must match the box's driver and which a CUDA toolkit or
# PyTorch's pip packages provide (run.sh finds them and records where). Everything else is
# copied, and what the copies need in turn.
system_lib() {
  case "$1" in
    linux-vdso.so*|linux-gate.so*|ld-linux*|libc.so*|libm.so*|libpthread.so*|libdl.so*|\
    librt.so*|libutil.so*|libresolv.so*|libstdc++.so*|libgcc_s.so*|libatomic.so*) return 0 ;;
  esac
  return 1
}
cuda_lib() {
  case "$1" in
    libcuda.so*|libcudart.so*|libcublas.so*|libcublasLt.so*|libnccl.so*|libnvidia-*|\
    libnvrtc*|libnvJitLink*|libcupti*|libcurand*|libcufft*|libcusparse*|libcusolver*) return 0 ;;
  esac
  return 1
}
needs=()
queue=("${files[@]}")
while [ ${#queue[@]} -gt 0 ]; do
  file=${queue[0]}
  queue=("${queue[@]:1}")
  for soname in $(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    system_lib "$soname" && continue
    if cuda_lib "$soname"; then
      [[ " ${needs[*]:-} " == *" $soname "* ]] || needs+=("$soname")
      continue
    fi
    [ -e "$root/lib/$soname" ] && continue
    resolved=$(ldd "$file" | awk -v s="$soname" '$1 == s { print $3 }')
    [ -n "$resolved" ] && [ -f "$resolved" ] ||
      die "${file##*/} needs $soname, which this machine cannot find (ldd: not found)"
    cp -L "$resolved" "$root/lib/$soname"
    chmod u+w "$root/lib/$soname"
    queue+=("$root/lib/$soname")
  done
done

shopt -s nullglob
stated=("$src"/tools/stated/*.json)
[ ${#stated[@]} -eq 0 ] || cp "${stated[@]}" "$root/stated/"
cp "$src/tools/bundle/run.sh" "$root/run.sh"
cp "$src/tools/torch_reference.py" "$root/torch_reference.py"
chmod +x "$root/run.sh"
printf '%s\n' "${needs[@]}" >"$root/needs.txt"

json_list() {  # the arguments as a JSON array of strings (names here need no escaping)
  local out="" x
  for x in "$@"; do out+="${out:+, }\"$x\""; done
  echo "[$out]"
}
# The newest C and C++ runtime symbol versions the copies need: the box's libc and libstdc++ must
# be at least these (the loader names a missing one; run.sh records it).
newest() {
  local f
  for f in "$root"/bin/* "$root"/tests/* "$root"/lib/*; do objdump -p "$f" 2>/dev/null; done |
    grep -oE "$1_[0-9.]+" | sed "s/^$1_//" | sort -uV | tail -n 1
}
# The oldest Linux driver the CUDA runtime the bundle is built against runs on (NVIDIA's CUDA
# Toolkit release notes, "CUDA Toolkit and Corresponding Driver Versions"): CUDA 13.0 needs
# 580.65.06; CUDA 12.x runs from 525.60.13 on (minor-version compatibility). run.sh's preflight
# compares the box's driver with it.
cuda_version=$(echo "$nvcc_version" | cut -d. -f1-2)
case ${cuda_version%%.*} in
  13) min_driver=580.65.06 ;;
  12) min_driver=525.60.13 ;;
  *) min_driver="" ; echo "bundle.sh: warning: CUDA '$cuda_version': no minimum driver known" >&2 ;;
esac
commit=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null | head -c1 | wc -c)
cat >"$root/BUNDLE.json" <<EOF
{
  "schema": "batchcost.bundle/1",
  "built_utc": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": "$commit",
  "dirty": $([ "$dirty" -gt 0 ] && echo true || echo false),
  "build_type": "$build_type",
  "cuda_code": $(json_list $built_archs),
  "nvcc": "$nvcc_version",
  "cuda": "$cuda_version",
  "min_driver": "$min_driver",
  "nvml": $nvml,
  "requires": {"glibc": "$(newest GLIBC)", "glibcxx": "$(newest GLIBCXX)"},
  "benchmarks": $(cd "$root/bin" && json_list *),
  "gpu_tests": $(cd "$root/tests" && json_list *),
  "bundled_libraries": $(cd "$root/lib" && json_list *),
  "needs": $(json_list "${needs[@]}"),
  "stated": $(cd "$root/stated" && json_list *)
}
EOF

mkdir -p "$(dirname "$out")"
tmp_out="$out.partial"
tar -C "$stage" --owner=0 --group=0 --numeric-owner -czf "$tmp_out" batchcost-bundle
size=$(stat -c %s "$tmp_out")
if [ "$size" -gt "$max_bytes" ]; then
  rm -f "$tmp_out"
  die "the bundle is $size bytes, over the limit of $max_bytes; no $out written" \
      "(largest: $(cd "$root" && find bin tests lib -type f -printf '%p, %s bytes\n' | sort -t, -k2 -rn | head -n 1))"
fi
mv -f "$tmp_out" "$out"
echo "bundle.sh: wrote $out ($((size / 1024)) KiB: ${#files[@]} binaries, $(ls "$root/lib" | wc -l)" \
     "bundled libraries; the box must provide ${needs[*]:-nothing more})"
