#!/usr/bin/env bash
# Assembles the CUDA 12.9 toolkit the CUDA 12 bundle is built against from NVIDIA's PyPI wheels,
# for a machine that has no CUDA 12 toolkit (tools/bundle.sh --cuda 12 calls it; nothing else
# needs it). Prints the toolkit's folder.
#
#   tools/bundle/cuda12_toolkit.sh [DIR]     DIR defaults to .deps/cuda-12.9
#
# PyPI's cu12 wheels hold the headers, the runtime (libcudart_static.a), cuBLAS, NCCL, the NVML
# header, libdevice and ptxas, but no nvcc: clang compiles the CUDA code against them
# (clang++ --cuda-path=DIR, ptxas 12.9 makes the sm_90 code). Two files are not NVIDIA's:
#   bin/nvcc       a locator, not a compiler: CMake 3.25 finds a clang build's toolkit by asking
#                  an nvcc in it (`-v` for the folders, `--version` for the release, which it takes
#                  from ptxas 12.9); any other use exits 2
#   bin/fatbinary  the fatbinary of the CUDA toolkit found here (a container tool: it packs the
#                  sm_90 ELF and the compute_90 PTX that ptxas 12.9 and clang made; the fatbinary
#                  container format is the same in CUDA 12 and 13)
# Each wheel is pinned by version and SHA-256 (fetched once into DIR/wheels/, about 820 MB).
# BATCHCOST_NO_FETCH=1 refuses to fetch (exit 2) where the wheels are not there yet.
set -Eeuo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
die() { echo "cuda12_toolkit.sh: $*" >&2; exit 2; }

dir=${1:-$src/.deps/cuda-12.9}
# NOTES: the CUDA 12.9 components (runtime and nvcc 12.9 GA, cuBLAS 12.9 update 1's), NCCL 2.21.5
# (the oldest NCCL of PyTorch's cu12 builds, so its header names no call an older box lacks; the
# library itself comes from the box).
wheels=(
  "nvidia-cuda-runtime-cu12 12.9.79 25bba2dfb01d48a9b59ca474a1ac43c6ebf7011f1b0b8cc44f54eb6ac48a96c3"
  "nvidia-cuda-nvcc-cu12 12.9.86 5d6a0d32fdc7ea39917c20065614ae93add6f577d840233237ff08e9a38f58f0"
  "nvidia-cuda-cccl-cu12 12.9.27 37869e17ce2e1ecec6eddf1927cca0f8c34e64fd848d40453df559091e2d7117"
  "nvidia-cublas-cu12 12.9.3.13 d7d51055f161b317c7105ddaae90e71eda059026074ffef93cf7cde2886bfe72"
  "nvidia-nvml-dev-cu12 12.9.79 8bb367913c62cb65be9ae386c58dbf573f1f9e2f01cae54abb87bf5f63c6069e"
  "nvidia-nccl-cu12 2.21.5 8579076d30a8c24988834445f8d633c697d42397e92ffc3f63fa26766d25e0a0"
)
stamp="$dir/ASSEMBLED"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${wheels[*]}" ]; then
  echo "$dir/root"
  exit 0
fi

fatbinary=""
for f in "${CUDA13_HOME:-/usr/local/cuda}/bin/fatbinary" "$(command -v fatbinary || true)"; do
  [ -n "$f" ] && [ -x "$f" ] && { fatbinary=$f; break; }
done
[ -n "$fatbinary" ] || die "no fatbinary here (the CUDA toolkit's bin/fatbinary packs the GPU code)"

mkdir -p "$dir/wheels"
for entry in "${wheels[@]}"; do
  read -r name version sha <<<"$entry"
  file=$(find "$dir/wheels" -maxdepth 1 -name "${name//-/_}-$version-*.whl" | head -n 1)
  if [ -z "$file" ]; then
    [ "${BATCHCOST_NO_FETCH:-0}" != 1 ] ||
      die "no $name $version wheel in $dir/wheels and BATCHCOST_NO_FETCH=1"
    echo "cuda12_toolkit.sh: fetching $name $version from PyPI" >&2
    rm -rf "$dir/fetch" && mkdir -p "$dir/fetch"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --dest "$dir/fetch" "$name==$version" >&2 ||
      die "cannot fetch $name==$version from PyPI (no network?)"
    file=$(find "$dir/fetch" -maxdepth 1 -name '*.whl' | head -n 1)
    [ -n "$file" ] || die "pip fetched no wheel for $name==$version"
    echo "$sha  $file" | sha256sum -c --quiet >/dev/null 2>&1 ||
      die "$name $version: SHA-256 of ${file##*/} is not $sha"
    mv "$file" "$dir/wheels/" && rm -rf "$dir/fetch"
    file=$dir/wheels/${file##*/}
  fi
  echo "$sha  $file" | sha256sum -c --quiet >/dev/null 2>&1 ||
    die "$name $version: SHA-256 of $file is not $sha (remove it to fetch it again)"
done

# The wheels' nvidia/<component>/{include,lib,bin,nvvm} become one toolkit tree.
root=$dir/root.partial
rm -rf "$root" "$dir/unpacked" && mkdir -p "$root/bin" "$root/include" "$root/lib64" "$dir/unpacked"
for whl in "$dir"/wheels/*.whl; do python3 -m zipfile -e "$whl" "$dir/unpacked"; done
for component in "$dir"/unpacked/nvidia/*/; do
  [ -d "$component/include" ] && cp -r "$component/include/." "$root/include/"
  [ -d "$component/lib" ] && cp -r "$component/lib/." "$root/lib64/"
  [ -d "$component/nvvm" ] && cp -r "$component/nvvm" "$root/"
  [ -d "$component/bin" ] && cp -r "$component/bin/." "$root/bin/"
done
rm -rf "$dir/unpacked"
find "$root" -name '__init__.py' -delete
chmod +x "$root/bin/ptxas"
# The wheels hold only the sonames; the link needs the plain names.
for so in libcudart.so.12 libcublas.so.12 libcublasLt.so.12 libnccl.so.2; do
  [ -f "$root/lib64/$so" ] || die "the wheels left no lib64/$so"
  ln -sf "$so" "$root/lib64/${so%.so.*}.so"
done
for f in include/cuda_runtime.h include/cublas_v2.h include/nccl.h include/nvml.h \
         nvvm/libdevice/libdevice.10.bc lib64/libcudart_static.a; do
  [ -f "$root/$f" ] || die "the wheels left no $f"
done
ln -sf "$fatbinary" "$root/bin/fatbinary"
cat >"$root/bin/nvcc" <<'EOF'
#!/bin/sh
# Not nvcc: tells CMake where this toolkit (assembled by tools/bundle/cuda12_toolkit.sh) is.
here=$(cd "$(dirname "$0")/.." && pwd)
case "$1" in
  --version) exec "$here/bin/ptxas" --version ;;
  -v) echo "#\$ TOP=$here"; echo "#\$ NVVMIR_LIBRARY_DIR=$here/nvvm/libdevice"; exit 0 ;;
esac
echo "nvcc: this toolkit has no nvcc (PyPI's wheels hold none); compile with clang --cuda-path=$here" >&2
exit 2
EOF
chmod +x "$root/bin/nvcc"
"$root/bin/ptxas" --version | grep -q 'release 12\.9' || die "ptxas from the wheels is not CUDA 12.9"
rm -rf "$dir/root" && mv "$root" "$dir/root"
echo "${wheels[*]}" >"$stamp"
echo "$dir/root"
