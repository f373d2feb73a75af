// The work of each MoE strategy (core/moe_work.h): formulas checked by hand on a tiny layer, the
// invariants across the real sweep, host counts, labels, and efficiency.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/moe_work.h"

namespace batchcost {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// A layer small enough to work out by hand: E = 4, k = 2, H = 3, I = 2, bf16.
// One expert with c tokens runs gate+up [c,3]·[3,4] and down [c,2]·[2,3]:
//   flops = 2·c·4·3 + 2·c·3·2                     = 36·c
//   bytes = (3c + 12)·2 + 4c·2 + (2c + 6)·2 + 3c·2 = 24·c + 36   (36 = its weights)
const MoeConfig kTiny{"tiny", 4, 2, 3, 2};
const std::vector<std::int64_t> kTinyCounts = {2, 0, 1, 1};  // B = 2: 3 active experts, max 2

TEST(MoeConfig, RealModels) {
  EXPECT_EQ(deepseek_v3(), (MoeConfig{"deepseek_v3", 256, 8, 7168, 2048}));
  EXPECT_EQ(qwen3_30b_a3b(), (MoeConfig{"qwen3_30b_a3b", 128, 8, 2048, 768}));
  ASSERT_EQ(moe_configs().size(), 2u);
  for (const MoeConfig& c : moe_configs()) EXPECT_NO_THROW(check_moe_config(c));
  EXPECT_THROW(check_moe_config({"x", 0, 1, 1, 1}), std::invalid_argument);
  EXPECT_THROW(check_moe_config({"x", 4, 5, 1, 1}), std::invalid_argument);
  EXPECT_THROW(check_moe_config({"x", 4, 0, 1, 1}), std::invalid_argument);
  EXPECT_THROW(check_moe_config({"x", 4, 2, 0, 1}), std::invalid_argument);
  EXPECT_THROW(check_moe_config({"x", 4, 2, 1, 0}), std::invalid_argument);
}

TEST(MoeStrategy, LabelsAndHostCounts) {
  for (MoeStrategy s : kMoeStrategies) EXPECT_EQ(parse_strategy(strategy_label(s)), s);
  EXPECT_THROW(parse_strategy("grouped_gemm"), std::invalid_argument);
  EXPECT_TRUE(needs_host_counts(MoeStrategy::per_expert_loop));
  EXPECT_TRUE(needs_host_counts(MoeStrategy::grouped));
  EXPECT_TRUE(needs_host_counts(MoeStrategy::padded_batched));
  EXPECT_FALSE(needs_host_counts(MoeStrategy::dense_equivalent));
  EXPECT_FALSE(needs_host_counts(MoeStrategy::per_expert_graph));
  EXPECT_FALSE(needs_host_counts(MoeStrategy::lt_grouped));
  const MoeWorkOptions d2h{.counts_from_device = true};
  EXPECT_EQ(counts_label(MoeStrategy::grouped, d2h), "d2h");
  EXPECT_EQ(counts_label(MoeStrategy::grouped, {}), "host");
  EXPECT_EQ(counts_label(MoeStrategy::per_expert_loop, d2h), "d2h");
  EXPECT_EQ(counts_label(MoeStrategy::padded_batched, {}), "host");
  EXPECT_EQ(counts_label(MoeStrategy::per_expert_graph, d2h), "captured");
  EXPECT_EQ(counts_label(MoeStrategy::lt_grouped, d2h), "device");
  EXPECT_EQ(counts_label(MoeStrategy::dense_equivalent, d2h), "none");
}

TEST(MoeWork, PerExpertLoopByHand) {
  const MoeWork w = moe_work(MoeStrategy::per_expert_loop, kTiny, GemmDtype::bf16, kTinyCounts);
  EXPECT_EQ(w.work, (Work{.flops = 144, .bytes = 204, .launches = 6}));
  EXPECT_EQ(w.useful_flops, 144);
  EXPECT_EQ(w.weight_bytes, 3 * 36);
  EXPECT_EQ(w.activation_bytes, 96);
  EXPECT_EQ(w.problems_per_projection, 3);
  EXPECT_EQ(w.max_gemm_m, 2);
}

TEST(MoeWork, PerExpertGraphByHand) {
  const MoeWork w = moe_work(MoeStrategy::per_expert_graph, kTiny, GemmDtype::bf16, kTinyCounts,
                             {.counts_from_device = true});  // ignored: shapes captured
  EXPECT_EQ(w.work, (Work{.flops = 144, .bytes = 204, .graph_nodes = 6}));
}

TEST(MoeWork, GroupedByHand) {
  const MoeWork host = moe_work(MoeStrategy::grouped, kTiny, GemmDtype::bf16, kTinyCounts);
  EXPECT_EQ(host.work, (Work{.flops = 144, .bytes = 204, .kernels = 2}));
  const MoeWork d2h = moe_work(MoeStrategy::grouped, kTiny, GemmDtype::bf16, kTinyCounts,
                               {.counts_from_device = true});
  // 4 int32 counts copied device → host, then one sync.
  EXPECT_EQ(d2h.work, (Work{.flops = 144,
                            .bytes = 204,
                            .net_bytes = 16,
                            .launches = 2,
                            .syncs = 1,
                            .collectives = 1}));
  const MoeWork lt = moe_work(MoeStrategy::lt_grouped, kTiny, GemmDtype::bf16, kTinyCounts,
                              {.counts_from_device = true});
  EXPECT_EQ(lt.work, host.work);
}

TEST(MoeWork, PaddedBatchedByHand) {
  // All 4 experts padded to 2 rows: executed flops 4·72, bytes 4·(24·2 + 36).
  const MoeWork w = moe_work(MoeStrategy::padded_batched, kTiny, GemmDtype::bf16, kTinyCounts);
  EXPECT_EQ(w.work, (Work{.flops = 288, .bytes = 336, .kernels = 2}));
  EXPECT_EQ(w.useful_flops, 144);
  EXPECT_EQ(w.weight_bytes, 4 * 36);
  EXPECT_EQ(w.activation_bytes, 336 - 144);
  EXPECT_EQ(w.problems_per_projection, 4);
  EXPECT_EQ(w.max_gemm_m, 2);
  const MoeWork d2h = moe_work(MoeStrategy::padded_batched, kTiny, GemmDtype::bf16, kTinyCounts,
                               {.counts_from_device = true});
  EXPECT_EQ(d2h.work.syncs, 1);
  // Waiting for its counts, it is timed on the host: launches, not kernels.
  EXPECT_EQ(d2h.work.launches, 2);
  EXPECT_EQ(d2h.work.kernels, 0);
}

TEST(MoeWork, HostTimedStrategiesDeclareLaunchesDeviceTimedKernels) {
  const MoeWorkOptions d2h{.counts_from_device = true};
  EXPECT_TRUE(host_timed(MoeStrategy::per_expert_loop, {}));
  EXPECT_TRUE(host_timed(MoeStrategy::grouped, d2h));
  EXPECT_FALSE(host_timed(MoeStrategy::grouped, {}));
  EXPECT_FALSE(host_timed(MoeStrategy::per_expert_graph, d2h));  // shapes captured
  EXPECT_FALSE(host_timed(MoeStrategy::dense_equivalent, d2h));
  for (MoeStrategy s : kMoeStrategies) {
    for (const MoeWorkOptions& o : {MoeWorkOptions{}, d2h}) {
      const MoeWork w = moe_work(s, kTiny, GemmDtype::bf16, kTinyCounts, o);
      if (host_timed(s, o)) {
        EXPECT_EQ(w.work.kernels, 0) << strategy_label(s);
        EXPECT_GT(w.work.launches, 0) << strategy_label(s);
      } else {
        EXPECT_EQ(w.work.launches, 0) << strategy_label(s);
      }
    }
  }
}

TEST(MoeWork, CountsFromTheDeviceAreAD2hTransfer) {
  const MoeWorkOptions d2h{.counts_from_device = true};
  const RoutingSpec uniform{RoutingKind::uniform, 0};
  EXPECT_EQ(moe_labels(MoeStrategy::grouped, kTiny, GemmDtype::bf16, uniform, d2h).at("op"), "d2h");
  EXPECT_EQ(moe_labels(MoeStrategy::grouped, kTiny, GemmDtype::bf16, uniform, {}).count("op"), 0u);
  EXPECT_EQ(moe_labels(MoeStrategy::per_expert_graph, kTiny, GemmDtype::bf16, uniform, d2h)
                .count("op"),
            0u);
}

TEST(MoeWork, DenseEquivalentByHand) {
  // B = 2, width k·I = 4: [2,3]·[3,8] (96 flops, (6+24)·2 + 16·2 = 92 bytes) and
  // [2,4]·[4,3] (48 flops, (8+12)·2 + 6·2 = 52 bytes).
  const MoeWork w = moe_work(MoeStrategy::dense_equivalent, kTiny, GemmDtype::bf16, kTinyCounts,
                             {.counts_from_device = true});  // ignored: no routing
  EXPECT_EQ(w.work, (Work{.flops = 144, .bytes = 144, .kernels = 2}));
  EXPECT_EQ(w.useful_flops, 144);
  EXPECT_EQ(w.weight_bytes, 2 * 36);  // one FFN k = 2 experts wide
  EXPECT_EQ(w.problems_per_projection, 1);
  EXPECT_EQ(w.max_gemm_m, 2);
}

TEST(MoeWork, Fp8ReadsOneByteWritesBf16) {
  // Per expert with c tokens: (3c + 12) + 4c·2 + (2c + 6) + 3c·2 = 19c + 18.
  const MoeWork w = moe_work(MoeStrategy::grouped, kTiny, GemmDtype::fp8_e4m3, kTinyCounts);
  EXPECT_EQ(w.work.bytes, 19 * 4 + 3 * 18);
  EXPECT_EQ(w.weight_bytes, 3 * 18);
}

TEST(MoeWork, EmptyBatch) {
  const std::vector<std::int64_t> none(4, 0);
  for (MoeStrategy s : kMoeStrategies) {
    EXPECT_EQ(moe_work(s, kTiny, GemmDtype::bf16, none).work, Work{}) << strategy_label(s);
  }
  // The host still waits for the counts before it learns there is nothing to do.
  EXPECT_EQ(
      moe_work(MoeStrategy::grouped, kTiny, GemmDtype::bf16, none, {.counts_from_device = true})
          .work.syncs,
      1);
}

TEST(MoeWork, InvalidCountsThrow) {
  const auto work = [](std::vector<std::int64_t> counts) {
    return moe_work(MoeStrategy::grouped, kTiny, GemmDtype::bf16, counts);
  };
  EXPECT_THROW(work({2, 0, 1}), std::invalid_argument);      // not E counts
  EXPECT_THROW(work({2, 0, 1, -1}), std::invalid_argument);  // negative
  EXPECT_THROW(work({2, 0, 1, 0}), std::invalid_argument);   // sum 3: not B·k
  EXPECT_THROW(work({3, 1, 0, 0}), std::invalid_argument);   // B = 2, an expert with 3
  EXPECT_THROW(moe_work(MoeStrategy::grouped, {"bad", 4, 5, 3, 2}, GemmDtype::bf16, kTinyCounts),
               std::invalid_argument);
  const Routing other = route({RoutingKind::uniform, 0}, 2, 4, 1, 0);  // top-1, not top-2
  EXPECT_THROW(moe_work(MoeStrategy::grouped, kTiny, GemmDtype::bf16, other),
               std::invalid_argument);
}

// Across the real sweep: every strategy does the FLOPs of dense_equivalent (padded_batched at
// least that many), and the routing overload is the counts one.
TEST(MoeWork, SweepInvariants) {
  for (const MoeConfig& config : moe_configs()) {
    for (const RoutingSpec& spec : default_routings()) {
      for (std::int64_t tokens : token_sweep(true)) {
        SCOPED_TRACE(config.name + " " + routing_label(spec) + " B=" + std::to_string(tokens));
        const Routing r = route(spec, tokens, config.experts, config.top_k, 1);
        const RoutingStats stats = routing_stats(r.counts);
        const MoeWork dense = moe_work(MoeStrategy::dense_equivalent, config, GemmDtype::bf16, r);
        const double flops = 6.0 * tokens * config.top_k * config.hidden * config.intermediate;
        EXPECT_EQ(dense.work.flops, flops);
        for (MoeStrategy s : kMoeStrategies) {
          const MoeWork w = moe_work(s, config, GemmDtype::bf16, r);
          EXPECT_EQ(w, moe_work(s, config, GemmDtype::bf16, r.counts));
          EXPECT_EQ(w.useful_flops, flops);
          EXPECT_EQ(w.weight_bytes + w.activation_bytes, w.work.bytes);
          if (s == MoeStrategy::padded_batched) {
            EXPECT_GE(w.work.flops, flops);
            EXPECT_EQ(w.work.flops, static_cast<double>(config.experts) *
                                        static_cast<double>(stats.max_tokens_per_expert) * 6.0 *
                                        config.hidden * config.intermediate);
          } else {
            EXPECT_EQ(w.work.flops, flops);
          }
          if (s == MoeStrategy::per_expert_loop) {
            EXPECT_EQ(w.work.launches, 2 * stats.active_experts);
          }
          if (s == MoeStrategy::per_expert_graph) {
            EXPECT_EQ(w.work.graph_nodes, 2 * stats.active_experts);
          }
        }
      }
    }
  }
}

TEST(MoeWork, BatchOneOfDeepSeekV3) {
  // One token, 8 experts: the loop reads 8 experts' weights (3·7168·2048 bf16 each) and issues
  // 16 GEMMs; padding reads all 256 experts; dense_equivalent reads as many weights as the loop.
  const MoeConfig c = deepseek_v3();
  const Routing r = route({RoutingKind::uniform, 0}, 1, c.experts, c.top_k, 0);
  const double expert_bytes = 3.0 * 7168 * 2048 * 2;
  const MoeWork loop = moe_work(MoeStrategy::per_expert_loop, c, GemmDtype::bf16, r);
  EXPECT_EQ(loop.weight_bytes, 8 * expert_bytes);
  EXPECT_EQ(loop.work.launches, 16);
  EXPECT_EQ(moe_work(MoeStrategy::padded_batched, c, GemmDtype::bf16, r).weight_bytes,
            256 * expert_bytes);
  EXPECT_EQ(moe_work(MoeStrategy::dense_equivalent, c, GemmDtype::bf16, r).weight_bytes,
            8 * expert_bytes);
}

TEST(MoeWork, BalancedPaddingIsFreeWhenLoadsAreEqual) {
  // B·k = 2·E: every expert gets exactly 2 tokens, so padding adds nothing.
  const MoeConfig c = deepseek_v3();
  const Routing r = route({RoutingKind::balanced, 0}, 64, c.experts, c.top_k, 0);
  const MoeWork w = moe_work(MoeStrategy::padded_batched, c, GemmDtype::bf16, r);
  EXPECT_EQ(w.work.flops, w.useful_flops);
  EXPECT_EQ(w.work.bytes, moe_work(MoeStrategy::grouped, c, GemmDtype::bf16, r).work.bytes);
}

TEST(MoeLabels, Formatted) {
  EXPECT_EQ(format_label(moe_labels(MoeStrategy::grouped, deepseek_v3(), GemmDtype::bf16,
                                    {RoutingKind::zipf, 1.0}, {.counts_from_device = true})),
            "counts=d2h dtype=bf16 model=deepseek_v3 op=d2h routing=zipf1.0 strategy=grouped");
  EXPECT_EQ(
      format_label(moe_labels(MoeStrategy::lt_grouped, qwen3_30b_a3b(), GemmDtype::fp8_e4m3,
                              {RoutingKind::balanced, 0})),
      "counts=device dtype=fp8_e4m3 model=qwen3_30b_a3b routing=balanced strategy=lt_grouped");
}

TEST(Efficiency, RatioOfRates) {
  EXPECT_EQ(efficiency_vs_dense(2e14, 4e14), 0.5);
  EXPECT_EQ(efficiency_vs_dense(4e14, 4e14), 1);
  EXPECT_THROW(efficiency_vs_dense(0, 4e14), std::invalid_argument);
  EXPECT_THROW(efficiency_vs_dense(1e14, 0), std::invalid_argument);
  EXPECT_THROW(efficiency_vs_dense(-1, 4e14), std::invalid_argument);
  EXPECT_THROW(efficiency_vs_dense(kInf, 4e14), std::invalid_argument);
  EXPECT_THROW(efficiency_vs_dense(1e14, kNaN), std::invalid_argument);
}

}  // namespace
}  // namespace batchcost
