// The collective benchmark's own flags and the list of benchmarks they register: pure host code,
// so that listing needs no GPU and every MPI rank provably registers the same list (a rank that
// registered another list would call a different collective and hang the others).
//
// nccl-tests' short flags keep nccl-tests' meanings (NVIDIA/nccl-tests, src/common.cu: the
// getopt_long table of parseArgs and its USAGE text; README.md "Arguments"). Each takes its
// value as `-x V` or `-x=V`, and so do the long names (`--minbytes V`, `--minbytes=V`):
//
//   -g, --ngpus N          exactly N ranks (single process: GPUs 0..N-1). The MPI binary drives
//                          one GPU per rank, so -g 1 (nccl-tests' GPUs per process) is all it
//                          takes; its rank count is the launcher's (-np, srun -n)
//   --max_ranks=N          rank counts 2, 4, ... below N, and N (default: the GPUs visible; 1 for
//                          --estimate, a one-GPU box); single process. One rank is never
//                          registered: NCCL makes a 1-rank collective a device copy or nothing
//   -b, --minbytes, --min_bytes N    smallest size (default 8); K, M, G are powers of 1024
//   -e, --maxbytes, --max_bytes N    largest size (default 1G; 16M with --quick)
//   -f, --stepfactor, --step_factor N  size factor, a power of two (default 2; 16 with --quick)
//   -n, --iters N          collectives per timed sample (default: the plan's, about 1 ms of
//                          them); at most kMaxOpsPerSample eager, kMaxOpsPerGraph with --graph
//   -w, --warmup_iters N   untimed collectives before the first sample (default 5)
//   -c, --check 0|1        the data check, once per shape (default 1)
//   -d, --datatype T       float (fp32), bfloat16 (bf16) or all (default: all); --dtypes=a,b
//   -o, --op R             sum, prod, max, min, avg or all, for the reducing ops (default sum)
//   -a, --average 0|1|2|3  the time of a sample over ranks: rank 0's, the average (default, as
//                          nccl-tests), the minimum, the maximum
//   --ops=a,b              ops by op_name (default: all seven)
//   --graph                capture each timed batch in a CUDA graph per rank and replay it
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/collective_ops.h"
#include "core/collective_sizes.h"

namespace batchcost::collective {

// nccl-tests' -a: how the ranks' times of one sample become its time.
enum class TimeOverRanks { rank0 = 0, avg = 1, min = 2, max = 3 };
// "rank0", "avg", "min", "max": the `time_over_ranks` label and context value.
std::string_view time_over_ranks_name(TimeOverRanks how);

// Collectives queued behind the blocking kernel at most in eager mode: each NCCL launch may take
// more than one CUDA launch slot, and the queue must not fill while the GPU is held. A CUDA graph
// is one launch whatever it holds, so --graph allows more.
inline constexpr int kMaxOpsPerSample = 64;
inline constexpr int kMaxOpsPerGraph = 1024;
inline constexpr int kDefaultWarmupOps = 5;

struct BenchOptions {
  int max_ranks = 8;
  bool max_ranks_given = false;  // --max_ranks was given
  int exact_ranks = 0;           // -g N: only N ranks (0: not given)
  std::vector<Op> ops{kAllOps.begin(), kAllOps.end()};
  std::vector<Dtype> dtypes{kAllDtypes.begin(), kAllDtypes.end()};
  std::vector<RedOp> redops{RedOp::sum};
  SweepOptions sweep{};
  bool graph = false;
  int iters = 0;  // -n: collectives per sample (0: the plan's)
  int warmup_ops = kDefaultWarmupOps;
  bool check = true;
  TimeOverRanks time_over_ranks = TimeOverRanks::avg;
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
// The single-process binary's rank counts: {N} for -g N (empty for N = 1), else
// multi_rank_counts(max_ranks).
std::vector<int> registered_rank_counts(const BenchOptions& options);

// One benchmark: an op on `ranks` ranks at one size, in or out of place.
struct BenchSpec {
  Op op = Op::all_reduce;
  Dtype dtype = Dtype::fp32;
  int ranks = 1;
  std::size_t size_bytes = 0;
  bool in_place = false;
  bool graph = false;
  RedOp redop = RedOp::sum;  // sum for the ops that do not reduce
  // "collective/all_reduce/fp32/ranks:8/bytes:1048576/inplace:0" (then "/graph:1" in graph
  // mode); a redop other than sum adds "/redop:max" after the dtype, so that the default names
  // stay what they were.
  std::string name() const;
};

// Every benchmark, in registration order: ranks, op, dtype, redop (reducing ops only; the others
// once), size (size_sweep), then out-of-place before in-place, as nccl-tests runs them. In-place
// runs only where in_place_checkable(op).
std::vector<BenchSpec> collective_specs(const BenchOptions& options, const std::vector<int>& ranks);

// A 64-bit FNV-1a hash of the names, in order: ranks compare it to agree on the list.
unsigned long long fingerprint(const std::vector<BenchSpec>& specs);

// The first Google Benchmark flag in args with which every process would decide alone what it
// runs: --benchmark_enable_random_interleaving (an order shuffled by std::random_device) and a
// --benchmark_min_warmup_time above 0 (warm-up iterations until a time is reached). Under MPI the
// ranks would then call different collectives and hang; "" where there is none.
std::string flag_that_diverges_ranks(const std::vector<std::string>& args);

// ---- -a: the time over ranks -------------------------------------------------------------------
//
// The local part is reduced in the process (its ranks' event times), the partials of the
// processes are combined (the MPI variant: MPI_Allreduce SUM of value and ranks for avg, MIN,
// MAX, or rank 0's broadcast), then time_over_ranks gives the sample's time. nccl-tests does the
// same (src/common.cu, Allreduce(args, &deltaSec, average)).
struct RankTimes {
  double value = 0;  // the sum (avg), the min, the max, or rank 0's time
  int ranks = 0;     // how many ranks `value` covers; 0: none (rank0 without global rank 0)
};
// This process's part from its ranks' times; `holds_rank0`: times[0] is global rank 0's.
// Throws std::invalid_argument for no times or a time that is not positive and finite.
RankTimes local_rank_times(TimeOverRanks how, const std::vector<double>& times_s, bool holds_rank0);
// Two processes' parts as one.
RankTimes combine_rank_times(TimeOverRanks how, RankTimes a, RankTimes b);
// The time: value / ranks for avg, value otherwise. Throws std::invalid_argument where no rank
// is covered.
double time_over_ranks(TimeOverRanks how, RankTimes all);

}  // namespace batchcost::collective
