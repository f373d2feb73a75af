// The fit of the cost model's constants (see fit.h for the method).
#include "model/fit.h"

#include <ceres/ceres.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>

#include "model/results.h"

namespace batchcost {
namespace {

// NOTES: 5% in log time is about twice the run-to-run noise of a GPU benchmark at a stable
// clock; residuals well beyond it (a throttled repetition, an L2-resident size) are outliers.
constexpr double kLossScale = 0.05;
// A term counts as binding a constant when it is at least this share of the predicted time.
constexpr double kBindingShare = 0.05;
constexpr double kClearWin = 1.1;
constexpr int kMaxRegimes = 4;
constexpr int kPointsPerRegime = 4;

// ---------------------------------------------------------------------------------------------
// Regimes of one network operation.

struct SegmentFit {
  double alpha = 0, beta = 0;  // latency (s) and 1 / bandwidth (s per byte)
  double cost = 0;             // Cauchy cost of the relative residuals
};

// Robust fit of y = alpha + beta x on points [begin, end), by iteratively reweighted least
// squares of the relative residual alpha/y + beta x/y - 1, with alpha, beta >= 0.
SegmentFit fit_segment(const std::vector<std::pair<double, double>>& pts, size_t begin,
                       size_t end) {
  std::vector<double> w(end - begin, 1.0);
  SegmentFit best;
  double min_y = std::numeric_limits<double>::infinity(), max_x = 0;
  for (size_t m = begin; m < end; ++m) {
    min_y = std::min(min_y, pts[m].second);
    max_x = std::max(max_x, pts[m].first);
  }
  for (int iter = 0; iter < 8; ++iter) {
    double saa = 0, sab = 0, sbb = 0, sa = 0, sb = 0;
    for (size_t m = begin; m < end; ++m) {
      double a = 1 / pts[m].second, b = pts[m].first / pts[m].second, wm = w[m - begin];
      saa += wm * a * a, sab += wm * a * b, sbb += wm * b * b, sa += wm * a, sb += wm * b;
    }
    double det = saa * sbb - sab * sab;
    double alpha = 0, beta = 0;
    if (det > 1e-12 * saa * sbb) {
      alpha = (sa * sbb - sb * sab) / det;
      beta = (sb * saa - sa * sab) / det;
    }
    if (!(alpha > 0 && beta > 0)) {  // on the boundary: the better of latency only, bandwidth only
      auto cost_of = [&](double a0, double b0) {
        double c = 0;
        for (size_t m = begin; m < end; ++m) {
          double r = (a0 + b0 * pts[m].first) / pts[m].second - 1;
          c += w[m - begin] * r * r;
        }
        return c;
      };
      double a_only = sa / saa, b_only = sbb > 0 ? sb / sbb : 0;
      bool latency = b_only <= 0 || cost_of(a_only, 0) <= cost_of(0, b_only);
      alpha = latency ? a_only : 0;
      beta = latency ? 0 : b_only;
    }
    // Floors keep the logarithms of the joint fit finite; they are far below any real constant.
    best.alpha = std::max(alpha, 1e-3 * min_y);
    best.beta = std::max(beta, max_x > 0 ? 1e-3 * min_y / max_x : 1e-18);
    best.cost = 0;
    for (size_t m = begin; m < end; ++m) {
      double r = (best.alpha + best.beta * pts[m].first) / pts[m].second - 1;
      double s = (r / kLossScale) * (r / kLossScale);
      w[m - begin] = 1 / (1 + s);
      best.cost += kLossScale * kLossScale * std::log1p(s);
    }
  }
  return best;
}

// Prefix sums for the least-squares line of any segment in O(1): with a = 1/y and b = x/y, the
// relative residual of y = alpha + beta x is alpha a + beta b - 1.
class LineSums {
 public:
  explicit LineSums(const std::vector<std::pair<double, double>>& pts) : s_(pts.size() + 1) {
    for (size_t m = 0; m < pts.size(); ++m) {
      double a = 1 / pts[m].second, b = pts[m].first / pts[m].second;
      s_[m + 1] = {s_[m][0] + a * a, s_[m][1] + a * b, s_[m][2] + b * b, s_[m][3] + a,
                   s_[m][4] + b};
    }
  }

