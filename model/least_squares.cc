// The fitter's one Ceres problem (see least_squares.h).
#include "model/least_squares.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "model/fit.h"

namespace batchcost {
namespace {

ceres::Solver::Options solver_options(Precision precision) {
  ceres::Solver::Options o;
  o.linear_solver_type = precision.linear_solver;
  o.num_threads = 1;
  o.max_num_iterations = 200;
  o.function_tolerance = precision.tolerance;
  o.gradient_tolerance = 1e-2 * precision.tolerance;
  o.parameter_tolerance = precision.tolerance;
  o.logging_type = ceres::SILENT;
  o.minimizer_progress_to_stdout = false;
  return o;
}

}  // namespace

int Parameters::add(std::string name, double value, double lo, double hi, bool is_held) {
  names.push_back(std::move(name));
  theta.push_back(std::clamp(value, lo, hi));
  lower.push_back(lo);
  upper.push_back(hi);
  held.push_back(is_held);
  return static_cast<int>(theta.size()) - 1;
}

LeastSquares::LeastSquares(Parameters& p, Precision precision) : p_(p), precision_(precision) {
  ceres::Problem::Options po;
  po.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  problem_ = std::make_unique<ceres::Problem>(po);
}

LeastSquares::~LeastSquares() = default;

void LeastSquares::add(ceres::CostFunction* cost, const std::vector<int>& use,
                       ceres::LossFunction* loss, double weight) {
  std::vector<double*> blocks;
  for (int i : use) blocks.push_back(&p_.theta[static_cast<size_t>(i)]);
  ceres::LossFunction* rho = loss;
  if (loss && weight != 1) {
    scaled_.push_back(
        std::make_unique<ceres::ScaledLoss>(loss, weight, ceres::DO_NOT_TAKE_OWNERSHIP));
    rho = scaled_.back().get();
  }
  problem_->AddResidualBlock(cost, rho, blocks);
  ++residuals_;
  constrained_ = false;
}

void LeastSquares::constrain() {
  if (constrained_) return;
  for (size_t i = 0; i < p_.theta.size(); ++i) {
    double* b = &p_.theta[i];
    if (!problem_->HasParameterBlock(b)) continue;
    if (p_.held[i]) {
      problem_->SetParameterBlockConstant(b);
    } else {
      problem_->SetParameterLowerBound(b, 0, p_.lower[i]);
      problem_->SetParameterUpperBound(b, 0, p_.upper[i]);
    }
  }
  constrained_ = true;
}

std::string LeastSquares::solve() {
  if (residuals_ == 0) return "";
  constrain();
  ceres::Solver::Summary summary;
  ceres::Solve(solver_options(precision_), problem_.get(), &summary);
  bool finite = std::isfinite(summary.final_cost);
  for (double t : p_.theta) finite = finite && std::isfinite(t);
  if (summary.termination_type != ceres::CONVERGENCE || !summary.IsSolutionUsable() || !finite) {
    return "the solver did not converge (" + summary.message + ")";
  }
  return "";
}

std::vector<double> LeastSquares::raw_residuals() {
  std::vector<double> out;
  if (residuals_ == 0) return out;
  ceres::Problem::EvaluateOptions eo;
  eo.apply_loss_function = false;
  problem_->Evaluate(eo, nullptr, &out, nullptr, nullptr);
  return out;
}

std::optional<Intervals> LeastSquares::intervals(double scale, double n) {
  constrain();
  const size_t size = p_.theta.size();
  Intervals out;
  out.half.assign(size, 0.0);
  out.fitted.assign(size, 0);
  out.unseen.assign(size, 0);
  std::vector<double*> blocks;
  std::vector<size_t> index;
  for (size_t i = 0; i < size; ++i) {
    if (p_.held[i] || !problem_->HasParameterBlock(&p_.theta[i])) continue;
    blocks.push_back(&p_.theta[i]);
    index.push_back(i);
    out.fitted[i] = 1;
  }
  if (blocks.empty()) return out;
  const double t = t_quantile_975(n - static_cast<double>(blocks.size()));
  std::vector<std::pair<const double*, const double*>> pairs;
  for (const double* b : blocks) pairs.push_back({b, b});
  ceres::Covariance::Options co;
  co.algorithm_type = ceres::DENSE_SVD;
  co.num_threads = 1;
  co.null_space_rank = 0;
  auto covariance = std::make_unique<ceres::Covariance>(co);
  if (!covariance->Compute(pairs, problem_.get())) {
    co.null_space_rank = -1;  // pseudo-inverse: the directions the data cannot see are left out
    covariance = std::make_unique<ceres::Covariance>(co);
    out.pseudo_inverse = true;
    if (!covariance->Compute(pairs, problem_.get())) return std::nullopt;
  }
  for (size_t j = 0; j < blocks.size(); ++j) {
    double var = 0;
    covariance->GetCovarianceBlock(blocks[j], blocks[j], &var);
    out.half[index[j]] = t * scale * std::sqrt(std::max(var, 0.0));
  }
  // The parameters the data cannot see, from the Jacobian over the fitted ones: the
  // pseudo-inverse would give each an interval of no width.
  ceres::Problem::EvaluateOptions eo;
  eo.apply_loss_function = false;
  eo.parameter_blocks = blocks;
  ceres::CRSMatrix crs;
  problem_->Evaluate(eo, nullptr, nullptr, nullptr, &crs);
  const size_t cols = blocks.size(), rows = static_cast<size_t>(crs.num_rows);
  std::vector<double> dense(rows * cols, 0.0);
  for (size_t r = 0; r < rows; ++r) {
    for (int k = crs.rows[r]; k < crs.rows[r + 1]; ++k) {
      dense[r * cols + static_cast<size_t>(crs.cols[static_cast<size_t>(k)])] =
          crs.values[static_cast<size_t>(k)];
    }
  }
  const std::vector<bool> unseen = unseen_parameters(dense, rows, cols);
  for (size_t j = 0; j < cols; ++j) out.unseen[index[j]] = unseen[j];
  return out;
}

double robust_scale(std::vector<double> residuals) {
  if (residuals.empty()) return 0;
  for (double& r : residuals) r = std::abs(r);
  const auto mid = residuals.begin() + static_cast<long>(residuals.size() / 2);
  std::nth_element(residuals.begin(), mid, residuals.end());
  return 1.4826 * *mid;
}

void quiet_ceres_log() {
  // NOTES: 225 "Error in evaluating the ResidualBlock" lines on one diverging fit otherwise.
  static std::once_flag once;
  std::call_once(once, [] {
    FLAGS_minloglevel = google::GLOG_FATAL;
    FLAGS_stderrthreshold = google::GLOG_FATAL;
    FLAGS_logtostderr = false;
    FLAGS_alsologtostderr = false;
  });
}

}  // namespace batchcost
