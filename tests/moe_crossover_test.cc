// The MoE crossover (core/moe_crossover.h): its GEMMs declare the benchmark's own work, the
// crossover reads a curve as documented, and on the cost model the grouped kernel catches up
// with the dense-equivalent where the experts' GEMMs turn compute-bound.
#include "core/moe_crossover.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

namespace batchcost {
namespace {

// Epoch constants: P 1000 TFLOP/s (bf16), W 3 TB/s, λ[kernel] 5 µs, λ[launch] 3 µs.
Constants epoch_constants(double latency_scale = 1) {
  Constants c;
  c.flops_per_s["bf16"] = {1e15, 1e15, 1e15};
  c.hbm_bytes_per_s = Estimate{3e12, 3e12, 3e12};
  c.latency_s["kernel"] = {5e-6 * latency_scale, 0, 0};
  c.latency_s["launch"] = {3e-6 * latency_scale, 0, 0};
  return c;
}

Work sum_work(const std::vector<Sample>& gemms) {
  Work w;
  for (const Sample& s : gemms) {
    w.flops += s.work.flops;
    w.bytes += s.work.bytes;
    w.launches += s.work.launches;
    w.kernels += s.work.kernels;
  }
  return w;
}

// The curve routes once and counts prefixes: the first B tokens of a routing are the routing of
// B tokens, as the benchmark routes each B on its own.
TEST(MoeCrossover, RoutingOfBIsAPrefixOfALargerOne) {
  const MoeConfig c = deepseek_v3();
  const Routing big = route({}, 300, c.experts, c.top_k, kMoeRoutingSeed);
  for (std::int64_t b : {1, 7, 64, 300}) {
    const Routing small = route({}, b, c.experts, c.top_k, kMoeRoutingSeed);
    EXPECT_TRUE(std::equal(small.expert_of.begin(), small.expert_of.end(), big.expert_of.begin()))
        << "B=" << b;
  }
  Constants k = epoch_constants();
  const std::vector<std::int64_t> grid = {1, 7, 64, 300};
  const MoeCurve curve = predict_moe_curve(k, c, GemmDtype::bf16, grid).curve;
  for (std::size_t j = 0; j < grid.size(); ++j) {
    const Routing one = route({}, grid[j], c.experts, c.top_k, kMoeRoutingSeed);
    EXPECT_DOUBLE_EQ(curve.grouped_s[j],
                     moe_strategy_time(k, MoeStrategy::grouped, c, GemmDtype::bf16, one).time_s);
    EXPECT_DOUBLE_EQ(
        curve.loop_s[j],
        moe_strategy_time(k, MoeStrategy::per_expert_loop, c, GemmDtype::bf16, one).time_s);
  }
}

TEST(MoeCrossover, GemmsDeclareTheBenchmarksWork) {
  for (const MoeConfig& config : moe_configs()) {
    for (std::int64_t b : {1, 3, 64, 4096}) {
      const Routing routing = route({}, b, config.experts, config.top_k, kMoeRoutingSeed);
      for (MoeStrategy s :
           {MoeStrategy::per_expert_loop, MoeStrategy::grouped, MoeStrategy::dense_equivalent}) {
        SCOPED_TRACE(config.name + " " + std::string(strategy_label(s)) +
                     " B=" + std::to_string(b));
        const Work want = moe_work(s, config, GemmDtype::bf16, routing).work;
        const Work got = sum_work(moe_strategy_gemms(s, config, GemmDtype::bf16, routing));
        EXPECT_DOUBLE_EQ(got.flops, want.flops);
        EXPECT_DOUBLE_EQ(got.bytes, want.bytes);
        EXPECT_EQ(got.launches, want.launches);
        EXPECT_EQ(got.kernels, want.kernels);
      }
    }
  }
}

TEST(MoeCrossover, GroupedKernelCarriesItsShape) {
  const MoeConfig c = qwen3_30b_a3b();
  const Routing routing = route({}, 64, c.experts, c.top_k, kMoeRoutingSeed);
  int active = 0;
  for (std::int64_t n : routing.counts) active += n > 0;
  const std::vector<Sample> g =
      moe_strategy_gemms(MoeStrategy::grouped, c, GemmDtype::bf16, routing);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].labels.at("groups"), std::to_string(active));
  EXPECT_EQ(g[0].labels.at("layout"), "grouped");
  EXPECT_EQ(g[0].labels.at("n"), std::to_string(2 * c.intermediate));
  EXPECT_EQ(g[0].labels.at("k"), std::to_string(c.hidden));
  EXPECT_EQ(g[0].labels.at("m"), std::to_string((64 * c.top_k + active - 1) / active));
  EXPECT_THROW(moe_strategy_gemms(MoeStrategy::padded_batched, c, GemmDtype::bf16, routing),
               std::invalid_argument);
}

