// The fit of the cost model's constants (see fit.h for the method).
#include "model/fit.h"

#include <ceres/ceres.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <set>
#include <tuple>

#include "model/least_squares.h"
#include "model/results.h"

namespace batchcost {
namespace {

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

// NOTES: bins keep the search's cost independent of the sample count: a sweep has a few dozen
// distinct sizes, repeated; 100,000 samples of one (op, ranks) cost a sort and a pass.
constexpr size_t kMaxBins = 128;
// Model selection: a line that only improves the fit below this relative noise is not worth its
// two parameters (single-run nccl-tests logs scatter by a few percent from size to size).
constexpr double kNoiseFloor = 0.03;
// Log residuals are clipped here in model selection, so that one wild size cannot buy a line,
// while a line missing a whole range by 60% (log 1.6 = 0.47) still pays for its misfit.
constexpr double kClipLog = 0.7;

// One (size, time) point per bin: the median size and the median time of its points.
std::vector<std::pair<double, double>> binned(const std::vector<std::pair<double, double>>& pts) {
  std::vector<std::pair<double, double>> out;
  auto flush = [&](size_t i, size_t j) {
    std::vector<double> xs, ys;
    for (size_t m = i; m < j; ++m) xs.push_back(pts[m].first), ys.push_back(pts[m].second);
    auto median = [](std::vector<double>& v) {
      std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
      double hi = v[v.size() / 2];
      if (v.size() % 2) return hi;
      double lo = *std::max_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2));
      return 0.5 * (lo + hi);
    };
    out.push_back({median(xs), median(ys)});
  };
  size_t distinct = 0;
  for (size_t m = 0; m < pts.size(); ++m) distinct += m == 0 || pts[m].first != pts[m - 1].first;
  if (distinct <= kMaxBins) {
    for (size_t i = 0, j = 0; i < pts.size(); i = j) {
      while (j < pts.size() && pts[j].first == pts[i].first) ++j;
      flush(i, j);
    }
    return out;
  }
  // A log-size grid; sizes of 0 (a pure latency) in a bin of their own.
  size_t first_positive = 0;
  while (first_positive < pts.size() && !(pts[first_positive].first > 0)) ++first_positive;
  if (first_positive > 0) flush(0, first_positive);
  if (first_positive == pts.size()) return out;
  const double lo = std::log(pts[first_positive].first), hi = std::log(pts.back().first);
  const double width = (hi - lo) / static_cast<double>(kMaxBins - 1);
  auto bin_of = [&](double x) {
    return width > 0 ? static_cast<size_t>(std::floor((std::log(x) - lo) / width)) : 0;
  };
  for (size_t i = first_positive, j = i; i < pts.size(); i = j) {
    const size_t b = bin_of(pts[i].first);
    while (j < pts.size() && bin_of(pts[j].first) == b) ++j;
    flush(i, j);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// For each point, the line of the lower envelope there.
std::vector<size_t> envelope_of(const std::vector<Line>& lines,
                                const std::vector<std::pair<double, double>>& pts) {
  std::vector<size_t> at(pts.size(), 0);
  for (size_t m = 0; m < pts.size(); ++m) {
    double best = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < lines.size(); ++i) {
      double t = lines[i].latency_s + pts[m].first / lines[i].bytes_per_s;
      if (t < best) best = t, at[m] = i;
    }
  }
  return at;
}

// Drops the lines that are the envelope for fewer than `min_points` points, weakest first.
void drop_off_envelope(std::vector<Line>& lines, const std::vector<std::pair<double, double>>& pts,
                       int min_points) {
  while (lines.size() > 1) {
    std::vector<int> count(lines.size(), 0);
    for (size_t i : envelope_of(lines, pts)) ++count[i];
    auto weakest = std::min_element(count.begin(), count.end());
    if (*weakest >= min_points) return;
    lines.erase(lines.begin() + (weakest - count.begin()));
  }
}

}  // namespace

std::vector<Line> find_regimes(std::vector<std::pair<double, double>> raw) {
  std::sort(raw.begin(), raw.end());
  if (raw.size() < 2 || raw.front().first == raw.back().first) return {};
  const std::vector<std::pair<double, double>> pts = binned(raw);
  const size_t n = pts.size();
  const int max_k =
      std::max<int>(1, std::min<int>(kMaxRegimes, static_cast<int>(n) / kPointsPerRegime));
  // NOTES: the search scores every segment [i, j) of bins with its least-squares line from
  // prefix sums and a robust cost; only the chosen segments are refitted robustly (reweighted).
  // At most 128 bins: a few milliseconds whatever the number of samples.
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
    for (size_t j = n, kk = static_cast<size_t>(k); j > 0; --kk) {
      size_t i = from[kk][j];
      SegmentFit f = fit_segment(pts, i, j);
      lines.push_back({f.alpha, 1 / f.beta});
      j = i;
    }
    // A line the envelope never uses is no regime: it is dropped before scoring.
    drop_off_envelope(lines, pts, 2);
    if (static_cast<int>(lines.size()) < k) continue;  // that k is some smaller k
    // NOTES: BIC on the envelope's log residuals, clipped (one wild size buys no line), with a
    // noise floor (exact or nearly exact data does not split to chase the last percent).
    double total = 0;
    const std::vector<size_t> at = envelope_of(lines, pts);
    for (size_t m = 0; m < n; ++m) {
      const Line& g = lines[at[m]];
      double r = std::log((g.latency_s + pts[m].first / g.bytes_per_s) / pts[m].second);
      total += std::min(r * r, kClipLog * kClipLog);
    }
    double dn = static_cast<double>(n);
    double variance = std::max(total / std::max(dn - 2.0 * k, 1.0), kNoiseFloor * kNoiseFloor);
    double bic = dn * std::log(variance) + (3.0 * k - 1) * std::log(dn);
    if (bic < best_bic - 1e-9) best_bic = bic, chosen = lines;
  }
  // Where each line is the envelope, over the points as given (not the bins).
  const std::vector<size_t> at = envelope_of(chosen, raw);
  for (size_t m = 0; m < raw.size(); ++m) {
    Line& g = chosen[at[m]];
    if (g.n == 0 || raw[m].first < g.bytes_min) g.bytes_min = raw[m].first;
    if (g.n == 0 || raw[m].first > g.bytes_max) g.bytes_max = raw[m].first;
    ++g.n;
  }
  std::sort(chosen.begin(), chosen.end(),
            [](const Line& a, const Line& b) { return a.bytes_per_s < b.bytes_per_s; });
  return chosen;
}

