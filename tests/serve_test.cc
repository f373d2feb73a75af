// The serving simulator on hand-made step costs (exact expectations), and its step costs from
// the predictor on stated constants.
#include "predict/serve.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/model_file.h"
#include "model/results.h"
#include "predict/serve_costs.h"

namespace batchcost {
namespace {

// decode: 10 ms + 0.1 ms per sequence, whatever the context; prefill: 5 ms + 20 µs per token.
StepCosts linear_costs(std::int64_t capacity = 1 << 30) {
  StepCosts c;
  c.decode_s = [](std::int64_t b, double) { return 10e-3 + 0.1e-3 * static_cast<double>(b); };
  c.prefill_s = [](std::int64_t n, double) { return 5e-3 + 20e-6 * static_cast<double>(n); };
  c.kv_capacity_tokens = capacity;
  c.gpus = 8;
  return c;
}

// The stated H100-like constants of tests/data/predict/h100_stated.json (a fixture).
Constants stated_fixture() {
  const char* dir = std::getenv("BATCHCOST_SOURCE_DIR");
  if (!dir) throw std::runtime_error("BATCHCOST_SOURCE_DIR is not set");
  const std::string path = std::string(dir) + "/tests/data/predict/h100_stated.json";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return model_from_json(nlohmann::json::parse(text.str()), path).constants;
}

LengthDist fixed(double n) { return LengthDist{n, 0}; }

TEST(Serve, AtAVanishingLoadTtftIsThePrefillAndTpotTheBatchOneStep) {
  auto req = poisson_requests(0.01, 50, fixed(100), fixed(11), 1);  // 100 s apart on average
  ServeResult r = simulate(linear_costs(), Policy{}, req);
  ASSERT_EQ(r.requests, 50);
  EXPECT_NEAR(r.ttft_s.p50, 5e-3 + 100 * 20e-6, 1e-12);
  EXPECT_NEAR(r.ttft_s.p99, 5e-3 + 100 * 20e-6, 1e-12);
  EXPECT_NEAR(r.tpot_s.p50, 10.1e-3, 1e-12);
  EXPECT_NEAR(r.e2e_s.p50, 7e-3 + 10 * 10.1e-3, 1e-12);
  EXPECT_NEAR(r.mean_batch, 1, 1e-12);
}

// The engine's step overhead is added once to every serve step: a request alone pays it on its
// prefill step and on each decode step, and a step that decodes and prefills pays it once.
TEST(Serve, TheStepOverheadIsAddedOncePerStep) {
  auto req = poisson_requests(0.01, 50, fixed(100), fixed(11), 1);
  StepCosts c = linear_costs();
  c.step_overhead_s = 1e-3;
  ServeResult r = simulate(c, Policy{}, req);
  EXPECT_NEAR(r.ttft_s.p50, 5e-3 + 100 * 20e-6 + 1e-3, 1e-12);
  EXPECT_NEAR(r.tpot_s.p50, 10.1e-3 + 1e-3, 1e-12);
  // Two requests at once with a token budget of one prompt: the second's prefill shares a step
  // with the first's decode, and that step pays the overhead once.
  Policy p;
  p.token_budget = 101;
  p.max_batch = 2;
  std::vector<Request> two = {{0, 100, 3}, {0, 100, 3}};
  StepCosts plain = linear_costs();
  const ServeResult a = simulate(plain, p, two);
  const ServeResult b = simulate(c, p, two);
  EXPECT_NEAR(b.makespan_s - a.makespan_s, a.steps * 1e-3, 1e-12);
}

TEST(Serve, AtSaturationThroughputIsTheLargestBatchsStepRate) {
  Policy p;
  p.max_batch = 32;
  auto req = poisson_requests(1e5, 3200, fixed(1), fixed(2000), 2);  // all arrive at once
  ServeResult r = simulate(linear_costs(), p, req);
  double step = 10e-3 + 0.1e-3 * 32;
  double want = 32 / step / 8;  // tokens/s per GPU at the full batch
  EXPECT_NEAR(r.tokens_per_s_per_gpu / want, 1, 0.01);
  EXPECT_NEAR(r.mean_batch, 32, 0.5);
  EXPECT_NEAR(r.tpot_s.p50, step, 1e-3 * step);
}

// A prefix-cache hit of F skips F of each prompt's prefill (the rest is prefilled over the cached
// context), and at least one token is always prefilled: it produces the first token.
TEST(Serve, APrefixHitSkipsThatShareOfThePrefill) {
  auto req = poisson_requests(0.01, 50, fixed(1000), fixed(11), 1);
  Policy p;
  p.prefix_hit = 0.75;
  ServeResult r = simulate(linear_costs(), p, req);
  EXPECT_NEAR(r.ttft_s.p50, 5e-3 + 250 * 20e-6, 1e-12);
  EXPECT_NEAR(r.tpot_s.p50, 10.1e-3, 1e-12);  // decoding is unchanged
  p.prefix_hit = 1;
  EXPECT_NEAR(simulate(linear_costs(), p, req).ttft_s.p50, 5e-3 + 1 * 20e-6, 1e-12);
  p.prefix_hit = 1.5;
  EXPECT_THROW(simulate(linear_costs(), p, req), InputError);
}

// Offline: every request at t = 0, drawn as the Poisson load of the same seed draws its lengths;
// the throughput is the largest batch's step rate, as at saturation.
TEST(Serve, OfflineRequestsAllArriveAtOnce) {
  auto off = offline_requests(3200, fixed(1), LengthDist{2000, 0}, 2);
  auto on = poisson_requests(5, 3200, fixed(1), LengthDist{2000, 0}, 2);
  ASSERT_EQ(off.size(), 3200u);
  for (size_t i = 0; i < off.size(); ++i) {
    EXPECT_EQ(off[i].arrival_s, 0);
    EXPECT_EQ(off[i].output, on[i].output);
  }
  Policy p;
  p.max_batch = 32;
  ServeResult r = simulate(linear_costs(), p, off);
  const double step = 10e-3 + 0.1e-3 * 32;
  EXPECT_NEAR(r.tokens_per_s_per_gpu / (32 / step / 8), 1, 0.01);
  EXPECT_GT(r.ttft_s.p99, 100 * step);  // the last requests wait for the first 3000 to finish
}

TEST(Serve, AWindowAddsHalfTheWindowToTtftAtLowLoad) {
  Policy p = parse_policy("window:0.1");
  auto req = poisson_requests(0.5, 4000, fixed(100), fixed(5), 3);  // a batch is mostly 1 request
  ServeResult r = simulate(linear_costs(), p, req);
  double prefill = 5e-3 + 100 * 20e-6;
  // The wait to the next boundary is uniform on [0, 0.1): its mean 0.05 ± 0.1/sqrt(12·4000).
  EXPECT_NEAR(r.ttft_s.mean - prefill, 0.05, 0.003);
  ServeResult cont = simulate(linear_costs(), Policy{}, req);
  EXPECT_NEAR(cont.ttft_s.mean, prefill, 1e-3);
}

TEST(Serve, LittlesLawHoldsOnTheSimulatedQueue) {
  for (const char* policy : {"continuous", "window:0.05"}) {
    Policy p = parse_policy(policy);
    p.max_batch = 16;
    auto req = poisson_requests(10, 20000, LengthDist{200, 100}, LengthDist{50, 30}, 4);
    ServeResult r = simulate(linear_costs(), p, req);
    // L (time-averaged count, integrated step by step) against λ·W (completions and sojourns).
    EXPECT_NEAR(r.mean_in_system / (r.arrival_rate_s * r.e2e_s.mean), 1, 1e-6) << policy;
    // And the measured rate is the offered one, within sampling error (1/sqrt(20000) ≈ 0.7%).
    EXPECT_NEAR(r.arrival_rate_s / 10, 1, 0.03) << policy;
    EXPECT_GT(r.mean_in_system, 1) << policy;
  }
}

TEST(Serve, TheKvCacheBoundsTheBatchAndRefusesWhatCanNeverFit) {
  Policy p;
  p.max_batch = 64;
  auto req = poisson_requests(1e5, 200, fixed(90), fixed(10), 5);
  req[7].input = 5000;  // 5010 tokens: more than the whole cache
  ServeResult r = simulate(linear_costs(/*capacity=*/1000), p, req);  // 10 requests at a time
  EXPECT_EQ(r.rejected, 1);
  EXPECT_EQ(r.requests, 199);
  EXPECT_LE(r.mean_batch, 10 + 1e-9);
  EXPECT_GT(r.mean_batch, 8);
}

TEST(Serve, OneClosedLoopUserSendsOneRequestAfterAnother) {
  ClosedLoop loop{1, 0};
  ServeResult r = simulate_closed(linear_costs(), Policy{}, loop, 10, fixed(100), fixed(11), 6);
  double e2e = 7e-3 + 10 * 10.1e-3;
  EXPECT_EQ(r.requests, 10);
  EXPECT_NEAR(r.makespan_s, 10 * e2e, 1e-9);
  EXPECT_NEAR(r.requests_per_s_per_gpu, 1 / e2e / 8, 1e-9);
}

TEST(Serve, MoreUsersFillTheBatch) {
  ClosedLoop loop{64, 0.5};
  ServeResult r = simulate_closed(linear_costs(), Policy{}, loop, 5000, fixed(100), fixed(50), 7);
  EXPECT_GT(r.mean_batch, 20);
  EXPECT_EQ(r.requests, 5000);
}

TEST(Serve, TheSameSeedGivesTheSameLoad) {
  auto a = poisson_requests(3, 100, LengthDist{500, 200}, LengthDist{100, 50}, 11);
  auto b = poisson_requests(3, 100, LengthDist{500, 200}, LengthDist{100, 50}, 11);
  auto c = poisson_requests(3, 100, LengthDist{500, 200}, LengthDist{100, 50}, 12);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].arrival_s, b[i].arrival_s);
    EXPECT_EQ(a[i].input, b[i].input);
  }
  EXPECT_NE(a[0].arrival_s, c[0].arrival_s);
  // The log-normal keeps its mean: 500 ± 200 over 100 000 draws.
  auto many = poisson_requests(1, 100000, LengthDist{500, 200}, fixed(1), 13);
  double sum = 0;
  for (const Request& r : many) sum += static_cast<double>(r.input);
  EXPECT_NEAR(sum / 100000, 500, 5);
}

