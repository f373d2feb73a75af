// The sampling plan and the estimate (harness/plan.h): batch and sample counts, the estimate's
// arithmetic by hand, the filter, and the stated constants compiled in from tools/stated/.
#include "harness/plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/stated.h"
#include "tests/scratch.h"

namespace batchcost {
namespace {

Constants hand_constants() {
  Constants c;
  c.hbm_bytes_per_s = Estimate{1e12, 1e12, 1e12};
  c.flops_per_s["fp32"] = Estimate{1e13, 1e13, 1e13};
  c.latency_s["kernel"] = Estimate{1e-6, 1e-6, 1e-6};
  c.latency_s["launch"] = Estimate{2e-6, 2e-6, 2e-6};
  c.latency_s["sync"] = Estimate{10e-6, 10e-6, 10e-6};
  c.network[{"all_reduce", 8}] = {Regime{{1e-5, 1e-5, 1e-5}, {1e11, 1e11, 1e11}}};
  return c;
}

TEST(PlanBatch, ReachesTheTargetWithinBounds) {
  EXPECT_EQ(plan_batch(2e-6, 200e-6, 256), 100);
  EXPECT_EQ(plan_batch(1e-7, 200e-6, 256), 256);  // capped: the launch queue
  EXPECT_EQ(plan_batch(1e-3, 200e-6, 256), 1);
  EXPECT_EQ(plan_batch(0, 200e-6, 256), 256);
  EXPECT_EQ(plan_batch(1e-6, 200e-6, 0), 1);
}

TEST(PlanSamples, ProfileBoundsAndOverride) {
  const SamplingPolicy d = sampling_policy(false, std::nullopt, 0);
  EXPECT_EQ(d.repetitions, 5);
  EXPECT_EQ(plan_samples(200e-6, d), 10);  // 2 ms of 0.2 ms samples
  EXPECT_EQ(plan_samples(1e-3, d), 3);     // 2 ms of 1 ms: 2, at least 3
  EXPECT_EQ(plan_samples(1e-6, d), 10);    // at most 10
  EXPECT_EQ(plan_samples(0.5, d), 3);
  const SamplingPolicy q = sampling_policy(true, std::nullopt, 0);
  EXPECT_EQ(q.repetitions, 2);
  EXPECT_EQ(plan_samples(200e-6, q), 5);
  EXPECT_EQ(plan_samples(0.5, q), 2);
  const SamplingPolicy fixed = sampling_policy(true, 7, 4);
  EXPECT_EQ(fixed.repetitions, 4);
  EXPECT_EQ(plan_samples(0.5, fixed), 7);
  EXPECT_EQ(plan_samples(1e-9, fixed), 7);
}

TEST(PlanResolve, BatchAndSamplesFromTheReference) {
  Plan p{.name = "memory/copy/bytes:1000000", .work = Work{.bytes = 1e6, .kernels = 1}};
  resolve_plan(p, hand_constants(), sampling_policy(false, std::nullopt, 0));
  EXPECT_EQ(p.batch, 100);   // op = 1e6 / 1e12 + 1e-6 = 2 µs; 200 µs batches
  EXPECT_EQ(p.samples, 10);  // 200 µs samples, 2 ms repetitions
  Plan fixed{.name = "x/y", .work = Work{.kernels = 1}, .batch = 7, .samples = 4};
  resolve_plan(fixed, hand_constants(), sampling_policy(false, std::nullopt, 0));
  EXPECT_EQ(fixed.batch, 7);
  EXPECT_EQ(fixed.samples, 4);
  // --samples overrides a plan's own count.
  resolve_plan(fixed, hand_constants(), sampling_policy(false, 2, 0));
  EXPECT_EQ(fixed.samples, 2);
}

TEST(PlanResolve, MaxNoiseTakesUpToTheMaximumAndStopsFromTheMinimum) {
  SamplingPolicy noise = sampling_policy(false, std::nullopt, 0);
  noise.max_noise = 0.005;
  noise.min_samples = 4;
  noise.max_samples = 40;
  // A 1 ms sample: the fixed plan takes 4 (its minimum); noise stopping may take up to 40, which
  // is what the estimate then prices.
  Plan p{
      .name = "memory/copy/bytes:1000000", .work = Work{.bytes = 1e6, .kernels = 1}, .batch = 500};
  Plan fixed_plan = p;
  resolve_plan(fixed_plan, hand_constants(), sampling_policy(false, std::nullopt, 0));
  EXPECT_EQ(fixed_plan.samples, 3);
  EXPECT_EQ(fixed_plan.min_samples, 3);  // without --max-noise the plan is fixed
  resolve_plan(p, hand_constants(), noise);
  EXPECT_EQ(p.samples, 40);
  EXPECT_EQ(p.min_samples, 4);
  const BenchmarkEstimate worst = estimate_benchmark(p, hand_constants(), 5, "hand");
  const BenchmarkEstimate fixed = estimate_benchmark(fixed_plan, hand_constants(), 5, "hand");
  EXPECT_NEAR(worst.timed_s / fixed.timed_s, 40.0 / 3.0, 1e-9);
  // A plan that fixed its samples at registration keeps them.
  Plan own{.name = "x/y", .work = Work{.kernels = 1}, .batch = 7, .samples = 4};
  resolve_plan(own, hand_constants(), noise);
  EXPECT_EQ(own.samples, 4);
  EXPECT_EQ(own.min_samples, 4);
}

TEST(PlanNoise, RelativeStandardDeviationAsNvbenchDefinesIt) {
  EXPECT_FALSE(relative_noise({}).has_value());
  EXPECT_FALSE(relative_noise({1.0}).has_value());
  EXPECT_FALSE(relative_noise({0.0, 0.0}).has_value());
  EXPECT_DOUBLE_EQ(*relative_noise({2.0, 2.0, 2.0}), 0.0);
  // 1, 2, 3: mean 2, sample standard deviation 1 -> 50 %.
  EXPECT_DOUBLE_EQ(*relative_noise({1.0, 2.0, 3.0}), 0.5);
  // 1, 3: mean 2, sample standard deviation sqrt(2).
  EXPECT_NEAR(*relative_noise({1.0, 3.0}), std::sqrt(2.0) / 2, 1e-15);
}

TEST(PlanNoise, StoppingRule) {
  const std::vector<double> steady{1.0, 1.001, 0.999, 1.0};
  const std::vector<double> noisy{1.0, 2.0, 1.0, 2.0};
  // Without --max-noise: the fixed count only.
  EXPECT_FALSE(stop_sampling(steady, 2, 10, std::nullopt));
  EXPECT_TRUE(stop_sampling(std::vector<double>(10, 1.0), 2, 10, std::nullopt));
  // Below the minimum it goes on however steady; from it on, it stops once quiet enough.
  EXPECT_FALSE(stop_sampling(steady, 5, 10, 0.01));
  EXPECT_TRUE(stop_sampling(steady, 4, 10, 0.01));
  EXPECT_TRUE(stop_sampling(steady, 3, 10, 0.01));
  EXPECT_FALSE(stop_sampling(steady, 3, 10, 0.0001));
  EXPECT_FALSE(stop_sampling(noisy, 2, 10, 0.05));
  EXPECT_TRUE(stop_sampling(noisy, 2, 4, 0.05));  // at the maximum, noisy or not
  // A minimum of 1 still needs 2 samples to know the noise.
  EXPECT_FALSE(stop_sampling({1.0}, 1, 10, 0.5));
  EXPECT_TRUE(stop_sampling({1.0, 1.0}, 1, 10, 0.5));
}

TEST(PlanEstimate, ArithmeticByHand) {
  Plan p{.name = "memory/copy/bytes:1000000",
         .work = Work{.bytes = 1e6, .kernels = 1},
         .batch = 100,
         .samples = 10,
         .setup_s = 0.5,
         .setup_bytes = 4e6,
         .check_work = Work{.flops = 1e9}};
  const BenchmarkEstimate e = estimate_benchmark(p, hand_constants(), 5, "hand");
  // Per sample: the fixed overhead, the clock reading and the sync; per device-timed op the
  // host's enqueue of its one kernel (λ[launch] 2 µs), paid before the held batch runs.
  const double op = 2e-6, enqueue = 2e-6, overhead = kSampleOverheadS + kClockReadS + 10e-6;
  EXPECT_DOUBLE_EQ(e.op_s, op);
  EXPECT_DOUBLE_EQ(e.timed_s, 5 * 10 * (100 * (op + enqueue) + overhead));
  EXPECT_DOUBLE_EQ(e.warmup_s, 101 * (op + enqueue) + 2 * overhead);
  // Set-up: bookkeeping, host set-up, 4 MB at W, the check's 1 GFLOP at fp32.
  EXPECT_DOUBLE_EQ(e.setup_s, kBenchmarkOverheadS + 0.5 + 4e-6 + 1e-4);
  EXPECT_DOUBLE_EQ(e.total_s(), e.timed_s + e.warmup_s + e.setup_s);
  // Host timing adds one untimed batch per repetition (the clock reading); its op's prediction
  // holds its launch already, so nothing is added for enqueueing.
  p.timing = Timing::kHost;
  p.work = Work{.launches = 1};
  const BenchmarkEstimate h = estimate_benchmark(p, hand_constants(), 5, "hand");
  EXPECT_DOUBLE_EQ(h.timed_s, 5 * 11 * (100 * 2e-6 + overhead));
  // Known skips cost only their bookkeeping.
  p.skips = true;
  EXPECT_DOUBLE_EQ(estimate_benchmark(p, hand_constants(), 5, "hand").total_s(),
                   kBenchmarkOverheadS);
  Plan unresolved{.name = "a/b", .work = Work{.kernels = 1}};
  EXPECT_THROW(estimate_benchmark(unresolved, hand_constants(), 5, "hand"), std::invalid_argument);
}

TEST(PlanEstimate, PricesWhatDeclaresNothingAndFallsBackToTheNearestRanks) {
  Plan event{
      .name = "launch/event_record", .timing = Timing::kHost, .priced_as = Work{.launches = 1}};
  EXPECT_DOUBLE_EQ(op_seconds(hand_constants(), event, "hand"), 2e-6);
  // 16 ranks priced from the 8-rank constants.
  Plan ar{.name = "collective/all_reduce/x",
          .work = Work{.net_bytes = 1e6, .collectives = 1},
          .labels = {{"op", "all_reduce"}},
          .ranks = 16};
  EXPECT_DOUBLE_EQ(op_seconds(hand_constants(), ar, "hand"), 1e-5 + 1e6 / 1e11);
  // Any other missing constant names itself and the constants' source.
  Plan fp8{.name = "gemm/x", .work = Work{.flops = 1e9}, .labels = {{"dtype", "fp8_e4m3"}}};
  try {
    (void)op_seconds(hand_constants(), fp8, "stated.json");
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("stated.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("P[fp8_e4m3]"), std::string::npos);
  }
  Plan ag = ar;
  ag.labels["op"] = "all_gather";
  EXPECT_THROW(op_seconds(hand_constants(), ag, "hand"), std::invalid_argument);
}

TEST(PlanFilter, AsGoogleBenchmarkSelects) {
  EXPECT_TRUE(BenchmarkFilter("").selects("memory/copy/manual_time"));
  EXPECT_TRUE(BenchmarkFilter("all").selects("memory/copy/manual_time"));
  EXPECT_TRUE(BenchmarkFilter("copy").selects("memory/copy/manual_time"));
  EXPECT_FALSE(BenchmarkFilter("^gemm").selects("memory/copy/manual_time"));
  EXPECT_FALSE(BenchmarkFilter("-copy").selects("memory/copy/manual_time"));
  EXPECT_TRUE(BenchmarkFilter("-copy").selects("memory/read/manual_time"));
  EXPECT_TRUE(BenchmarkFilter("bytes:(4096|8192)/").selects("memory/copy/bytes:8192/manual_time"));
  EXPECT_THROW(BenchmarkFilter("("), std::invalid_argument);
}

// A shipped name prices the estimate with its calibration (tools/calibrated/) where one ships,
// completed from the stated constants (tools/stated/): every dtype and latency kind there, the
// calibration's identified W, the data sheets' values in the stated files themselves.
TEST(PlanStated, ShippedNamesAreCalibratedAndCompletedFromStated) {
  for (const char* gpu : {"h100", "h200"}) {
    const NamedConstants c = load_constants(gpu);
    EXPECT_NE(c.source.find("tools/calibrated/"), std::string::npos) << gpu << ": " << c.source;
    EXPECT_NE(c.source.find("tools/stated/"), std::string::npos) << gpu << ": " << c.source;
    for (const char* d : {"bf16", "fp16", "tf32", "fp32", "fp8_e4m3"}) {
      EXPECT_TRUE(c.model.constants.flops_per_s.count(d)) << gpu << " " << d;
    }
    for (std::string_view kind : kLatencyKinds) {
      EXPECT_TRUE(c.model.constants.latency_s.count(std::string(kind))) << gpu << " " << kind;
    }
    EXPECT_TRUE(c.model.constants.network.count({"h2d", 1}));
    EXPECT_TRUE(c.model.constants.network.count({"all_reduce", 8}));
    const std::optional<NamedConstants> calibrated = shipped_calibration(gpu);
    ASSERT_TRUE(calibrated.has_value()) << gpu;
    EXPECT_DOUBLE_EQ(c.model.constants.hbm_bytes_per_s->value,
                     calibrated->model.constants.hbm_bytes_per_s->value)
        << gpu;
    const std::optional<NamedConstants> stated = shipped_stated(gpu);
    ASSERT_TRUE(stated.has_value()) << gpu;
    EXPECT_FALSE(stated->model.sources.empty()) << gpu;
    EXPECT_EQ(stated->model.hardware.value("stated", false), true) << gpu;
    // P[bf16]: no published set of a named H100 or H200 measures it, so it is the stated one.
    EXPECT_DOUBLE_EQ(c.model.constants.flops_per_s.at("bf16").value,
                     stated->model.constants.flops_per_s.at("bf16").value)
        << gpu;
  }
  // The data sheets' HBM bandwidths, in the stated files.
  EXPECT_DOUBLE_EQ(shipped_stated("h100")->model.constants.hbm_bytes_per_s->value, 3.35e12);
  EXPECT_DOUBLE_EQ(shipped_stated("h200")->model.constants.hbm_bytes_per_s->value, 4.8e12);
  EXPECT_EQ(closest_stated("h100-sxm"), "h100");
  EXPECT_EQ(closest_stated("h100-pcie"), "h100");
  EXPECT_EQ(closest_stated("h200"), "h200");
  EXPECT_EQ(closest_stated("a100-sxm"), "h200");
}

TEST(PlanStated, AFileIsReadAndItsErrorsNameIt) {
  namespace fs = std::filesystem;
  const batchcost::testing::Scratch dir("plan");
  const fs::path good = dir / "m.json", bad = dir / "bad.json";
  std::ofstream(good)
      << R"({"schema": "batchcost.model/1", "constants": {"hbm_bytes_per_s": 2e12}})";
  std::ofstream(bad) << R"({"schema": "batchcost.model/1", "constants": )";
  EXPECT_DOUBLE_EQ(load_constants(good.string()).model.constants.hbm_bytes_per_s->value, 2e12);
  for (const fs::path& p : {bad, dir / "missing.json"}) {
    try {
      (void)load_constants(p.string());
      FAIL() << p;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    }
  }
}

TEST(PlanLines, TheLastLineIsExact) {
  EXPECT_EQ(estimate_total_line(12, 34.56), "estimate: 12 benchmarks, 34.6 s");
  EXPECT_EQ(estimate_total_line(0, 0), "estimate: 0 benchmarks, 0.0 s");
}

}  // namespace
}  // namespace batchcost
