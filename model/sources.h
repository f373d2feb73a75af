// Where the sources of one fit disagree: each source folder (the folder of its files) fitted
// alone, and every constant two sources both identify compared by its 95% intervals, as
// `batchcost compare` compares two GPUs (P, W and the latencies by value; the network by T_net
// at reference sizes inside both fitted ranges). The pooled fit takes every sample; a
// disagreement is reported, never averaged away silently. Host C++ only.
#pragma once

#include <string>
#include <vector>

#include "core/sample.h"
#include "model/fit.h"

namespace batchcost {

// The folder a sample's file is in (the file itself where it has none): one source.
std::string source_of(const Sample& s);

// One line per constant on which two sources' intervals are apart ("W: reference/a 3.13 [2.82,
// 3.48] TB/s, reference/b 2.5 [2.4, 2.6] TB/s"), sorted; empty with fewer than two sources, or
// where every source agrees. A source that cannot be fitted alone is left out of the comparison.
std::vector<std::string> source_conflicts(const std::vector<Sample>& samples,
                                          const FitOptions& options);

}  // namespace batchcost
