#!/usr/bin/env bash
# Builds the self-contained bundle that calibrates a GPU box with no compiler, network or
# package manager (tools/bundle/run.sh runs it there; tools/import.sh brings the results home).
#
#   tools/bundle.sh [ARCHS]                  Release build in build-bundle/ for ARCHS (CMake's
#                                            CUDA architectures; default "90-real;90-virtual":
#                                            sm_90 code and compute_90 PTX), then the bundle
#   tools/bundle.sh --cuda 12|13 [ARCHS]     build with that CUDA major version: 13 (default) the
#                                            toolkit found here, 12 a CUDA 12 toolkit (CUDA12_HOME,
#                                            else the newest /usr/local/cuda-12.*, else CUDA 12.9
#                                            from PyPI's cu12 wheels compiled by clang++-22:
#                                            tools/bundle/cuda12_toolkit.sh), in
#                                            build-bundle-cuda12/ -> build/batchcost-bundle-cuda12.tar.gz
#   tools/bundle.sh --from BUILD_DIR         package an existing build instead (CI: build-ci)
#   tools/bundle.sh ... --out FILE           write FILE, not build/batchcost-bundle.tar.gz
#   tools/bundle.sh ... --build DIR          build in DIR, not build-bundle/ (build-bundle-cuda12/)
#
# The tarball holds batchcost-bundle/: run.sh, bin/ (the benchmark binaries), tests/ (the GPU
# test binaries), lib/ (every shared library they need that is not libc, libstdc++, CUDA, NCCL or
# the driver, and whatever else ldd shows), stated/ (tools/stated/*.json), torch_reference.py,
# needs.txt (the CUDA and NCCL sonames run.sh must find on the box) and BUNDLE.json (what was
# built, from which commit, with which CUDA, for which architectures and the lowest driver).
# At most 20 MiB (BATCHCOST_BUNDLE_MAX_BYTES overrides, for tests): larger is an error and no
# tarball.
#
# A bundle built here runs on glibc 2.34 and libstdc++ GLIBCXX_3.4.29 (RHEL 9, Ubuntu 22.04) or
# newer: its binaries link libstdc++ and libgcc statically, and Google Benchmark as a static
# library built from Debian's source of the version libbenchmark-dev has (fetched once into
# .deps/, its SHA-256 checked), because Debian's libbenchmark.so needs GLIBCXX_3.4.30. A file
# that needs more than that is an error (a --from build is only warned about).
set -Eeuo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
# Under set -e a failing step would end the script without a word: say which command failed.
trap 'rc=$?; echo "bundle.sh: failed (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR

die() { echo "bundle.sh: $*" >&2; exit 2; }

from="" out="" archs="" cuda_major="" build=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || die "--from needs a build folder"; from=$2; shift 2 ;;
    --from=*) from=${1#--from=}; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a file name"; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --cuda) [ $# -ge 2 ] || die "--cuda needs a major version (12 or 13)"; cuda_major=$2; shift 2 ;;
    --cuda=*) cuda_major=${1#--cuda=}; shift ;;
    --build) [ $# -ge 2 ] || die "--build needs a folder"; build=$2; shift 2 ;;
    --build=*) build=${1#--build=}; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$archs" ] || die "one ARCHS argument only (a CMake list: \"90-real;100-real\")"
       archs=$1; shift ;;
  esac
done
max_bytes=${BATCHCOST_BUNDLE_MAX_BYTES:-$((20 * 1024 * 1024))}
[[ $max_bytes =~ ^[0-9]+$ ]] || die "BATCHCOST_BUNDLE_MAX_BYTES='$max_bytes' is not a byte count"

case "$cuda_major" in
  ""|12|13) ;;
  *) die "--cuda '$cuda_major': 12 or 13" ;;