TEST(Serve, BadLoadsAndPoliciesAreNamed) {
  EXPECT_THROW(parse_length("abc", "--input-len"), InputError);
  EXPECT_THROW(parse_length("-5", "--input-len"), InputError);
  EXPECT_THROW(parse_length("100:nan", "--output-len"), InputError);
  EXPECT_THROW(parse_length("1e300", "--output-len"), InputError);
  EXPECT_EQ(parse_length("100:20", "--input-len").sd, 20);
  EXPECT_THROW(parse_policy("windows:1"), InputError);
  EXPECT_THROW(parse_policy("window:0"), InputError);
  EXPECT_THROW(poisson_requests(0, 10, fixed(1), fixed(1), 1), InputError);
  Policy p;
  p.token_budget = 8;
  p.max_batch = 16;
  EXPECT_THROW(simulate(linear_costs(), p, {}), InputError);
  try {
    parse_policy("window:x");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--policy"), std::string::npos);
  }
}

TEST(Serve, PercentilesAreNearestRank) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  Percentiles p = percentiles_of(v);
  EXPECT_EQ(p.p50, 50);
  EXPECT_EQ(p.p90, 90);
  EXPECT_EQ(p.p99, 99);
  EXPECT_EQ(p.mean, 50.5);
}

// The weak share of a load point is the busy time its steps' weak parts take: here the decode
// step's fixed 10 ms is weak and the prefill is not, so a decode-heavy load is mostly weak and a
// prefill-only one not at all.
TEST(Serve, TheWeakShareIsTheBusyTimeTheWeakPartsOfTheStepsTake) {
  StepCosts c = linear_costs();
  c.decode_weak_s = [](std::int64_t, double) { return 10e-3; };
  c.prefill_weak_s = [](std::int64_t, double) { return 0.0; };
  auto one = poisson_requests(0.01, 20, fixed(100), fixed(11), 1);  // one request at a time
  ServeResult r = simulate(c, Policy{}, one);
  const double prefill = 5e-3 + 100 * 20e-6, decode = 10.1e-3;
  EXPECT_NEAR(r.weak_share, 10 * 10e-3 / (prefill + 10 * decode), 1e-9);
  ServeResult only_prefill =
      simulate(c, Policy{}, poisson_requests(0.01, 20, fixed(100), fixed(1), 1));
  EXPECT_EQ(only_prefill.weak_share, 0);
  EXPECT_EQ(simulate(linear_costs(), Policy{}, one).weak_share, 0);  // no weak costs given
}

