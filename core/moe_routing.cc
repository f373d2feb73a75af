// Token routing: see routing.h.
#include "core/moe_routing.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <stdexcept>
#include <system_error>

namespace batchcost {
namespace {

// A uniform double in (0, 1), never 0 or 1, from the top 53 bits of one draw: the midpoint of one
// of 2^53 equal cells, so log(u) and log(1 - u) stay finite.
double open_unit(std::mt19937_64& rng) {
  constexpr double kCell = 1.0 / 9007199254740992.0;  // 2^-53
  return (static_cast<double>(rng() >> 11) + 0.5) * kCell;
}

// A standard normal by Box–Muller (one of the pair; simplicity over speed: E draws per batch).
double standard_normal(std::mt19937_64& rng) {
  const double u1 = open_unit(rng);
  const double u2 = open_unit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// A Gumbel(0, 1) variate.
double gumbel(std::mt19937_64& rng) { return -std::log(-std::log(open_unit(rng))); }

void check_shape(std::int64_t tokens, int experts, int top_k, const char* who) {
  if (experts < 1 || top_k < 1 || top_k > experts || tokens < 0 ||
      tokens > std::numeric_limits<std::int32_t>::max() / top_k) {
    throw std::invalid_argument(std::string(who) +
                                ": need experts >= 1, 1 <= top_k <= experts, tokens >= 0 and "
                                "tokens*top_k < 2^31; got experts=" +
                                std::to_string(experts) + " top_k=" + std::to_string(top_k) +
                                " tokens=" + std::to_string(tokens));
  }
}

// The k indices of the largest keys, largest first; ties go to the lower index so the order is a
// strict total order and the result does not depend on the sort's implementation.
template <typename Key>
void top_k_of(const std::vector<Key>& keys, int top_k, std::vector<std::int32_t>& index,
              std::int32_t* out) {
  index.resize(keys.size());
  for (std::size_t e = 0; e < keys.size(); ++e) index[e] = static_cast<std::int32_t>(e);
  auto larger = [&keys](std::int32_t a, std::int32_t b) {
    const Key ka = keys[static_cast<std::size_t>(a)];
    const Key kb = keys[static_cast<std::size_t>(b)];
    return ka > kb || (ka == kb && a < b);
  };
  std::partial_sort(index.begin(), index.begin() + top_k, index.end(), larger);
  std::copy(index.begin(), index.begin() + top_k, out);
}

std::string format_param(double value) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  std::string text(buf, end);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

}  // namespace

std::string routing_label(const RoutingSpec& spec) {
  switch (spec.kind) {
    case RoutingKind::uniform:
      return "uniform";
    case RoutingKind::balanced:
      return "balanced";
    case RoutingKind::zipf:
      return "zipf" + format_param(spec.param);
    case RoutingKind::lognormal:
      return "lognormal" + format_param(spec.param);
  }
  throw std::invalid_argument("routing_label: not a RoutingKind");
}

RoutingSpec parse_routing(std::string_view label) {
  if (label == "uniform") return {RoutingKind::uniform, 0};
  if (label == "balanced") return {RoutingKind::balanced, 0};
  for (auto [prefix, kind] : {std::pair{std::string_view("zipf"), RoutingKind::zipf},
                              std::pair{std::string_view("lognormal"), RoutingKind::lognormal}}) {
    if (!label.starts_with(prefix)) continue;
    const std::string_view rest = label.substr(prefix.size());
    if (rest.empty()) return {kind, 1.0};
    double value = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec == std::errc() && end == rest.data() + rest.size() && std::isfinite(value) &&
        value >= 0) {
      return {kind, value};
    }
    break;
  }
  throw std::invalid_argument("not a routing: '" + std::string(label) +
                              "' (expected uniform, balanced, zipf<s> or lognormal<sigma>, "
                              "with s, sigma >= 0, e.g. zipf1.0)");
}

std::vector<RoutingSpec> default_routings() {
  return {{RoutingKind::uniform, 0},
          {RoutingKind::balanced, 0},
          {RoutingKind::zipf, 1.0},
          {RoutingKind::lognormal, 1.0}};
}

Routing route(const RoutingSpec& spec, std::int64_t tokens, int experts, int top_k,
              std::uint64_t seed) {
  check_shape(tokens, experts, top_k, "route");
  if ((spec.kind == RoutingKind::zipf || spec.kind == RoutingKind::lognormal) &&
      !(std::isfinite(spec.param) && spec.param >= 0)) {
    throw std::invalid_argument("route: the parameter of " + routing_label(spec) +
                                " must be finite and >= 0");
  }
  const auto e_count = static_cast<std::size_t>(experts);
  const auto k_count = static_cast<std::size_t>(top_k);
  std::vector<std::int32_t> expert_of(static_cast<std::size_t>(tokens) * k_count);
  std::mt19937_64 rng(seed);
  std::vector<std::int32_t> index;

  switch (spec.kind) {
    case RoutingKind::balanced:
      for (std::size_t a = 0; a < expert_of.size(); ++a) {
        expert_of[a] = static_cast<std::int32_t>(a % e_count);
      }
      break;
    case RoutingKind::uniform: {
      // Raw 64-bit integers as logits: iid, and compared exactly on every machine.
      std::vector<std::uint64_t> logits(e_count);
      for (std::size_t t = 0; t < static_cast<std::size_t>(tokens); ++t) {
        for (auto& logit : logits) logit = rng();
        top_k_of(logits, top_k, index, expert_of.data() + t * k_count);
      }
      break;
    }
    case RoutingKind::zipf:
    case RoutingKind::lognormal: {
      std::vector<double> log_weight(e_count);
      for (std::size_t e = 0; e < e_count; ++e) {
        log_weight[e] = spec.kind == RoutingKind::zipf
                            ? -spec.param * std::log(static_cast<double>(e + 1))
                            : spec.param * standard_normal(rng);
      }
      std::vector<double> logits(e_count);
      for (std::size_t t = 0; t < static_cast<std::size_t>(tokens); ++t) {
        for (std::size_t e = 0; e < e_count; ++e) logits[e] = log_weight[e] + gumbel(rng);
        top_k_of(logits, top_k, index, expert_of.data() + t * k_count);
      }
      break;
    }
  }
  return group_by_expert(std::move(expert_of), tokens, experts, top_k);
}

Routing group_by_expert(std::vector<std::int32_t> expert_of, std::int64_t tokens, int experts,
                        int top_k) {
  check_shape(tokens, experts, top_k, "group_by_expert");
  const auto k_count = static_cast<std::size_t>(top_k);
  if (expert_of.size() != static_cast<std::size_t>(tokens) * k_count) {
    throw std::invalid_argument("group_by_expert: " + std::to_string(expert_of.size()) +
                                " picks for " + std::to_string(tokens) + " tokens of top-" +
                                std::to_string(top_k));
  }
  Routing r;
  r.experts = experts;
  r.top_k = top_k;
  r.tokens = tokens;
  r.counts.assign(static_cast<std::size_t>(experts), 0);
  for (std::size_t t = 0; t < static_cast<std::size_t>(tokens); ++t) {
    const std::int32_t* picks = expert_of.data() + t * k_count;
    for (std::size_t j = 0; j < k_count; ++j) {
      if (picks[j] < 0 || picks[j] >= experts) {
        throw std::invalid_argument("group_by_expert: token " + std::to_string(t) +
                                    " picks expert " + std::to_string(picks[j]) + " of " +
                                    std::to_string(experts));
      }
      if (std::find(picks, picks + j, picks[j]) != picks + j) {
        throw std::invalid_argument("group_by_expert: token " + std::to_string(t) +
                                    " picks expert " + std::to_string(picks[j]) + " twice");
      }
      ++r.counts[static_cast<std::size_t>(picks[j])];
    }
  }
  // A stable counting sort: positions within an expert follow the assignment index.
  r.offsets.assign(static_cast<std::size_t>(experts) + 1, 0);
  for (std::size_t e = 0; e < r.counts.size(); ++e) r.offsets[e + 1] = r.offsets[e] + r.counts[e];
  std::vector<std::int64_t> next(r.offsets.begin(), r.offsets.end() - 1);
  r.assignment.resize(expert_of.size());
  for (std::size_t a = 0; a < expert_of.size(); ++a) {
    auto& slot = next[static_cast<std::size_t>(expert_of[a])];
    r.assignment[static_cast<std::size_t>(slot++)] = static_cast<std::int32_t>(a);
  }
  r.expert_of = std::move(expert_of);
  return r;
}

RoutingStats routing_stats(std::span<const std::int64_t> counts) {
  if (counts.empty()) throw std::invalid_argument("routing_stats: no experts");
  RoutingStats s;
  std::int64_t total = 0;
  s.min_tokens_per_expert = counts.front();
  for (std::int64_t c : counts) {
    if (c < 0) throw std::invalid_argument("routing_stats: negative count " + std::to_string(c));
    total += c;
    if (c > 0) ++s.active_experts;
    s.max_tokens_per_expert = std::max(s.max_tokens_per_expert, c);
    s.min_tokens_per_expert = std::min(s.min_tokens_per_expert, c);
  }
  s.mean_tokens_per_expert = static_cast<double>(total) / static_cast<double>(counts.size());
  if (s.active_experts > 0) {
    s.mean_tokens_per_active_expert = static_cast<double>(total) / s.active_experts;
    s.imbalance = static_cast<double>(s.max_tokens_per_expert) / s.mean_tokens_per_expert;
  }
  return s;
}

double expected_active_experts(double experts, double top_k, double tokens) {
  if (!(std::isfinite(experts) && experts > 0 && std::isfinite(top_k) && top_k > 0 &&
        top_k <= experts && std::isfinite(tokens) && tokens >= 0)) {
    throw std::invalid_argument("expected_active_experts: need E > 0, 0 < k <= E, B >= 0; got E=" +
                                std::to_string(experts) + " k=" + std::to_string(top_k) +
                                " B=" + std::to_string(tokens));
  }
  if (tokens == 0) return 0;
  if (top_k == experts) return experts;  // log1p(-1) = -inf; every expert is picked
  return -experts * std::expm1(tokens * std::log1p(-top_k / experts));
}

}  // namespace batchcost