  // The Cauchy cost of the least-squares line of [i, j), alpha and beta kept >= 0.
  double cost(const std::vector<std::pair<double, double>>& pts, size_t i, size_t j) const {
    double saa = s_[j][0] - s_[i][0], sab = s_[j][1] - s_[i][1], sbb = s_[j][2] - s_[i][2];
    double sa = s_[j][3] - s_[i][3], sb = s_[j][4] - s_[i][4];
    double det = saa * sbb - sab * sab, alpha = 0, beta = 0;
    if (det > 1e-12 * saa * sbb) {
      alpha = (sa * sbb - sb * sab) / det;
      beta = (sb * saa - sa * sab) / det;
    }
    if (!(alpha > 0 && beta > 0)) {
      // On the boundary: the one-parameter fit that removes more of the sum of squares.
      double a_only = sa / saa, b_only = sbb > 0 ? sb / sbb : 0;
      bool latency = b_only <= 0 || sa * a_only >= sb * b_only;
      alpha = latency ? a_only : 0;
      beta = latency ? 0 : b_only;
    }
    double c = 0;
    for (size_t m = i; m < j; ++m) {
      double r = (alpha + beta * pts[m].first) / pts[m].second - 1;
      c += kLossScale * kLossScale * std::log1p((r / kLossScale) * (r / kLossScale));
    }
    return c;
  }

 private:
  std::vector<std::array<double, 5>> s_;
};

}  // namespace

std::vector<Line> find_regimes(std::vector<std::pair<double, double>> pts) {
  std::sort(pts.begin(), pts.end());
  const size_t n = pts.size();
  if (n < 2 || pts.front().first == pts.back().first) return {};
  const int max_k =
      std::max<int>(1, std::min<int>(kMaxRegimes, static_cast<int>(n) / kPointsPerRegime));
  // NOTES: the search scores every segment [i, j) with its least-squares line from prefix sums
  // and a robust cost; only the chosen segments are refitted robustly (reweighted). A sweep of
  // ~200 sizes takes a few milliseconds.
  LineSums sums(pts);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> seg(n + 1, std::vector<double>(n + 1, inf));
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 2; j <= n; ++j) seg[i][j] = sums.cost(pts, i, j);
  }
  // cost[k][j]: best cost of the first j points in k lines; from[k][j]: where the last begins.
  std::vector<std::vector<double>> cost(max_k + 1, std::vector<double>(n + 1, inf));
  std::vector<std::vector<size_t>> from(max_k + 1, std::vector<size_t>(n + 1, 0));
  cost[0][0] = 0;
  for (int k = 1; k <= max_k; ++k) {
    size_t min_len = max_k == 1 ? 2 : kPointsPerRegime;
    for (size_t j = min_len; j <= n; ++j) {
      for (size_t i = 0; i + min_len <= j; ++i) {
        if (cost[k - 1][i] == inf) continue;
        double c = cost[k - 1][i] + seg[i][j];
        if (c < cost[k][j]) cost[k][j] = c, from[k][j] = i;
      }
    }
  }
  std::vector<Line> chosen;
  double best_bic = inf;
  for (int k = 1; k <= max_k; ++k) {
    if (cost[k][n] == inf) continue;
    std::vector<Line> lines;
    double total = 0;
    for (size_t j = n, kk = static_cast<size_t>(k); j > 0; --kk) {
      size_t i = from[kk][j];
      SegmentFit f = fit_segment(pts, i, j);
      lines.push_back({f.alpha, 1 / f.beta});
      total += f.cost;
      j = i;
    }
    // NOTES: BIC with the robust (Cauchy) cost standing in for the residual sum of squares, so
    // an outlier, which adds at most a few units of cost, does not pay for a spare line. The
    // floor (1e-8, 0.01% squared) is far below GPU timing noise: exact data does not split.
    double dn = static_cast<double>(n);
    double variance = std::max(total / std::max(dn - 2.0 * k, 1.0), 1e-8);
    double bic = dn * std::log(variance) + (3.0 * k - 1) * std::log(dn);
    if (bic < best_bic) best_bic = bic, chosen = lines;
  }
  std::sort(chosen.begin(), chosen.end(),
            [](const Line& a, const Line& b) { return a.bytes_per_s < b.bytes_per_s; });
  return chosen;
}