// Data-parallel groups are schedulers of their own: each holds its share of the KV cache (a
// request no group can hold is refused although the pool could), arrivals go round-robin, and the
// groups step together, each priced at the busiest one's load.
TEST(Serve, EachDataParallelGroupHoldsItsOwnKvCache) {
  StepCosts c = linear_costs(2000);
  c.groups = 2;  // 1000 tokens each
  ServeResult r = simulate(c, Policy{}, offline_requests(3, fixed(1000), fixed(500), 1));
  EXPECT_EQ(r.rejected, 3);  // 1500 tokens: within the pool of 2000, beyond either group
  EXPECT_EQ(r.requests, 0);
  // 600 tokens each, six at once: one per group at a time (a pool of 2000 would run three).
  r = simulate(c, Policy{}, offline_requests(6, fixed(100), fixed(500), 1));
  EXPECT_EQ(r.requests, 6);
  EXPECT_EQ(r.rejected, 0);
  EXPECT_LE(r.mean_batch, 2 + 1e-9);
  EXPECT_GT(r.mean_batch, 1.9);
}

TEST(Serve, DataParallelGroupsStepTogetherAtTheBusiestGroupsLoad) {
  StepCosts c = linear_costs();
  c.groups = 4;
  // Four requests at once, one per group: a step decodes 4 sequences over the deployment and
  // prefills a 1-token chunk in every group.
  ServeResult r = simulate(c, Policy{}, offline_requests(4, fixed(1), fixed(11), 1));
  ASSERT_EQ(r.requests, 4);
  EXPECT_NEAR(r.ttft_s.p50, 5e-3 + 20e-6, 1e-12);
  EXPECT_NEAR(r.tpot_s.p50, 10e-3 + 0.1e-3 * 4, 1e-12);
  // Five: one group holds two, and every group is priced at two.
  r = simulate(c, Policy{}, offline_requests(5, fixed(1), fixed(11), 1));
  ASSERT_EQ(r.requests, 5);
  EXPECT_NEAR(r.tpot_s.p99, 10e-3 + 0.1e-3 * 8, 1e-12);
}

