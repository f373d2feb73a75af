#!/usr/bin/env bash
# Installs what batchcost needs to build and test, from Debian's packages (and, optionally, the
# NVML header from PyPI). Idempotent: installs only what is missing and says what it installs.
# The CUDA toolkit itself (nvcc, cuBLAS, NCCL) is expected in /usr/local/cuda or on PATH; without
# it the host-only parts (fitter, CLI, host tests) still build.
#
#   tools/setup.sh            # build and test dependencies
#   tools/setup.sh --no-apt   # only report what is missing (no root needed)
#   tools/setup.sh --bundle-cuda12   # also what `tools/bundle.sh --cuda 12` needs where no CUDA 12
#                                    # toolkit is installed: clang-22, and CUDA 12.9 from PyPI's
#                                    # cu12 wheels (about 820 MB, into .deps/cuda-12.9)
set -euo pipefail
cd "$(dirname "$0")/.."

# Package: why batchcost needs it.
packages=(
  "cmake:the build"
  "ninja-build:the build (fast, parallel)"
  "g++:host C++20 compiler"
  "libbenchmark-dev:Google Benchmark, the harness every benchmark binary runs in"
  "libgtest-dev:GoogleTest, host and GPU tests"
  "nlohmann-json3-dev:JSON results, context and model files"
  "libcli11-dev:the batchcost command line"
  "libceres-dev:Ceres Solver, the robust non-linear fit of the cost model"
  "libopenmpi-dev:MPI launch of the collective benchmark across processes and nodes"
  "openmpi-bin:mpirun, for the MPI variant's tests"
  "python3-matplotlib:the plotting script"
  "libbenchmark-tools:Google Benchmark's compare.py, run on our JSON by tests/gbench_compat_test.py"
  "python3-scipy:the U test of compare.py"
  "clang:libFuzzer targets for the result readers"
  "curl:fetches Google Benchmark's Debian source once, for the GPU bundle's static build"
)

apt_ok=1 cuda12=0
for arg in "$@"; do
  case "$arg" in
    --no-apt) apt_ok=0 ;;
    --bundle-cuda12) cuda12=1 ;;
    *) echo "setup: unknown option '$arg' (--no-apt, --bundle-cuda12)" >&2; exit 2 ;;
  esac
done
[ $cuda12 -eq 0 ] || packages+=("clang-22:compiles the CUDA 12 bundle against PyPI's cu12 wheels")

missing=()
for entry in "${packages[@]}"; do
  name=${entry%%:*}
  if ! dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$name")
    echo "setup: missing $name (${entry#*:})"
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ $apt_ok -eq 0 ]; then
    echo "setup: --no-apt given; install the packages above to build everything" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all Debian packages present"
fi

# NVML's header (optional: clocks, power, temperature and throttle reasons in the results' context).
# The library itself comes with the GPU driver and is loaded at run time, so nothing links it.
nvml_dir=.deps/nvml
if [ -f /usr/local/cuda/include/nvml.h ] || [ -f "$nvml_dir/nvidia/cu13/include/nvml.h" ]; then
  echo "setup: NVML header present"
elif python3 -m pip install --quiet --disable-pip-version-check --target "$nvml_dir" \
       "nvidia-nvml-dev>=13,<14" >/dev/null 2>&1; then
  echo "setup: installed NVML header (PyPI nvidia-nvml-dev) into $nvml_dir"
else
  echo "setup: NVML header not available (no PyPI access?); building without NVML"
fi

if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup: no CUDA toolkit found; only the host-only parts will build"
fi

if [ $cuda12 -eq 1 ]; then
  toolkit=$(tools/bundle/cuda12_toolkit.sh)
  echo "setup: CUDA 12.9 toolkit for the CUDA 12 bundle in $toolkit"
fi
