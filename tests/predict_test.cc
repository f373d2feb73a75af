// Host tests of the predictor: the shipped configurations against hand counts of their
// parameters and FLOPs, the decode-step ops and their pricing by the fitter's predict(), the
// memory-bound limit at batch 1, parallel deployments, pipeline, speculative decoding, the serving
// window, and stated constants.
#include "predict/predict.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/model_file.h"
#include "core/moe_routing.h"

namespace batchcost {
namespace {

// Stated, round H100-like constants (not measurements), as tests/data/predict/h100_stated.json.
Constants stated_h100() {
  Constants c;
  c.flops_per_s["bf16"] = {7.9e14, 7.9e14, 7.9e14};
  c.flops_per_s["fp8_e4m3"] = {1.58e15, 1.58e15, 1.58e15};
  c.hbm_bytes_per_s = Estimate{3.0e12, 3.0e12, 3.0e12};
  c.latency_s["launch"] = {2.5e-6, 2.5e-6, 2.5e-6};
  c.latency_s["graph_node"] = {1.0e-6, 1.0e-6, 1.0e-6};
  c.network[{"all_reduce", 8}] = {Regime{{2.5e-5, 0, 0}, {4.7e11, 0, 0}}};
  c.network[{"all_to_all", 8}] = {Regime{{3.0e-5, 0, 0}, {3.6e11, 0, 0}}};
  c.network[{"all_gather", 8}] = {Regime{{2.0e-5, 0, 0}, {3.6e11, 0, 0}}};
  c.network[{"send_recv", 2}] = {Regime{{1.0e-5, 0, 0}, {4.0e11, 0, 0}}};
  return c;
}

const Op& find_op(const std::vector<Op>& ops, const std::string& name) {
  for (const Op& op : ops) {
    if (op.name == name) return op;
  }
  throw std::runtime_error("no op " + name);
}
// A temporary list would be gone before its op is read.
const Op& find_op(std::vector<Op>&& ops, const std::string& name) = delete;

double sum_memory(const StepPrediction& s) { return s.split.memory; }

TEST(ModelConfig, ShipsSevenModels) {
  EXPECT_EQ(shipped_model_names(),
            (std::vector<std::string>{"deepseek-v3", "llama-3-405b", "llama-3-70b", "llama-3-8b",
                                      "mixtral-8x22b", "qwen3-235b-a22b", "qwen3-30b-a3b"}));
  EXPECT_EQ(load_llm_config("DeepSeek-V3").name, "deepseek-v3");
  EXPECT_THROW(load_llm_config("gpt-5"), InputError);
}

TEST(ModelConfig, Llama3_70bFlopsAreTwiceTheParametersPlusAttention) {
  const LlmConfig c = load_llm_config("llama-3-70b");
  // Hand count per layer: q and o 8192², k and v 8192·1024 each, SwiGLU 3·8192·28672.
  const double layer = 2.0 * 8192 * 8192 + 2.0 * 8192 * 1024 + 3.0 * 8192 * 28672;
  const double embedding = 128256.0 * 8192;
  const double params = 80 * layer + 2 * embedding;  // untied input and output embeddings
  const ParameterCounts p = parameter_counts(c);
  EXPECT_DOUBLE_EQ(p.total, params);
  EXPECT_NEAR(p.total / 1e9, 70.55, 0.01);
  EXPECT_DOUBLE_EQ(p.active, params);
  // One token: 2 FLOPs per parameter it multiplies with (not the embedding lookup), plus
  // QKᵀ and AV over the context: 4 · 64 heads · 128 · L per layer.
  const double context = 4096;
  EXPECT_DOUBLE_EQ(flops_per_token(c, context),
                   2 * (params - embedding) + 80 * 4.0 * 64 * 128 * context);
}

TEST(ModelConfig, DeepSeekV3HasAbout37BillionActiveOf671) {
  const ParameterCounts p = parameter_counts(load_llm_config("deepseek-v3"));
  EXPECT_NEAR(p.total / 1e9, 671, 3);
  EXPECT_NEAR(p.active / 1e9, 37, 1);
  // Routed experts: 58 MoE layers × 256 × 3·7168·2048.
  EXPECT_DOUBLE_EQ(p.routed_experts, 58.0 * 256 * 3 * 7168 * 2048);
}

TEST(ModelConfig, ShippedModelsMatchTheirPublishedSizes) {
  struct Size {
    const char* name;
    double total_b, active_b, tolerance_b;
  };
  for (const Size& s :
       {Size{"llama-3-8b", 8.03, 8.03, 0.05}, Size{"llama-3-70b", 70.6, 70.6, 0.1},
        Size{"llama-3-405b", 405.9, 405.9, 0.5}, Size{"mixtral-8x22b", 140.6, 39.2, 0.5},
        Size{"qwen3-30b-a3b", 30.5, 3.3, 0.2}, Size{"qwen3-235b-a22b", 235.1, 22.2, 0.3}}) {
    const ParameterCounts p = parameter_counts(load_llm_config(s.name));
    EXPECT_NEAR(p.total / 1e9, s.total_b, s.tolerance_b) << s.name;
    EXPECT_NEAR(p.active / 1e9, s.active_b, s.tolerance_b) << s.name;
  }
}

TEST(ModelConfig, RejectsBrokenFiles) {
  nlohmann::json ok = {
      {"schema", kLlmSchema},
      {"name", "tiny"},
      {"layers", 2},
      {"hidden", 64},
      {"vocab", 100},
      {"attention", {{"kind", "gqa"}, {"heads", 4}, {"kv_heads", 2}, {"head_dim", 16}}},
      {"ffn", {{"kind", "dense"}, {"intermediate", 128}}}};
  EXPECT_NO_THROW(llm_config_from_json(ok, "tiny.json"));
  auto broken = [&](auto edit) {
    nlohmann::json doc = ok;
    edit(doc);
    return doc;
  };
  EXPECT_THROW(llm_config_from_json(broken([](auto& d) { d["schema"] = "x"; }), "t"), InputError);
  EXPECT_THROW(llm_config_from_json(broken([](auto& d) { d.erase("layers"); }), "t"), InputError);
  EXPECT_THROW(llm_config_from_json(broken([](auto& d) { d["attention"]["kv_heads"] = 3; }), "t"),
               InputError);
  EXPECT_THROW(
      llm_config_from_json(broken([](auto& d) { d["precision"]["weights"] = "int3"; }), "t"),
      InputError);
  try {
    llm_config_from_json(broken([](auto& d) { d["ffn"]["kind"] = "sparse"; }), "tiny.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "tiny.json: ffn.kind: not dense or moe");
  }
}

TEST(DecodeOps, ExpertWeightsFollowTheExpectedActiveExperts) {
  const LlmConfig c = load_llm_config("deepseek-v3");
  const Deployment d = resolve({}, c);
  const double expert_gate_up_bytes = 7168.0 * 2 * 2048 * 1;  // fp8 weights
  for (double batch : {1.0, 8.0, 64.0, 4096.0}) {
    const std::vector<Op> ops = decode_ops(c, d, batch, 1, 1024);  // find_op refers into it
    const Op& op = find_op(ops, "experts_gate_up");
    const double active = expected_active_experts(256, 8, batch);
    const double activations = batch * 8 * (7168 + 2 * 2048) * 2;
    EXPECT_DOUBLE_EQ(op.sample.work.bytes, active * expert_gate_up_bytes + activations) << batch;
    EXPECT_DOUBLE_EQ(op.sample.work.flops, 2 * batch * 8 * 7168 * 2 * 2048);
  }
  EXPECT_DOUBLE_EQ(expected_active_experts(256, 8, 1), 8);
  EXPECT_NEAR(expected_active_experts(256, 8, 4096), 256, 1e-9);
}

// Every GEMM carries the shape the refined form's tile and wave terms read (core/forms.h): a
// dense projection its m, n, k; the grouped experts the active experts as groups of their rows.
// With a tile term, one token past a tile costs a whole row of tiles more.
TEST(DecodeOps, GemmsCarryTheirShape) {
  const LlmConfig c = load_llm_config("deepseek-v3");
  const Deployment d = resolve({}, c);
  const std::vector<Op> ops = decode_ops(c, d, 64, 1, 1024);
  const Labels& o = find_op(ops, "o_proj").sample.labels;
  EXPECT_EQ(o.at("m"), "64");
  EXPECT_EQ(o.at("n"), "7168");
  EXPECT_EQ(o.at("k"), std::to_string(128 * 128));
  EXPECT_EQ(o.count("groups"), 0u);
  const Labels& e = find_op(ops, "experts_gate_up").sample.labels;
  const double active = expected_active_experts(256, 8, 64);
  EXPECT_EQ(e.at("groups"), std::to_string(std::llround(active)));
  EXPECT_EQ(e.at("m"), std::to_string(static_cast<long long>(std::ceil(64 * 8 / active))));
  EXPECT_EQ(e.at("n"), "4096");
  EXPECT_EQ(e.at("k"), "7168");
  EXPECT_EQ(e.at("layout"), "grouped");

  // Llama-3-70B's o_proj, [m, 8192]·[8192, 8192] in bf16, in 128x128 tiles on 132 SMs: 64 tiles
  // per 128 rows. At m = 256 (128 tiles, one wave) it reads its 134 MB of weights in 45 µs and
  // computes in 43 µs; at m = 257 (192 tiles) the second wave is priced whole: 90 µs of compute.
  Constants k = stated_h100();
  k.latency_s["kernel"] = {1e-6, 1e-6, 1e-6};
  k.form = Form::kRefined;
  k.terms.tile["bf16"] = Tile{128, 128};
  k.terms.sm_count = 132;
  const LlmConfig llama = load_llm_config("llama-3-70b");
  const Deployment one = resolve({}, llama);
  auto o_proj = [&](const Constants& constants, double m) {
    const std::vector<Op> at = decode_ops(llama, one, m, 1, 1024);
    const Prediction p = predict(constants, find_op(at, "o_proj").sample);
    EXPECT_EQ(p.missing, "");
    return p.time_s;
  };
  EXPECT_GT(o_proj(k, 257), 1.8 * o_proj(k, 256));
  Constants no_tile = k;
  no_tile.terms.tile.clear();
  EXPECT_LT(o_proj(no_tile, 257), 1.05 * o_proj(no_tile, 256));
}

// predict_step prices each op's arithmetic and memory in the form the constants hold, as fit
// priced the samples: the epoch form's max of the two, the refined form's overlap
// (c^p + m^p)^(1/p), so a fitted refined model.json predicts with the form it was chosen in.
TEST(PredictStep, PricesEachOpInTheConstantsForm) {
  const LlmConfig llama = load_llm_config("llama-3-70b");
  PredictOptions o;
  o.context = 1024;
  Constants epoch = stated_h100();
  Constants refined = epoch;
  refined.form = Form::kRefined;
  refined.terms.overlap_p = Estimate{2, 2, 2};
  const StepPrediction e = predict_step(epoch, llama, o, 256);
  const StepPrediction r = predict_step(refined, llama, o, 256);
  ASSERT_EQ(e.ops.size(), r.ops.size());
  int both = 0;
  for (size_t i = 0; i < r.ops.size(); ++i) {
    const PricedOp& a = e.ops[i];
    const PricedOp& b = r.ops[i];
    EXPECT_DOUBLE_EQ(a.split.arithmetic + a.split.memory, std::max(a.compute_s, a.memory_s))
        << a.op.name;
    if (b.compute_s > 0 && b.memory_s > 0) {
      ++both;
      EXPECT_NEAR(b.split.arithmetic + b.split.memory, std::hypot(b.compute_s, b.memory_s),
                  1e-12 + 1e-9 * b.compute_s)
          << b.op.name;
    }
  }
  EXPECT_GT(both, 3);
  // At batch 256 Llama-3-70B's GEMMs sit near compute/memory balance on the H100: the overlap
  // costs visibly more than the max.
  EXPECT_GT(r.step_s, 1.1 * e.step_s);
}

TEST(DecodeOps, ExpertParallelismSplitsExpertsAndMovesTokensByAllToAll) {
  const LlmConfig c = load_llm_config("deepseek-v3");
  Deployment in;
  in.gpus = 8;
  in.ep = 8;
  const Deployment d = resolve(in, c);
  EXPECT_EQ(data_parallel(d), 8);
  const double m = 16;  // tokens per GPU
  std::vector<Op> ops = decode_ops(c, d, m, 1, 1024);
  const Op& dispatch = find_op(ops, "moe_dispatch");
  EXPECT_EQ(dispatch.sample.labels.at("op"), "all_to_all");
  EXPECT_EQ(dispatch.sample.ranks, 8);
  // Each GPU sends its 16 tokens' 8 copies of 7168 bf16 values, and receives 7/8 of as much.
  EXPECT_DOUBLE_EQ(dispatch.sample.work.net_bytes, 7.0 / 8 * 16 * 8 * 7168 * 2);
  const Op& experts = find_op(ops, "experts_down");
  const double active = expected_active_experts(256, 8, 8 * m) / 8;
  EXPECT_DOUBLE_EQ(experts.sample.work.bytes, active * 2048 * 7168 + 16 * 8 * (2048 + 7168) * 2);
  EXPECT_THROW(find_op(ops, "attn_all_reduce"), std::runtime_error);  // tp = 1
}

TEST(Predict, SplitSumsToTheFittersPrediction) {
  Constants k = stated_h100();
  k.latency_s["kernel"] = {1.5e-6, 1.5e-6, 1.5e-6};
  Deployment in;
  in.tp = 8;
  const LlmConfig c = load_llm_config("mixtral-8x22b");
  for (const Op& op : decode_ops(c, resolve(in, c), 64, 1, 2048)) {
    const PricedOp p = price(k, op);
    // The fitter's predict() of everything but the kernels' latency, plus the eager rule:
    // per kernel the larger of λ[launch] and λ[kernel] (here λ[launch]).
    Sample rest = op.sample;
    rest.work.launches = rest.work.kernels = 0;
    Prediction whole = predict(k, rest);
    ASSERT_TRUE(whole.missing.empty()) << op.name;
    EXPECT_EQ(op.sample.work.launches, op.sample.work.kernels) << op.name;
    const double expected = whole.time_s * op.count + op.kernels * 2.5e-6 * op.count;
    EXPECT_NEAR(p.split.total(), expected, 1e-12 * expected) << op.name;
    EXPECT_TRUE(p.split.arithmetic == 0 || p.split.memory == 0) << op.name;
  }
}

TEST(Predict, MemoryBoundDecodeAtBatch1CostsTheWeightBytesOverW) {
  const Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-70b");
  PredictOptions o;
  o.context = 1;
  const StepPrediction s = predict_step(k, c, o, 1);
  // Every weight is read once but the input embedding, of which a token reads one row.
  const ParameterCounts p = parameter_counts(c);
  const double weight_bytes = (p.total - p.embedding) * 2;
  EXPECT_EQ(s.split.arithmetic, 0);
  EXPECT_NEAR(s.split.memory, weight_bytes / 3.0e12, 0.002 * weight_bytes / 3.0e12);
  EXPECT_NEAR(s.step_s, weight_bytes / 3.0e12, 0.05 * weight_bytes / 3.0e12);
  EXPECT_NEAR(s.weight_bytes_per_gpu, p.total * 2, 1);
}

TEST(Predict, DoublingBandwidthAtBatch1NearlyHalvesTheMemoryTerm) {
  Constants k = stated_h100();
  const LlmConfig c = load_llm_config("deepseek-v3");
  PredictOptions o;
  const StepPrediction slow = predict_step(k, c, o, 1);
  k.hbm_bytes_per_s->value *= 2;
  const StepPrediction fast = predict_step(k, c, o, 1);
  EXPECT_NEAR(sum_memory(fast) / sum_memory(slow), 0.5, 0.01);
  EXPECT_LT(fast.step_s / slow.step_s, 0.6);
  EXPECT_GT(fast.step_s / slow.step_s, 0.5);  // latency does not halve
}

TEST(Predict, EveryShippedModelPredictsOnTheFixture) {
  const char* root = std::getenv("BATCHCOST_SOURCE_DIR");
  std::ifstream in(std::filesystem::path(root ? root : ".") /
                   "tests/data/predict/h100_stated.json");
  ASSERT_TRUE(in) << "set BATCHCOST_SOURCE_DIR";
  std::ostringstream text;
  text << in.rdbuf();
  const Constants k = model_from_json(nlohmann::json::parse(text.str()), "fixture").constants;
  for (const std::string& name : shipped_model_names()) {
    for (int tp : {1, 8}) {
      PredictOptions o;
      o.deployment.tp = tp;
      const std::vector<StepPrediction> steps =
          predict_steps(k, load_llm_config(name), o, {1, 8, 64, 512, 4096});
      ASSERT_EQ(steps.size(), 5u) << name;
      for (size_t i = 0; i < steps.size(); ++i) {
        const StepPrediction& s = steps[i];
        EXPECT_TRUE(std::isfinite(s.step_s) && s.step_s > 0) << name;
        EXPECT_NEAR(s.split.total() + s.bubble_s, s.step_s, 1e-12 * s.step_s) << name;
        if (i > 0) {
          EXPECT_GT(s.tokens_per_s_per_gpu, steps[i - 1].tokens_per_s_per_gpu) << name;
          EXPECT_LE(s.tokens_per_s_per_user, steps[i - 1].tokens_per_s_per_user) << name;
        }
      }
      EXPECT_TRUE(steps.front().pareto) << name;  // the fastest per user
      EXPECT_TRUE(steps.back().pareto) << name;   // the cheapest
      if (tp == 8) {
        EXPECT_GT(steps.front().split.network, 0) << name;
      }
    }
  }
}

TEST(Predict, NamesEveryMissingConstant) {
  Constants k = stated_h100();
  k.network.erase({"all_to_all", 8});
  const LlmConfig c = load_llm_config("deepseek-v3");
  PredictOptions o;
  o.deployment.gpus = 16;
  o.deployment.tp = 8;
  o.deployment.pp = 2;
  o.deployment.ep = 4;
  try {
    predict_steps(k, c, o, {1, 64});
    FAIL();
  } catch (const MissingConstants& e) {
    EXPECT_EQ(e.missing, (std::vector<std::string>{"network all_to_all/4"}));
  }
  k.latency_s.erase("launch");
  o.deployment.ep = 8;
  try {
    predict_step(k, c, o, 1);
    FAIL();
  } catch (const MissingConstants& e) {
    EXPECT_EQ(e.missing, (std::vector<std::string>{"network all_to_all/8", "λ[launch]"}));
  }
}

TEST(Predict, RejectsDeploymentsThatDoNotFit) {
  const LlmConfig c = load_llm_config("deepseek-v3");
  auto bad = [&](Deployment d) { EXPECT_THROW(resolve(d, c), InputError); };
  bad({.gpus = 6, .tp = 4});
  bad({.tp = 3});
  bad({.gpus = 8, .ep = 3});
  bad({.gpus = 4, .ep = 8});
  bad({.pp = 100});
  EXPECT_THROW(resolve({.ep = 2, .gpus_per_node = 8}, load_llm_config("llama-3-8b")), InputError);
}

TEST(Predict, WholeStepOverlapsMoreThanPerOp) {
  const Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-70b");
  PredictOptions per_op, whole;
  whole.whole_step = true;
  for (double b : {1.0, 256.0, 4096.0}) {
    const StepPrediction a = predict_step(k, c, per_op, b), w = predict_step(k, c, whole, b);
    EXPECT_LE(w.step_s, a.step_s * (1 + 1e-12));
    EXPECT_DOUBLE_EQ(w.split.latency, a.split.latency);
    EXPECT_TRUE(w.split.arithmetic == 0 || w.split.memory == 0);
  }
}

TEST(Predict, PipelineBubble) {
  const Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-70b");
  PredictOptions o;
  o.deployment.pp = 2;
  o.deployment.micro_batches = 1;
  const StepPrediction one = predict_step(k, c, o, 64);
  EXPECT_NEAR(one.bubble_s, one.step_s / 2, 1e-15);
  EXPECT_NE(std::find_if(one.ops.begin(), one.ops.end(),
                         [](const PricedOp& p) { return p.op.name == "pp_send"; }),
            one.ops.end());
  o.deployment.micro_batches = 2;
  const StepPrediction two = predict_step(k, c, o, 64);
  EXPECT_EQ(two.bubble_s, 0);
  EXPECT_EQ(two.sequences, 32);
  EXPECT_LT(two.step_s, one.step_s);
}

// The engine's step overhead is added once per step: to a decode step (whatever its pipeline
// stages and micro-batches), to every prefill chunk, and to a speculative verify but not to the
// draft's steps inside it; a negative or non-finite one is refused naming the flag.
TEST(Predict, TheStepOverheadIsAddedOncePerEngineStep) {
  const Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-70b");
  PredictOptions o;
  o.deployment.pp = 2;
  const StepPrediction bare = predict_step(k, c, o, 64);
  o.deployment.step_overhead_s = 2e-3;
  const StepPrediction with = predict_step(k, c, o, 64);
  EXPECT_NEAR(with.step_s - bare.step_s, 2e-3, 1e-15);
  EXPECT_EQ(with.overhead_s, 2e-3);
  EXPECT_EQ(with.stage_s, bare.stage_s);
  EXPECT_EQ(with.split.total(), bare.split.total());

  o.deployment.pp = 1;
  o.chunk = 256;
  PredictOptions none = o;
  none.deployment.step_overhead_s = 0;
  const PrefillPrediction p0 = prefill_time(k, c, none, 1, 1024);
  const PrefillPrediction p1 = prefill_time(k, c, o, 1, 1024);
  ASSERT_EQ(p1.chunks, 4);
  EXPECT_NEAR(p1.time_s - p0.time_s, 4 * 2e-3, 1e-12);

  const LlmConfig draft = load_llm_config("llama-3-8b");
  const SpeculativeStep s0 = predict_speculative(k, c, none, 1, {4, 0.8, 0, &draft});
  const SpeculativeStep s1 = predict_speculative(k, c, o, 1, {4, 0.8, 0, &draft});
  EXPECT_NEAR(s1.verify_s - s0.verify_s, 2e-3, 1e-12);
  EXPECT_NEAR(s1.draft_s, s0.draft_s, 1e-15);
  EXPECT_NEAR(s1.cycle_s - s0.cycle_s, 2e-3, 1e-12);

  for (double bad : {-1e-3, std::nan(""), HUGE_VAL}) {
    o.deployment.step_overhead_s = bad;
    try {
      resolve(o.deployment, c);
      ADD_FAILURE() << bad << " was taken";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--step-overhead"), std::string::npos) << e.what();
    }
  }
}

TEST(Speculative, ExpectedTokensAndSpeedUp) {
  EXPECT_DOUBLE_EQ(expected_tokens_per_verify(4, 0), 1);
  EXPECT_DOUBLE_EQ(expected_tokens_per_verify(4, 1), 5);
  EXPECT_DOUBLE_EQ(expected_tokens_per_verify(2, 0.5), 1.75);
  const Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-70b");
  PredictOptions o;
  const SpeculativeStep small = predict_speculative(k, c, o, 1, {4, 0.8, 0.05});
  const SpeculativeStep large = predict_speculative(k, c, o, 4096, {4, 0.8, 0.05});
  EXPECT_GT(small.speedup, 2.5);  // memory-bound: verifying 5 tokens costs about one
  EXPECT_LT(large.speedup, small.speedup);
  EXPECT_GT(large.verify_s, large.step_s);
}

TEST(ServingWindow, BatchAndWait) {
  const ServingWindow w = serving_window(100, 0.5);
  EXPECT_EQ(w.batch, 50);
  EXPECT_EQ(w.mean_wait_s, 0.25);
  EXPECT_EQ(w.max_wait_s, 0.5);
  EXPECT_EQ(serving_window(1, 0.01).batch, 1);
  EXPECT_THROW(serving_window(0, 1), InputError);
}

TEST(StatedConstants, MarkedAndAddedOnlyWhereMissing) {
  nlohmann::json all = {
      {"schema", kModelSchema},
      {"measured", false},
      {"constants", {{"hbm_bytes_per_s", 3e12}, {"latency_s", {{"launch", 2e-6}}}}}};
  EXPECT_EQ(unmeasured_constants(all, "s.json"), (std::set<std::string>{"W", "λ[launch]"}));
  nlohmann::json some = {{"unmeasured", {"network all_reduce/8"}}};
  EXPECT_EQ(unmeasured_constants(some, "s.json"), (std::set<std::string>{"network all_reduce/8"}));
  EXPECT_THROW(unmeasured_constants({{"unmeasured", "W"}}, "s.json"), InputError);

  Constants base;
  base.hbm_bytes_per_s = Estimate{2e12, 2e12, 2e12};
  Constants stated = stated_h100();
  const std::set<std::string> added = add_stated(base, stated);
  EXPECT_EQ(added.count("W"), 0u);
  EXPECT_EQ(base.hbm_bytes_per_s->value, 2e12);  // the measured one stays
  EXPECT_EQ(added.count("network all_reduce/8"), 1u);
  EXPECT_EQ(added.size(), constant_names(stated).size() - 1);
}

TEST(KernelLatency, EagerTakesTheLargerOfLaunchAndKernel) {
  Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-8b");
  const Deployment d = resolve({}, c);
  const std::vector<Op> ops = decode_ops(c, d, 1, 1, 16);
  const Op norm = find_op(ops, "attn_norm");
  ASSERT_EQ(norm.kernels, 1);
  // No λ[kernel] (an older model.json): λ[launch] alone, a fallback said.
  EXPECT_DOUBLE_EQ(price(k, norm).split.latency, 32 * 2.5e-6);
  EXPECT_TRUE(kernel_latency(k, false).fallback);
  // Host-launch bound: λ[launch] 2.5 µs > λ[kernel] 1.5 µs.
  k.latency_s["kernel"] = {1.5e-6, 1.5e-6, 1.5e-6};
  EXPECT_DOUBLE_EQ(price(k, norm).split.latency, 32 * 2.5e-6);
  EXPECT_FALSE(kernel_latency(k, false).fallback);
  EXPECT_EQ(price(k, norm).constants.count("λ[kernel]"), 1u);
  // Device bound: λ[kernel] 4 µs > λ[launch].
  k.latency_s["kernel"] = {4e-6, 4e-6, 4e-6};
  EXPECT_DOUBLE_EQ(price(k, norm).split.latency, 32 * 4e-6);
  // The router is two kernels (the gate GEMM and the top-k).
  const LlmConfig moe = load_llm_config("qwen3-30b-a3b");
  const std::vector<Op> moe_ops = decode_ops(moe, resolve({}, moe), 1, 1, 16);
  const Op router = find_op(moe_ops, "router");
  EXPECT_DOUBLE_EQ(price(k, router).split.latency, 48 * 2 * 4e-6);
}

TEST(KernelLatency, GraphsPayALaunchPerGraphAndTheNodeCost) {
  Constants k = stated_h100();
  k.latency_s["kernel"] = {1.5e-6, 1.5e-6, 1.5e-6};
  const LlmConfig c = load_llm_config("llama-3-8b");
  Deployment in;
  in.cuda_graphs = true;
  const std::vector<Op> ops = decode_ops(c, resolve(in, c), 1, 1, 16);
  const Op& norm = find_op(ops, "attn_norm");
  EXPECT_EQ(norm.sample.work.launches, 0);
  EXPECT_EQ(norm.sample.work.graph_nodes, 1);
  EXPECT_DOUBLE_EQ(price(k, norm).split.latency, 32 * 1e-6);  // λ[graph_node], not + λ[kernel]
  EXPECT_DOUBLE_EQ(price(k, find_op(ops, "graph_launch")).split.latency, 2.5e-6);
  EXPECT_FALSE(kernel_latency(k, true).fallback);
  k.latency_s.erase("graph_node");  // falls back to λ[kernel]
  EXPECT_DOUBLE_EQ(price(k, norm).split.latency, 32 * 1.5e-6);
  EXPECT_TRUE(kernel_latency(k, true).fallback);
}

TEST(Prefill, OpsOfOnePromptByHand) {
  const LlmConfig c = load_llm_config("llama-3-8b");
  const Deployment d = resolve({}, c);
  const std::vector<Op> ops = prefill_ops(c, d, 1, 1024, 0, true);
  // qkv: [1024, 4096]·[4096, (32 + 2·8)·128].
  EXPECT_DOUBLE_EQ(find_op(ops, "qkv_proj").sample.work.flops, 2.0 * 1024 * 4096 * 48 * 128);
  // Causal: token j attends to j + 1 tokens, (1024 + 1) / 2 on average.
  const Op& attn = find_op(ops, "attention");
  EXPECT_DOUBLE_EQ(attn.sample.work.flops, 4.0 * 1024 * 32 * 128 * 1025 / 2);
  // K and V of the 1024 tokens read once, the new ones written, q in and out.
  EXPECT_DOUBLE_EQ(attn.sample.work.bytes,
                   1024.0 * 2 * 8 * 128 * 2 * 2 + 2.0 * 1024 * 32 * 128 * 2);
  // Logits of the last token only.
  EXPECT_DOUBLE_EQ(find_op(ops, "lm_head").sample.work.flops, 2.0 * 1 * 4096 * 128256);
  // A chunk that does not end the prompt has no LM head; the second of two attends further.
  const std::vector<Op> first = prefill_ops(c, d, 1, 512, 0, false);
  EXPECT_THROW(find_op(first, "lm_head"), std::runtime_error);
  const std::vector<Op> second = prefill_ops(c, d, 1, 512, 512, true);
  EXPECT_DOUBLE_EQ(find_op(second, "attention").sample.work.flops,
                   4.0 * 512 * 32 * 128 * (512 + 513.0 / 2));
}

TEST(Prefill, MlaPrefillRunsTheNonAbsorbedForm) {
  const LlmConfig c = load_llm_config("deepseek-v3");
  const std::vector<Op> ops = prefill_ops(c, resolve({}, c), 1, 256, 0, true);
  EXPECT_THROW(find_op(ops, "q_absorb"), std::runtime_error);
  // kv_up: every cached latent (512) to 128 heads' keys (128) and values (128).
  EXPECT_DOUBLE_EQ(find_op(ops, "kv_up").sample.work.flops, 2.0 * 256 * 512 * 128 * 256);
  EXPECT_DOUBLE_EQ(find_op(ops, "attention").sample.work.flops,
                   2.0 * 256 * 128 * (128 + 64 + 128) * 257 / 2);
}

TEST(Prefill, ComputeBoundAtALongPromptAndChunksAddUp) {
  const Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-70b");
  PredictOptions o;
  o.deployment.tp = 8;
  const PrefillPrediction p = prefill_time(k, c, o, 1, 4096);
  // Hand: 2 FLOPs per matmul parameter per token (the LM head on one token only) over 8 GPUs
  // at 790 TFLOP/s, plus causal attention 4·64·128·(4097 / 2) per token and layer.
  const ParameterCounts pc = parameter_counts(c);
  const double gemm = 2 * (pc.active_matmul - pc.lm_head) * 4096 + 2 * pc.lm_head;
  const double attention = 80 * 4.0 * 64 * 128 * 4096 * 4097 / 2;
  const double arithmetic = (gemm + attention) / 8 / 7.9e14;
  EXPECT_NEAR(p.split.arithmetic, arithmetic, 0.005 * arithmetic);
  EXPECT_GT(p.split.arithmetic, 5 * p.split.memory);
  EXPECT_EQ(p.chunks, 1);
  EXPECT_DOUBLE_EQ(p.time_s, p.split.total());
  o.chunk = 1024;
  const PrefillPrediction chunked = prefill_time(k, c, o, 1, 4096);
  EXPECT_EQ(chunked.chunks, 4);
  double sum = 0;
  for (const StepPrediction& s : chunked.chunk_steps) sum += s.step_s;
  EXPECT_DOUBLE_EQ(chunked.time_s, sum);
  EXPECT_GT(chunked.time_s, p.time_s);  // each chunk reads the weights and pays the latencies
  EXPECT_THROW(prefill_time(k, c, o, 1, 0), InputError);
}

TEST(Request, TtftTpotEndToEndAndThroughputByHand) {
  const Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-70b");
  PredictOptions o;
  o.deployment.tp = 8;
  const double ttft = prefill_time(k, c, o, 1, 1024).time_s;
  const double step = decode_step_time(k, c, o, 16, 1024 + 128).step_s;
  const RequestPrediction r = predict_request(k, c, o, 1024, 256, 16);
  EXPECT_DOUBLE_EQ(r.ttft_s, ttft);
  EXPECT_DOUBLE_EQ(r.decode_step_s, step);
  // A cycle: 16 prefills (dp 1) and 255 decode steps.
  EXPECT_DOUBLE_EQ(r.e2e_s, 16 * ttft + 255 * step);
  EXPECT_DOUBLE_EQ(r.tpot_s, (15 * ttft + 255 * step) / 255);
  EXPECT_DOUBLE_EQ(r.requests_per_s, 16 / r.e2e_s);
  EXPECT_DOUBLE_EQ(r.output_tokens_per_s_per_gpu, 16 * 256 / r.e2e_s / 8);
  // Alone: TPOT is the decode step.
  const RequestPrediction one = predict_request(k, c, o, 1024, 256, 1);
  EXPECT_DOUBLE_EQ(one.tpot_s, one.decode_step_s);
  // The mean over two shapes.
  const RequestPrediction a = predict_request(k, c, o, 128, 64, 4);
  const RequestPrediction b = predict_request(k, c, o, 2048, 512, 4);
  const RequestPrediction m = mean_request({a, b});
  EXPECT_DOUBLE_EQ(m.ttft_s, (a.ttft_s + b.ttft_s) / 2);
  EXPECT_DOUBLE_EQ(m.requests_per_s, 4 / ((a.cycle_s + b.cycle_s) / 2));
  EXPECT_THROW(predict_request(k, c, o, 1024, 0, 1), InputError);
}

TEST(Memory, LargestBatchThatFitsByHand) {
  const Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-70b");
  Deployment in;
  in.tp = 8;
  const Deployment d = resolve(in, c);
  const ParameterCounts pc = parameter_counts(c);
  EXPECT_NEAR(weight_bytes_per_gpu(c, d), pc.total * 2 / 8, 1);
  // KV per token: 2·8 heads·128·80 layers·2 bytes, the 8 KV heads split over tp 8.
  const double per_sequence = 4096.0 * 2 * 8 * 128 * 80 * 2 / 8;
  EXPECT_DOUBLE_EQ(kv_bytes_per_gpu(c, d, 1, 4096), per_sequence);
  const long long most = max_batch_that_fits(c, d, 4096, 80e9);
  EXPECT_EQ(most, static_cast<long long>((80e9 - pc.total * 2 / 8) / per_sequence));
  EXPECT_EQ(most, 371);
  EXPECT_EQ(max_batch_that_fits(c, resolve({}, c), 4096, 80e9), 0);  // 141 GB of weights
  // Data parallel: dp 2 groups hold twice the sequences.
  Deployment two = in;
  two.gpus = 16;
  EXPECT_EQ(max_batch_that_fits(c, resolve(two, c), 4096, 80e9), 2 * 371);

  PredictOptions o;
  o.deployment = in;
  o.gpu_memory_bytes = 80e9;
  const std::vector<StepPrediction> steps = predict_steps(k, c, o, {1, 371, 372, 4096});
  EXPECT_TRUE(steps[1].fits);
  EXPECT_FALSE(steps[2].fits);
  EXPECT_FALSE(steps[3].pareto);  // the cheapest, but impossible: off the front
  EXPECT_TRUE(steps[1].pareto);   // the cheapest that fits
  o.gpu_memory_bytes = 0;         // unknown: nothing refused
  EXPECT_TRUE(predict_steps(k, c, o, {4096}).front().fits);
}

TEST(Overlap, HidesTheSmallerOfNetworkAndComputePerLayer) {
  auto priced = [](const std::string& layer, double count, double network, double memory) {
    PricedOp p;
    p.op.layer = layer;
    p.op.count = count;
    p.split.network = network;
    p.split.memory = memory;
    return p;
  };
  // 10 layers: 3 dense, 7 MoE. Per layer: all 1 ms compute + 0.2 ms network; a dense FFN
  // 2 ms compute, no network; an MoE FFN 1 ms compute + 3 ms network.
  const std::vector<PricedOp> ops = {priced("all", 10, 2e-3, 10e-3), priced("dense", 3, 0, 6e-3),
                                     priced("moe", 7, 21e-3, 7e-3), priced("stage", 1, 5e-3, 1)};
  // dense: min(0.2, 3) = 0.2 ms × 3; moe: min(3.2, 2) = 2 ms × 7.
  EXPECT_NEAR(hidden_network_s(ops), 3 * 0.2e-3 + 7 * 2e-3, 1e-15);

  const Constants k = stated_h100();
  const LlmConfig c = load_llm_config("llama-3-70b");
  PredictOptions o;
  o.deployment.tp = 8;
  const StepPrediction plain = predict_step(k, c, o, 64);
  o.deployment.overlap = true;
  const StepPrediction hidden = predict_step(k, c, o, 64);
  EXPECT_DOUBLE_EQ(hidden.split.hidden, hidden_network_s(hidden.ops));
  EXPECT_NEAR(plain.step_s - hidden.step_s, hidden.split.hidden, 1e-12);
  // A dense layer's all-reduces (2 per layer) are smaller than its GEMMs at batch 64: all hidden
  // but the once-per-stage ops' network (none here).
  EXPECT_NEAR(hidden.split.hidden, hidden.split.network, 1e-12);
}

TEST(ExpertParallel, SizesThatDivideTheSlotsWithRedundantExpertsAndFp8Dispatch) {
  const LlmConfig c = load_llm_config("deepseek-v3");
  Deployment in;
  in.gpus = 144;
  in.ep = 144;
  in.gpus_per_node = 8;
  in.redundant_experts = 32;
  const Deployment d = resolve(in, c);       // 144 does not divide 256, but does 256 + 32
  EXPECT_EQ(expert_slots_per_gpu(c, d), 2);  // 288 / 144
  const ParameterCounts pc = parameter_counts(c);
  Deployment no_redundant = in;
  no_redundant.redundant_experts = 0;
  try {
    resolve(no_redundant, c);
    ADD_FAILURE() << "ep 144 over 256 experts was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "--ep: 144 does not divide the model's 256 experts");
  }
  Deployment ep72 = in;
  ep72.gpus = 72;
  ep72.ep = 72;
  EXPECT_EQ(expert_slots_per_gpu(c, resolve(ep72, c)), 4);  // 288 / 72
  // Weights: a slot holds one expert, 1/256 of the routed experts' bytes (fp8: 1 byte each).
  Deployment ep64_plain = ep72;
  ep64_plain.gpus = 64;
  ep64_plain.ep = 64;
  ep64_plain.redundant_experts = 0;  // 256 slots, 4 per GPU
  Deployment ep64 = ep64_plain;
  ep64.redundant_experts = 64;  // 320 slots, 5 per GPU
  EXPECT_NEAR(weight_bytes_per_gpu(c, resolve(ep64, c)),
              weight_bytes_per_gpu(c, resolve(ep64_plain, c)) + pc.routed_experts / 256, 1);

  // fp8 dispatch: 1 byte per value and an fp32 scale per 128; combine stays bf16.
  Deployment eight;
  eight.gpus = 8;
  eight.ep = 8;
  eight.dispatch_dtype = "fp8";
  const std::vector<Op> ops = decode_ops(c, resolve(eight, c), 16, 1, 1024);
  EXPECT_DOUBLE_EQ(find_op(ops, "moe_dispatch").sample.work.net_bytes,
                   std::ceil(16 * 8 * 7168 * (1 + 4.0 / 128)) * 7 / 8);
  EXPECT_DOUBLE_EQ(find_op(ops, "moe_combine").sample.work.net_bytes, 7.0 / 8 * 16 * 8 * 7168 * 2);
  EXPECT_THROW(resolve({.redundant_experts = 8}, c), InputError);  // without ep
  Deployment bad = eight;
  bad.dispatch_dtype = "int4";
  EXPECT_THROW(resolve(bad, c), InputError);
}

TEST(Speculative, DraftModelPricedOnTheSameHardware) {
  const Constants k = stated_h100();
  const LlmConfig target = load_llm_config("llama-3-70b");
  const LlmConfig draft = load_llm_config("llama-3-8b");
  PredictOptions o;
  o.deployment.tp = 8;
  o.price_per_gpu_hour = 2;
  Speculation sp{4, 0.8, 0, &draft};
  const SpeculativeStep s = predict_speculative(k, target, o, 8, sp);
  EXPECT_DOUBLE_EQ(s.draft_s, predict_step(k, draft, o, 8).step_s);
  EXPECT_GT(s.draft_s, 0);
  EXPECT_DOUBLE_EQ(s.cycle_s, s.verify_s + 4 * s.draft_s);
  const double e = expected_tokens_per_verify(4, 0.8);
  EXPECT_DOUBLE_EQ(s.tokens_per_s_per_user, e / s.cycle_s);
  EXPECT_DOUBLE_EQ(s.tokens_per_s_per_gpu, 8 * e / s.cycle_s / 8);
  EXPECT_DOUBLE_EQ(s.gpu_hours_per_million, 8 * s.cycle_s / (8 * e) / 3600 * 1e6);
  EXPECT_DOUBLE_EQ(s.cost_per_million, 2 * s.gpu_hours_per_million);
  EXPECT_TRUE(s.fits);
  PredictOptions small_gpu = o;
  small_gpu.gpu_memory_bytes = 20e9;  // 17.6 GB of weights: batch 64 at context 4096 does not fit
  EXPECT_FALSE(predict_speculative(k, target, small_gpu, 64, sp).fits);
  // A draft whose heads tp does not divide is named.
  LlmConfig small = draft;
  small.attention.heads = 4;
  small.attention.kv_heads = 4;
  Speculation bad{4, 0.8, 0, &small};
  try {
    predict_speculative(k, target, o, 8, bad);
    FAIL();
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("--draft-model"), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace batchcost

namespace batchcost {
namespace {

// Llama-3-70B on TP8 at batch 1 all-reduces m·H·2 = 16 KiB, of which each GPU receives
// 2·7/8 · 16 KiB = 28 KiB per collective. A regime fitted on 128 MiB .. 4 GiB messages (an
// nccl-tests sweep of large sizes) is used 4681x below its range: marked. Fitted down to 8 B, or
// without a stored range, it is not.
TEST(Extrapolation, NetworkConstantsUsedFarOutsideTheirFittedSizesAreNamed) {
  Constants c = stated_h100();
  Regime& ar = c.network[{"all_reduce", 8}][0];
  ar.bytes_min = 134217728;
  ar.bytes_max = 4294967296;
  ar.n = 6;
  PredictOptions o;
  o.deployment.tp = 8;
  const LlmConfig m = load_llm_config("llama-3-70b");
  StepPrediction s = predict_step(c, m, o, 1);
  std::vector<std::string> out = extrapolated_network(c, s.ops);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "network all_reduce/8 at 28 KiB per collective, fitted on 128 MiB .. 4 GiB");
  ar.bytes_min = 8;  // fitted down to 8 B: 28 KiB is inside
  EXPECT_TRUE(extrapolated_network(c, s.ops).empty());
  ar.bytes_min = 114688;  // 4x above 28 KiB: still within the factor
  EXPECT_TRUE(extrapolated_network(c, s.ops).empty());
  ar.bytes_min = 114689;
  EXPECT_EQ(extrapolated_network(c, s.ops).size(), 1u);
  ar.n = 0;  // no stored range (an old model.json): not judged
  EXPECT_TRUE(extrapolated_network(c, s.ops).empty());
}

}  // namespace
}  // namespace batchcost
