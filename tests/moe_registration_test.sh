#!/usr/bin/env bash
# batchcost-moe registers no benchmark that can only skip: where the cuBLAS it was built against
# cannot run a strategy (lt_grouped with CUDA 13's cuBLASLt, which has no grouped GEMM), the
# listing has none of it, and every other strategy is listed at every size (no GPU needed).
#   moe_registration_test.sh BATCHCOST-MOE
set -u
bin=$1
fail() { echo "FAIL: $*"; exit 1; }
for profile in "" --quick; do
  list=$("$bin" --benchmark_list_tests $profile) || fail "listing $profile: exit $?"
  [ -n "$list" ] || fail "listing $profile: empty"
  ! grep -q "/lt_grouped/" <<<"$list" || fail "listing $profile: lt_grouped is registered"
  for s in dense_equivalent per_expert_loop per_expert_graph grouped grouped_d2h padded_batched; do
    grep -q "/$s/" <<<"$list" || fail "listing $profile: no $s"
  done
  echo "ok ${profile:-default}: $(wc -l <<<"$list") benchmarks, none lt_grouped"
done
# The default profile: per config, 15 sizes x (dense_equivalent + 5 strategies) uniform, and
# 3 other routings x 8 sizes x 5 strategies (moe_bench.cc).
n=$("$bin" --benchmark_list_tests | wc -l)
[ "$n" -eq $((2 * (15 * 6 + 3 * 8 * 5))) ] || fail "default listing has $n benchmarks, expected 420"