namespace {

// ---------------------------------------------------------------------------------------------
// The joint fit.

// Where each constant sits in the parameter vector (log values); -1 where absent.
struct Layout {
  std::vector<double> theta;
  std::vector<std::string> names;
  std::map<std::string, int> flops;
  int hbm = -1;
  std::array<int, kLatencyKinds.size()> latency{-1, -1, -1, -1};
  std::map<NetKey, std::vector<std::pair<int, int>>> network;  // (log α, log R) per regime

  int add(std::string name, double value) {
    names.push_back(std::move(name));
    theta.push_back(std::log(value));
    return static_cast<int>(theta.size()) - 1;
  }
};

Layout layout_of(const Constants& c) {
  Layout l;
  for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
    auto it = c.latency_s.find(std::string(kLatencyKinds[k]));
    if (it != c.latency_s.end()) l.latency[k] = l.add("λ[" + it->first + "]", it->second.value);
  }
  for (const auto& [dtype, e] : c.flops_per_s) l.flops[dtype] = l.add("P[" + dtype + "]", e.value);
  if (c.hbm_bytes_per_s) l.hbm = l.add("W", c.hbm_bytes_per_s->value);
  for (const auto& [key, regimes] : c.network) {
    for (size_t i = 0; i < regimes.size(); ++i) {
      std::string name = net_key_name(key) + " #" + std::to_string(i + 1);
      int a = l.add(name + " α", regimes[i].latency_s.value);
      int r = l.add(name + " R", regimes[i].bytes_per_s.value);
      l.network[key].push_back({a, r});
    }
  }
  return l;
}

// The residual of one sample: log(model time) - log(measured time), over the constants it uses.
struct SampleResidual {
  Work work;
  double collectives = 0, bytes_per_collective = 0, log_time = 0;
  std::array<int, kLatencyKinds.size()> latency{-1, -1, -1, -1};  // indices into the block list below
  int flops = -1, hbm = -1;
  std::vector<std::pair<int, int>> regimes;

  template <typename T>
  bool operator()(T const* const* p, T* residual) const {
    T t(0.0);
    for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
      if (latency[k] >= 0) t += work_field(work, kLatencyCounters[k]) * exp(p[latency[k]][0]);
    }
    if (!regimes.empty()) {
      T best(0.0);
      for (size_t i = 0; i < regimes.size(); ++i) {
        T line = exp(p[regimes[i].first][0]) + bytes_per_collective * exp(-p[regimes[i].second][0]);
        if (i == 0 || line < best) best = line;
      }
      t += collectives * best;
    }
    T compute(0.0), memory(0.0);
    if (flops >= 0) compute = work.flops * exp(-p[flops][0]);
    if (hbm >= 0) memory = work.bytes * exp(-p[hbm][0]);
    t += compute > memory ? compute : memory;
    residual[0] = log(t) - log_time;
    return true;
  }
};

// Adds one sample's residual block to `problem`; false when none of its terms is fitted.
bool add_sample(ceres::Problem& problem, Layout& l, const Sample& s, ceres::LossFunction* loss) {
  auto* r = new SampleResidual;
  r->work = s.work;
  r->log_time = std::log(s.time_s);
  std::vector<double*> blocks;
  auto use = [&](int index) {
    blocks.push_back(&l.theta[static_cast<size_t>(index)]);
    return static_cast<int>(blocks.size()) - 1;
  };
  for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
    if (l.latency[k] >= 0 && work_field(s.work, kLatencyCounters[k]) > 0)
      r->latency[k] = use(l.latency[k]);
  }
  double c = collective_count(s.work);
  auto net = l.network.find(net_key_of(s));
  if (c > 0 && net != l.network.end()) {
    r->collectives = c;
    r->bytes_per_collective = s.work.net_bytes / c;
    for (auto [a, rate] : net->second) r->regimes.push_back({use(a), use(rate)});
  }
  auto p = l.flops.find(dtype_of(s));
  if (s.work.flops > 0 && p != l.flops.end()) r->flops = use(p->second);
  if (s.work.bytes > 0 && l.hbm >= 0) r->hbm = use(l.hbm);
  if (blocks.empty()) {
    delete r;
    return false;
  }
  auto* cost = new ceres::DynamicAutoDiffCostFunction<SampleResidual, 4>(r);
  for (size_t i = 0; i < blocks.size(); ++i) cost->AddParameterBlock(1);
  cost->SetNumResiduals(1);
  problem.AddResidualBlock(cost, loss, blocks);
  return true;
}

