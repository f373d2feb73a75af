// The cost model and its fit (core/cost_model.h, model/fit.h): prediction by hand, regime
// search, recovery of known constants from noisy samples with outliers, absent constants,
// determinism and speed, model.json round trip, and the comparison's verdicts.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "core/model_file.h"
#include "model/compare.h"
#include "model/fit.h"
#include "model/results.h"
#include "model/sources.h"

namespace batchcost {
namespace {

Estimate exact(double v) { return {v, v, v}; }

// The truth the recovery test generates samples from: every component, several dtypes, every
// latency kind, collectives with one to three regimes.
Constants truth() {
  Constants c;
  c.flops_per_s = {{"bf16", exact(7.9e14)},
                   {"fp16", exact(7.5e14)},
                   {"fp8_e4m3", exact(1.5e15)},
                   {"tf32", exact(3.9e14)}};
  c.hbm_bytes_per_s = exact(3.0e12);
  c.latency_s = {{"launch", exact(2.4e-6)},
                 {"kernel", exact(1.5e-6)},
                 {"graph_node", exact(0.8e-6)},
                 {"sync", exact(6e-6)}};
  c.network[{"all_reduce", 8}] = {
      {exact(8e-6), exact(2e10)}, {exact(25e-6), exact(1.5e11)}, {exact(90e-6), exact(4.7e11)}};
  c.network[{"all_gather", 4}] = {{exact(6e-6), exact(3e10)}, {exact(30e-6), exact(3.5e11)}};
  c.network[{"h2d", 1}] = {{exact(9e-6), exact(5.0e10)}};
  return c;
}

// Samples priced by `c`, with log-normal noise of `noise` from a fixed seed (Box-Muller on
// mt19937_64, whose sequence the standard fixes, so every platform draws the same numbers).
class Generator {
 public:
  Generator(Constants c, double noise, uint64_t seed)
      : c_(std::move(c)), noise_(noise), rng_(seed) {}

  void add(const std::string& name, Work w, Labels labels = {}, int ranks = 0) {
    Sample s;
    s.source = "synthetic";
    s.name = name;
    s.family = family_of(name);
    s.work = w;
    s.labels = std::move(labels);
    s.ranks = ranks;
    Prediction p = predict(c_, s);
    EXPECT_EQ(p.missing, "") << name;
    s.time_s = p.time_s * std::exp(noise_ * gaussian());
    samples.push_back(s);
  }

  // A standard normal number.
  double gaussian() {
    double u1 = (static_cast<double>(rng_() >> 11) + 0.5) * 0x1.0p-53;
    double u2 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }

  std::vector<Sample> samples;