// Speculative decoding: a decode step yields E tokens per sequence, so a request decodes its
// output - 1 tokens in ceil((output - 1) / E) steps, the last one possibly part-used.
TEST(Serve, SpeculativeStepsYieldTheirExpectedTokens) {
  StepCosts c = linear_costs();
  c.tokens_per_step = 2.5;
  auto req = poisson_requests(0.01, 20, fixed(100), fixed(11), 1);
  ServeResult r = simulate(c, Policy{}, req);
  ASSERT_EQ(r.requests, 20);
  EXPECT_NEAR(r.tpot_s.p50, 4 * 10.1e-3 / 10, 1e-12);  // 10 tokens in 4 steps
  EXPECT_NEAR(r.e2e_s.p50, 7e-3 + 4 * 10.1e-3, 1e-12);
  c.tokens_per_step = 0.5;
  EXPECT_THROW(simulate(c, Policy{}, req), InputError);
}

// Disaggregated pools: the prompt is prefilled in the prefill pool (its first token there), its
// KV cache moves, and the decode pool decodes the rest; throughput is over both pools' GPUs.
TEST(Serve, DisaggregatedPoolsPrefillThenMoveThenDecode) {
  Disaggregated d;
  d.prefill = linear_costs();
  d.decode = linear_costs();
  d.decode.gpus = 16;
  d.kv_transfer_s = [](std::int64_t tokens) { return 1e-3 + 1e-6 * static_cast<double>(tokens); };
  auto req = poisson_requests(0.01, 50, fixed(100), fixed(11), 1);  // 100 s apart on average
  ServeResult r = simulate_disaggregated(d, Policy{}, req);
  ASSERT_EQ(r.requests, 50);
  const double prefill = 5e-3 + 100 * 20e-6, move = 1e-3 + 100e-6, decode = 10.1e-3;
  EXPECT_NEAR(r.ttft_s.p50, prefill, 1e-12);
  EXPECT_NEAR(r.tpot_s.p50, (move + 10 * decode) / 10, 1e-12);
  EXPECT_NEAR(r.e2e_s.p50, prefill + move + 10 * decode, 1e-12);
  EXPECT_NEAR(r.mean_batch, 1, 1e-12);
  // The same load on one pool of both pools' GPUs: the same output over more GPUs.
  StepCosts both = linear_costs();
  both.gpus = 24;
  ServeResult one = simulate(both, Policy{}, req);
  EXPECT_NEAR(r.tokens_per_s_per_gpu / one.tokens_per_s_per_gpu, one.makespan_s / r.makespan_s,
              1e-9);
  // A request the decode pool cannot hold is refused there.
  d.decode.kv_capacity_tokens = 50;
  r = simulate_disaggregated(d, Policy{}, poisson_requests(1, 3, fixed(100), fixed(11), 1));
  EXPECT_EQ(r.requests, 0);
  EXPECT_EQ(r.rejected, 3);
}

