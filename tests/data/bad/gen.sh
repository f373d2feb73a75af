#!/usr/bin/env bash
# Makes the bad inputs too large (or too odd) to check in, into gen/ of the current folder:
# 100k-level nested JSON in a counter, a context, a model's hardware, an LLM config and an
# nccl-tests -J file; a symbolic link loop; a 30,000-letter line and a 100 kB comment line in an
# nccl-tests log. Run by tests/run_bad_input.sh in its scratch copy of tests/data/bad/.
set -euo pipefail
mkdir -p gen
rep() { head -c "$2" /dev/zero | tr '\0' "$1"; }
deep() { rep '[' 100000; rep ']' 100000; }
entry='{"name": "launch/a", "run_type": "iteration", "real_time": 3.5, "time_unit": "us", "launches": 1'
{ printf '{"benchmarks": [%s, "bytes": ' "$entry"; deep; printf '}]}\n'; } >gen/deep_counter.json
{ printf '{"context": {"x": '; deep; printf '}, "benchmarks": [%s}]}\n' "$entry"; } >gen/deep_context.json
{ printf '{"schema": "batchcost.model/1", "hardware": {"gpu_name": '; deep
  printf '}, "constants": {"hbm_bytes_per_s": 3e12}}\n'; } >gen/deep_hardware.json
{ printf '{"schema": "batchcost.llm/1", "name": '; deep; printf '}\n'; } >gen/deep_llm.json
{ printf '{"config": {"nthreads": 1, "ngpus": 8, "devices": '; deep; printf '}, "results": []}\n'; } \
  >gen/deep_nccl.json
ln -sf loop.json gen/loop.json
{ sed -n '1,16p' good/all_reduce_8gpu.log; rep 'x' 30000; printf '\n'; sed -n '17,$p' good/all_reduce_8gpu.log; } \
  >gen/all_reduce_long_line.log
{ sed -n '1,16p' good/all_reduce_8gpu.log; printf '# '; rep 'c' 100000; printf '\n'
  sed -n '17,$p' good/all_reduce_8gpu.log; } >gen/all_reduce_long_comment.log