 private:
  Constants c_;
  double noise_;
  std::mt19937_64 rng_;
};

std::vector<Sample> full_sweep(const Constants& c, double noise, uint64_t seed, int density = 1) {
  Generator g(c, noise, seed);
  for (int i = 10 * density; i <= 31 * density; ++i) {
    double b = std::pow(2.0, static_cast<double>(i) / density);
    g.add("memory/copy_kernel/bytes:" + std::to_string(i), {.bytes = 2 * b, .kernels = 1},
          {{"cache", "cold"}});
  }
  for (auto [dtype, size] : {std::pair{"bf16", 2}, {"fp16", 2}, {"fp8_e4m3", 1}, {"tf32", 4}}) {
    for (int n = 128; n <= 16384 / density * density; n += n / density) {
      double m = n;
      g.add("gemm/" + std::string(dtype) + "/m:" + std::to_string(n),
            {.flops = 2 * m * m * m, .bytes = 3 * m * m * size, .kernels = 1},
            {{"dtype", dtype}, {"cache", "cold"}});
    }
  }
  for (int k = 1; k <= 64 * density; k *= 2) {
    double n = k;
    g.add("launch/null_kernel/n:" + std::to_string(k), {.launches = n});
    g.add("launch/null_kernel_device/n:" + std::to_string(k), {.kernels = n});
    g.add("launch/graph/nodes:" + std::to_string(k), {.launches = 1, .graph_nodes = n});
    g.add("launch/sync/n:" + std::to_string(k), {.launches = n, .syncs = n});
  }
  for (int i = 3 * density; i <= 30 * density; ++i) {
    double b = std::round(std::pow(2.0, static_cast<double>(i) / density));
    g.add("collective/all_reduce/ranks:8/bytes:" + std::to_string(i),
          {.net_bytes = b, .collectives = 1}, {{"op", "all_reduce"}}, 8);
    g.add("collective/all_gather/ranks:4/bytes:" + std::to_string(i),
          {.net_bytes = 2 * b, .collectives = 2}, {{"op", "all_gather"}}, 4);
  }
  for (int i = 10 * density; i <= 28 * density; ++i) {
    double b = std::round(std::pow(2.0, static_cast<double>(i) / density));
    g.add("collective/h2d/bytes:" + std::to_string(i), {.net_bytes = b, .collectives = 1},
          {{"op", "h2d"}}, 1);
  }
  return g.samples;
}

// Gross outliers: throttled repetitions (slower) and an L2-resident size (faster).
void add_outliers(std::vector<Sample>& s) {
  for (auto [index, factor] : {std::pair{3, 3.0}, {41, 2.5}, {77, 0.4}, {120, 5.0}, {150, 0.3}}) {
    s.at(static_cast<size_t>(index) % s.size()).time_s *= factor;
  }
}

void expect_near_truth(const Estimate& got, double want, const std::string& what) {
  EXPECT_NEAR(got.value / want, 1, 0.03) << what << " = " << got.value << ", truth " << want;
  EXPECT_LE(got.low, want) << what << " interval [" << got.low << ", " << got.high << "]";
  EXPECT_GE(got.high, want) << what << " interval [" << got.low << ", " << got.high << "]";
}

TEST(CostModel, PredictsByHand) {
  Constants c = truth();
  Sample s;
  s.work = {.flops = 7.9e11, .bytes = 3e9, .launches = 2, .syncs = 1};
  s.labels = {{"dtype", "bf16"}};
  // 2·2.4 µs + 6 µs + max(1 ms, 1 ms)
  EXPECT_DOUBLE_EQ(predict(c, s).time_s, 4.8e-6 + 6e-6 + 1e-3);
  Sample n;
  n.work = {.net_bytes = 2 * 4.7e7, .collectives = 2};
  n.labels = {{"op", "all_reduce"}};
  n.ranks = 8;
  // two collectives of 47 MB, on the 90 µs + x / 470 GB/s line (the lowest there)
  EXPECT_DOUBLE_EQ(predict(c, n).time_s, 2 * (90e-6 + 1e-4));
  n.ranks = 2;
  EXPECT_EQ(predict(c, n).missing, "network all_reduce/2");
  s.labels = {{"dtype", "fp32"}};
  EXPECT_EQ(predict(c, s).missing, "P[fp32]");
}

TEST(Regimes, OneLineForOneLineOfNoisyData) {
  Generator g(truth(), 0.02, 7);
  std::vector<std::pair<double, double>> pts;
  for (int i = 10; i <= 28; ++i) {
    double x = std::pow(2.0, i);
    pts.push_back({x, (9e-6 + x / 5e10) * std::exp(0.02 * g.gaussian())});
  }
  std::vector<Line> lines = find_regimes(pts);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NEAR(lines[0].latency_s / 9e-6, 1, 0.05);
  EXPECT_NEAR(lines[0].bytes_per_s / 5e10, 1, 0.05);
}

TEST(Regimes, ThreeLinesForAThreeProtocolEnvelope) {
  std::vector<std::pair<double, double>> pts;
  for (int i = 3; i <= 30; ++i) {
    double x = std::pow(2.0, i);
    pts.push_back({x, std::min({8e-6 + x / 2e10, 25e-6 + x / 1.5e11, 90e-6 + x / 4.7e11})});
  }
  std::vector<Line> lines = find_regimes(pts);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NEAR(lines[2].bytes_per_s / 4.7e11, 1, 0.01);
  EXPECT_NEAR(lines[0].latency_s / 8e-6, 1, 0.01);
}

TEST(Regimes, NoneWithoutTwoSizes) {
  EXPECT_TRUE(find_regimes({{4096, 1e-5}}).empty());
  EXPECT_TRUE(find_regimes({{4096, 1e-5}, {4096, 1.1e-5}}).empty());
}

// Student's t 97.5% quantiles from the tables (scipy.stats.t.ppf(0.975, dof)): the expansion is
// within 1% from 3 degrees of freedom and tends to the normal 1.96; none below one.
TEST(Fit, TQuantileMatchesStudentsTable) {
  const std::pair<double, double> table[] = {
      {3, 3.182446}, {5, 2.570582}, {10, 2.228139}, {30, 2.042272}, {1000, 1.962339}};
  for (const auto& [dof, t] : table) EXPECT_NEAR(t_quantile_975(dof), t, 0.01 * t) << dof;
  EXPECT_NEAR(t_quantile_975(10), 2.228139, 1e-3);
  EXPECT_TRUE(std::isinf(t_quantile_975(0.5)));
}

TEST(Fit, RecoversKnownConstantsFromNoisySamplesWithOutliers) {
  Constants want = truth();
  std::vector<Sample> samples = full_sweep(want, 0.02, 42, /*density=*/2);
  add_outliers(samples);
  FitResult r = fit(samples);
  const Constants& got = r.constants;
  ASSERT_EQ(got.flops_per_s.size(), want.flops_per_s.size());
  for (const auto& [dtype, e] : want.flops_per_s) {
    expect_near_truth(got.flops_per_s.at(dtype), e.value, "P[" + dtype + "]");
  }
  ASSERT_TRUE(got.hbm_bytes_per_s);
  expect_near_truth(*got.hbm_bytes_per_s, want.hbm_bytes_per_s->value, "W");
  ASSERT_EQ(got.latency_s.size(), want.latency_s.size());
  for (const auto& [kind, e] : want.latency_s) {
    expect_near_truth(got.latency_s.at(kind), e.value, "λ[" + kind + "]");
  }
  ASSERT_EQ(got.network.size(), want.network.size());
  for (const auto& [key, regimes] : want.network) {
    const std::vector<Regime>& g = got.network.at(key);
    ASSERT_EQ(g.size(), regimes.size()) << net_key_name(key);
    for (size_t i = 0; i < regimes.size(); ++i) {
      std::string name = net_key_name(key) + " #" + std::to_string(i + 1);
      expect_near_truth(g[i].latency_s, regimes[i].latency_s.value, name + " latency");
      expect_near_truth(g[i].bytes_per_s, regimes[i].bytes_per_s.value, name + " bandwidth");
    }
  }
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
  for (const auto& [family, q] : r.quality) {
    EXPECT_EQ(q.role, "fit");
    EXPECT_LT(q.median_abs_rel_err, 0.03) << family;  // 2% noise: median |err| about 1.3%
  }
}

// The intervals claim 95%: over many noise draws the truth must fall inside about that often
// (one seed alone cannot show it), and the regimes must be found every time.
TEST(Fit, IntervalsCoverTheTruthAtAbout95Percent) {
  const Constants want = truth();
  int n = 0, within = 0, inside = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::vector<Sample> samples = full_sweep(want, 0.02, seed, /*density=*/2);
    add_outliers(samples);
    Constants got = fit(samples).constants;
    auto check = [&](const Estimate& e, double truth_value) {
      ++n;
      within += std::abs(e.value / truth_value - 1) <= 0.03;
      inside += e.low <= truth_value && truth_value <= e.high;
    };
    for (const auto& [dtype, e] : want.flops_per_s) check(got.flops_per_s.at(dtype), e.value);
    check(got.hbm_bytes_per_s.value(), want.hbm_bytes_per_s->value);
    for (const auto& [kind, e] : want.latency_s) check(got.latency_s.at(kind), e.value);
    for (const auto& [key, regimes] : want.network) {
      ASSERT_EQ(got.network.at(key).size(), regimes.size()) << net_key_name(key) << " " << seed;
      for (size_t i = 0; i < regimes.size(); ++i) {
        check(got.network.at(key)[i].latency_s, regimes[i].latency_s.value);
        check(got.network.at(key)[i].bytes_per_s, regimes[i].bytes_per_s.value);
      }
    }
  }
  EXPECT_GE(within, 0.97 * n) << within << " of " << n << " within 3%";
  EXPECT_GE(inside, 0.90 * n) << inside << " of " << n << " intervals hold the truth";
}

TEST(Fit, IsDeterministicAndFast) {
  std::vector<Sample> samples = full_sweep(truth(), 0.02, 5, /*density=*/8);
  add_outliers(samples);
  ASSERT_GT(samples.size(), 900u);
  auto start = std::chrono::steady_clock::now();
  FitResult a = fit(samples);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  FitResult b = fit(samples);
  ModelFile ma, mb;
  ma.constants = a.constants, ma.quality = a.quality;
  mb.constants = b.constants, mb.quality = b.quality;
  EXPECT_EQ(model_to_json(ma).dump(), model_to_json(mb).dump());
  EXPECT_LT(seconds, 1.0) << samples.size() << " samples";
}

TEST(Fit, ValidationFamiliesAndHotCacheAreNotFitted) {
  std::vector<Sample> samples = full_sweep(truth(), 0.0, 1);
  Sample moe = samples.front();  // a memory sample, renamed into the validation family
  moe.name = "moe/batched/tokens:1";
  moe.family = "moe";
  moe.time_s *= 10;
  Sample hot = samples.front();
  hot.name = "memory/copy_kernel/hot";
  hot.labels["cache"] = "hot";
  hot.time_s /= 10;
  Sample nothing;
  nothing.name = "launch/event_record";
  nothing.family = "launch";
  nothing.time_s = 1e-6;
  samples.insert(samples.end(), {moe, hot, nothing});
  // A hot sample whose HBM traffic decides its time stays out; a hot sample whose time is its
  // latency (the smallest copy, bytes / W under 1% of it) informs the latency (issue 12: all
  // were thrown away).
  Sample big_hot = samples[20];  // a memory sample of 2^20 bytes: memory-bound
  big_hot.name = "memory/copy_kernel/big_hot";
  big_hot.labels["cache"] = "hot";
  big_hot.time_s /= 10;
  samples.push_back(big_hot);
  FitResult r = fit(samples);
  EXPECT_EQ(r.roles[r.roles.size() - 4], Role::kValidate);
  EXPECT_EQ(r.roles[r.roles.size() - 3], Role::kFit);  // hot, latency-bound: fitted
  EXPECT_EQ(r.roles[r.roles.size() - 2], Role::kNotModelled);
  EXPECT_EQ(r.roles[r.roles.size() - 1], Role::kExcluded);  // hot, HBM-bound: not fitted
  EXPECT_NEAR(r.constants.hbm_bytes_per_s->value / 3e12, 1, 2e-3);
  EXPECT_EQ(r.quality.at("moe").role, "validate");
  EXPECT_NEAR(r.quality.at("moe").median_abs_rel_err, 0.9, 1e-3);

  FitOptions more;
  more.validate_families.insert("gemm");
  FitResult g = fit(samples, more);
  EXPECT_EQ(g.quality.at("gemm").role, "validate");
  EXPECT_TRUE(g.constants.flops_per_s.empty());  // no fitted sample has FLOPs: no P at all
  EXPECT_EQ(g.quality.at("gemm").n, 0);          // so no gemm sample can be predicted
  ASSERT_FALSE(g.warnings.empty());              // and the fit says so, loudly
  EXPECT_NE(g.warnings.front().find("family gemm: "), std::string::npos) << g.warnings.front();
  EXPECT_NE(g.warnings.front().find("cannot be priced (no P["), std::string::npos);
}

// Issue 12: a constant no sample binds used to be dropped, and every sample declaring it became
// unpriceable (a memory family that determined W reported n = 0). It is held at its bound now.
TEST(Fit, AnUnboundConstantIsHeldAtItsBoundAndEverySampleIsPriced) {
  Generator gen(truth(), 0.0, 1);
  for (int i = 12; i <= 30; ++i) {
    double b = std::pow(2.0, i);
    gen.add("memory/copy/" + std::to_string(i), {.bytes = b, .launches = 1});
    // tiny FLOPs on every memory-bound sample: P[bf16] never binds
    gen.add("memory/scale/" + std::to_string(i), {.flops = b / 8, .bytes = b, .launches = 1},
            {{"dtype", "bf16"}});
  }
  gen.add("collective/h2d/one_size", {.net_bytes = 1 << 20, .collectives = 1}, {{"op", "h2d"}}, 1);
  FitResult r = fit(gen.samples);
  ASSERT_EQ(r.constants.flops_per_s.count("bf16"), 1u);  // held, not dropped
  const Estimate& p = r.constants.flops_per_s.at("bf16");
  // At least the rate its samples show, and low enough that none becomes compute-bound.
  EXPECT_GE(p.value, 0.99 * 3e12 / 8);
  EXPECT_LE(p.low, p.value);
  EXPECT_TRUE(r.constants.network.empty());
  EXPECT_TRUE(r.constants.hbm_bytes_per_s);
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_EQ(r.notes[0], "network h2d/1: absent, needs at least two sizes (has 1 sample)");
  EXPECT_EQ(r.notes[1].rfind("P[bf16]: no sample is compute-bound; held at", 0), 0u) << r.notes[1];
  EXPECT_EQ(r.quality.at("memory").n, 38);  // every memory sample priced
  EXPECT_LT(r.quality.at("memory").median_abs_rel_err, 1e-3);
  bool found = false;
  for (const Identification& id : r.identification) {
    if (id.name == "P[bf16]") {
      found = true;
      EXPECT_EQ(id.status, "bounded");
    }
    if (id.name == "W") {
      EXPECT_EQ(id.status, "identified");
    }
  }
  EXPECT_TRUE(found);
  // The collective of one size is unpriced: a loud warning, not a silent n.
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("family collective: 1 of 1 samples cannot be priced"),
            std::string::npos)
      << r.warnings[0];
}

