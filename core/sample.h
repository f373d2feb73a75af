// One measured sample as the fitter sees it, whatever file it was read from: our Google
// Benchmark JSON, or an nccl-tests log or JSON. Host C++ only.
#pragma once

#include <string>
#include <vector>

#include "core/contract.h"

namespace batchcost {

struct Sample {
  std::string source;   // the file it was read from, as given by the user
  std::string name;     // the run's name ("memory/copy_kernel/bytes:4096/manual_time")
  std::string family;   // family_of(name): memory, launch, gemm, moe, collective, ...
  double time_s = 0;    // seconds per iteration; the median where repetitions exist
  double cv = 0;        // coefficient of variation across repetitions; 0 when unknown
  int repetitions = 1;  // how many repetitions time_s summarises
  // The repetitions' own times, in seconds, where the file has them (a rank test of two runs
  // needs them); empty where only aggregates were written.
  std::vector<double> repetition_times_s;
  Work work;            // the declared work per iteration
  Labels labels;        // dtype, op, cache, timing, inplace, strategy, ...
  int ranks = 0;        // collectives (and h2d/d2h: 1): the number of ranks; 0 otherwise
};

}  // namespace batchcost
