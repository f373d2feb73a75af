// The fitter's one Ceres problem. The epoch fit (fit.h: the paper's form, with the network's
// regimes) and the refined fit (select.h: the refined form's terms) are the same least-squares
// problem and differ only in the residual's form:
//   - the parameters are the logarithms of the constants (of p - 1 for the overlap), one scalar
//     block each, within bounds or held at a value;
//   - each residual is log(model time) - log(measured time) of one sample, or of a group of
//     samples the model cannot tell apart at their median time, weighted by their number, under
//     a robust loss: soft-L1 from the starting values first, then Cauchy from there (RobustLoss);
//   - one set of solver options (its precision the fit's), and the 95% intervals t(n - k) × scale ×
//   sd from the
//     covariance at the solution, scale the residuals' robust spread (1.4826 × median |r|).
// Host only; Ceres Solver.
#pragma once

#include <ceres/ceres.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace batchcost {

// NOTES: 5% in log time is about twice the run-to-run noise of a GPU benchmark at a stable clock;
// residuals well beyond it (a throttled repetition, an L2-resident size) are outliers.
inline constexpr double kLossScale = 0.05;

// The two robust losses every solve uses in turn. NOTES: soft-L1 first, from rough starting
// values (it is close to convex), then Cauchy from there: Cauchy gives an outlier almost no
// weight, but from a poor start it may call good samples outliers.
struct RobustLoss {
  ceres::SoftLOneLoss soft{2 * kLossScale};
  ceres::CauchyLoss cauchy{kLossScale};
};

// The parameter vector: log values, their bounds, and whether each is held (not fitted).
struct Parameters {
  std::vector<double> theta, lower, upper;
  std::vector<char> held;
  std::vector<std::string> names;

  // Appends a parameter; returns its index. The value is clamped into [lower, upper].
  int add(std::string name, double value, double lower, double upper, bool is_held = false);
};

// How far a solve goes: the linear solver and the function and parameter tolerances (the
// gradient's is a hundredth of them). NOTES: the epoch fit solves up to 10,000 residuals (one per
// group of samples, fit.cc) over a few dozen rates and latencies: the normal equations and 1e-10
// suffice. The refined fit's terms (the overlap p, k_half) are flat directions of the cost: QR
// and 1e-12, which the held-out selection between term sets needs to compare converged fits.
struct Precision {
  ceres::LinearSolverType linear_solver;
  double tolerance;
};
inline constexpr Precision kEpochPrecision{ceres::DENSE_NORMAL_CHOLESKY, 1e-10};
inline constexpr Precision kRefinedPrecision{ceres::DENSE_QR, 1e-12};

// The 95% half-widths of the parameters a problem fits (log space), by index into Parameters.
struct Intervals {
  std::vector<double> half;     // 0 where held or unused
  std::vector<char> fitted;     // a free parameter some residual uses
  std::vector<char> unseen;     // fitted, but the data cannot see it (unseen_parameters, fit.h)
  bool pseudo_inverse = false;  // the covariance was rank deficient
};

class LeastSquares {
 public:
  LeastSquares(Parameters& p, Precision precision);
  LeastSquares(const LeastSquares&) = delete;
  LeastSquares& operator=(const LeastSquares&) = delete;
  ~LeastSquares();

  // Adds `cost` (owned from here on), which takes the parameters `use` (indices into the
  // Parameters) as scalar blocks in that order, under `loss` scaled by `weight` (the number of
  // samples the residual stands for).
  void add(ceres::CostFunction* cost, const std::vector<int>& use, ceres::LossFunction* loss,
           double weight = 1);
  int residuals() const { return residuals_; }

  // Solves in place, held parameters constant and the others within their bounds; returns the
  // solver's verdict, empty when it converged to a finite solution.
  std::string solve();

  // The residuals at the current values without the loss, one per residual block.
  std::vector<double> raw_residuals();

  // The intervals at the current values, from `scale` (the residuals' robust spread) and `n`
  // (the samples behind the residuals, for the t quantile's degrees of freedom). Absent when the
  // covariance cannot be computed even as a pseudo-inverse.
  std::optional<Intervals> intervals(double scale, double n);

 private:
  void constrain();

  Parameters& p_;
  Precision precision_;
  std::vector<std::unique_ptr<ceres::LossFunction>> scaled_;
  std::unique_ptr<ceres::Problem> problem_;
  int residuals_ = 0;
  bool constrained_ = false;
};

// The residuals' robust spread: 1.4826 × their median absolute value (a normal's σ); 0 if none.
double robust_scale(std::vector<double> residuals);

// Ceres logs through glog, which writes WARNING and above to stderr when nobody initialised it:
// the fit reports what matters itself, so glog is silenced once, before the first solve.
void quiet_ceres_log();

}  // namespace batchcost
