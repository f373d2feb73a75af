// Token routing (core/moe_routing.h): determinism against checked-in values, the invariants of every
// generator, balance, the uniform active-expert formula, Zipf and log-normal skew, statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <stdexcept>

#include "core/moe_routing.h"

namespace batchcost {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

const RoutingSpec kUniform{RoutingKind::uniform, 0};
const RoutingSpec kBalanced{RoutingKind::balanced, 0};
RoutingSpec zipf(double s) { return {RoutingKind::zipf, s}; }
RoutingSpec lognormal(double sigma) { return {RoutingKind::lognormal, sigma}; }

// Every structural promise of routing.h, checked on one result.
void expect_valid(const Routing& r, std::int64_t tokens, int experts, int top_k) {
  ASSERT_EQ(r.tokens, tokens);
  ASSERT_EQ(r.experts, experts);
  ASSERT_EQ(r.top_k, top_k);
  const auto n = static_cast<std::size_t>(tokens * top_k);
  ASSERT_EQ(r.expert_of.size(), n);
  ASSERT_EQ(r.assignment.size(), n);
  ASSERT_EQ(r.counts.size(), static_cast<std::size_t>(experts));
  ASSERT_EQ(r.offsets.size(), static_cast<std::size_t>(experts) + 1);
  EXPECT_EQ(std::accumulate(r.counts.begin(), r.counts.end(), std::int64_t{0}), tokens * top_k);
  EXPECT_EQ(r.offsets.front(), 0);
  for (int e = 0; e < experts; ++e) EXPECT_EQ(r.offsets[e + 1] - r.offsets[e], r.counts[e]);
  for (std::int64_t t = 0; t < tokens; ++t) {
    std::set<std::int32_t> picks;
    for (int j = 0; j < top_k; ++j) picks.insert(r.expert_of[t * top_k + j]);
    EXPECT_EQ(picks.size(), static_cast<std::size_t>(top_k)) << "token " << t << " repeats";
  }
  std::vector<bool> seen(n, false);
  for (int e = 0; e < experts; ++e) {
    for (std::int64_t p = r.offsets[e]; p < r.offsets[e + 1]; ++p) {
      const std::int32_t a = r.assignment[p];
      ASSERT_GE(a, 0);
      ASSERT_LT(static_cast<std::size_t>(a), n);
      EXPECT_FALSE(seen[a]) << "assignment " << a << " twice";
      seen[a] = true;
      EXPECT_EQ(r.expert_of[a], e);
      EXPECT_EQ(r.token_at(p), a / top_k);
      if (p > r.offsets[e]) {
        EXPECT_LT(r.assignment[p - 1], a);  // by token within an expert
      }
    }
  }
}

TEST(RoutingLabel, FormatAndParse) {
  EXPECT_EQ(routing_label(kUniform), "uniform");
  EXPECT_EQ(routing_label(kBalanced), "balanced");
  EXPECT_EQ(routing_label(zipf(1.0)), "zipf1.0");
  EXPECT_EQ(routing_label(zipf(1.2)), "zipf1.2");
  EXPECT_EQ(routing_label(lognormal(0.5)), "lognormal0.5");
  EXPECT_EQ(routing_label(lognormal(2)), "lognormal2.0");
  for (const RoutingSpec& spec :
       {kUniform, kBalanced, zipf(0), zipf(1.0), zipf(1.25), lognormal(0.3), lognormal(2)}) {
    EXPECT_EQ(parse_routing(routing_label(spec)), spec) << routing_label(spec);
  }
  EXPECT_EQ(parse_routing("zipf"), zipf(1.0));
  EXPECT_EQ(parse_routing("lognormal"), lognormal(1.0));
  EXPECT_EQ(parse_routing("zipf2"), zipf(2.0));
  for (const char* bad : {"", "Uniform", "zipf-1.0", "zipfx", "zipf1.0x", "lognormal-0.5",
                          "lognormalnan", "zipfinf", "normal1.0", "uniform1.0"}) {
    EXPECT_THROW(parse_routing(bad), std::invalid_argument) << bad;
  }
}

TEST(RoutingLabel, DefaultSweep) {
  std::vector<std::string> labels;
  for (const RoutingSpec& spec : default_routings()) labels.push_back(routing_label(spec));
  EXPECT_EQ(labels, (std::vector<std::string>{"uniform", "balanced", "zipf1.0", "lognormal1.0"}));
}

TEST(Route, SameArgumentsSameResult) {
  for (const RoutingSpec& spec : {kUniform, kBalanced, zipf(1.0), lognormal(1.0)}) {
    const Routing a = route(spec, 100, 32, 4, 99);
    const Routing b = route(spec, 100, 32, 4, 99);
    EXPECT_EQ(a.expert_of, b.expert_of) << routing_label(spec);
    EXPECT_EQ(a.assignment, b.assignment) << routing_label(spec);
  }
  EXPECT_NE(route(kUniform, 100, 32, 4, 1).expert_of, route(kUniform, 100, 32, 4, 2).expert_of);
}

// Checked-in values: the generators must give these on every machine and standard library (the
// uniform kind bit-exactly; zipf and lognormal up to last-ulp ties of the C library's log).
// Changing them changes every recorded MoE result's routing: do it on purpose only.
TEST(Route, CheckedInValues) {
  EXPECT_EQ(route(kUniform, 4, 16, 2, 7).expert_of,
            (std::vector<std::int32_t>{1, 7, 0, 1, 3, 7, 1, 13}));
  EXPECT_EQ(route(zipf(1.0), 4, 16, 2, 7).expert_of,
            (std::vector<std::int32_t>{1, 0, 0, 1, 3, 1, 1, 0}));
  EXPECT_EQ(route(lognormal(1.0), 4, 16, 2, 7).expert_of,
            (std::vector<std::int32_t>{3, 1, 1, 0, 2, 11, 15, 11}));
  EXPECT_EQ(route(kBalanced, 4, 16, 2, 7).expert_of,
            (std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(route(kUniform, 256, 8, 2, 12345).counts,
            (std::vector<std::int64_t>{63, 65, 62, 64, 60, 70, 70, 58}));
  EXPECT_EQ(route(zipf(1.0), 256, 8, 2, 12345).counts,
            (std::vector<std::int64_t>{164, 88, 60, 57, 44, 39, 32, 28}));
  EXPECT_EQ(route(lognormal(1.0), 256, 8, 2, 12345).counts,
            (std::vector<std::int64_t>{12, 20, 74, 23, 73, 253, 22, 35}));
}

TEST(Route, InvariantsOfEveryKind) {
  struct Shape {
    std::int64_t tokens;
    int experts, top_k;
  };
  for (const RoutingSpec& spec :
       {kUniform, kBalanced, zipf(1.0), zipf(3.0), lognormal(0.5), lognormal(3.0)}) {
    for (Shape s : {Shape{0, 8, 2}, Shape{1, 256, 8}, Shape{7, 16, 16}, Shape{33, 5, 3},
                    Shape{1000, 128, 8}, Shape{64, 1, 1}}) {
      SCOPED_TRACE(routing_label(spec) + " B=" + std::to_string(s.tokens) +
                   " E=" + std::to_string(s.experts) + " k=" + std::to_string(s.top_k));
      expect_valid(route(spec, s.tokens, s.experts, s.top_k, 5), s.tokens, s.experts, s.top_k);
    }
  }
}

TEST(Route, InvalidArgumentsThrow) {
  EXPECT_THROW(route(kUniform, 4, 0, 1, 0), std::invalid_argument);
  EXPECT_THROW(route(kUniform, 4, 8, 0, 0), std::invalid_argument);
  EXPECT_THROW(route(kUniform, 4, 8, 9, 0), std::invalid_argument);
  EXPECT_THROW(route(kUniform, -1, 8, 2, 0), std::invalid_argument);
  EXPECT_THROW(route(kUniform, std::int64_t{1} << 30, 8, 2, 0), std::invalid_argument);
  EXPECT_THROW(route(zipf(-1), 4, 8, 2, 0), std::invalid_argument);
  EXPECT_THROW(route(lognormal(kNaN), 4, 8, 2, 0), std::invalid_argument);
}

TEST(Route, BalancedMaxMinusMinAtMostOne) {
  for (std::int64_t tokens : {1, 2, 3, 5, 17, 100, 1023, 4096}) {
    for (auto [experts, top_k] : {std::pair{256, 8}, std::pair{128, 8}, std::pair{7, 3},
                                  std::pair{16, 16}, std::pair{5, 1}}) {
      const RoutingStats s = routing_stats(route(kBalanced, tokens, experts, top_k, 0).counts);
      EXPECT_LE(s.max_tokens_per_expert - s.min_tokens_per_expert, 1)
          << "B=" << tokens << " E=" << experts << " k=" << top_k;
    }
  }
}

TEST(Route, UniformActiveExpertsMatchTheFormula) {
  // The mean over 400 seeds is within about 4 standard errors of E·(1 − (1 − k/E)^B) (per-seed
  // standard deviations here are 1.1 to 4.5 experts, so one standard error is 0.06 to 0.22).
  struct Case {
    std::int64_t tokens;
    int experts, top_k;
    double tolerance;
  };
  for (Case c : {Case{1, 256, 8, 1e-12}, Case{4, 256, 8, 0.25}, Case{16, 256, 8, 0.75},
                 Case{64, 256, 8, 0.9}, Case{8, 128, 8, 0.5}, Case{16, 64, 4, 0.5}}) {
    double sum = 0;
    constexpr int kSeeds = 400;
    for (int seed = 0; seed < kSeeds; ++seed) {
      sum +=
          routing_stats(route(kUniform, c.tokens, c.experts, c.top_k, seed).counts).active_experts;
    }
    EXPECT_NEAR(sum / kSeeds, expected_active_experts(c.experts, c.top_k, c.tokens), c.tolerance)
        << "B=" << c.tokens << " E=" << c.experts << " k=" << c.top_k;
  }
}

TEST(Route, UniformLoadsAreEven) {
  // B·k/E = 512 per expert; Poisson-like spread ~23, so every expert is within 150.
  const RoutingStats s = routing_stats(route(kUniform, 16384, 256, 8, 3).counts);
  EXPECT_EQ(s.active_experts, 256);
  EXPECT_EQ(s.mean_tokens_per_expert, 512);
  EXPECT_GT(s.min_tokens_per_expert, 512 - 150);
  EXPECT_LT(s.max_tokens_per_expert, 512 + 150);
}

TEST(Route, ZipfFirstPickFollowsTheWeights) {
  // k = 1: P(expert e) = (e+1)^-s / Σ (j+1)^-s exactly.
  constexpr int kExperts = 8;
  constexpr std::int64_t kTokens = 40000;
  const Routing r = route(zipf(1.0), kTokens, kExperts, 1, 11);
  double norm = 0;
  for (int e = 0; e < kExperts; ++e) norm += 1.0 / (e + 1);
  for (int e = 0; e < kExperts; ++e) {
    const double p = 1.0 / (e + 1) / norm;
    const double sd = std::sqrt(kTokens * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(r.counts[e]), kTokens * p, 4 * sd) << "expert " << e;
  }
}

TEST(Route, ZipfSkewOrdering) {
  // Expert loads fall with the expert's rank, and a larger exponent concentrates them more.
  const Routing r = route(zipf(1.0), 8192, 256, 8, 4);
  EXPECT_GT(r.counts[0], r.counts[1]);
  EXPECT_GT(r.counts[1], r.counts[7]);
  EXPECT_GT(r.counts[7], r.counts[63]);
  EXPECT_GT(r.counts[63], r.counts[255]);
  double previous = 0;
  // (Beyond s = 1.5 the hottest expert is picked by almost every token and max/mean saturates
  // at E/k = 32, so the ordering stops there.)
  for (double s : {0.0, 0.5, 1.0, 1.5}) {
    const double imbalance = routing_stats(route(zipf(s), 8192, 256, 8, 4).counts).imbalance;
    EXPECT_GT(imbalance, previous) << "zipf" << s;
    previous = imbalance;
  }
  // Without replacement, no expert can get more than B tokens: at s = 2 the hottest expert is
  // picked by nearly every token.
  const RoutingStats hot = routing_stats(route(zipf(2.0), 1000, 256, 8, 4).counts);
  EXPECT_LE(hot.max_tokens_per_expert, 1000);
  EXPECT_GT(hot.max_tokens_per_expert, 950);
}

TEST(Route, LognormalSpreadGrowsWithSigma) {
  double previous = 0;
  for (double sigma : {0.0, 0.5, 1.0, 2.0}) {
    double imbalance = 0;
    for (int seed = 0; seed < 10; ++seed) {  // means 1.2, 3.2, 7.4, 14.3: far apart
      imbalance += routing_stats(route(lognormal(sigma), 2048, 128, 8, seed).counts).imbalance;
    }
    EXPECT_GT(imbalance, previous) << "lognormal" << sigma;
    previous = imbalance;
  }
  // σ = 0 is uniform routing: loads within a few standard deviations of the mean (256).
  const RoutingStats flat = routing_stats(route(lognormal(0), 4096, 128, 8, 1).counts);
  EXPECT_LT(flat.imbalance, 1.35);
}

TEST(GroupByExpert, HandExample) {
  // 3 tokens, top-2 of 4 experts: t0 → {2, 0}, t1 → {0, 3}, t2 → {2, 3}.
  const Routing r = group_by_expert({2, 0, 0, 3, 2, 3}, 3, 4, 2);
  EXPECT_EQ(r.counts, (std::vector<std::int64_t>{2, 0, 2, 2}));
  EXPECT_EQ(r.offsets, (std::vector<std::int64_t>{0, 2, 2, 4, 6}));
  EXPECT_EQ(r.assignment, (std::vector<std::int32_t>{1, 2, 0, 4, 3, 5}));
  EXPECT_EQ(r.token_at(0), 0);
  EXPECT_EQ(r.token_at(1), 1);
  EXPECT_EQ(r.token_at(5), 2);
  expect_valid(r, 3, 4, 2);
}

TEST(GroupByExpert, RejectsBadPicks) {
  EXPECT_THROW(group_by_expert({0, 0}, 1, 4, 2), std::invalid_argument);     // same expert twice
  EXPECT_THROW(group_by_expert({0, 4}, 1, 4, 2), std::invalid_argument);     // out of range
  EXPECT_THROW(group_by_expert({0, -1}, 1, 4, 2), std::invalid_argument);    // negative
  EXPECT_THROW(group_by_expert({0, 1, 2}, 1, 4, 2), std::invalid_argument);  // wrong size
}

TEST(RoutingStats, HandExample) {
  const std::vector<std::int64_t> counts = {4, 0, 2, 0, 6, 0, 0, 0};
  const RoutingStats s = routing_stats(counts);
  EXPECT_EQ(s.active_experts, 3);
  EXPECT_EQ(s.mean_tokens_per_expert, 12.0 / 8);
  EXPECT_EQ(s.mean_tokens_per_active_expert, 4);
  EXPECT_EQ(s.max_tokens_per_expert, 6);
  EXPECT_EQ(s.min_tokens_per_expert, 0);
  EXPECT_EQ(s.imbalance, 4);
}

TEST(RoutingStats, EmptyBatchAndInvalid) {
  const RoutingStats s = routing_stats(std::vector<std::int64_t>(8, 0));
  EXPECT_EQ(s.active_experts, 0);
  EXPECT_EQ(s.mean_tokens_per_active_expert, 0);
  EXPECT_EQ(s.imbalance, 1);
  EXPECT_THROW(routing_stats(std::vector<std::int64_t>{}), std::invalid_argument);
  EXPECT_THROW(routing_stats(std::vector<std::int64_t>{1, -1}), std::invalid_argument);
}

TEST(ExpectedActiveExperts, Values) {
  EXPECT_EQ(expected_active_experts(256, 8, 0), 0);
  EXPECT_DOUBLE_EQ(expected_active_experts(256, 8, 1), 8);
  EXPECT_DOUBLE_EQ(expected_active_experts(256, 8, 2), 256 * (1 - std::pow(248.0 / 256, 2)));
  EXPECT_DOUBLE_EQ(expected_active_experts(128, 8, 37), 128 * (1 - std::pow(120.0 / 128, 37)));
  EXPECT_EQ(expected_active_experts(16, 16, 3), 16);  // k = E: all experts, no log1p(-1)
  EXPECT_DOUBLE_EQ(expected_active_experts(256, 8, 16384), 256);
  // B·k far below E: about B·k active experts (nearly no collisions), without cancellation.
  EXPECT_NEAR(expected_active_experts(1e9, 1, 1), 1, 1e-12);
  EXPECT_NEAR(expected_active_experts(1e12, 2, 3), 6, 1e-9);
  // Increasing in B, never above E.
  double previous = 0;
  for (double b = 1; b <= 1 << 20; b *= 2) {
    const double active = expected_active_experts(256, 8, b);
    EXPECT_GE(active, previous);
    EXPECT_LE(active, 256);
    previous = active;
  }
}

TEST(ExpectedActiveExperts, InvalidArgumentsThrow) {
  EXPECT_THROW(expected_active_experts(0, 0, 1), std::invalid_argument);
  EXPECT_THROW(expected_active_experts(8, 0, 1), std::invalid_argument);
  EXPECT_THROW(expected_active_experts(8, 9, 1), std::invalid_argument);
  EXPECT_THROW(expected_active_experts(8, 2, -1), std::invalid_argument);
  EXPECT_THROW(expected_active_experts(8, 2, kInf), std::invalid_argument);
  EXPECT_THROW(expected_active_experts(kNaN, 2, 1), std::invalid_argument);
}

}  // namespace
}  // namespace batchcost
