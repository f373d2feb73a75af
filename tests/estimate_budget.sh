#!/usr/bin/env bash
# The run-time bound of a calibration, from the estimate (no GPU needed): every benchmark binary's
# --estimate with the stated H100 SXM and H200 constants must end with the exact line
# "estimate: N benchmarks, T s" and exit 0, and the totals over all binaries must stay within
# 300 s for the default profile and 60 s for --quick (issue 10's budget for one GPU). Also: quick
# names are default names (a quick and a default run compare by name), no name carries an
# iteration count, and no collective is listed at one rank.
#   estimate_budget.sh BINARY...
set -u
fail() { echo "FAIL: $*"; exit 1; }
[ $# -gt 0 ] || fail "no binaries given"
for gpu in h100 h200; do
  for profile in default quick; do
    flags=()
    [ "$profile" = quick ] && flags=(--quick)
    total=0
    for bin in "$@"; do
      out=$("$bin" --estimate="$gpu" "${flags[@]}") || fail "$bin --estimate=$gpu ${flags[*]}: exit $?"
      last=$(printf '%s\n' "$out" | tail -n 1)
      [[ "$last" =~ ^estimate:\ ([0-9]+)\ benchmarks,\ ([0-9]+\.[0-9])\ s$ ]] ||
        fail "$bin: last line is '$last'"
      total=$(awk -v a="$total" -v b="${BASH_REMATCH[2]}" 'BEGIN { printf "%.1f", a + b }')
      echo "$gpu $profile $(basename "$bin"): $last"
    done
    limit=300
    [ "$profile" = quick ] && limit=60
    awk -v t="$total" -v l="$limit" 'BEGIN { exit !(t <= l) }' ||
      fail "$gpu $profile: estimated $total s, more than $limit s"
    echo "$gpu $profile: total $total s (limit $limit s)"
  done
done
for bin in "$@"; do
  default=$("$bin" --benchmark_list_tests --max_ranks=8 2>/dev/null || "$bin" --benchmark_list_tests)
  quick=$("$bin" --benchmark_list_tests --quick --max_ranks=8 2>/dev/null ||
          "$bin" --benchmark_list_tests --quick)
  if grep -q '/iterations:' <<<"$default$quick"; then fail "$bin: a name holds an iteration count"; fi
  if grep -q '^collective/.*/ranks:1/' <<<"$default$quick"; then fail "$bin: a collective at one rank"; fi
  missing=$(comm -23 <(sort <<<"$quick") <(sort <<<"$default"))
  [ -z "$missing" ] || fail "$bin: quick names not in the default profile: $(head -3 <<<"$missing")"
done
echo "ok"
