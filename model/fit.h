// Fitting the cost model's constants to samples (DESIGN.md), with Ceres Solver.
//
// Method, in short (details beside the code in fit.cc):
// - Residual per sample: log(predicted) - log(measured), i.e. relative error; constants are
//   fitted as logarithms, so they stay positive, and bounded by what the samples can show: a
//   rate (P, W, R) at most 1.05 x the highest rate any sample shows once its latency is taken
//   off, a latency at most 1.05 x the smallest time per event.
// - Robust loss: a Huber-like soft-L1 solve from heuristic starting values, then a Cauchy loss
//   (scale 5%) from there, so a throttled sample or an L2-resident size cannot drag a constant.
// - Network regimes: per (op, ranks), the sizes are binned (each distinct size, or at most 128
//   bins on a log-size grid) and the bins split into contiguous ranges, one line each (dynamic
//   programming over the bins, robust line fits): O(n log n) in the samples. The number of lines
//   minimises BIC on clipped log residuals with a 3% noise floor (a split that chases noise below
//   it does not pay), at most 4 and at least 4 bins a line, every line on the envelope for two
//   bins at least. The joint fit then uses the lower envelope min_i(α_i + x/R_i), and each
//   regime keeps the size range and count of the samples on which it is the envelope.
// - A constant no sample binds is not dropped but held at the bound the data gives it (a
//   latency below 5% of every sample's time at most that; a rate no sample is bound by at least
//   the rate its samples show) so that every sample stays priced, and marked unidentified.
// - cache=hot samples inform the latencies and P (where HBM does not decide their time); only W
//   needs cache=cold. A cache= value other than cold or hot is an error.
// - 95% intervals from the covariance of the log constants at the solution (Ceres, robustified
//   Jacobian), scaled by the robust residual scale (1.4826 · median |r|) and a Student t quantile.
// - Identification per constant: the samples where its term is at least half the time, their
//   range, the interval's width relative to the value; "unidentified" under two such samples or
//   a width above 1 (the interval spans more than the value itself).
// - Refusals: a solve that did not converge, or a rate at its bound (the samples cannot show a
//   rate that high), make the fit refuse to be written (FitResult::refusals; exit 3 in the CLI
//   unless --force). Ceres' own log is kept off the terminal.
// Deterministic: one thread, inputs in a fixed order, no random numbers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/cost_model.h"
#include "core/sample.h"

namespace batchcost {

// How well the samples determine one constant.
struct Identification {
  std::string name;    // "W", "P[bf16]", "λ[launch]", "network all_reduce/8 #1 α", "... R"
  std::string status;  // identified | unidentified | bounded (held at the data's bound)
  int n = 0;           // samples where its term is at least half the predicted time
  double work_min = 0, work_max = 0;  // their range of the work it prices (bytes, FLOPs, count)
  double relative_width = 0;          // (high - low) / value of the 95% interval
  std::string why;                    // for unidentified and bounded: the reason
};

struct FitResult {
  Constants constants;
  std::vector<Role> roles;  // parallel to the samples
  std::map<std::string, Quality> quality;
  std::vector<std::string> notes;              // constants left out or held, and why
  std::vector<Identification> identification;  // one per constant, in the table's order
  std::vector<std::string> warnings;           // families with samples no constant prices
  std::vector<std::string> refusals;           // why the model must not be written (non-empty)
};

// "identification": { name: { "status", "n", "work_range", "relative_width", "why" } }.
nlohmann::ordered_json identification_json(const std::vector<Identification>& ids);
// The identification table for the fit report; marks every constant that is not identified.
std::string identification_table(const std::vector<Identification>& ids);

// Throws InputError (results.h) when no sample can be fitted.
FitResult fit(const std::vector<Sample>& samples, const FitOptions& options = {});

// One latency-bandwidth line, as the regime search finds it, with the sizes (and their count)
// of the points on which it is the lower envelope.
struct Line {
  double latency_s = 0;
  double bytes_per_s = 0;
  double bytes_min = 0, bytes_max = 0;
  int n = 0;
};

// The regimes of one network operation from (bytes, seconds) points, one per size: the fewest
// lines, each covering a contiguous range of sizes, that the data supports (see the header).
// Empty when fewer than two distinct sizes. Sorted by increasing bandwidth. O(n log n).
std::vector<Line> find_regimes(std::vector<std::pair<double, double>> points);

// The two-sided 97.5% quantile of Student's t with `dof` degrees of freedom, which scales the 95%
// intervals of fit() and of the term selection (select.h): the Cornish-Fisher expansion around
// the normal quantile, within 1% for dof >= 3; infinite below one degree of freedom.
double t_quantile_975(double dof);

// The parameters a least-squares fit cannot see, from its Jacobian (`rows` x `cols`, row-major):
// where the Jacobian is rank deficient (a singular value at most 1e-7 of the largest, the
// directions Ceres' pseudo-inverse covariance drops, or fewer rows than columns), those with a
// component above 0.1 in its null space. The pseudo-inverse gives such a parameter a variance
// near 0, an interval of no width, where the truth is that the data does not bound it.
std::vector<bool> unseen_parameters(const std::vector<double>& jacobian, size_t rows, size_t cols);

}  // namespace batchcost
