// The MoE crossover (see moe_crossover.h).
#include "core/moe_crossover.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <stdexcept>
#include <tuple>

namespace batchcost {
namespace {

// One GEMM as a sample: `work`'s flops and bytes (gemm_work()'s, or a grouped kernel's sum over
// its experts), one latency event, and the shape labels.
Sample gemm_sample(const std::string& name, std::int64_t m, std::int64_t n, std::int64_t k,
                   GemmDtype dtype, bool host_launched, std::int64_t groups, const Work& work) {
  Sample s;
  s.name = name;
  s.family = "moe";
  s.work.flops = work.flops;
  s.work.bytes = work.bytes;
  s.work.kernels = host_launched ? 0 : 1;  // one kernel, or one host launch (as moe_work counts)
  s.work.launches = host_launched ? 1 : 0;
  s.labels = {{"dtype", std::string(dtype_label(dtype))},
              {"m", std::to_string(m)},
              {"n", std::to_string(n)},
              {"k", std::to_string(k)}};
  if (groups > 1) {
    s.labels["groups"] = std::to_string(groups);
    s.labels["layout"] = "grouped";
  }
  return s;
}

// A GEMM of one problem, [m, k] x [k, n].
Sample gemm_sample(const std::string& name, std::int64_t m, std::int64_t n, std::int64_t k,
                   GemmDtype dtype, bool host_launched) {
  return gemm_sample(name, m, n, k, dtype, host_launched, 1, gemm_work(m, n, k, dtype));
}

}  // namespace

std::vector<Sample> moe_strategy_gemms(MoeStrategy strategy, const MoeConfig& config,
                                       GemmDtype dtype, const Routing& routing) {
  check_moe_config(config);
  const std::int64_t h = config.hidden, i = config.intermediate;
  std::vector<Sample> out;
  switch (strategy) {
    case MoeStrategy::dense_equivalent: {
      const std::int64_t width = config.top_k * i;
      if (routing.tokens == 0) return out;
      out.push_back(gemm_sample("gate_up", routing.tokens, 2 * width, h, dtype, false));
      out.push_back(gemm_sample("down", routing.tokens, h, width, dtype, false));
      return out;
    }
    case MoeStrategy::per_expert_loop:
      for (std::size_t e = 0; e < routing.counts.size(); ++e) {
        const std::int64_t c = routing.counts[e];
        if (c == 0) continue;
        const std::string expert = "expert" + std::to_string(e) + "/";
        out.push_back(gemm_sample(expert + "gate_up", c, 2 * i, h, dtype, true));
        out.push_back(gemm_sample(expert + "down", c, h, i, dtype, true));
      }
      return out;
    case MoeStrategy::grouped: {
      // One kernel per projection; the exact work is the sum over the experts' GEMMs, the shape
      // label the active experts as groups of their mean count (rounded up).
      std::int64_t active = 0, assignments = 0;
      for (std::int64_t c : routing.counts) {
        active += c > 0;
        assignments += c;
      }
      if (active == 0) return out;
      const std::int64_t rows = (assignments + active - 1) / active;
      for (const auto& [name, n, k] : {std::tuple{"gate_up", 2 * i, h}, std::tuple{"down", h, i}}) {
        Work sum;
        for (std::int64_t c : routing.counts) {
          if (c == 0) continue;
          const Work one = gemm_work(c, n, k, dtype);
          sum.flops += one.flops;
          sum.bytes += one.bytes;
        }
        out.push_back(gemm_sample(name, rows, n, k, dtype, false, active, sum));
      }
      return out;
    }
    default:
      throw std::invalid_argument(
          "moe_strategy_gemms: " + std::string(strategy_label(strategy)) +
          " is not priced here (per_expert_loop, grouped, dense_equivalent)");
  }
}

Prediction moe_strategy_time(const Constants& constants, MoeStrategy strategy,
                             const MoeConfig& config, GemmDtype dtype, const Routing& routing) {
  Prediction total;
  for (const Sample& s : moe_strategy_gemms(strategy, config, dtype, routing)) {
    Prediction p = predict(constants, s);
    if (!p.missing.empty()) return p;
    total.time_s += p.time_s;
  }
  return total;
}

nlohmann::ordered_json crossovers_json(const MoeCrossovers& x) {
  auto at = [](const std::optional<std::int64_t>& b) {
    return b ? nlohmann::ordered_json(*b) : nlohmann::ordered_json(nullptr);
  };
  return {{"loop_to_grouped", at(x.loop_to_grouped)},
          {"grouped_to_dense", at(x.grouped_to_dense)},
          {"loop_to_dense", at(x.loop_to_dense)}};
}

std::vector<std::int64_t> powers_of_two(std::int64_t largest) {
  if (largest < 1 || (largest & (largest - 1)) != 0) {
    throw std::invalid_argument("powers_of_two: " + std::to_string(largest) +
                                " is not a power of two");
  }
  std::vector<std::int64_t> out;
  for (std::int64_t b = 1; b <= largest; b *= 2) out.push_back(b);
  return out;
}

MoeCurveResult predict_moe_curve(const Constants& constants, const MoeConfig& config,
                                 GemmDtype dtype, std::span<const std::int64_t> tokens) {
  MoeCurveResult r;
  for (std::size_t j = 0; j < tokens.size(); ++j) {
    if (tokens[j] < 1 || (j > 0 && tokens[j] <= tokens[j - 1])) {
      throw std::invalid_argument("predict_moe_curve: the batches must increase from 1 or more");
    }
  }
  if (tokens.empty()) return r;
  // route() draws token after token from one stream, so the first B tokens of the routing of the
  // largest batch are the routing of B (moe_routing.h): route once, count prefixes.
  const Routing all =
      route(RoutingSpec{}, tokens.back(), config.experts, config.top_k, kMoeRoutingSeed);
  Routing routing;
  routing.experts = config.experts;
  routing.top_k = config.top_k;
  routing.counts.assign(static_cast<std::size_t>(config.experts), 0);
  std::size_t next = 0;  // the next assignment of `all` to count
  const MoeStrategy strategies[] = {MoeStrategy::per_expert_loop, MoeStrategy::grouped,
                                    MoeStrategy::dense_equivalent};
  for (std::int64_t b : tokens) {
    for (; next < static_cast<std::size_t>(b * config.top_k); ++next) {
      ++routing.counts[static_cast<std::size_t>(all.expert_of[next])];
    }
    routing.tokens = b;
    Prediction p[3];
    for (int s = 0; s < 3; ++s) {
      p[s] = moe_strategy_time(constants, strategies[s], config, dtype, routing);
      if (!p[s].missing.empty()) {
        r.missing = p[s].missing;
        r.curve = {};
        return r;
      }
    }
    r.curve.tokens.push_back(b);
    r.curve.loop_s.push_back(p[0].time_s);
    r.curve.grouped_s.push_back(p[1].time_s);
    r.curve.dense_s.push_back(p[2].time_s);
  }
  return r;
}

std::optional<std::int64_t> crossover(std::span<const std::int64_t> tokens,
                                      std::span<const double> slower,
                                      std::span<const double> faster, double tolerance) {
  if (slower.size() != tokens.size() || faster.size() != tokens.size()) {
    throw std::invalid_argument("crossover: the batches and both curves must have one size");
  }
  auto positive = [](double t) { return std::isfinite(t) && t > 0; };
  for (std::size_t j = 0; j < tokens.size(); ++j) {
    if (!positive(slower[j]) || !positive(faster[j])) {
      throw std::invalid_argument("crossover: a time that is not positive and finite at B = " +
                                  std::to_string(tokens[j]));
    }
  }
  std::optional<std::int64_t> from;
  for (std::size_t j = tokens.size(); j-- > 0;) {
    if (slower[j] > (1 + tolerance) * faster[j]) break;
    from = tokens[j];
  }
  return from;
}

MoeCrossovers crossovers(const MoeCurve& c, double tolerance) {
  return {crossover(c.tokens, c.loop_s, c.grouped_s, tolerance),
          crossover(c.tokens, c.grouped_s, c.dense_s, tolerance),
          crossover(c.tokens, c.loop_s, c.dense_s, tolerance)};
}

namespace {

// B of a name's tokens:B component.
std::int64_t tokens_of_name(const std::string& name) {
  const std::size_t at = name.find("/tokens:");
  std::size_t used = 0;
  long long b = 0;
  if (at != std::string::npos) {
    try {
      b = std::stoll(name.substr(at + 8), &used);
    } catch (const std::exception&) {
      used = 0;
    }
  }
  if (used == 0 || b < 1) {
    throw std::invalid_argument("moe sample " + name + ": no tokens:B in its name");
  }
  return b;
}

std::string label_or(const Sample& s, const std::string& key) {
  auto it = s.labels.find(key);
  return it == s.labels.end() ? "" : it->second;
}

}  // namespace

std::vector<MoeCrossoverCheck> check_moe_crossovers(const std::vector<Sample>& samples,
                                                    const Constants& constants) {
  std::vector<MoeCrossoverCheck> out;
  for (const MoeConfig& config : moe_configs()) {
    // tokens -> seconds of loop, grouped, dense (0: not measured); and the dtype.
    std::map<std::int64_t, std::array<double, 3>> by_tokens;
    std::string dtype;
    for (const Sample& s : samples) {
      if (s.family != "moe" || label_or(s, "model") != config.name) continue;
      const std::string strategy = label_or(s, "strategy"), routing = label_or(s, "routing");
      int slot = -1;
      if (strategy == "per_expert_loop" && routing == "uniform") slot = 0;
      // grouped_d2h (counts=d2h) waits for its counts: not the kernel the prediction prices.
      if (strategy == "grouped" && routing == "uniform" && label_or(s, "counts") != "d2h") slot = 1;
      if (strategy == "dense_equivalent") slot = 2;
      if (slot < 0 || !(s.time_s > 0)) continue;
      by_tokens[tokens_of_name(s.name)][static_cast<std::size_t>(slot)] = s.time_s;
      if (dtype.empty()) dtype = label_or(s, "dtype");
    }
    MoeCrossoverCheck check;
    check.config = config;
    check.dtype = dtype.empty() ? "bf16" : dtype;
    for (const auto& [b, t] : by_tokens) {
      if (t[0] <= 0 || t[1] <= 0 || t[2] <= 0) continue;
      check.measured.tokens.push_back(b);
      check.measured.loop_s.push_back(t[0]);
      check.measured.grouped_s.push_back(t[1]);
      check.measured.dense_s.push_back(t[2]);
    }
    if (check.measured.tokens.size() < 2) continue;
    check.measured_at = crossovers(check.measured);
    MoeCurveResult p =
        predict_moe_curve(constants, config, parse_gemm_dtype(check.dtype), check.measured.tokens);
    check.missing = p.missing;
    check.predicted = std::move(p.curve);
    if (check.missing.empty()) check.predicted_at = crossovers(check.predicted);
    out.push_back(std::move(check));
  }
  return out;
}

}  // namespace batchcost
