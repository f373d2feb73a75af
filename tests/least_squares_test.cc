// The fitter's one Ceres problem (model/least_squares.h) on problems with known answers.
#include "model/least_squares.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace batchcost {
namespace {

// log(a x + b) - log(y): the shape of every residual of the fit (a rate's inverse and a latency,
// both as logarithms); the second parameter may be left out (then the model is a x).
struct Line {
  double x, log_y;
  template <typename T>
  bool operator()(const T* log_a, const T* log_b, T* r) const {
    r[0] = log(exp(log_a[0]) * x + exp(log_b[0])) - log_y;
    return true;
  }
};

ceres::CostFunction* line(double x, double y) {
  return new ceres::AutoDiffCostFunction<Line, 1, 1, 1>(new Line{x, std::log(y)});
}

// y = 2x + 5 at x = 1 .. 64, with ±1% alternating noise.
std::vector<std::pair<double, double>> points() {
  std::vector<std::pair<double, double>> out;
  for (int i = 0; i < 7; ++i) {
    const double x = std::pow(2.0, i);
    out.push_back({x, (2 * x + 5) * (i % 2 ? 1.01 : 0.99)});
  }
  return out;
}

TEST(LeastSquares, RecoversTheLineWithIntervalsThatCoverIt) {
  Parameters p;
  const int a = p.add("a", 0.0, -10, 10), b = p.add("b", 0.0, -10, 10);
  LeastSquares ls(p, kEpochPrecision);
  RobustLoss loss;
  for (auto [x, y] : points()) ls.add(line(x, y), {a, b}, &loss.soft);
  EXPECT_EQ(ls.residuals(), 7);
  EXPECT_EQ(ls.solve(), "");
  EXPECT_NEAR(std::exp(p.theta[0]), 2.0, 0.05);
  EXPECT_NEAR(std::exp(p.theta[1]), 5.0, 0.3);
  const auto iv = ls.intervals(robust_scale(ls.raw_residuals()), 7);
  ASSERT_TRUE(iv.has_value());
  EXPECT_FALSE(iv->pseudo_inverse);
  for (int i : {a, b}) {
    EXPECT_TRUE(iv->fitted[i]);
    EXPECT_FALSE(iv->unseen[i]);
    EXPECT_GT(iv->half[i], 0);
  }
  EXPECT_LT(std::abs(p.theta[a] - std::log(2.0)), iv->half[a]);
  EXPECT_LT(std::abs(p.theta[b] - std::log(5.0)), iv->half[b]);
}

TEST(LeastSquares, KeepsAHeldParameterAndABound) {
  Parameters p;
  // b held at 10 (truth 5); a may not exceed 1.5 (truth 2): a ends at its bound.
  const int a = p.add("a", 0.0, -10, std::log(1.5)), b = p.add("b", std::log(10.0), -10, 10, true);
  LeastSquares ls(p, kRefinedPrecision);
  for (auto [x, y] : points()) ls.add(line(x, y), {a, b}, nullptr, 2.0);
  EXPECT_EQ(ls.solve(), "");
  EXPECT_DOUBLE_EQ(p.theta[b], std::log(10.0));
  EXPECT_NEAR(p.theta[a], std::log(1.5), 1e-9);
  const auto iv = ls.intervals(0.01, 7);
  ASSERT_TRUE(iv.has_value());
  EXPECT_FALSE(iv->fitted[b]);
  EXPECT_EQ(iv->half[b], 0);
  EXPECT_TRUE(iv->fitted[a]);
}

TEST(LeastSquares, NamesAParameterTheDataCannotSee) {
  // Every residual at x = 1 sees only a + b: the Jacobian has rank one, so the covariance is a
  // pseudo-inverse and the direction it drops is named.
  Parameters p;
  const int a = p.add("a", 0.0, -10, 10), b = p.add("b", 0.0, -10, 10);
  const int c = p.add("c", 0.0, -10, 10);  // no residual uses it
  LeastSquares ls(p, kEpochPrecision);
  for (int i = 0; i < 4; ++i) ls.add(line(1.0, 7.0 * (i % 2 ? 1.01 : 0.99)), {a, b}, nullptr);
  ls.solve();
  const auto iv = ls.intervals(0.01, 4);
  ASSERT_TRUE(iv.has_value());
  EXPECT_TRUE(iv->pseudo_inverse);
  EXPECT_TRUE(iv->unseen[a] || iv->unseen[b]);
  EXPECT_FALSE(iv->fitted[c]);
}

TEST(LeastSquares, RobustScaleIsTheMedianAbsoluteResidualAsASigma) {
  EXPECT_DOUBLE_EQ(robust_scale({1.0, -2.0, 3.0}), 1.4826 * 2.0);
  EXPECT_EQ(robust_scale({}), 0);
}

TEST(LeastSquares, AParameterStartsWithinItsBounds) {
  Parameters p;
  p.add("x", 50.0, -1, 1);
  EXPECT_EQ(p.theta[0], 1.0);
}

}  // namespace
}  // namespace batchcost