TEST(MoeCrossover, ReadsTheCurveFromTheLargestBatchDown) {
  const std::vector<std::int64_t> b = {1, 2, 4, 8, 16};
  const std::vector<double> fast = {1, 1, 1, 1, 1};
  // Within 10% at 2 but not at 4: it catches up only from 8.
  EXPECT_EQ(crossover(b, std::vector<double>{3, 1.05, 1.5, 1.1, 1.0}, fast), 8);
  EXPECT_EQ(crossover(b, std::vector<double>{1, 1, 1, 1, 1}, fast), 1);
  EXPECT_EQ(crossover(b, std::vector<double>{1, 1, 1, 1, 1.2}, fast), std::nullopt);
  EXPECT_EQ(crossover(b, std::vector<double>{1, 1, 1, 1, 1.2}, fast, 0.25), 1);
  EXPECT_THROW(crossover(b, std::vector<double>{1, 1}, fast), std::invalid_argument);
  EXPECT_THROW(crossover(b, std::vector<double>{1, 0, 1, 1, 1}, fast), std::invalid_argument);
  EXPECT_THROW(crossover(b, std::vector<double>{1, NAN, 1, 1, 1}, fast), std::invalid_argument);
  EXPECT_EQ(powers_of_two(8), (std::vector<std::int64_t>{1, 2, 4, 8}));
  EXPECT_THROW(powers_of_two(12), std::invalid_argument);
}

// Without latencies, in the paper's form, a projection [c, K]·[K, N] of c tokens per expert is
// compute-bound once 2cNK / P >= (NK + c(K + N)) · 2 / W (bf16): from c* = NK / (NK·W/P − (K +
// N)). Every expert is active by then, and the grouped kernel sums the experts' work, so it is
// compute-bound like the dense-equivalent from B* = c* · E / k: it catches up a little before
// (within 10% while still memory-bound), never after, and later for the more finely split model.
TEST(MoeCrossover, GroupedCatchesUpWhereExpertsTurnComputeBound) {
  const Constants c = epoch_constants(0);
  const double p = 1e15, w = 3e12;
  std::vector<std::int64_t> grid;
  for (std::int64_t b = 256; b <= 32768; b += 256) grid.push_back(b);
  std::int64_t previous = 0;
  for (const MoeConfig& config : {qwen3_30b_a3b(), deepseek_v3()}) {
    SCOPED_TRACE(config.name);
    MoeCurveResult r = predict_moe_curve(c, config, GemmDtype::bf16, grid);
    ASSERT_EQ(r.missing, "");
    const MoeCrossovers x = crossovers(r.curve);
    ASSERT_TRUE(x.grouped_to_dense.has_value());
    const double h = static_cast<double>(config.hidden),
                 i = static_cast<double>(config.intermediate);
    double c_star = 0;
    for (const auto& [n, k] : {std::pair{2 * i, h}, std::pair{h, i}}) {
      c_star = std::max(c_star, n * k / (n * k * w / p - (k + n)));
    }
    const double b_star = c_star * config.experts / config.top_k;
    EXPECT_LE(*x.grouped_to_dense, b_star + 256);
    EXPECT_GE(*x.grouped_to_dense, b_star / 2);
    EXPECT_GT(*x.grouped_to_dense, previous);
    previous = *x.grouped_to_dense;
    // No latency: the loop runs the grouped kernel's GEMMs one by one, each at the larger of its
    // compute and memory time, so it never costs less than the one kernel over their sums.
    for (std::size_t j = 0; j < grid.size(); ++j) {
      EXPECT_GE(r.curve.loop_s[j], r.curve.grouped_s[j] * (1 - 1e-12)) << "B=" << grid[j];
    }
  }
}

// The loop's launches cost it: with latencies it is behind the grouped kernel at small batches
// and the crossover moves up as the launch latency grows.
TEST(MoeCrossover, LaunchLatencyDelaysTheLoop) {
  const MoeConfig config = deepseek_v3();
  const std::vector<std::int64_t> grid = powers_of_two(1 << 16);
  const MoeCrossovers one =
      crossovers(predict_moe_curve(epoch_constants(1), config, GemmDtype::bf16, grid).curve);
  const MoeCrossovers ten =
      crossovers(predict_moe_curve(epoch_constants(10), config, GemmDtype::bf16, grid).curve);
  ASSERT_TRUE(one.loop_to_grouped.has_value());
  EXPECT_GT(*one.loop_to_grouped, 1);
  EXPECT_TRUE(!ten.loop_to_grouped || *ten.loop_to_grouped > *one.loop_to_grouped);
}

