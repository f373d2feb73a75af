// The cost model (see cost_model.h).
#include "core/cost_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <tuple>

#include "core/forms.h"

namespace batchcost {

std::string dtype_of(const Sample& sample) {
  auto it = sample.labels.find("dtype");
  return it == sample.labels.end() ? "unlabelled" : it->second;
}

NetKey net_key_of(const Sample& sample) {
  auto it = sample.labels.find("op");
  return {it == sample.labels.end() ? "unlabelled" : it->second, std::max(sample.ranks, 1)};
}

std::string net_key_name(const NetKey& key) { return key.first + "/" + std::to_string(key.second); }

double collective_count(const Work& work) {
  return work.collectives > 0 ? work.collectives : (work.net_bytes > 0 ? 1 : 0);
}

double network_time(const std::vector<Regime>& regimes, double bytes) {
  double best = std::numeric_limits<double>::infinity();
  for (const Regime& r : regimes) {
    best = std::min(best, r.latency_s.value + bytes / r.bytes_per_s.value);
  }
  return best;
}

Prediction predict(const Constants& constants, const Sample& sample) {
  const Work& w = sample.work;
  Prediction p;
  for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
    double count = work_field(w, kLatencyCounters[k]);
    if (count == 0) continue;
    auto it = constants.latency_s.find(std::string(kLatencyKinds[k]));
    if (it == constants.latency_s.end()) return {0, "λ[" + std::string(kLatencyKinds[k]) + "]"};
    p.time_s += count * it->second.value;
  }
  double c = collective_count(w);
  if (c > 0) {
    NetKey key = net_key_of(sample);
    auto it = constants.network.find(key);
    if (it == constants.network.end() || it->second.empty()) {
      return {0, "network " + net_key_name(key)};
    }
    p.time_s += c * network_time(it->second, w.net_bytes / c);
  }
  double P = 1, W = 1;
  if (w.flops > 0) {
    std::string dtype = dtype_of(sample);
    auto it = constants.flops_per_s.find(dtype);
    if (it == constants.flops_per_s.end()) return {0, "P[" + dtype + "]"};
    P = it->second.value;
  }
  if (w.bytes > 0) {
    if (!constants.hbm_bytes_per_s) return {0, "W"};
    W = constants.hbm_bytes_per_s->value;
  }
  if (constants.form == Form::kEpoch) {
    p.time_s += std::max(w.flops > 0 ? w.flops / P : 0.0, w.bytes > 0 ? w.bytes / W : 0.0);
    return p;
  }
  const RefinedTerms& t = constants.terms;
  auto value = [](const std::optional<Estimate>& e) { return e ? &e->value : nullptr; };
  FormInputs in;
  try {
    in = form_inputs(sample, constants);
  } catch (const std::invalid_argument& e) {
    return {0, e.what()};  // a malformed shape label: this sample cannot be priced
  }
  p.time_s +=
      refined_core(in, P, W, value(t.overlap_p), value(t.k_half), value(t.grouped_bandwidth_ratio),
                   value(t.saturating_sms), value(t.l2_bytes_per_s));
  return p;
}

Constants as_epoch(Constants c) {
  c.form = Form::kEpoch;
  c.terms = {};
  return c;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kFit:
      return "fit";
    case Role::kValidate:
      return "validate";
    case Role::kExcluded:
      return "excluded";
    case Role::kNotModelled:
      return "not modelled";
  }
  return "?";
}

Role role_of(const Sample& sample, const FitOptions& options) {
  if (declares_nothing(sample.work)) return Role::kNotModelled;
  if (options.validate_families.count(sample.family)) return Role::kValidate;
  auto cache = sample.labels.find("cache");
  if (cache != sample.labels.end() && cache->second == "hot") return Role::kExcluded;
  return Role::kFit;
}

std::pair<double, double> median_and_p90(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  double median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n)));
  return {median, v[std::max<size_t>(rank, 1) - 1]};
}

std::map<std::string, Quality> quality_of(const std::vector<Sample>& samples,
                                          const std::vector<Role>& roles,
                                          const Constants& constants) {
  std::map<std::string, std::vector<double>> errors;
  std::map<std::string, Quality> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (roles[i] != Role::kFit && roles[i] != Role::kValidate) continue;
    out[samples[i].family].role = role_name(roles[i]);
    Prediction p = predict(constants, samples[i]);
    if (p.missing.empty()) {
      errors[samples[i].family].push_back(std::abs(p.time_s / samples[i].time_s - 1));
    }
  }
  for (auto& [family, e] : errors) {
    Quality& q = out[family];
    q.n = static_cast<int>(e.size());
    std::tie(q.median_abs_rel_err, q.p90_abs_rel_err) = median_and_p90(e);
  }
  return out;
}

}  // namespace batchcost
