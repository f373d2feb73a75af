// The collective benchmark's own flags and the list of benchmarks they register: pure host code,
// so that listing needs no GPU and every MPI rank provably registers the same list (a rank that
// registered another list would call a different collective and hang the others).
//
//   --max_ranks=N, -g N    rank counts 2, 4, ... below N, and N (default: the GPUs visible; 1 for
//                          --estimate, a one-GPU box); single process. One rank is never
//                          registered: NCCL makes a 1-rank collective a device copy or nothing
//   --ops=a,b              ops by op_name (default: all seven)
//   --dtypes=fp32,bf16     (default: both)
//   --min_bytes=N          nccl-tests' -b (default 8); K, M, G suffixes are powers of 1024
//   --max_bytes=N          nccl-tests' -e (default 1G; 16M with --quick)
//   --step_factor=N        nccl-tests' -f (default 2; 16 with --quick)
//   --graph                capture each timed batch in a CUDA graph per rank and replay it
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "collectives/ops.h"
#include "collectives/sizes.h"

namespace batchcost::collective {

struct BenchOptions {
  int max_ranks = 8;
  bool max_ranks_given = false;  // --max_ranks or -g was given
  std::vector<Op> ops{kAllOps.begin(), kAllOps.end()};
  std::vector<Dtype> dtypes{kAllDtypes.begin(), kAllDtypes.end()};
  SweepOptions sweep{};
  bool graph = false;
};

// The --quick sweep's largest size when --max_bytes is not given.
inline constexpr std::size_t kQuickMaxBytes = std::size_t{16} << 20;

// Parses and removes the flags above from args (args[0] is the program); `quick` picks the quick
// defaults for flags not given. Throws std::invalid_argument naming a bad flag or value.
BenchOptions take_collective_flags(std::vector<std::string>& args, bool quick);
std::string collective_flags_help();

// "1024", "4K", "16M", "1G" -> bytes. Throws std::invalid_argument.
std::size_t parse_bytes(const std::string& text);

// 1, 2, 4, ... below max_ranks, then max_ranks. Throws std::invalid_argument for max_ranks < 1.
std::vector<int> rank_counts(int max_ranks);
// The rank counts a collective benchmark registers: rank_counts without 1 (a 1-rank NCCL
// collective is a device copy or nothing, not a network operation); empty for max_ranks = 1.
std::vector<int> multi_rank_counts(int max_ranks);

// One benchmark: an op on `ranks` ranks at one size, in or out of place.
struct BenchSpec {
  Op op = Op::all_reduce;
  Dtype dtype = Dtype::fp32;
  int ranks = 1;
  std::size_t size_bytes = 0;
  bool in_place = false;
  bool graph = false;
  // "collective/all_reduce/fp32/ranks:8/bytes:1048576/inplace:0" (then "/graph:1" in graph mode).
  std::string name() const;
};

// Every benchmark, in registration order: ranks, op, dtype, size (size_sweep), then out-of-place
// before in-place, as nccl-tests runs them. In-place runs only where in_place_checkable(op).
std::vector<BenchSpec> collective_specs(const BenchOptions& options, const std::vector<int>& ranks);

// A 64-bit FNV-1a hash of the names, in order: ranks compare it to agree on the list.
unsigned long long fingerprint(const std::vector<BenchSpec>& specs);

// The first Google Benchmark flag in args with which every process would decide alone what it
// runs: --benchmark_enable_random_interleaving (an order shuffled by std::random_device) and a
// --benchmark_min_warmup_time above 0 (warm-up iterations until a time is reached). Under MPI the
// ranks would then call different collectives and hang; "" where there is none.
std::string flag_that_diverges_ranks(const std::vector<std::string>& args);

}  // namespace batchcost::collective
