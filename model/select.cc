// Held-out selection of the cost model's form and the refined form's fit (see select.h).
#include "model/select.h"

#include <ceres/ceres.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>

#include "core/forms.h"
#include "model/fit.h"
#include "model/least_squares.h"
#include "model/report.h"
#include "model/results.h"

namespace batchcost {
namespace {

// NOTES: the output tiles Hopper GEMM kernels use (CUTLASS SM90 and DeepGEMM configurations);
// the selection picks one per dtype by held-out error, or none.
constexpr std::array<Tile, 4> kHopperTiles = {Tile{64, 128}, Tile{128, 128}, Tile{128, 256},
                                              Tile{256, 128}};

// Where each constant of a refined fit sits in the parameter vector; -1 where absent.
struct Params : Parameters {
  std::map<std::string, int> flops;
  int hbm = -1, overlap = -1, k_half = -1, grouped = -1, sms = -1, l2 = -1;
  std::array<int, 4> latency{-1, -1, -1, -1};
};

// The parameterisations: rates, latencies, k_half and the ratio as logarithms; p as log(p - 1),
// so that p > 1 (p = 1 is the sum, p → ∞ the max).
double overlap_of(double theta) { return 1 + std::exp(theta); }

struct RefinedResidual {
  FormInputs in;
  double fixed_s = 0;  // the network term, from the epoch fit
  std::array<double, 4> counts{};
  const Params* p = nullptr;
  int flops = -1;
  double log_time = 0;

  // Every parameter is a block of one, in the Parameters' order.
  template <typename T>
  bool operator()(T const* const* th_blocks, T* residual) const {
    auto th = [&](int i) { return th_blocks[i][0]; };
    T t(fixed_s);
    for (size_t k = 0; k < counts.size(); ++k) {
      if (p->latency[k] >= 0 && counts[k] > 0) t += counts[k] * exp(th(p->latency[k]));
    }
    T P = flops >= 0 ? exp(th(flops)) : T(1.0);
    T W = p->hbm >= 0 ? exp(th(p->hbm)) : T(1.0);
    T op = p->overlap >= 0 ? T(1.0) + exp(th(p->overlap)) : T(0.0);
    T kh = p->k_half >= 0 ? exp(th(p->k_half)) : T(0.0);
    T gr = p->grouped >= 0 ? exp(th(p->grouped)) : T(0.0);
    T sm = p->sms >= 0 ? exp(th(p->sms)) : T(0.0);
    T l2 = p->l2 >= 0 ? exp(th(p->l2)) : T(0.0);
    if (in.flops > 0 || in.bytes > 0) {
      t += refined_core(in, P, W, p->overlap >= 0 ? &op : nullptr, p->k_half >= 0 ? &kh : nullptr,
                        p->grouped >= 0 ? &gr : nullptr, p->sms >= 0 ? &sm : nullptr,
                        p->l2 >= 0 ? &l2 : nullptr);
    }
    residual[0] = log(t) - log_time;
    return true;
  }
};

// The network term of a sample under `c` (0 where it moves nothing).
double network_part(const Constants& c, const Sample& s) {
  double n = collective_count(s.work);
  if (n <= 0) return 0;
  auto it = c.network.find(net_key_of(s));
  return it == c.network.end() ? 0 : n * network_time(it->second, s.work.net_bytes / n);
}

// The constants a term set and a parameter vector stand for.
Constants constants_of(const Params& p, const Constants& start, const TermSet& terms,
                       int sm_count) {
  Constants c = start;
  c.form = Form::kRefined;
  c.terms = {};
  auto est = [](double v) { return Estimate{v, v, v}; };
  for (auto& [dtype, e] : c.flops_per_s) e = est(std::exp(p.theta[p.flops.at(dtype)]));
  if (c.hbm_bytes_per_s) c.hbm_bytes_per_s = est(std::exp(p.theta[p.hbm]));
  for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
    if (p.latency[k] >= 0)
      c.latency_s[std::string(kLatencyKinds[k])] = est(std::exp(p.theta[p.latency[k]]));
  }
  if (p.overlap >= 0) c.terms.overlap_p = est(overlap_of(p.theta[p.overlap]));
  if (p.k_half >= 0) c.terms.k_half = est(std::exp(p.theta[p.k_half]));
  if (p.grouped >= 0) c.terms.grouped_bandwidth_ratio = est(std::exp(p.theta[p.grouped]));
  if (p.sms >= 0) c.terms.saturating_sms = est(std::exp(p.theta[p.sms]));
  if (p.l2 >= 0) c.terms.l2_bytes_per_s = est(std::exp(p.theta[p.l2]));
  c.terms.tile = terms.tile;
  c.terms.sm_count = terms.tile.empty() ? 0 : sm_count;
  return c;
}

}  // namespace