esac
# The nvcc of the CUDA major version asked for: 13 (or nothing) the toolkit CMake finds here,
# 12 one from CUDA12_HOME or the newest /usr/local/cuda-12.*.
find_nvcc() {
  local d
  if [ "$1" = 12 ]; then
    for d in "${CUDA12_HOME:-}" $( (ls -d /usr/local/cuda-12.* 2>/dev/null || true) | sort -rV); do
      [ -n "$d" ] && [ -x "$d/bin/nvcc" ] && { echo "$d/bin/nvcc"; return; }
    done
    return 0
  fi
  for d in "${CUDACXX:-}" /usr/local/cuda/bin/nvcc "$(command -v nvcc || true)"; do
    [ -n "$d" ] && [ -x "$d" ] && { echo "$d"; return; }
  done
}
# The clang that compiles CUDA against the wheels' toolkit: CUDA12_CLANG, else clang++-22 (Debian
# 12's newest; it knows CUDA 12.9 and sm_90).
find_cuda_clang() {
  local c
  for c in "${CUDA12_CLANG:-}" clang++-22; do
    [ -n "$c" ] && command -v "$c" >/dev/null && { command -v "$c"; return; }
  done
  return 0
}
nvcc_major() { "$1" --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p' | head -n 1; }

# Google Benchmark as a static library, built once into .deps/ from Debian's source of the
# version Debian's libbenchmark-dev is (its shared library needs GLIBCXX_3.4.30; built and linked
# with -static-libstdc++ it needs no libstdc++ at all). Prints its CMake package folder.
static_benchmark() {
  local v=1.7.1 sha=6430e4092653380d9dc4ccb45a1e2dc9259d581f4866dc0759713126056bc1d7
  local dir=$src/.deps/benchmark-$v url=https://deb.debian.org/debian/pool/main/b/benchmark/benchmark_$v.orig.tar.gz
  local config=$dir/install/lib/cmake/benchmark
  [ -f "$config/benchmarkConfig.cmake" ] && { echo "$config"; return; }
  mkdir -p "$dir"
  if [ ! -f "$dir/benchmark_$v.orig.tar.gz" ]; then
    echo "bundle.sh: fetching Google Benchmark $v's source from Debian ($url)" >&2
    curl -fsSL --retry 3 -o "$dir/src.partial" "$url" ||
      die "cannot fetch $url (Google Benchmark's source, for the static build; no network?)"
    echo "$sha  $dir/src.partial" | sha256sum -c --quiet >/dev/null 2>&1 ||
      { rm -f "$dir/src.partial"; die "$url: SHA-256 is not $sha (Debian's benchmark_$v-1.dsc)"; }
    mv "$dir/src.partial" "$dir/benchmark_$v.orig.tar.gz"
  fi
  rm -rf "$dir/source" "$dir/build" && mkdir -p "$dir/source"
  tar -xzf "$dir/benchmark_$v.orig.tar.gz" -C "$dir/source" --strip-components=1
  cmake -S "$dir/source" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DBENCHMARK_ENABLE_TESTING=OFF -DBENCHMARK_ENABLE_GTEST_TESTS=OFF \
        -DBENCHMARK_ENABLE_WERROR=OFF -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
        "-DCMAKE_INSTALL_PREFIX=$dir/install" >/dev/null
  cmake --build "$dir/build" >/dev/null && cmake --install "$dir/build" >/dev/null
  [ -f "$config/benchmarkConfig.cmake" ] || die "the static Google Benchmark build left no $config"
  echo "$config"
}

if [ -n "$from" ]; then
  [ -z "$archs" ] || die "ARCHS and --from exclude each other: an existing build has its own"
  [ -z "$cuda_major" ] || die "--cuda and --from exclude each other: an existing build has its CUDA"
  [ -z "$build" ] || die "--build and --from exclude each other: --from names the build"
  [ -f "$from/CMakeCache.txt" ] || die "--from $from: not a CMake build folder (no CMakeCache.txt)"
  build=$(cd "$from" && pwd)
else
  nvcc=$(find_nvcc "${cuda_major:-13}")
  compiler=$nvcc extra=()
  if [ -z "$nvcc" ] && [ "$cuda_major" = 12 ]; then
    # No CUDA 12 toolkit: clang compiles against the one PyPI's cu12 wheels make.
    compiler=$(find_cuda_clang)
    [ -n "$compiler" ] ||
      die "--cuda 12: no CUDA 12 toolkit here (CUDA12_HOME, /usr/local/cuda-12.*) and no" \
          "clang++-22 (or CUDA12_CLANG) to build against PyPI's cu12 wheels: tools/setup.sh" \
          "--bundle-cuda12 installs it"
    cuda_root=$("$src/tools/bundle/cuda12_toolkit.sh") ||
      die "--cuda 12: no CUDA 12 toolkit here (CUDA12_HOME, /usr/local/cuda-12.*), and PyPI's cu12" \
          "wheels could not make one (tools/bundle/cuda12_toolkit.sh, above)"
    # clang: ARCHS are machine code (sm_90); --cuda-include-ptx=all adds each one's PTX.
    found=12 archs=${archs:-90}
    extra=("-DNCCL_ROOT=$cuda_root" "-DNVML_ROOT=$cuda_root" "-DCMAKE_CUDA_FLAGS=--cuda-include-ptx=all")
  else
    [ -n "$nvcc" ] || die "no nvcc (CUDA 13) here: install the CUDA toolkit or set CUDACXX"
    found=$(nvcc_major "$nvcc")
    [ "$found" = "${cuda_major:-$found}" ] ||
      die "--cuda $cuda_major: $nvcc is CUDA ${found:-of unknown version}"
    cuda_root=$(cd "$(dirname "$nvcc")/.." && pwd)
  fi
  # "sm_90 compute_90" or "90,100" become CMake's list; a bare number means its machine code.
  archs=${archs:-90-real;90-virtual}
  archs=$(echo "$archs" | tr ', ' ';;' | sed -e 's/sm_\([0-9a-z]*\)/\1-real/g' \
            -e 's/compute_\([0-9a-z]*\)/\1-virtual/g' -e 's/;;*/;/g' -e 's/^;//' -e 's/;$//')
  arch_re='^[0-9a-z;-]+$'
  [[ $archs =~ $arch_re ]] || die "ARCHS '$archs' is not a list of CUDA architectures"
  if [ -z "$build" ]; then
    build=$src/build-bundle
    [ "$found" = 13 ] || build=$src/build-bundle-cuda$found
  fi
  mkdir -p "$build" && build=$(cd "$build" && pwd)
  [ -n "$out" ] || { [ "$found" = 13 ] || out=$src/build/batchcost-bundle-cuda$found.tar.gz; }
  benchmark_dir=$(static_benchmark)
  compat=$src/.deps/glibc_compat.o
  cc -O2 -fPIC -c "$src/tools/bundle/glibc_compat.c" -o "$compat"
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        "-DCMAKE_CUDA_COMPILER=$compiler" "-DCUDAToolkit_ROOT=$cuda_root" ${extra[@]+"${extra[@]}"} \
        "-DCMAKE_CUDA_ARCHITECTURES=$archs" -DBATCHCOST_BUILD_TESTS=ON \
        "-Dbenchmark_DIR=$benchmark_dir" "-DCMAKE_EXE_LINKER_FLAGS=-static-libstdc++ $compat" \
        >/dev/null
  grep -q "^benchmark_DIR:[A-Z]*=$benchmark_dir\$" "$build/CMakeCache.txt" ||
    die "$build did not take the static Google Benchmark ($benchmark_dir): remove $build and retry"
fi
out=${out:-$src/build/batchcost-bundle.tar.gz}
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n 1; }
build_type=$(cache_value CMAKE_BUILD_TYPE)
# The GPU code the build emits, from its compile lines: sm_XX is machine code, compute_XX PTX.
flag_files=("$build/build.ninja")
while IFS= read -r f; do flag_files+=("$f"); done < <(find "$build" -name flags.make)
built_archs=$(grep -hoE 'arch=compute_[0-9a-z]+,code=\[?[a-z0-9_,]+' "${flag_files[@]}" 2>/dev/null |
              sed -E 's/.*code=\[?//' | tr ',' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//' || true)
# clang's: --cuda-gpu-arch=sm_XX is sm_XX code, and its compute_XX PTX with --cuda-include-ptx.
for sm in $(grep -hoE -- '--cuda-gpu-arch=sm_[0-9a-z]+' "${flag_files[@]}" 2>/dev/null |
            sed 's/.*=//' | sort -u || true); do
  built_archs+="${built_archs:+ }$sm"
  ! grep -qE -- "--cuda-include-ptx=(all|$sm)( |\$)" "${flag_files[@]}" 2>/dev/null ||
    built_archs+=" compute_${sm#sm_}"
done
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
# The CUDA compiler (nvcc, or clang for a build against PyPI's wheels) and the toolkit's version.
cuda_cmake() {
  sed -n "s/^set(CMAKE_CUDA_$1 \"\(.*\)\")/\1/p" "$build"/CMakeFiles/*/CMakeCUDACompiler.cmake \
    2>/dev/null | head -n 1
}
compiler_id=$(cuda_cmake COMPILER_ID)
compiler_version=$(cuda_cmake COMPILER_VERSION)
toolkit_version=$(cuda_cmake COMPILER_TOOLKIT_VERSION)
toolkit_version=${toolkit_version:-$compiler_version}
nvcc_version=""
[ "$compiler_id" != NVIDIA ] || nvcc_version=$compiler_version
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
    { grep -oE "$1_[0-9.]+" || true; } | sed "s/^$1_//" | sort -uV | tail -n 1
}
# The oldest Linux driver the CUDA runtime the bundle is built against runs on (NVIDIA's CUDA
# Toolkit release notes, "CUDA Toolkit and Corresponding Driver Versions"): CUDA 13.0 needs
# 580.65.06; CUDA 12.x runs from 525.60.13 on (minor-version compatibility). run.sh's preflight
# compares the box's driver with it.
cuda_version=$(echo "$toolkit_version" | cut -d. -f1-2)
case ${cuda_version%%.*} in
  13) min_driver=580.65.06 ;;
  12) min_driver=525.60.13 ;;
  *) min_driver="" ; echo "bundle.sh: warning: CUDA '$cuda_version': no minimum driver known" >&2 ;;
esac
# The oldest box a bundle must run on: glibc 2.34 and GLIBCXX_3.4.29 (RHEL 9; GCC 11's libstdc++).
max_glibc=2.34 max_glibcxx=3.4.29
req_glibc=$(newest GLIBC) req_glibcxx=$(newest GLIBCXX)
version_gt() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]; }
too_new=()
for f in "$root"/bin/* "$root"/tests/* "$root"/lib/*; do
  for v in $(objdump -p "$f" 2>/dev/null | { grep -oE 'GLIBC(XX)?_[0-9.]+' || true; } | sort -u); do
    case $v in
      GLIBCXX_*) version_gt "${v#GLIBCXX_}" "$max_glibcxx" && too_new+=("${f#"$root"/} needs $v") ;;
      GLIBC_*) version_gt "${v#GLIBC_}" "$max_glibc" && too_new+=("${f#"$root"/} needs $v") ;;
    esac
  done
done
if [ ${#too_new[@]} -gt 0 ]; then
  msg="needs more than glibc $max_glibc / GLIBCXX_$max_glibcxx (RHEL 9 would refuse it): ${too_new[*]:0:3}"
  [ -n "$from" ] || die "the bundle $msg"
  echo "bundle.sh: warning: this build $msg; tools/bundle.sh without --from links them statically" >&2
fi
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
  "nvcc": $([ -n "$nvcc_version" ] && echo "\"$nvcc_version\"" || echo null),
  "cuda_compiler": "$compiler_id $compiler_version",
  "cuda": "$cuda_version",
  "min_driver": "$min_driver",
  "nvml": $nvml,
  "requires": {"glibc": "$req_glibc", "glibcxx": $([ -n "$req_glibcxx" ] && echo "\"$req_glibcxx\"" || echo null)},
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