// Issue 12: a negligible latency made every sample declaring it unpriceable.
TEST(Fit, ANegligibleLatencyPricesItsSamples) {
  Generator gen(truth(), 0.0, 1);
  for (int i = 28; i <= 34; ++i) {  // 256 MiB .. 16 GiB: the 1.5 us kernel cost is < 2%
    double b = std::pow(2.0, i);
    gen.add("memory/copy/" + std::to_string(i), {.bytes = b, .kernels = 1}, {{"cache", "cold"}});
  }
  FitResult r = fit(gen.samples);
  ASSERT_TRUE(r.constants.latency_s.count("kernel"));
  EXPECT_LE(r.constants.latency_s.at("kernel").value, 0.05 * std::pow(2.0, 28) / 3e12);
  EXPECT_EQ(r.quality.at("memory").n, 7);  // was 0
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_NEAR(r.constants.hbm_bytes_per_s->value / 3e12, 1, 1e-3);
}

TEST(Fit, NothingToFitIsAnError) {
  Sample s;
  s.name = "moe/a";
  s.family = "moe";
  s.time_s = 1;
  s.work.flops = 1;
  EXPECT_THROW(fit({s}), InputError);
}

TEST(ModelFile, RoundTripsAndRejectsBadConstants) {
  ModelFile m;
  m.constants = truth();
  m.constants.latency_s["launch"] = {2.4e-6, 2.3e-6, 2.5e-6};
  m.quality["gemm"] = {12, "fit", 0.031, 0.08};
  m.sources = {"gemm.json"};
  m.hardware = {{"gpu_name", "H100"}};
  nlohmann::json doc = nlohmann::json::parse(model_to_json(m).dump());
  ModelFile back = model_from_json(doc, "model.json");
  EXPECT_EQ(model_to_json(back).dump(), model_to_json(m).dump());
  EXPECT_EQ(back.constants.latency_s.at("launch").low, 2.3e-6);

  doc["constants"]["hbm_bytes_per_s"] = -1;
  try {
    model_from_json(doc, "model.json");
    FAIL() << "accepted a negative bandwidth";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "model.json: constants.hbm_bytes_per_s: not a positive finite number");
  }
}