std::string term_set_name(const TermSet& t) {
  std::vector<std::string> parts;
  if (t.overlap) parts.push_back("overlap");
  for (const auto& [dtype, tile] : t.tile)
    parts.push_back("tile[" + dtype + "]=" + (tile.rows ? tile_name(tile) : "labels"));
  if (t.k_half) parts.push_back("k_half");
  if (t.grouped) parts.push_back("grouped_bandwidth");
  if (t.saturating_sms) parts.push_back("saturating_sms");
  if (t.l2) parts.push_back("l2");
  if (parts.empty()) return "none";
  std::string s = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) s += " + " + parts[i];
  return s;
}

Constants fit_refined(const std::vector<Sample>& samples, const std::vector<size_t>& fit_idx,
                      const Constants& start, const TermSet& terms, int sm_count, bool intervals) {
  Params p;
  // NOTES: P, W and the latencies stay within a factor 100 of the epoch fit's values: far wider
  // than any term moves them, and it keeps a poor step from overflowing a term.
  auto near = [&](std::string name, double value) {
    const double v = std::log(value), r = std::log(100.0);
    return p.add(std::move(name), v, v - r, v + r);
  };
  for (const auto& [dtype, e] : start.flops_per_s)
    p.flops[dtype] = near("P[" + dtype + "]", e.value);
  if (start.hbm_bytes_per_s) p.hbm = near("W", start.hbm_bytes_per_s->value);
  for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
    auto it = start.latency_s.find(std::string(kLatencyKinds[k]));
    if (it != start.latency_s.end()) p.latency[k] = near("λ[" + it->first + "]", it->second.value);
  }
  // NOTES: starting values: p = 4 (between the sum and the max), k_half = 256 (a few K-steps of
  // a 128-deep pipeline), the grouped ratio 1 (no difference), L2 at 10 TB/s (about three times
  // HBM on Hopper), a quarter of the SMs. Bounds keep the terms physical: an overlap between the
  // sum (p = 1.05) and the max (p = 201), a K of half efficiency within one to 10^5 elements,
  // grouped kernels at 0.2 to 5 times the dense bandwidth, L2 at 1 to 100 TB/s, between 1% and
  // all of the SMs.
  if (terms.overlap) p.overlap = p.add("overlap", std::log(3.0), std::log(0.05), std::log(200.0));
  if (terms.k_half) p.k_half = p.add("k_half", std::log(256.0), 0.0, std::log(1e5));
  if (terms.grouped) p.grouped = p.add("grouped", 0.0, std::log(0.2), std::log(5.0));
  if (terms.saturating_sms && !terms.tile.empty())
    p.sms = p.add("saturating_sms", std::log(0.25), std::log(0.01), 0.0);
  if (terms.l2 && !terms.tile.empty())
    p.l2 = p.add("l2", std::log(1e13), std::log(1e12), std::log(1e14));
  Constants shape = constants_of(p, start, terms, sm_count);
  if (p.theta.empty()) return shape;

  std::vector<int> all(p.theta.size());
  for (size_t j = 0; j < all.size(); ++j) all[j] = static_cast<int>(j);
  auto build = [&](LeastSquares& ls, ceres::LossFunction* loss) {
    for (size_t i : fit_idx) {
      const Sample& s = samples[i];
      if (!predict(shape, s).missing.empty()) continue;
      auto* r = new RefinedResidual;
      r->in = form_inputs(s, shape);
      r->fixed_s = network_part(start, s);
      for (size_t k = 0; k < kLatencyCounters.size(); ++k) {
        r->counts[k] = work_field(s.work, kLatencyCounters[k]);
      }
      r->p = &p;
      auto f = p.flops.find(dtype_of(s));
      if (s.work.flops > 0 && f != p.flops.end()) r->flops = f->second;
      r->log_time = std::log(s.time_s);
      auto* cost = new ceres::DynamicAutoDiffCostFunction<RefinedResidual, 8>(r);
      for (size_t j = 0; j < all.size(); ++j) cost->AddParameterBlock(1);
      cost->SetNumResiduals(1);
      ls.add(cost, all, loss);
    }
    return ls.residuals();
  };
  RobustLoss loss;
  for (ceres::LossFunction* rho : {static_cast<ceres::LossFunction*>(&loss.soft),
                                   static_cast<ceres::LossFunction*>(&loss.cauchy)}) {
    LeastSquares ls(p, kRefinedPrecision);
    if (build(ls, rho) == 0) return shape;
    ls.solve();
  }
  Constants c = constants_of(p, start, terms, sm_count);
  if (!intervals) return c;

  LeastSquares ls(p, kRefinedPrecision);
  const int n = build(ls, &loss.cauchy);
  const std::optional<Intervals> iv =
      ls.intervals(robust_scale(ls.raw_residuals()), static_cast<double>(n));
  if (!iv) return c;
  // A parameter the data cannot see (a term no fitted sample depends on) is bounded only by its
  // bounds: the pseudo-inverse would give it an interval of no width.
  auto interval = [&](Estimate& e, int index, double (*map)(double)) {
    const auto i = static_cast<size_t>(index);
    const bool unseen = iv->unseen[i];
    e.low = map(unseen ? p.lower[i] : p.theta[i] - iv->half[i]);
    e.high = map(unseen ? p.upper[i] : p.theta[i] + iv->half[i]);
  };
  double (*exp_map)(double) = [](double x) { return std::exp(x); };
  for (auto& [dtype, e] : c.flops_per_s) interval(e, p.flops.at(dtype), exp_map);
  if (c.hbm_bytes_per_s) interval(*c.hbm_bytes_per_s, p.hbm, exp_map);
  for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
    if (p.latency[k] >= 0)
      interval(c.latency_s[std::string(kLatencyKinds[k])], p.latency[k], exp_map);
  }
  if (p.overlap >= 0) interval(*c.terms.overlap_p, p.overlap, overlap_of);
  if (p.k_half >= 0) interval(*c.terms.k_half, p.k_half, exp_map);
  if (p.grouped >= 0) interval(*c.terms.grouped_bandwidth_ratio, p.grouped, exp_map);
  if (p.sms >= 0) interval(*c.terms.saturating_sms, p.sms, exp_map);
  if (p.l2 >= 0) interval(*c.terms.l2_bytes_per_s, p.l2, exp_map);
  return c;
}