// The step costs come from predict_step: exact at the grid points, and the KV capacity is the
// memory left by the weights over the KV bytes of a token.
TEST(ServeCosts, AreThePredictorsStepsAndItsMemory) {
  Constants c = stated_fixture();
  LlmConfig m = load_llm_config("llama-3-70b");
  PredictOptions o;
  o.deployment.tp = 8;
  ServeCostOptions so;
  so.gpu_memory_bytes = 80e9;
  so.max_batch = 128;
  so.token_budget = 4096;
  so.max_context = 2048;
  ServeCostTables t = tabulate_serve_costs(c, m, o, so);
  StepCosts sc = step_costs(t);
  PredictOptions at = o;
  at.context = 1024;
  EXPECT_DOUBLE_EQ(sc.decode_s(64, 1024), predict_step(c, m, at, 64).step_s);
  EXPECT_DOUBLE_EQ(sc.decode_s(128, 1024), predict_step(c, m, at, 128).step_s);
  // Between grid points: between its neighbours.
  double mid = sc.decode_s(100, 1500);
  EXPECT_GT(mid, sc.decode_s(64, 1024));
  EXPECT_LT(mid, sc.decode_s(128, 2048));
  // Llama-3-70B in bf16 over 8 GPUs: 70.6e9 parameters · 2 bytes / 8 ≈ 17.6 GB per GPU; a token
  // of KV cache is 80 layers · 2 · 8 heads · 128 · 2 bytes = 327 680 bytes, 40 960 per GPU.
  EXPECT_NEAR(t.weight_bytes_per_gpu / 1e9, 17.6, 0.3);
  EXPECT_DOUBLE_EQ(t.kv_bytes_per_token_per_gpu, 40960);
  EXPECT_EQ(t.kv_capacity_tokens,
            static_cast<std::int64_t>(std::floor((72e9 - t.weight_bytes_per_gpu) / 40960)));
  EXPECT_EQ(t.largest_batch_that_fits, t.kv_capacity_tokens / 2048);
  // With no weak constant, no step has a weak part; with W weak, a decode step's weak seconds
  // are predict's weak share of it (W prices its memory-bound ops), more at batch 1 (weights
  // read for one token) than for a long prefill chunk (arithmetic-bound).
  EXPECT_EQ(sc.decode_weak_s(64, 1024), 0);
  EXPECT_TRUE(t.weak_largest.empty());
  so.weak = {"W"};
  ServeCostTables w = tabulate_serve_costs(c, m, o, so);
  StepCosts wc = step_costs(w);
  const StepPrediction b1 = predict_step(c, m, at, 1);
  EXPECT_DOUBLE_EQ(wc.decode_weak_s(1, 1024), weak_share(b1.ops, so.weak).share * b1.step_s);
  EXPECT_GT(wc.decode_weak_s(1, 1024) / wc.decode_s(1, 1024), 0.5);
  EXPECT_LT(wc.prefill_weak_s(4096, 1024) / wc.prefill_s(4096, 1024),
            wc.decode_weak_s(1, 1024) / wc.decode_s(1, 1024));
  ASSERT_EQ(w.weak_largest.count("W"), 1u);
  EXPECT_GT(w.weak_largest.at("W"), 0.5);
  EXPECT_LE(w.weak_largest.at("W"), 1);
  so.weak.clear();
  so.gpu_memory_bytes = 10e9;  // less than the weights
  EXPECT_THROW(tabulate_serve_costs(c, m, o, so), InputError);
}