Sample timed(const std::string& name, double t, double cv) {
  Sample s;
  s.name = name;
  s.family = family_of(name);
  s.time_s = t;
  s.cv = cv;
  return s;
}

TEST(Compare, VerdictsGeomeanAndUnmatched) {
  Comparison c;
  compare_samples({timed("gemm/a", 1.0, 0.01), timed("gemm/b", 1.0, 0.01), timed("gemm/c", 1, 0),
                   timed("memory/x", 2.0, 0)},
                  {timed("gemm/a", 1.01, 0.01), timed("gemm/b", 0.5, 0.01), timed("gemm/c", 1.5, 0),
                   timed("launch/y", 1, 0)},
                  c);
  ASSERT_EQ(c.benchmarks.size(), 3u);
  EXPECT_EQ(c.benchmarks[0].verdict, "same");  // 1% within 2·√2·1%
  EXPECT_EQ(c.benchmarks[1].verdict, "faster");
  EXPECT_EQ(c.benchmarks[2].verdict, "?");  // measured once: noise unknown, not "slower"
  EXPECT_NEAR(c.families.at("gemm").geomean_ratio, std::cbrt(1.01 * 0.5 * 1.5), 1e-12);
  EXPECT_EQ(c.only_baseline, std::vector<std::string>{"memory/x"});
  EXPECT_EQ(c.only_candidate, std::vector<std::string>{"launch/y"});
}