double t_quantile_975(double dof) {
  const double z = 1.959963984540054;  // the normal distribution's 97.5% quantile
  if (dof < 1) return std::numeric_limits<double>::infinity();
  double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * dof) + (5 * z5 + 16 * z3 + 3 * z) / (96 * dof * dof) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * dof * dof * dof);
}

std::vector<bool> unseen_parameters(const std::vector<double>& jacobian, size_t rows,
                                    size_t cols) {
  std::vector<bool> out(cols, false);
  if (cols == 0) return out;
  if (rows == 0 || jacobian.size() != rows * cols) return std::vector<bool>(cols, true);
  // The eigenvectors of J'J (its eigenvalues are J's squared singular values) by cyclic Jacobi
  // rotations: a few dozen parameters at most. NOTES: not Eigen's SVD: an instantiation of
  // Eigen in this library interposes on the one inside the prebuilt Ceres, and the two disagree
  // on aligned allocation (ASan: "free on address which was not malloc()-ed" in Ceres' BDCSVD).
  const size_t n = cols;
  std::vector<double> a(n * n, 0.0), v(n * n, 0.0);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) a[i * n + j] += jacobian[r * n + i] * jacobian[r * n + j];
    }
  }
  for (size_t i = 0; i < n; ++i) v[i * n + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (size_t i = 0; i < n; ++i) {
      diag += a[i * n + i] * a[i * n + i];
      for (size_t j = i + 1; j < n; ++j) off += a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-30 * diag || off == 0) break;
    for (size_t p = 0; p < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), sn = t * c;
        for (size_t k = 0; k < n; ++k) {  // A <- A R (columns p, q)
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - sn * akq;
          a[k * n + q] = sn * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {  // A <- R' A (rows p, q)
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - sn * aqk;
          a[q * n + k] = sn * apk + c * aqk;
        }
        for (size_t k = 0; k < n; ++k) {  // V <- V R
          const double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
    }
  }
  double largest = 0;
  for (size_t i = 0; i < n; ++i) largest = std::max(largest, a[i * n + i]);
  // Eigenvalues at most 1e-14 of the largest: the singular values at most 1e-7 of the largest,
  // Ceres' min_reciprocal_condition_number for the covariance.
  const double floor = 1e-14 * largest;
  for (size_t i = 0; i < n; ++i) {
    double in_null = 0;
    for (size_t k = 0; k < n; ++k) {
      if (a[k * n + k] <= floor) in_null += v[i * n + k] * v[i * n + k];
    }
    out[i] = std::sqrt(in_null) > 0.1;
  }
  return out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// The joint fit.

constexpr size_t kKinds = kLatencyKinds.size();
// A rate may exceed the highest rate the samples show (latency taken off) by this much.
constexpr double kRateMargin = 1.05;
// The rank of the smallest time per event that bounds a latency (see data_bounds).
constexpr size_t kRobustRank = 3;

std::string latency_name(size_t k) { return "λ[" + std::string(kLatencyKinds[k]) + "]"; }
std::string regime_name(const NetKey& key, size_t i) {
  return "network " + net_key_name(key) + " #" + std::to_string(i + 1);
}

bool is_hot(const Sample& s) {
  auto it = s.labels.find("cache");
  return it != s.labels.end() && it->second == "hot";
}

// What the samples can show: the upper bound of every constant (see fit.h), and the highest
// rates observed.
struct DataBounds {
  std::map<std::string, double> latency_max;  // by kind: 1.05 x the smallest time per event
  std::map<std::string, double> flops_max;    // by dtype
  double hbm_max = 0;
  std::map<NetKey, double> alpha_max, rate_max;
  // Per network operation: (bytes per collective, the smallest time per collective at that size
  // or above), sorted by size: a regime's latency is at most the time where it starts.
  std::map<NetKey, std::vector<std::pair<double, double>>> time_from;

  double alpha_bound(const NetKey& key, double bytes_min) const {
    auto it = time_from.find(key);
    if (it == time_from.end() || it->second.empty()) return 0;
    auto at = std::lower_bound(it->second.begin(), it->second.end(),
                               std::pair<double, double>{bytes_min, -1.0});
    if (at == it->second.end()) --at;
    return kRateMargin * at->second;
  }
};

// Starting values: each from the samples where it is most likely to bind. A rate is at least
// the highest work / time a sample shows; a latency at most the lowest time / count.
Constants initial_guess(const std::vector<Sample>& samples, const std::vector<size_t>& fit_idx,
                        std::vector<std::string>& notes) {
  Constants c;
  std::map<NetKey, std::vector<std::pair<double, double>>> points;
  for (size_t i : fit_idx) {
    const Sample& s = samples[i];
    const Work& w = s.work;
    for (size_t k = 0; k < kKinds; ++k) {
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
    if (w.bytes > 0 && !is_hot(s)) {
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
      Regime r{{line.latency_s, 0, 0}, {line.bytes_per_s, 0, 0}};
      r.bytes_min = line.bytes_min, r.bytes_max = line.bytes_max, r.n = line.n;
      c.network[key].push_back(r);
    }
  }
  return c;
}

DataBounds data_bounds(const std::vector<Sample>& samples, const std::vector<size_t>& fit_idx,
                       const Constants& guess) {
  DataBounds b;
  // NOTES: a latency is at most the time per event of every sample, but one fast outlier (an
  // L2-resident size, a mislabelled repetition) must not pin it: the bound is the third smallest
  // time per event, not the smallest.
  std::map<std::string, std::vector<double>> per_event;
  for (size_t i : fit_idx) {
    const Sample& s = samples[i];
    for (size_t k = 0; k < kKinds; ++k) {
      double count = work_field(s.work, kLatencyCounters[k]);
      if (count > 0) per_event[std::string(kLatencyKinds[k])].push_back(s.time_s / count);
    }
    double c = collective_count(s.work);
    if (c > 0) b.time_from[net_key_of(s)].push_back({s.work.net_bytes / c, s.time_s / c});
  }
  for (auto& [kind, v] : per_event) {
    std::sort(v.begin(), v.end());
    b.latency_max[kind] = kRateMargin * v[std::min(v.size(), kRobustRank) - 1];
  }
  for (auto& [key, v] : b.time_from) {
    std::sort(v.begin(), v.end());
    // From the largest size down: the third smallest time per collective at that size or above.
    std::vector<double> smallest;  // at most kRobustRank, ascending
    for (size_t m = v.size(); m-- > 0;) {
      smallest.insert(std::upper_bound(smallest.begin(), smallest.end(), v[m].second), v[m].second);
      if (smallest.size() > kRobustRank) smallest.pop_back();
      v[m].second = smallest.back();
    }
    b.alpha_max[key] = kRateMargin * v.front().second;
  }
  // NOTES: a sample's time carries its latencies, so its raw rate understates the rate it
  // shows: the latency guesses (the smallest time per event, an overestimate) are taken off,
  // leaving at least half the time, before the highest rate is taken.
  for (size_t i : fit_idx) {
    const Sample& s = samples[i];
    double latency = 0;
    for (size_t k = 0; k < kKinds; ++k) {
      auto it = guess.latency_s.find(std::string(kLatencyKinds[k]));
      if (it != guess.latency_s.end()) {
        latency += work_field(s.work, kLatencyCounters[k]) * it->second.value;
      }
    }
    double c = collective_count(s.work);
    NetKey key = net_key_of(s);
    double net_latency = c > 0 && b.alpha_max.count(key) ? c * b.alpha_max[key] / kRateMargin : 0;
    double rest = std::max(s.time_s - latency, 0.5 * s.time_s);
    if (s.work.flops > 0) {
      double& m = b.flops_max[dtype_of(s)];
      m = std::max(m, kRateMargin * s.work.flops / rest);
    }
    if (s.work.bytes > 0 && !is_hot(s)) {
      b.hbm_max = std::max(b.hbm_max, kRateMargin * s.work.bytes / rest);
    }
    if (c > 0 && s.work.net_bytes > 0) {
      double net_rest = std::max(s.time_s - latency - net_latency, 0.5 * s.time_s);
      double& m = b.rate_max[key];
      m = std::max(m, kRateMargin * s.work.net_bytes / net_rest);
    }
  }
  return b;
}

// Where each constant sits in the parameter vector (log values); -1 where absent. A held
// constant keeps its bound, not fitted.
struct Layout : Parameters {
  std::map<std::string, int> flops;
  int hbm = -1;
  std::array<int, kKinds> latency{};
  std::map<NetKey, std::vector<std::pair<int, int>>> network;  // (log α, log R) per regime

  Layout() { latency.fill(-1); }

  // `max` is the data's upper bound (0: none); the lower bound is far below any real value.
  int add(std::string name, double value, double max, bool is_held) {
    double hi = max > 0 ? std::log(max) : std::log(value) + 30;
    return Parameters::add(std::move(name), std::log(value), hi - std::log(1e9), hi, is_held);
  }
};

Layout layout_of(const Constants& c, const DataBounds& b, const std::set<std::string>& held) {
  Layout l;
  auto bound = [](const auto& map, const auto& key) {
    auto it = map.find(key);
    return it == map.end() ? 0.0 : it->second;
  };
  for (size_t k = 0; k < kKinds; ++k) {
    auto it = c.latency_s.find(std::string(kLatencyKinds[k]));
    if (it == c.latency_s.end()) continue;
    l.latency[k] = l.add(latency_name(k), it->second.value, bound(b.latency_max, it->first),
                         held.count(latency_name(k)) > 0);
  }
  for (const auto& [dtype, e] : c.flops_per_s) {
    std::string name = "P[" + dtype + "]";
    l.flops[dtype] = l.add(name, e.value, held.count(name) ? 0 : bound(b.flops_max, dtype),
                           held.count(name) > 0);
  }
  if (c.hbm_bytes_per_s) {
    l.hbm =
        l.add("W", c.hbm_bytes_per_s->value, held.count("W") ? 0 : b.hbm_max, held.count("W") > 0);
  }
  for (const auto& [key, regimes] : c.network) {
    for (size_t i = 0; i < regimes.size(); ++i) {
      std::string name = regime_name(key, i);
      int a = l.add(name + " α", regimes[i].latency_s.value,
                    b.alpha_bound(key, regimes[i].n > 0 ? regimes[i].bytes_min : 0), false);
      int r = l.add(name + " R", regimes[i].bytes_per_s.value, bound(b.rate_max, key), false);
      l.network[key].push_back({a, r});
    }
  }
  return l;
}

// The residual of one sample: log(model time) - log(measured time), over the constants it uses,
// with its derivatives by hand (the envelope's min and the roofline's max pick one term each):
// autodiff's dynamic jets cost ten times more, and a fit may hold 100,000 samples.
class SampleCost : public ceres::CostFunction {
 public:
  Work work;
  double collectives = 0, bytes_per_collective = 0, log_time = 0;
  std::array<int, kKinds> latency{};  // indices into the block list below
  int flops = -1, hbm = -1;
  std::vector<std::pair<int, int>> regimes;

  SampleCost() { latency.fill(-1); }

  void set_blocks(size_t n) {
    for (size_t i = 0; i < n; ++i) mutable_parameter_block_sizes()->push_back(1);
    set_num_residuals(1);
  }

  bool Evaluate(double const* const* p, double* residual, double** jacobians) const override {
    const size_t blocks = parameter_block_sizes().size();
    std::vector<double> d(blocks, 0.0);  // d t / d theta, per block
    double t = 0;
    for (size_t k = 0; k < kKinds; ++k) {
      if (latency[k] < 0) continue;
      double term = work_field(work, kLatencyCounters[k]) * std::exp(p[latency[k]][0]);
      t += term;
      d[static_cast<size_t>(latency[k])] += term;
    }
    if (!regimes.empty()) {
      double best = 0, a_term = 0, r_term = 0;
      int at = -1;
      for (size_t i = 0; i < regimes.size(); ++i) {
        double a = std::exp(p[regimes[i].first][0]);
        double r = bytes_per_collective * std::exp(-p[regimes[i].second][0]);
        if (at < 0 || a + r < best) best = a + r, a_term = a, r_term = r, at = static_cast<int>(i);
      }
      t += collectives * best;
      d[static_cast<size_t>(regimes[static_cast<size_t>(at)].first)] += collectives * a_term;
      d[static_cast<size_t>(regimes[static_cast<size_t>(at)].second)] -= collectives * r_term;
    }
    double compute = flops >= 0 ? work.flops * std::exp(-p[flops][0]) : 0;
    double memory = hbm >= 0 ? work.bytes * std::exp(-p[hbm][0]) : 0;
    if (compute > memory) {
      t += compute;
      d[static_cast<size_t>(flops)] -= compute;
    } else if (hbm >= 0) {
      t += memory;
      d[static_cast<size_t>(hbm)] -= memory;
    }
    if (!(t > 0) || !std::isfinite(t)) return false;
    residual[0] = std::log(t) - log_time;
    if (jacobians) {
      for (size_t i = 0; i < blocks; ++i) {
        if (jacobians[i]) jacobians[i][0] = d[i] / t;
      }
    }
    return true;
  }
};

// Samples the model cannot tell apart (the same work, network operation, dtype and cache state):
// one residual at their median log time, weighted by their number. NOTES: repeated sizes are
// what makes a collective sweep large (100,000 samples of a few dozen sizes), and one residual
// per group keeps the solve's cost in the distinct samples, not the repetitions.
struct Group {
  size_t rep = 0;  // a sample of the group
  double log_time = 0;
  int m = 0;
};

// NOTES: beyond this many distinct samples, sizes within 1% of each other share a residual (well
// below the 3% a sweep scatters by): 100,000 distinct sizes fit as about a thousand.
constexpr size_t kMaxGroups = 10000;

std::vector<Group> groups_of(const std::vector<Sample>& samples, const std::vector<size_t>& fit_idx,
                             double quantum = 0) {
  using Key = std::tuple<std::array<double, 9>, NetKey, std::string, bool>;
  auto q = [&](double v) {
    return quantum > 0 && v > 0 ? std::round(std::log(v) / std::log1p(quantum)) : v;
  };
  std::map<Key, std::vector<size_t>> by_key;
  for (size_t i : fit_idx) {
    const Sample& s = samples[i];
    const Work& w = s.work;
    Key key{{q(w.flops), q(w.bytes), q(w.net_bytes), w.launches, w.kernels, w.graph_nodes, w.syncs,
             w.collectives, 0.0},
            net_key_of(s),
            dtype_of(s),
            is_hot(s)};
    by_key[key].push_back(i);
  }
  if (quantum == 0 && by_key.size() > kMaxGroups) return groups_of(samples, fit_idx, 0.01);
  std::vector<Group> out;
  for (auto& [key, members] : by_key) {
    std::sort(members.begin(), members.end(), [&](size_t a, size_t b) {
      return std::tie(samples[a].time_s, a) < std::tie(samples[b].time_s, b);
    });
    size_t n = members.size();
    double median = n % 2 ? std::log(samples[members[n / 2]].time_s)
                          : 0.5 * (std::log(samples[members[n / 2 - 1]].time_s) +
                                   std::log(samples[members[n / 2]].time_s));
    // The member at the median time stands for the group (its work, where sizes were merged).
    out.push_back({members[n / 2], median, static_cast<int>(n)});
  }
  std::sort(out.begin(), out.end(), [](const Group& a, const Group& b) { return a.rep < b.rep; });
  return out;
}

// Adds one sample's residual to `ls`, weighted by the samples it stands for; false when none of
// its terms is fitted. A hot sample's bytes are not priced at W (they came from L2).
bool add_sample(LeastSquares& ls, Layout& l, const Sample& s, double log_time,
                ceres::LossFunction* loss, int weight) {
  auto r = std::make_unique<SampleCost>();
  r->work = s.work;
  r->log_time = log_time;
  std::vector<int> blocks;
  auto use = [&](int index) {
    blocks.push_back(index);
    return static_cast<int>(blocks.size()) - 1;
  };
  for (size_t k = 0; k < kKinds; ++k) {
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
  if (s.work.bytes > 0 && l.hbm >= 0 && !is_hot(s)) r->hbm = use(l.hbm);
  if (blocks.empty()) return false;
  r->set_blocks(blocks.size());
  ls.add(r.release(), blocks, loss, weight);
  return true;
}

// One residual per group.
void add_groups(LeastSquares& ls, Layout& l, const std::vector<Sample>& samples,
                const std::vector<Group>& groups, ceres::LossFunction* loss) {
  for (const Group& g : groups) add_sample(ls, l, samples[g.rep], g.log_time, loss, g.m);
}

// Solves in place; returns the number of residual blocks, and the solver's verdict in `failure`
// (empty when it converged).
int solve(Layout& l, const std::vector<Sample>& samples, const std::vector<Group>& groups,
          ceres::LossFunction* loss, std::string& failure) {
  LeastSquares ls(l, kEpochPrecision);
  add_groups(ls, l, samples, groups, loss);
  failure = ls.solve();
  return ls.residuals();
}

Constants values_of(const Layout& l, const Constants& shape) {
  Constants c = shape;
  auto set = [&](Estimate& e, int index) {
    if (l.held[static_cast<size_t>(index)]) return;  // keeps its value and interval
    e.value = std::exp(l.theta[static_cast<size_t>(index)]);
    e.low = e.high = e.value;
  };
  for (size_t k = 0; k < kKinds; ++k) {
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

// The terms of one sample's predicted time under `c`.
struct Terms {
  std::array<double, kKinds> latency{};
  double net = 0, compute = 0, memory = 0, total = 0;
  int regime = -1;  // the envelope's regime, where the sample has a network term
};

Terms terms_of(const Constants& c, const Sample& s) {
  Terms t;
  const Work& w = s.work;
  for (size_t k = 0; k < kKinds; ++k) {
    auto it = c.latency_s.find(std::string(kLatencyKinds[k]));
    if (it != c.latency_s.end())
      t.latency[k] = work_field(w, kLatencyCounters[k]) * it->second.value;
    t.total += t.latency[k];
  }
  double n = collective_count(w);
  auto nit = c.network.find(net_key_of(s));
  if (n > 0 && nit != c.network.end() && !nit->second.empty()) {
    double best = std::numeric_limits<double>::infinity();
    for (size_t r = 0; r < nit->second.size(); ++r) {
      const Regime& g = nit->second[r];
      double line = g.latency_s.value + w.net_bytes / n / g.bytes_per_s.value;
      if (line < best) best = line, t.regime = static_cast<int>(r);
    }
    t.net = n * best;
  }
  auto pit = c.flops_per_s.find(dtype_of(s));
  if (w.flops > 0 && pit != c.flops_per_s.end()) t.compute = w.flops / pit->second.value;
  if (w.bytes > 0 && c.hbm_bytes_per_s && !is_hot(s)) t.memory = w.bytes / c.hbm_bytes_per_s->value;
  t.total += t.net + std::max(t.compute, t.memory);
  return t;
}

// Holds the constants no fitted sample binds at the bound the data gives them (see fit.h), and
// drops the regimes that bind fewer than two sizes; returns whether it changed anything.
bool hold_unbound(Constants& c, std::set<std::string>& held, const std::vector<Sample>& samples,
                  const std::vector<size_t>& fit_idx, std::vector<std::string>& notes) {
  std::map<std::string, int> latency_n, flops_n;
  int hbm_n = 0;
  std::map<std::string, double> latency_cap, flops_floor;  // the data's bound on each
  double hbm_floor = 0;
  std::map<NetKey, std::vector<int>> regime_n;
  for (const auto& [key, regimes] : c.network) regime_n[key].assign(regimes.size(), 0);
  for (size_t i : fit_idx) {
    const Sample& s = samples[i];
    const Work& w = s.work;
    Terms t = terms_of(c, s);
    if (t.total <= 0) continue;
    auto binds = [&](double term) { return term >= kBindingShare * t.total; };
    for (size_t k = 0; k < kKinds; ++k) {
      const std::string kind(kLatencyKinds[k]);
      double count = work_field(w, kLatencyCounters[k]);
      if (count <= 0) continue;
      if (binds(t.latency[k])) ++latency_n[kind];
      // Below 5% of this sample's time: the most the data lets this latency be.
      auto [it, fresh] = latency_cap.try_emplace(kind, 0.0);
      double cap = kBindingShare * s.time_s / count;
      if (fresh || cap < it->second) it->second = cap;
    }
    if (t.regime >= 0 && binds(t.net)) {
      ++regime_n[net_key_of(s)][static_cast<size_t>(t.regime)];
    }
    // NOTES: under max(), a rate the data only bounds from below settles where its term ties
    // the other one; it is determined only by a sample where its term clearly wins.
    if (t.compute > kClearWin * t.memory && binds(t.compute)) ++flops_n[dtype_of(s)];
    if (t.memory > kClearWin * t.compute && binds(t.memory)) ++hbm_n;
    if (w.flops > 0) {
      double& f = flops_floor[dtype_of(s)];
      f = std::max(f, w.flops / s.time_s);
    }
    if (w.bytes > 0 && !is_hot(s)) hbm_floor = std::max(hbm_floor, w.bytes / s.time_s);
  }
  bool changed = false;
  for (auto& [kind, e] : c.latency_s) {
    const std::string name = "λ[" + kind + "]";
    if (held.count(name) || latency_n[kind] > 0) continue;
    const double cap = latency_cap.count(kind) ? latency_cap[kind] : e.value;
    e.value = std::min(e.value, cap);
    e.low = e.value * 1e-3;
    e.high = cap;
    held.insert(name);
    notes.push_back(name + ": negligible, below 5% of every sample's time; held at " +
                    std::to_string(e.value) + " s (at most " + std::to_string(cap) + " s)");
    changed = true;
  }
  for (auto& [dtype, e] : c.flops_per_s) {
    const std::string name = "P[" + dtype + "]";
    if (held.count(name) || flops_n[dtype] > 0) continue;
    const double floor = flops_floor.count(dtype) ? flops_floor[dtype] : e.value;
    e.value = std::max(e.value, floor);
    e.low = floor;
    e.high = e.value;
    held.insert(name);
    notes.push_back(name + ": no sample is compute-bound; held at " + std::to_string(e.value) +
                    " FLOP/s (at least the " + std::to_string(floor) + " its samples show)");
    changed = true;
  }
  if (c.hbm_bytes_per_s && !held.count("W") && hbm_n == 0) {
    Estimate& e = *c.hbm_bytes_per_s;
    const double floor = hbm_floor > 0 ? hbm_floor : e.value;
    e.value = std::max(e.value, floor);
    e.low = floor;
    e.high = e.value;
    held.insert("W");
    notes.push_back("W: no cache=cold sample is memory-bound; held at " + std::to_string(e.value) +
                    " B/s (at least the rate its samples show)");
    changed = true;
  }
  for (auto it = c.network.begin(); it != c.network.end();) {
    // A line needs two sizes where it is the envelope; drop the weakest one per round.
    const std::vector<int>& counts = regime_n[it->first];
    auto weakest = std::min_element(counts.begin(), counts.end());
    if (*weakest >= 2) {
      ++it;
      continue;
    }
    changed = true;
    it->second.erase(it->second.begin() + (weakest - counts.begin()));
    if (!it->second.empty()) {
      ++it;
      continue;
    }
    notes.push_back("network " + net_key_name(it->first) + ": absent, no regime binds two sizes");
    it = c.network.erase(it);
  }
  return changed;
}

// Fills the 95% intervals of `c` from the covariance at the solution `l`.
void add_intervals(Constants& c, Layout& l, const std::vector<Sample>& samples,
                   const std::vector<size_t>& fit_idx, const std::vector<Group>& groups,
                   ceres::LossFunction* loss, std::vector<std::string>& notes) {
  LeastSquares ls(l, kEpochPrecision);
  add_groups(ls, l, samples, groups, loss);
  if (ls.residuals() == 0) return;
  // The residual scale over every sample, not the groups' medians, which scatter less.
  const Constants now = values_of(l, c);
  std::vector<double> residuals;
  for (size_t i : fit_idx) {
    const double t = terms_of(now, samples[i]).total;
    if (t > 0) residuals.push_back(std::log(t / samples[i].time_s));
  }
  if (residuals.empty()) return;
  const std::optional<Intervals> iv =
      ls.intervals(robust_scale(residuals), static_cast<double>(fit_idx.size()));
  if (!iv || iv->pseudo_inverse) {
    notes.push_back(
        "the fit is rank deficient: intervals from a pseudo-inverse understate the "
        "uncertainty");
  }
  if (!iv) return;
  auto interval = [&](Estimate& e, int index) {
    const auto i = static_cast<size_t>(index);
    if (!iv->fitted[i]) return;
    e.low = std::exp(l.theta[i] - iv->half[i]);
    e.high = std::exp(l.theta[i] + iv->half[i]);
  };
  for (size_t k = 0; k < kKinds; ++k) {
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

// Each regime's range and count: the fitted samples on which it is the envelope.
void set_regime_ranges(Constants& c, const std::vector<Sample>& samples,
                       const std::vector<size_t>& fit_idx) {
  for (auto& [key, regimes] : c.network) {
    for (Regime& g : regimes) g.bytes_min = g.bytes_max = 0, g.n = 0;
  }
  for (size_t i : fit_idx) {
    const Sample& s = samples[i];
    double n = collective_count(s.work);
    auto it = c.network.find(net_key_of(s));
    if (n <= 0 || it == c.network.end()) continue;
    Terms t = terms_of(c, s);
    if (t.regime < 0) continue;
    Regime& g = it->second[static_cast<size_t>(t.regime)];
    double x = s.work.net_bytes / n;
    if (g.n == 0 || x < g.bytes_min) g.bytes_min = x;
    if (g.n == 0 || x > g.bytes_max) g.bytes_max = x;
    ++g.n;
  }
}

// Per constant: the samples where its term is at least half the predicted time, and the width
// of its interval relative to its value.
std::vector<Identification> identify(const Constants& c, const std::set<std::string>& held,
                                     const std::vector<Sample>& samples,
                                     const std::vector<size_t>& fit_idx,
                                     const std::vector<std::string>& at_bound) {
  std::map<std::string, Identification> by_name;
  std::vector<std::string> order;
  auto entry = [&](const std::string& name, const Estimate& e) {
    Identification& id = by_name[name];
    id.name = name;
    id.relative_width = e.value > 0 ? (e.high - e.low) / e.value : 0;
    order.push_back(name);
  };
  for (size_t k = 0; k < kKinds; ++k) {
    auto it = c.latency_s.find(std::string(kLatencyKinds[k]));
    if (it != c.latency_s.end()) entry(latency_name(k), it->second);
  }
  for (const auto& [dtype, e] : c.flops_per_s) entry("P[" + dtype + "]", e);
  if (c.hbm_bytes_per_s) entry("W", *c.hbm_bytes_per_s);
  for (const auto& [key, regimes] : c.network) {
    for (size_t i = 0; i < regimes.size(); ++i) {
      entry(regime_name(key, i) + " α", regimes[i].latency_s);
      entry(regime_name(key, i) + " R", regimes[i].bytes_per_s);
    }
  }
  auto count = [&](const std::string& name, double work) {
    auto it = by_name.find(name);
    if (it == by_name.end()) return;
    Identification& id = it->second;
    if (id.n == 0 || work < id.work_min) id.work_min = work;
    if (id.n == 0 || work > id.work_max) id.work_max = work;
    ++id.n;
  };
  for (size_t i : fit_idx) {
    const Sample& s = samples[i];
    Terms t = terms_of(c, s);
    if (t.total <= 0) continue;
    auto dominant = [&](double term) { return term >= 0.5 * t.total; };
    for (size_t k = 0; k < kKinds; ++k) {
      if (t.latency[k] > 0 && dominant(t.latency[k])) {
        count(latency_name(k), work_field(s.work, kLatencyCounters[k]));
      }
    }
    if (t.regime >= 0 && dominant(t.net)) {
      const NetKey key = net_key_of(s);
      const Regime& g = c.network.at(key)[static_cast<size_t>(t.regime)];
      double n = collective_count(s.work), x = s.work.net_bytes / n;
      const std::string name = regime_name(key, static_cast<size_t>(t.regime));
      // The latency where it is most of the line, the bandwidth where the bytes are.
      if (g.latency_s.value >= x / g.bytes_per_s.value) count(name + " α", x);
      if (x / g.bytes_per_s.value >= g.latency_s.value) count(name + " R", x);
    }
    if (t.compute > kClearWin * t.memory && dominant(t.compute)) {
      count("P[" + dtype_of(s) + "]", s.work.flops);
    }
    if (t.memory > kClearWin * t.compute && dominant(t.memory)) count("W", s.work.bytes);
  }
  std::vector<Identification> out;
  for (const std::string& name : order) {
    Identification id = by_name[name];
    if (held.count(name)) {
      id.status = "bounded";
      id.why = "no sample binds it: held at the bound the data gives it";
    } else if (std::find(at_bound.begin(), at_bound.end(), name) != at_bound.end()) {
      id.status = "unidentified";
      id.why = "at the bound of what the samples can show";
    } else if (id.n < 2) {
      id.status = "unidentified";
      id.why = id.n == 0 ? "no sample where it is half the time or more"
                         : "one sample where it is half the time or more";
    } else if (id.relative_width > 1) {
      id.status = "unidentified";
      id.why = "its interval is wider than its value";
    } else {
      id.status = "identified";
    }
    out.push_back(std::move(id));
  }
  return out;
}

// The constants at their upper bound: a rate the optimiser would have pushed beyond what any
// sample shows.
std::vector<std::string> rates_at_bound(const Layout& l, const DataBounds& b,
                                        std::vector<std::string>& refusals) {
  std::vector<std::string> names;
  for (size_t i = 0; i < l.theta.size(); ++i) {
    if (l.held[i]) continue;
    const std::string& name = l.names[i];
    const bool rate = name == "W" || name.starts_with("P[") || name.ends_with(" R");
    if (!(l.theta[i] >= l.upper[i] - 1e-6)) continue;
    names.push_back(name);
    if (!rate) continue;
    (void)b;
    char text[160];
    std::snprintf(text, sizeof text,
                  "%s = %.4g is at its bound, %.2f x the highest rate any sample shows (%.4g): "
                  "the samples cannot show it",
                  name.c_str(), std::exp(l.theta[i]), kRateMargin,
                  std::exp(l.upper[i]) / kRateMargin);
    refusals.push_back(text);
  }
  return names;
}

// Runs the rounds of solve and hold on `fit_idx`, from `c`.
struct Rounds {
  Constants c;
  std::set<std::string> held;
  Layout l;
  DataBounds bounds;
  std::string failure;
};

void run_rounds(Rounds& r, const std::vector<Sample>& samples, const std::vector<size_t>& fit_idx,
                RobustLoss& loss, std::vector<std::string>& notes) {
  const std::vector<Group> groups = groups_of(samples, fit_idx);
  for (int round = 0; round < 8; ++round) {
    r.l = layout_of(r.c, r.bounds, r.held);
    std::string soft_failure;
    if (solve(r.l, samples, groups, &loss.soft, soft_failure) == 0) break;
    solve(r.l, samples, groups, &loss.cauchy, r.failure);
    r.c = values_of(r.l, r.c);
    if (!hold_unbound(r.c, r.held, samples, fit_idx, notes)) break;
  }
  r.l = layout_of(r.c, r.bounds, r.held);
}

}  // namespace

nlohmann::ordered_json identification_json(const std::vector<Identification>& ids) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const Identification& id : ids) {
    nlohmann::ordered_json e = {{"status", id.status}, {"n", id.n}};
    if (id.n > 0) e["work_range"] = {id.work_min, id.work_max};
    e["relative_width"] = std::round(id.relative_width * 1e4) / 1e4;
    if (!id.why.empty()) e["why"] = id.why;
    out[id.name] = e;
  }
  return out;
}

std::string identification_table(const std::vector<Identification>& ids) {
  // Pads to a width in characters, not bytes ("λ" and "α" are two bytes of UTF-8).
  auto pad = [](const std::string& text, size_t width) {
    size_t chars = 0;
    for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
    return text + std::string(width > chars ? width - chars : 0, ' ');
  };
  std::string out = "  " + pad("constant", 32) + " " + pad("status", 13) + "     n  " +
                    pad("work range", 22) + "  width\n";
  for (const Identification& id : ids) {
    char range[64] = "-", tail[64];
    if (id.n > 0) std::snprintf(range, sizeof range, "%.3g .. %.3g", id.work_min, id.work_max);
    std::snprintf(tail, sizeof tail, "%5d  ", id.n);
    std::string line = (id.status == "identified" ? "  " : "! ") + pad(id.name, 32) + " " +
                       pad(id.status, 13) + " " + tail + pad(range, 22);
    std::snprintf(tail, sizeof tail, " %5.0f%%", 100 * id.relative_width);
    line += tail;
    if (!id.why.empty()) line += "  " + id.why;
    out += line + "\n";
  }
  return out;
}

FitResult fit(const std::vector<Sample>& samples, const FitOptions& options) {
  quiet_ceres_log();
  FitResult result;
  for (const Sample& s : samples) {
    auto cache = s.labels.find("cache");
    if (cache != s.labels.end() && cache->second != "cold" && cache->second != "hot") {
      throw InputError(s.source + ": benchmark '" + s.name +
                       "': cache=" + cache->second.substr(0, 40) + " is neither cold nor hot");
    }
  }
  std::vector<size_t> fit_idx, hot_idx;
  for (size_t i = 0; i < samples.size(); ++i) {
    result.roles.push_back(role_of(samples[i], options));
    if (result.roles.back() == Role::kFit) fit_idx.push_back(i);
    if (result.roles.back() == Role::kExcluded && is_hot(samples[i])) hot_idx.push_back(i);
  }
  // Hot samples whose time is not decided by HBM (none with bytes, where there is no W yet).
  auto add_hot = [&](const Constants* c) {
    size_t added = 0;
    for (size_t i : hot_idx) {
      if (result.roles[i] != Role::kExcluded) continue;
      const Sample& s = samples[i];
      bool use = s.work.bytes <= 0;
      if (!use && c && c->hbm_bytes_per_s) {
        Terms t = terms_of(*c, s);
        double memory = s.work.bytes / c->hbm_bytes_per_s->value;
        use = memory <= kBindingShare * t.total;  // what predict() adds for it: under 5%
      }
      if (use) result.roles[i] = Role::kFit, fit_idx.push_back(i), ++added;
    }
    std::sort(fit_idx.begin(), fit_idx.end());
    return added;
  };
  if (fit_idx.empty()) add_hot(nullptr);
  if (fit_idx.empty()) {
    throw InputError(
        "nothing to fit: every sample is in a validation family, cache=hot with HBM traffic, or "
        "declares no work");
  }
  RobustLoss loss;
  Rounds r;
  r.c = initial_guess(samples, fit_idx, result.notes);
  r.bounds = data_bounds(samples, fit_idx, r.c);
  run_rounds(r, samples, fit_idx, loss, result.notes);
  if (!hot_idx.empty() && add_hot(&r.c) > 0) {
    // Again with the hot samples that inform the latencies and P, from where the cold ones left.
    // A latency or P the cold samples alone held as negligible is released: the hot ones (small
    // kernels back to back, a GEMM from L2) may be where it is the whole time.
    for (auto it = r.held.begin(); it != r.held.end();) {
      const bool rate_or_latency = it->rfind("λ[", 0) == 0 || it->rfind("P[", 0) == 0;
      if (!rate_or_latency) {
        ++it;
        continue;
      }
      const std::string name = *it;
      std::erase_if(result.notes,
                    [&](const std::string& n) { return n.rfind(name + ": ", 0) == 0; });
      it = r.held.erase(it);
    }
    std::vector<std::string> ignored;
    Constants guess = initial_guess(samples, fit_idx, ignored);
    r.bounds = data_bounds(samples, fit_idx, guess);
    for (auto& [kind, e] : guess.latency_s) {
      if (!r.c.latency_s.count(kind)) r.c.latency_s[kind] = e;
    }
    for (auto& [dtype, e] : guess.flops_per_s) {
      if (!r.c.flops_per_s.count(dtype)) r.c.flops_per_s[dtype] = e;
    }
    run_rounds(r, samples, fit_idx, loss, result.notes);
  }
  if (!r.failure.empty()) result.refusals.push_back(r.failure);
  const std::vector<std::string> at_bound = rates_at_bound(r.l, r.bounds, result.refusals);
  if (!r.l.theta.empty()) {
    add_intervals(r.c, r.l, samples, fit_idx, groups_of(samples, fit_idx), &loss.cauchy,
                  result.notes);
  }
  set_regime_ranges(r.c, samples, fit_idx);
  result.identification = identify(r.c, r.held, samples, fit_idx, at_bound);
  result.constants = std::move(r.c);
  result.quality = quality_of(samples, result.roles, result.constants);
  // A family with samples no constant prices: loud, since its errors cover only part of it.
  std::map<std::string, std::pair<int, std::string>> unpriced;
  std::map<std::string, int> total;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (result.roles[i] != Role::kFit && result.roles[i] != Role::kValidate) continue;
    ++total[samples[i].family];
    Prediction p = predict(result.constants, samples[i]);
    if (p.missing.empty()) continue;
    auto& [n, missing] = unpriced[samples[i].family];
    if (n++ == 0) missing = p.missing;
  }
  for (const auto& [family, u] : unpriced) {
    result.warnings.push_back("family " + family + ": " + std::to_string(u.first) + " of " +
                              std::to_string(total[family]) + " samples cannot be priced (no " +
                              u.second + "): its errors cover only the rest");
  }
  return result;
}

}  // namespace batchcost