// An expert-parallel prefill deployment scales with its data-parallel groups: DeepSeek-V3 at tp 8
// prefilling 2048-token prompts offline (one output token), on 8 GPUs (one group) and on 64
// (eight groups, ep 64). Each group prefills its own chunk in the same step; before groups were
// schedulers a chunk was one group's work and the 64 GPUs gave about the 8's throughput.
TEST(ServeCosts, AnExpertParallelPrefillScalesWithItsDataParallelGroups) {
  Constants c = stated_fixture();
  // The fixture states all_to_all up to 16 ranks; its 8-rank (NVLink) regimes stand in for 64, as
  // on a rack-scale NVLink domain (a fixture, not a measurement: the test is of the scheduling;
  // across InfiniBand the 16-rank regimes' 45 GB/s make the 64-GPU prefill network-bound).
  c.network[{"all_to_all", 64}] = c.network.at({"all_to_all", 8});
  const LlmConfig m = load_llm_config("deepseek-v3");
  auto requests_per_s = [&](int gpus) {
    PredictOptions o;
    o.deployment.tp = 8;
    o.deployment.ep = gpus;
    o.deployment.gpus = gpus;
    ServeCostOptions so;
    so.gpu_memory_bytes = 141e9;
    so.max_batch = 64;
    so.token_budget = 8192;
    so.max_context = 2049;
    const ServeCostTables t = tabulate_serve_costs(c, m, o, so);
    EXPECT_EQ(t.groups, gpus / 8);
    EXPECT_EQ(t.kv_capacity_tokens, t.kv_capacity_tokens_per_group * t.groups);
    Policy p;
    p.max_batch = so.max_batch;
    p.token_budget = so.token_budget;
    const ServeResult r =
        simulate(step_costs(t), p, offline_requests(1024, fixed(2048), fixed(1), 1));
    EXPECT_EQ(r.requests, 1024);
    return r.requests_per_s_per_gpu * gpus;
  };
  const double one = requests_per_s(8), eight = requests_per_s(64);
  EXPECT_GE(eight / one, 6) << one << " against " << eight << " prompts/s";
  EXPECT_LE(eight / one, 8.5);
}

}  // namespace
}  // namespace batchcost
