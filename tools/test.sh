#!/usr/bin/env bash
# Sets up, builds and runs every test. On a machine without a GPU the GPU tests and the
# benchmark smoke runs are reported as skipped, with the reason; everything else must pass.
#   tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset ci
cmake --build --preset ci
ctest --preset ci -j "$(nproc)"
