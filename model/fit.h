// Fitting the cost model's constants to samples (DESIGN.md), with Ceres Solver.
//
// Method, in short (details beside the code in fit.cc):
// - Residual per sample: log(predicted) - log(measured), i.e. relative error; constants are
//   fitted as logarithms, so they stay positive.
// - Robust loss: a Huber-like soft-L1 solve from heuristic starting values, then a Cauchy loss
//   (scale 5%) from there, so a throttled sample or an L2-resident size cannot drag a constant.
// - Network regimes: per (op, ranks), the points are split into contiguous size ranges, one line
//   each (dynamic programming, robust line fits); the number of lines minimises BIC on the
//   robust residual scale, at most 4 and at least 4 points a line. The joint fit then uses the
//   lower envelope min_i(α_i + x/R_i).
// - A constant no sample binds (no compute-bound sample for a P, a regime that is the envelope
//   for fewer than 2 sizes) is dropped and the fit repeated: it is absent, not guessed.
// - 95% intervals from the covariance of the log constants at the solution (Ceres, robustified
//   Jacobian), scaled by the robust residual scale (1.4826 · median |r|) and a Student t quantile.
// Deterministic: one thread, inputs in a fixed order, no random numbers.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "model/cost_model.h"
#include "model/sample.h"

namespace batchcost {

struct FitResult {
  Constants constants;
  std::vector<Role> roles;  // parallel to the samples
  std::map<std::string, Quality> quality;
  std::vector<std::string> notes;  // constants left out, and why
};

// Throws InputError (results.h) when no sample can be fitted.
FitResult fit(const std::vector<Sample>& samples, const FitOptions& options = {});

// One latency-bandwidth line, as the regime search finds it.
struct Line {
  double latency_s = 0;
  double bytes_per_s = 0;
};

// The regimes of one network operation from (bytes, seconds) points, one per size: the fewest
// lines, each covering a contiguous range of sizes, that the data supports (see fit.h header).
// Empty when fewer than two distinct sizes. Sorted by increasing bandwidth.
std::vector<Line> find_regimes(std::vector<std::pair<double, double>> points);

}  // namespace batchcost