ceres::Solver::Options solver_options() {
  ceres::Solver::Options o;
  o.linear_solver_type = ceres::DENSE_QR;
  o.num_threads = 1;
  o.max_num_iterations = 200;
  o.function_tolerance = 1e-12;
  o.gradient_tolerance = 1e-14;
  o.parameter_tolerance = 1e-12;
  o.logging_type = ceres::SILENT;
  return o;
}

// Solves in place; returns the number of residual blocks.
int solve(Layout& l, const std::vector<Sample>& samples, const std::vector<size_t>& fit_idx,
          ceres::LossFunction* loss) {
  ceres::Problem::Options po;
  po.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::Problem problem(po);
  int n = 0;
  for (size_t i : fit_idx) n += add_sample(problem, l, samples[i], loss) ? 1 : 0;
  if (n == 0) return 0;
  ceres::Solver::Summary summary;
  ceres::Solve(solver_options(), &problem, &summary);
  return n;
}

Constants values_of(const Layout& l, const Constants& shape) {
  Constants c = shape;
  auto set = [&](Estimate& e, int index) {
    e.value = std::exp(l.theta[static_cast<size_t>(index)]);
    e.low = e.high = e.value;
  };
  for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
    if (l.latency[k] >= 0) set(c.latency_s[std::string(kLatencyKinds[k])], l.latency[k]);
  }
  for (auto& [dtype, e] : c.flops_per_s) set(e, l.flops.at(dtype));
  if (c.hbm_bytes_per_s) set(*c.hbm_bytes_per_s, l.hbm);
  for (auto& [key, regimes] : c.network) {
    for (size_t i = 0; i < regimes.size(); ++i) {
      set(regimes[i].latency_s, l.network.at(key)[i].first);
      set(regimes[i].bytes_per_s, l.network.at(key)[i].second);
    }
  }
  return c;
}

// Starting values: each from the samples where it is most likely to bind. A rate is at least
// the highest work / time a sample shows; a latency at most the lowest time / count.
Constants initial_guess(const std::vector<Sample>& samples, const std::vector<size_t>& fit_idx,
                        std::vector<std::string>& notes) {
  Constants c;
  std::map<NetKey, std::vector<std::pair<double, double>>> points;
  for (size_t i : fit_idx) {
    const Sample& s = samples[i];
    const Work& w = s.work;
    for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
      double count = work_field(w, kLatencyCounters[k]);
      if (count <= 0) continue;
      auto [it, fresh] = c.latency_s.try_emplace(std::string(kLatencyKinds[k]));
      double guess = s.time_s / count;
      if (fresh || guess < it->second.value) it->second.value = guess;
    }
    if (w.flops > 0) {
      auto [it, fresh] = c.flops_per_s.try_emplace(dtype_of(s));
      it->second.value = std::max(it->second.value, w.flops / s.time_s);
    }
    if (w.bytes > 0) {
      if (!c.hbm_bytes_per_s) c.hbm_bytes_per_s = Estimate{};
      c.hbm_bytes_per_s->value = std::max(c.hbm_bytes_per_s->value, w.bytes / s.time_s);
    }
    double n = collective_count(w);
    if (n > 0) points[net_key_of(s)].push_back({w.net_bytes / n, s.time_s / n});
  }
  for (auto& [key, pts] : points) {
    std::vector<Line> lines = find_regimes(pts);
    if (lines.empty()) {
      notes.push_back("network " + net_key_name(key) + ": absent, needs at least two sizes (has " +
                      std::to_string(pts.size()) + " sample" + (pts.size() == 1 ? ")" : "s)"));
      continue;
    }
    for (const Line& line : lines) {
      c.network[key].push_back({{line.latency_s, 0, 0}, {line.bytes_per_s, 0, 0}});
    }
  }
  return c;
}