namespace {

// Held-out predictions of every fitted sample under a term set, fold by fold.
struct Folds {
  const std::vector<Sample>* samples;
  std::vector<size_t> fit_idx;                  // samples that are fitted
  std::vector<std::vector<size_t>> train;       // per fold, the samples it is fitted on
  std::vector<std::vector<size_t>> test;        // per fold, the samples it predicts
  std::vector<std::optional<Constants>> epoch;  // per fold, fit() on train; absent if it failed
};

// Predicted / measured per fitted sample under the held-out fits (the epoch form's where `terms`
// is null); a sample no fold's constants can price is absent.
void heldout_ratios(const Folds& f, const TermSet* terms, int sm_count,
                    std::map<size_t, double>& by_sample) {
  by_sample.clear();
  for (size_t fold = 0; fold < f.test.size(); ++fold) {
    if (!f.epoch[fold]) continue;
    Constants c =
        terms ? fit_refined(*f.samples, f.train[fold], *f.epoch[fold], *terms, sm_count, false)
              : *f.epoch[fold];
    for (size_t i : f.test[fold]) {
      Prediction p = predict(c, (*f.samples)[i]);
      if (!p.missing.empty()) continue;
      by_sample[i] = p.time_s / (*f.samples)[i].time_s;
    }
  }
}

// The selection score: mean |log ratio| over held-out samples with a compute or memory term.
double score_of(const std::vector<Sample>& samples, const std::map<size_t, double>& ratios) {
  double sum = 0;
  int n = 0;
  for (const auto& [i, ratio] : ratios) {
    if (samples[i].work.flops <= 0 && samples[i].work.bytes <= 0) continue;
    sum += std::abs(std::log(ratio));
    ++n;
  }
  return n ? sum / n : std::numeric_limits<double>::infinity();
}

std::string percent(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * v);
  return text;
}

// Per family, the quality of ratios (predicted / measured).
std::map<std::string, Quality> quality_from(const std::vector<Sample>& samples,
                                            const std::vector<Role>& roles,
                                            const std::map<size_t, double>& ratios) {
  std::map<std::string, std::vector<double>> errors;
  std::map<std::string, Quality> out;
  for (const auto& [i, ratio] : ratios) errors[samples[i].family].push_back(std::abs(ratio - 1));
  for (auto& [family, e] : errors) {
    Quality& q = out[family];
    q.n = static_cast<int>(e.size());
    std::tie(q.median_abs_rel_err, q.p90_abs_rel_err) = median_and_p90(e);
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    auto it = out.find(samples[i].family);
    if (it != out.end()) it->second.role = std::string(role_name(roles[i]));
  }
  return out;
}

}  // namespace