TEST(MoeCrossover, NamesTheConstantItLacks) {
  Constants c = epoch_constants();
  c.latency_s.erase("launch");
  const std::vector<std::int64_t> grid = {1, 2};
  MoeCurveResult r = predict_moe_curve(c, qwen3_30b_a3b(), GemmDtype::bf16, grid);
  EXPECT_EQ(r.missing, "λ[launch]");
  EXPECT_TRUE(r.curve.tokens.empty());
  const std::vector<std::int64_t> bad = {2, 1};
  EXPECT_THROW(predict_moe_curve(c, qwen3_30b_a3b(), GemmDtype::bf16, bad), std::invalid_argument);
}

// validate's reading of a results folder: the benchmark's names and labels, grouped_d2h and other
// routings left out, a config measured at one batch only skipped.
TEST(MoeCrossover, ChecksMeasuredAgainstPredicted) {
  const Constants k = epoch_constants(0.01);
  const MoeConfig q = qwen3_30b_a3b();
  const std::vector<std::int64_t> grid = powers_of_two(1 << 14);
  const MoeCurve predicted = predict_moe_curve(k, q, GemmDtype::bf16, grid).curve;
  const MoeCrossovers want = crossovers(predicted);
  ASSERT_TRUE(want.loop_to_grouped.has_value());
  ASSERT_LT(*want.loop_to_grouped, grid.back());
  std::vector<Sample> samples;
  auto add = [&](const std::string& strategy, const std::string& routing, std::int64_t b, double t,
                 const std::string& counts = "host") {
    Sample s;
    s.family = "moe";
    s.name = "moe/" + q.name + "/" + strategy + (routing == "none" ? "" : "/" + routing) +
             "/tokens:" + std::to_string(b) + "/manual_time";
    s.labels = {{"dtype", "bf16"},
                {"model", q.name},
                {"strategy", strategy},
                {"routing", routing},
                {"counts", counts}};
    s.time_s = t;
    samples.push_back(s);
  };
  // Measured: the prediction, but the loop 30% slower up to the batch it is predicted to catch up.
  for (std::size_t j = 0; j < grid.size(); ++j) {
    const std::int64_t b = grid[j];
    add("per_expert_loop", "uniform", b,
        predicted.loop_s[j] * (b <= *want.loop_to_grouped ? 1.3 : 1.0));
    add("grouped", "uniform", b, predicted.grouped_s[j]);
    add("grouped", "uniform", b, 1.0, "d2h");  // grouped_d2h: not read
    add("grouped", "zipf1.0", b, 1.0);         // another routing: not read
    add("dense_equivalent", "none", b, predicted.dense_s[j], "none");
  }
  Sample other;  // DeepSeek-V3 at one batch: too few for a curve
  other.family = "moe";
  other.name = "moe/deepseek_v3/dense_equivalent/tokens:1/manual_time";
  other.labels = {{"model", "deepseek_v3"}, {"strategy", "dense_equivalent"}};
  other.time_s = 1;
  samples.push_back(other);

  const std::vector<MoeCrossoverCheck> checks = check_moe_crossovers(samples, k);
  ASSERT_EQ(checks.size(), 1u);
  const MoeCrossoverCheck& c = checks[0];
  EXPECT_EQ(c.config, q);
  EXPECT_EQ(c.measured.tokens, grid);
  EXPECT_EQ(c.measured.grouped_s, predicted.grouped_s);
  EXPECT_EQ(c.predicted.grouped_s, predicted.grouped_s);
  EXPECT_EQ(c.predicted_at.grouped_to_dense, want.grouped_to_dense);
  EXPECT_EQ(c.measured_at.grouped_to_dense, want.grouped_to_dense);
  EXPECT_EQ(c.predicted_at.loop_to_grouped, want.loop_to_grouped);
  // The slower measured loop catches up one batch later.
  EXPECT_EQ(c.measured_at.loop_to_grouped, 2 * *want.loop_to_grouped);

  samples.front().name = "moe/qwen3_30b_a3b/per_expert_loop/uniform/manual_time";
  EXPECT_THROW(check_moe_crossovers(samples, k), std::invalid_argument);
}

}  // namespace
}  // namespace batchcost