// Drops the constants no fitted sample binds; returns whether it dropped any.
bool drop_unbound(Constants& c, const std::vector<Sample>& samples,
                  const std::vector<size_t>& fit_idx, std::vector<std::string>& notes) {
  std::map<std::string, int> latency_n, flops_n;
  int hbm_n = 0;
  std::map<NetKey, std::vector<int>> regime_n;
  for (const auto& [key, regimes] : c.network) regime_n[key].assign(regimes.size(), 0);
  for (size_t i : fit_idx) {
    const Sample& s = samples[i];
    const Work& w = s.work;
    double total = 0;
    std::array<double, kLatencyKinds.size()> lat{};
    for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
      auto it = c.latency_s.find(std::string(kLatencyKinds[k]));
      if (it != c.latency_s.end()) lat[k] = work_field(w, kLatencyCounters[k]) * it->second.value;
      total += lat[k];
    }
    double net = 0;
    int regime = -1;
    double n = collective_count(w);
    auto nit = c.network.find(net_key_of(s));
    if (n > 0 && nit != c.network.end()) {
      double best = std::numeric_limits<double>::infinity();
      for (size_t r = 0; r < nit->second.size(); ++r) {
        const Regime& g = nit->second[r];
        double line = g.latency_s.value + w.net_bytes / n / g.bytes_per_s.value;
        if (line < best) best = line, regime = static_cast<int>(r);
      }
      net = n * best;
    }
    double compute = 0, memory = 0;
    auto pit = c.flops_per_s.find(dtype_of(s));
    if (w.flops > 0 && pit != c.flops_per_s.end()) compute = w.flops / pit->second.value;
    if (w.bytes > 0 && c.hbm_bytes_per_s) memory = w.bytes / c.hbm_bytes_per_s->value;
    total += net + std::max(compute, memory);
    if (total <= 0) continue;
    auto binds = [&](double term) { return term >= kBindingShare * total; };
    for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
      if (lat[k] > 0 && binds(lat[k])) ++latency_n[std::string(kLatencyKinds[k])];
    }
    if (regime >= 0 && binds(net)) ++regime_n[nit->first][static_cast<size_t>(regime)];
    // NOTES: under max(), a rate the data only bounds from below settles where its term ties
    // the other one; it is determined only by a sample where its term clearly wins.
    if (compute > kClearWin * memory && binds(compute)) ++flops_n[pit->first];
    if (memory > kClearWin * compute && binds(memory)) ++hbm_n;
  }
  bool dropped = false;
  for (auto it = c.latency_s.begin(); it != c.latency_s.end();) {
    if (latency_n[it->first] > 0) {
      ++it;
      continue;
    }
    notes.push_back("λ[" + it->first + "]: absent, no sample where it is 5% of the time or more");
    it = c.latency_s.erase(it);
    dropped = true;
  }
  for (auto it = c.flops_per_s.begin(); it != c.flops_per_s.end();) {
    if (flops_n[it->first] > 0) {
      ++it;
      continue;
    }
    notes.push_back("P[" + it->first + "]: absent, no sample is compute-bound");
    it = c.flops_per_s.erase(it);
    dropped = true;
  }
  if (c.hbm_bytes_per_s && hbm_n == 0) {
    notes.push_back("W: absent, no sample is memory-bound");
    c.hbm_bytes_per_s.reset();
    dropped = true;
  }
  for (auto it = c.network.begin(); it != c.network.end();) {
    // A line needs two sizes where it is the envelope; drop the weakest one per round.
    const std::vector<int>& counts = regime_n[it->first];
    auto weakest = std::min_element(counts.begin(), counts.end());
    if (*weakest >= 2) {
      ++it;
      continue;
    }
    dropped = true;
    it->second.erase(it->second.begin() + (weakest - counts.begin()));
    if (!it->second.empty()) {
      ++it;
      continue;
    }
    notes.push_back("network " + net_key_name(it->first) + ": absent, no regime binds two sizes");
    it = c.network.erase(it);
  }
  return dropped;
}

// The two-sided 97.5% quantile of Student's t with `dof` degrees of freedom (Cornish-Fisher
// expansion around the normal quantile; within 1% for dof >= 3).
double t_quantile_975(double dof) {
  const double z = 1.959963984540054;
  if (dof < 1) return std::numeric_limits<double>::infinity();
  double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * dof) + (5 * z5 + 16 * z3 + 3 * z) / (96 * dof * dof) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * dof * dof * dof);
}