std::string heldout_table(const std::map<std::string, HeldOutQuality>& heldout) {
  Table t({"family", "held out", "n", "epoch median", "epoch p90", "refined median", "refined p90"},
          "llrrrrr");
  auto cell = [](const Quality& q, double v) { return q.n ? percent(v) : std::string("-"); };
  for (const auto& [family, q] : heldout) {
    t.add({family, q.epoch.role == "validate" ? "family" : "k-fold", std::to_string(q.refined.n),
           cell(q.epoch, q.epoch.median_abs_rel_err), cell(q.epoch, q.epoch.p90_abs_rel_err),
           cell(q.refined, q.refined.median_abs_rel_err),
           cell(q.refined, q.refined.p90_abs_rel_err)});
  }
  return t.str();
}

Selection select_form(const std::vector<Sample>& samples, const FitOptions& options,
                      const SelectOptions& sel) {
  Selection out;
  FitResult full = fit(samples, options);
  out.epoch = full.constants;
  out.roles = full.roles;
  out.notes = full.notes;
  out.full = full;

  Folds f;
  f.samples = &samples;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (out.roles[i] == Role::kFit) f.fit_idx.push_back(i);
  }
  const size_t k = std::min<size_t>(static_cast<size_t>(std::max(sel.folds, 2)), f.fit_idx.size());
  f.train.resize(k), f.test.resize(k), f.epoch.resize(k);
  for (size_t j = 0; j < f.fit_idx.size(); ++j) {
    for (size_t fold = 0; fold < k; ++fold) {
      (j % k == fold ? f.test : f.train)[fold].push_back(f.fit_idx[j]);
    }
  }
  for (size_t fold = 0; fold < k; ++fold) {
    std::vector<Sample> train;
    for (size_t i : f.train[fold]) train.push_back(samples[i]);
    try {
      f.epoch[fold] = fit(train, options).constants;
    } catch (const InputError&) {
      // too few samples in this fold's training set: it predicts nothing
    }
  }

  // What the candidates need: shapes (k_half, tiles), grouped kernels, SMs.
  std::map<std::string, bool> shaped_dtypes;
  bool any_shape = false, any_grouped = false;
  for (size_t i : f.fit_idx) {
    std::optional<LabelledShape> s;
    try {
      s = gemm_shape_of(samples[i]);
    } catch (const std::invalid_argument&) {
    }
    if (!s) continue;
    any_shape = true;
    any_grouped = any_grouped || s->grouped;
    if (samples[i].work.flops > 0) {
      // true while every shaped sample of the dtype names its own tile
      auto [it, fresh] = shaped_dtypes.try_emplace(dtype_of(samples[i]), true);
      it->second = it->second && samples[i].labels.count("tile") > 0;
      (void)fresh;
    }
  }
  auto candidates = [&](const TermSet& cur) {
    std::vector<TermSet> c;
    if (!cur.overlap) c.push_back(cur), c.back().overlap = true;
    if (!cur.k_half && any_shape) c.push_back(cur), c.back().k_half = true;
    if (!cur.grouped && any_grouped) c.push_back(cur), c.back().grouped = true;
    if (sel.sm_count > 0) {
      for (const auto& [dtype, all_hinted] : shaped_dtypes) {
        if (cur.tile.count(dtype)) continue;
        std::vector<Tile> tiles(kHopperTiles.begin(), kHopperTiles.end());
        if (!sel.tile_candidates.empty()) tiles = sel.tile_candidates;
        // Every sample names its tile: one candidate, the labels' own tiles.
        if (all_hinted) tiles = {Tile{0, 0}};
        for (const Tile& t : tiles) {
          TermSet with = cur;
          with.tile[dtype] = t;
          c.push_back(with);
          if (!cur.saturating_sms) c.push_back(with), c.back().saturating_sms = true;
          if (!cur.l2) c.push_back(with), c.back().l2 = true;
        }
      }
    }
    if (!cur.saturating_sms && !cur.tile.empty()) c.push_back(cur), c.back().saturating_sms = true;
    if (!cur.l2 && !cur.tile.empty()) c.push_back(cur), c.back().l2 = true;
    return c;
  };

  std::map<size_t, double> epoch_ratios, best_ratios, ratios;
  heldout_ratios(f, nullptr, sel.sm_count, epoch_ratios);
  const double epoch_score = score_of(samples, epoch_ratios);
  double score = epoch_score;
  TermSet cur;
  best_ratios = epoch_ratios;
  // No held-out sample with an arithmetic or memory term (collectives, launches alone): the
  // forms differ only there, so there is nothing to select on, and the epoch form stands.
  const bool nothing_to_select = epoch_score == std::numeric_limits<double>::infinity();
  if (nothing_to_select) {
    out.steps.push_back(
        "epoch: nothing to select on (no held-out sample has an arithmetic or "
        "memory term, where the forms differ; " +
        std::to_string(f.fit_idx.size()) + " samples)");
  } else {
    out.steps.push_back("epoch: held-out mean |log error| " + percent(epoch_score) + " (" +
                        std::to_string(k) + " folds over shapes, " +
                        std::to_string(f.fit_idx.size()) + " samples)");
  }
  // NOTES: where the epoch fit refuses (a rate held at its bound: the samples cannot show it,
  // as W on GEMMs alone that are never memory-bound), a term would be chosen for making up for
  // that constant, not for what it models: a set of square GEMMs only then keeps tile and L2
  // terms its shapes cannot tell apart. The epoch form stands, and the refusal says why; --form
  // refined still searches.
  const bool epoch_refused =
      !out.full.refusals.empty() && !(sel.force && *sel.force == Form::kRefined);
  if (!nothing_to_select && epoch_refused) {
    out.steps.push_back("stop: no term tried, the epoch fit is refused (" + out.full.refusals[0] +
                        "): a term would stand in for that constant");
  }
  while (!nothing_to_select && !epoch_refused) {
    double best = std::numeric_limits<double>::infinity();
    TermSet best_set;
    std::map<size_t, double> best_here;
    std::string tried;
    for (const TermSet& t : candidates(cur)) {
      heldout_ratios(f, &t, sel.sm_count, ratios);
      double s = score_of(samples, ratios);
      tried += (tried.empty() ? "" : ", ") + term_set_name(t) + " " + percent(s);
      if (s < best) best = s, best_set = t, best_here = ratios;
    }
    if (!tried.empty()) out.steps.push_back("tried: " + tried);
    if (best == std::numeric_limits<double>::infinity()) break;
    const bool any_gain = sel.force && *sel.force == Form::kRefined;
    double needed = any_gain ? score : score * (1 - sel.min_gain);
    if (!(best < needed)) {
      out.steps.push_back("stop: the best next candidate, " + term_set_name(best_set) + ", gives " +
                          percent(best) + " (needs below " + percent(needed) + ")");
      break;
    }
    out.steps.push_back("keep " + term_set_name(best_set) + ": " + percent(score) + " -> " +
                        percent(best));
    cur = best_set, score = best, best_ratios = best_here;
  }
  out.terms = cur;
  out.refined = fit_refined(samples, f.fit_idx, out.epoch, cur, sel.sm_count, true);
  bool refined_wins = !(cur == TermSet{});
  out.selected = sel.force ? *sel.force : (refined_wins ? Form::kRefined : Form::kEpoch);
  if (sel.force) out.steps.push_back("held: the " + form_name(*sel.force) + " form (--form)");

  // Validation families: predicted by the full fits, never fitted.
  for (size_t i = 0; i < samples.size(); ++i) {
    if (out.roles[i] != Role::kValidate) continue;
    Prediction e = predict(out.epoch, samples[i]), r = predict(out.refined, samples[i]);
    if (e.missing.empty()) epoch_ratios[i] = e.time_s / samples[i].time_s;
    if (r.missing.empty()) best_ratios[i] = r.time_s / samples[i].time_s;
  }
  std::map<std::string, Quality> qe = quality_from(samples, out.roles, epoch_ratios);
  std::map<std::string, Quality> qr = quality_from(samples, out.roles, best_ratios);
  for (const auto& [family, q] : qe) out.heldout[family].epoch = q;
  for (const auto& [family, q] : qr) out.heldout[family].refined = q;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (out.roles[i] != Role::kFit && out.roles[i] != Role::kValidate) continue;
    HeldOutRow row{samples[i].name,
                   samples[i].family,
                   std::string(role_name(out.roles[i])),
                   samples[i].time_s,
                   0,
                   0};
    if (epoch_ratios.count(i)) row.epoch_ratio = epoch_ratios.at(i);
    if (best_ratios.count(i)) row.refined_ratio = best_ratios.at(i);
    out.rows.push_back(row);
  }
  return out;
}

SelectOptions select_options_for(const nlohmann::json& context) {
  SelectOptions o;
  if (!context.is_object()) return o;
  auto sms = context.find("sm_count");
  if (sms != context.end() && sms->is_number_integer() && sms->get<long long>() > 0 &&
      sms->get<long long>() < 100000) {
    o.sm_count = sms->get<int>();
  }
  return o;
}

}  // namespace batchcost