TEST(Compare, ConstantsOverlapAndContexts) {
  Constants a, b;
  a.hbm_bytes_per_s = Estimate{3e12, 2.9e12, 3.1e12};
  b.hbm_bytes_per_s = Estimate{3.05e12, 3.0e12, 3.1e12};
  a.latency_s["launch"] = {2e-6, 1.9e-6, 2.1e-6};
  b.latency_s["launch"] = {3e-6, 2.9e-6, 3.1e-6};
  b.latency_s["sync"] = {6e-6, 5e-6, 7e-6};
  Comparison c;
  compare_constants(a, b, c);
  ASSERT_EQ(c.constants.size(), 3u);
  EXPECT_EQ(c.constants[0].name, "W");
  EXPECT_TRUE(c.constants[0].overlap);
  EXPECT_FALSE(c.constants[1].overlap);
  EXPECT_FALSE(c.constants[2].baseline);
  compare_contexts({{"gpu_name", "A100"}, {"sm_count", 108}},
                   {{"gpu_name", "H100"}, {"sm_count", 108}}, c);
  ASSERT_EQ(c.contexts.size(), 2u);
  EXPECT_TRUE(c.contexts[0].differs);
  EXPECT_FALSE(c.contexts[1].differs);
}

// Two sources of one GPU type fitted together: where each, fitted alone, puts W outside the
// other's interval, the conflict is named with both sources and intervals; two sources that
// agree give none; one source gives none.
TEST(SourceConflicts, NamesConstantsWhoseIntervalsAreApart) {
  auto memory_source = [](const std::string& folder, double w, uint64_t seed) {
    Constants c = truth();
    c.hbm_bytes_per_s = exact(w);
    Generator g(c, 0.01, seed);
    for (int i = 20; i <= 31; ++i) {
      const double b = std::pow(2.0, i);
      g.add("memory/copy_kernel/bytes:" + std::to_string(i), {.bytes = 2 * b, .kernels = 1},
            {{"cache", "cold"}});
    }
    for (Sample& s : g.samples) s.source = folder + "/results.json";
    return g.samples;
  };
  std::vector<Sample> a = memory_source("ref/a", 3.0e12, 1);
  std::vector<Sample> apart = memory_source("ref/b", 2.0e12, 2);
  std::vector<Sample> agrees = memory_source("ref/c", 3.0e12, 3);
  std::vector<Sample> both = a;
  both.insert(both.end(), apart.begin(), apart.end());
  std::vector<std::string> c = source_conflicts(both, {});
  ASSERT_EQ(c.size(), 1u) << (c.empty() ? "" : c[0]);
  EXPECT_EQ(c[0].rfind("W: ref/a 3", 0), 0u) << c[0];
  EXPECT_NE(c[0].find(", ref/b 1.99"), std::string::npos) << c[0];
  both = a;
  both.insert(both.end(), agrees.begin(), agrees.end());
  EXPECT_TRUE(source_conflicts(both, {}).empty());
  EXPECT_TRUE(source_conflicts(a, {}).empty());
}

}  // namespace
}  // namespace batchcost