// Fills the 95% intervals of `c` from the covariance at the solution `l`.
void add_intervals(Constants& c, Layout& l, const std::vector<Sample>& samples,
                   const std::vector<size_t>& fit_idx, ceres::LossFunction* loss,
                   std::vector<std::string>& notes) {
  ceres::Problem::Options po;
  po.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::Problem problem(po);
  int n = 0;
  for (size_t i : fit_idx) n += add_sample(problem, l, samples[i], loss) ? 1 : 0;
  std::vector<double> residuals;
  ceres::Problem::EvaluateOptions eo;
  eo.apply_loss_function = false;
  problem.Evaluate(eo, nullptr, &residuals, nullptr, nullptr);
  for (double& r : residuals) r = std::abs(r);
  std::nth_element(residuals.begin(), residuals.begin() + static_cast<long>(residuals.size() / 2),
                   residuals.end());
  const double scale = 1.4826 * residuals[residuals.size() / 2];
  const int params = problem.NumParameterBlocks();
  const double t = t_quantile_975(n - params);

  std::vector<const double*> blocks;
  for (double& theta : l.theta) {
    if (problem.HasParameterBlock(&theta)) blocks.push_back(&theta);
  }
  std::vector<std::pair<const double*, const double*>> pairs;
  for (const double* b : blocks) pairs.push_back({b, b});
  ceres::Covariance::Options co;
  co.algorithm_type = ceres::DENSE_SVD;
  co.num_threads = 1;
  co.null_space_rank = 0;
  auto covariance = std::make_unique<ceres::Covariance>(co);
  if (!covariance->Compute(pairs, &problem)) {
    co.null_space_rank = -1;  // pseudo-inverse: the directions the data cannot see are left out
    covariance = std::make_unique<ceres::Covariance>(co);
    notes.push_back(
        "the fit is rank deficient: intervals from a pseudo-inverse understate the "
        "uncertainty");
    if (!covariance->Compute(pairs, &problem)) return;
  }
  auto interval = [&](Estimate& e, int index) {
    double var = 0;
    const double* b = &l.theta[static_cast<size_t>(index)];
    covariance->GetCovarianceBlock(b, b, &var);
    double half = t * scale * std::sqrt(std::max(var, 0.0));
    e.low = std::exp(l.theta[static_cast<size_t>(index)] - half);
    e.high = std::exp(l.theta[static_cast<size_t>(index)] + half);
  };
  for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
    if (l.latency[k] >= 0) interval(c.latency_s[std::string(kLatencyKinds[k])], l.latency[k]);
  }
  for (auto& [dtype, e] : c.flops_per_s) interval(e, l.flops.at(dtype));
  if (c.hbm_bytes_per_s) interval(*c.hbm_bytes_per_s, l.hbm);
  for (auto& [key, regimes] : c.network) {
    for (size_t i = 0; i < regimes.size(); ++i) {
      interval(regimes[i].latency_s, l.network.at(key)[i].first);
      interval(regimes[i].bytes_per_s, l.network.at(key)[i].second);
    }
  }
}

}  // namespace

FitResult fit(const std::vector<Sample>& samples, const FitOptions& options) {
  FitResult result;
  std::vector<size_t> fit_idx;
  for (size_t i = 0; i < samples.size(); ++i) {
    result.roles.push_back(role_of(samples[i], options));
    if (result.roles.back() == Role::kFit) fit_idx.push_back(i);
  }
  if (fit_idx.empty()) {
    throw InputError(
        "nothing to fit: every sample is in a validation family, cache=hot, or "
        "declares no work");
  }
  Constants c = initial_guess(samples, fit_idx, result.notes);
  // NOTES: soft-L1 first, from rough starting values (it is close to convex), then Cauchy from
  // there: Cauchy gives an outlier almost no weight, but from a poor start it may call good
  // samples outliers.
  ceres::SoftLOneLoss soft(2 * kLossScale);
  ceres::CauchyLoss cauchy(kLossScale);
  Layout l;
  for (int round = 0; round < 8; ++round) {
    l = layout_of(c);
    if (solve(l, samples, fit_idx, &soft) == 0) break;
    solve(l, samples, fit_idx, &cauchy);
    c = values_of(l, c);
    if (!drop_unbound(c, samples, fit_idx, result.notes)) break;
  }
  l = layout_of(c);
  if (!l.theta.empty()) add_intervals(c, l, samples, fit_idx, &cauchy, result.notes);
  result.constants = std::move(c);
  result.quality = quality_of(samples, result.roles, result.constants);
  return result;
}

}  // namespace batchcost
