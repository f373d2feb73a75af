// bench/moe: one MoE layer's expert FFN (gate+up then down, on tokens already grouped by
// expert) under each strategy of moe/strategies.h, measured to validate the cost model's
// prediction (family `moe`, predicted rather than fitted). bf16, fp32 accumulation.
//
// Configs: DeepSeek-V3 (E = 256, k = 8, H = 7168, I = 2048; 22.5 GiB of expert weights: a GPU
// with less free memory skips it, saying so) and Qwen3-30B-A3B (E = 128, k = 8, H = 2048,
// I = 768). Routings: uniform, balanced, zipf1.0, lognormal1.0 (core/moe_routing.h), seed kRoutingSeed.
//
// Names: moe/<config>/dense_equivalent/tokens:B (routing=none) and
// moe/<config>/<strategy>/<routing>/tokens:B, with strategy per_expert_loop, per_expert_graph,
// grouped (counts=host), grouped_d2h (strategy=grouped counts=d2h: the counts are copied from
// the device and waited for in every iteration), padded_batched, lt_grouped. A strategy that the
// cuBLAS this was built against cannot run (strategy_unavailable: lt_grouped with the cuBLASLt of
// CUDA 13, which has no grouped GEMM) is not registered; the run says so once, in the console's
// context lines and the JSON context's "not_registered".
//
// What each profile registers, per config, config after config:
//   default  B = 1, 2, 4, … 16384: dense_equivalent and every strategy with uniform routing; the
//            other three routings at B = 1, 4, 16, … 16384 (8 values): 210 benchmarks a config
//            without lt_grouped;
//   --quick  B = 1, 4, 16, … 16384: dense_equivalent and uniform; the other routings at B = 64.
//
// Timing. per_expert_loop and grouped_d2h are timed as the host sees them (timing=host): the
// loop's cost is its host launches, and grouped_d2h synchronizes inside each iteration, which a
// batch queued behind the harness's blocking kernel cannot do. A host batch ends with one stream
// synchronize (about 10 µs), amortized over a batch of >= 2 ms and not declared (the counters are
// exactly moe_work()'s). The others are timed on the device (timing=device).
//
// Cache. Expert weights are distinct per expert; when the weights that one layer reads are less
// than 4× L2 (Qwen3 at small B), the weights and activations rotate through several copies, so
// every iteration reads them from HBM (`rotation_sets` counter). dense_equivalent runs first at
// each B; every device-timed strategy's `efficiency_vs_dense` is its useful FLOP/s over
// dense_equivalent's (device-timed too) at the same B in this process. The host-timed ones have
// none: their time holds host launches and waits, which dense_equivalent's does not.
//
// Plans (harness/plan.h): each case's work comes from its routing on the host at registration, so
// --estimate prices the sweep without a GPU; per_expert_graph declares, when it runs, the node
// count of the graph it captured (counter planned_graph_nodes keeps the plan's 2·active);
// grouped may wait for the device inside cublasGemmGroupedBatchedEx and is then timed without
// the blocking kernel (held=0); grouped_d2h's counts copy is labelled op=d2h (ranks 1).
//
// Check: once per benchmark, each strategy's gate+up and down outputs on up to 64 sampled rows
// against the double-accumulated reference (kernels/gemm_reference.h), within the bf16 tolerance.
//
//   batchcost-moe --benchmark_out=results/<gpu>/moe.json
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/moe_crossover.h"
#include "harness/gpu.h"
#include "kernels/check.h"
#include "moe/strategies.h"

namespace batchcost {
namespace {

constexpr GemmDtype kDtype = GemmDtype::bf16;
constexpr std::uint64_t kWeightSeed = 0x3e3e5eedull;
constexpr std::uint64_t kRoutingSeed = kMoeRoutingSeed;  // predictions route the same tokens
constexpr std::int64_t kCheckRows = 64;
constexpr std::int64_t kQuickRoutingTokens = 64;

std::size_t elems(std::int64_t a, std::int64_t b) {
  return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

// The weights of the current config, in `sets` copies, never freed at exit (a static destructor
// would call cudaFree after the CUDA runtime shut down). Each copy: every expert's w1 and w2
// (strategies.h) and dense_equivalent's.
struct Weights {
  std::string config;
  std::int64_t sets = 1;
  std::vector<DeviceBuffer> w1, w2, dense_w1, dense_w2;
};
Weights* g_weights = nullptr;

Weights& weights_for(const MoeConfig& c) {
  if (g_weights != nullptr && g_weights->config == c.name) return *g_weights;
  delete g_weights;
  g_weights = nullptr;
  Gpu& g = Gpu::get();
  const std::int64_t E = c.experts, H = c.hidden, I = c.intermediate, W = c.top_k * I;
  const std::size_t eb = static_cast<std::size_t>(input_bytes(kDtype));
  const std::size_t expert_bytes = elems(3 * I, H) * eb;
  // The fewest weights a layer reads (k active experts, or the dense FFN of width kI): enough
  // copies that they span 4× L2 at B = 1.
  auto w = std::make_unique<Weights>();
  w->config = c.name;
  w->sets = rotation_sets(static_cast<std::int64_t>(expert_bytes) * c.top_k, g.l2_bytes(),
                          g.options().cache);
  const std::size_t per_set = static_cast<std::size_t>(E) * expert_bytes + elems(3 * W, H) * eb;
  g.require_free(static_cast<std::size_t>(w->sets) * per_set,
                 c.name + "'s expert weights (" + std::to_string(w->sets) + " copies)");
  for (std::int64_t s = 0; s < w->sets; ++s) {
    const std::uint64_t seed = kWeightSeed + 4 * static_cast<std::uint64_t>(s);
    w->w1.emplace_back(elems(E * 2 * I, H) * eb);
    w->w2.emplace_back(elems(E * H, I) * eb);
    w->dense_w1.emplace_back(elems(2 * W, H) * eb);
    w->dense_w2.emplace_back(elems(H, W) * eb);
    const cudaDataType_t t = input_type(kDtype);
    fill_uniform(w->w1.back().get(), t, elems(E * 2 * I, H), seed, 1.0f, g.stream());
    fill_uniform(w->w2.back().get(), t, elems(E * H, I), seed + 1, 1.0f, g.stream());
    fill_uniform(w->dense_w1.back().get(), t, elems(2 * W, H), seed + 2, 1.0f, g.stream());
    fill_uniform(w->dense_w2.back().get(), t, elems(H, W), seed + 3, 1.0f, g.stream());
  }
  CUDA_CHECK(cudaStreamSynchronize(g.stream()));
  g_weights = w.release();
  return *g_weights;
}

// One benchmark's activations and runners (one per rotation set), kept across its repetitions.
struct Batch {
  std::string key;
  Routing routing;
  std::vector<DeviceBuffer> buffers;
  std::vector<std::unique_ptr<MoeRunner>> runners;
  std::vector<std::unique_ptr<GroupedFromDeviceCounts>> d2h;
};
Batch* g_batch = nullptr;

struct Case {
  MoeConfig config;
  MoeStrategy strategy = MoeStrategy::dense_equivalent;
  bool counts_from_device = false;
  RoutingSpec routing;
  std::int64_t tokens = 0;
  std::string key;  // the benchmark's name without the family
};

// route() is deterministic in its arguments and costs milliseconds at the larger batches: the
// plans (every strategy of a batch size), every repetition and the batch share one result per
// (routing, tokens, experts, top_k), computed once per process.
const Routing& routed(const Case& c) {
  using Key = std::tuple<std::string, std::int64_t, int, int>;
  static std::map<Key, Routing> cache;
  Key key{routing_label(c.routing), c.tokens, c.config.experts, c.config.top_k};
  auto it = cache.find(key);
  if (it == cache.end()) {
    it = cache
             .emplace(key,
                      route(c.routing, c.tokens, c.config.experts, c.config.top_k, kRoutingSeed))
             .first;
  }
  return it->second;
}

Batch& batch_for(const Case& c, const Weights& w, std::int64_t sets) {
  if (g_batch != nullptr && g_batch->key == c.key) return *g_batch;
  delete g_batch;
  g_batch = nullptr;
  Gpu& g = Gpu::get();
  cudaStream_t stream = g.stream();
  const MoeConfig& cfg = c.config;
  const std::int64_t B = c.tokens, H = cfg.hidden, I = cfg.intermediate, k = cfg.top_k;
  const std::size_t eb = static_cast<std::size_t>(input_bytes(kDtype));
  const cudaDataType_t t = input_type(kDtype);
  auto b = std::make_unique<Batch>();
  b->key = c.key;
  b->routing = routed(c);
  const bool dense = c.strategy == MoeStrategy::dense_equivalent;
  const std::int64_t rows = dense ? B : B * k;  // rows of y1 and y2
  const std::int64_t y1_cols = dense ? 2 * k * I : 2 * I;
  const std::size_t set_bytes =
      (elems(B, H) + (dense ? 0 : elems(rows, H)) + elems(rows, y1_cols) + elems(rows, H)) * eb;
  g.require_free(static_cast<std::size_t>(sets) * set_bytes, "MoE activations of " + c.key);
  std::vector<std::int32_t> token(static_cast<std::size_t>(B * k));
  for (std::size_t p = 0; p < token.size(); ++p) {
    token[p] = b->routing.token_at(static_cast<std::int64_t>(p));
  }
  DeviceBuffer index(std::max<std::size_t>(token.size(), 1) * sizeof(std::int32_t));
  CUDA_CHECK(cudaMemcpyAsync(index.get(), token.data(), token.size() * sizeof(std::int32_t),
                             cudaMemcpyHostToDevice, stream));
  for (std::int64_t s = 0; s < sets; ++s) {
    const auto si = static_cast<std::size_t>(s);
    // Device pointers, not references into `buffers`: a later emplace_back may reallocate the
    // vector (the pointers stay valid, a reference to an element would not).
    void* x = b->buffers.emplace_back(elems(B, H) * eb).get();
    fill_uniform(x, t, elems(B, H), kWeightSeed + 1000 + static_cast<std::uint64_t>(s), 1.0f,
                 stream);
    if (dense) {
      void* y1 = b->buffers.emplace_back(elems(rows, y1_cols) * eb).get();
      void* y2 = b->buffers.emplace_back(elems(rows, H) * eb).get();
      const DenseLayer layer{cfg, kDtype, B, w.dense_w1[si].get(), w.dense_w2[si].get(), x, y1, y2};
      b->runners.push_back(make_dense_runner(layer, g.cublas(), stream));
      continue;
    }
    void* xg = b->buffers.emplace_back(elems(rows, H) * eb).get();
    gather_rows(xg, x, index.get<std::int32_t>(), rows, static_cast<std::size_t>(H) * eb, stream);
    void* y1 = b->buffers.emplace_back(elems(rows, y1_cols) * eb).get();
    void* y2 = b->buffers.emplace_back(elems(rows, H) * eb).get();
    const MoeLayer layer{cfg, kDtype, w.w1[si].get(),    w.w2[si].get(),    xg,
                         y1,  y2,     b->routing.counts, b->routing.offsets};
    if (c.counts_from_device) {
      b->d2h.push_back(std::make_unique<GroupedFromDeviceCounts>(layer, g.cublas(), stream));
    } else {
      b->runners.push_back(make_expert_runner(c.strategy, layer, g.cublas(), stream));
    }
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));
  g_batch = b.release();
  return *g_batch;
}

// dense_equivalent's useful FLOP/s per (config, B), measured earlier in this process.
std::map<std::pair<std::string, std::int64_t>, double>& dense_rates() {
  static std::map<std::pair<std::string, std::int64_t>, double> rates;
  return rates;
}

void moe(benchmark::State& state, const Plan& plan, const Case& c) {
  Gpu& g = Gpu::get();
  const bool dense = c.strategy == MoeStrategy::dense_equivalent;
  // dense_equivalent does not depend on the routing; its work comes from any routing's counts.
  const Routing& counts_only = routed(c);
  const MoeWorkOptions wopts{.counts_from_device = c.counts_from_device};
  const MoeWork mw = moe_work(c.strategy, c.config, kDtype, counts_only, wopts);
  Weights& w = weights_for(c.config);
  const std::int64_t sets = std::min(w.sets, rotation_sets(static_cast<std::int64_t>(mw.work.bytes),
                                                           g.l2_bytes(), g.options().cache));
  Batch* b = nullptr;
  try {
    b = &batch_for(c, w, sets);
  } catch (const StrategyUnavailable& e) {
    return skip(state, e.what());
  }
  MoeRunner& first = c.counts_from_device ? b->d2h[0]->runner() : *b->runners[0];
  const std::string verdict =
      check_once(c.key, [&] { return check_runner(first, kDtype, kCheckRows, g.stream()); });
  if (!verdict.empty()) return fail(state, c.key + ": " + verdict);

  const auto n =
      static_cast<std::int64_t>(c.counts_from_device ? b->d2h.size() : b->runners.size());
  std::map<std::string, double> extra{{"rotation_sets", static_cast<double>(n)}};
  if (plan.timing == Timing::kHost) {
    auto op = [&](std::int64_t i) {
      if (c.counts_from_device) {
        b->d2h[static_cast<std::size_t>(i % n)]->run();
      } else {
        b->runners[static_cast<std::size_t>(i % n)]->run();
      }
    };
    measure_host(
        state, plan, op, [&] { CUDA_CHECK(cudaStreamSynchronize(g.stream())); }, std::nullopt,
        extra);
  } else {
    std::optional<Work> actual;
    if (c.strategy == MoeStrategy::per_expert_graph) {
      // The graph as captured: cuBLAS may add nodes (a split-K reduction, a memset) to a GEMM.
      actual = plan.work;
      actual->graph_nodes = static_cast<double>(b->runners[0]->graph_nodes());
      extra["planned_graph_nodes"] = plan.work.graph_nodes;
    }
    measure_device(
        state, plan,
        [&](cudaStream_t, std::int64_t i) { b->runners[static_cast<std::size_t>(i % n)]->run(); },
        actual, extra);
  }

  const auto rate = state.counters.find("flops_per_s");
  if (rate == state.counters.end() || !(rate->second.value > 0)) return;  // failed or empty
  const double seconds = mw.work.flops / rate->second.value;
  const double useful_rate = mw.useful_flops / seconds;
  const RoutingStats st = routing_stats(counts_only.counts);
  auto& counters = state.counters;
  counters["useful_flops"] = mw.useful_flops;
  counters["useful_flops_per_s"] = useful_rate;
  counters["routing_seed"] = static_cast<double>(kRoutingSeed);
  if (dense) {
    dense_rates()[{c.config.name, c.tokens}] = useful_rate;
    return;
  }
  if (st.active_experts > 0) counters["active_experts"] = st.active_experts;
  if (st.mean_tokens_per_active_expert > 0) {
    counters["tokens_per_expert_mean"] = st.mean_tokens_per_active_expert;
  }
  if (st.max_tokens_per_expert > 0) {
    counters["tokens_per_expert_max"] = static_cast<double>(st.max_tokens_per_expert);
  }
  // Like with like: dense_equivalent is timed on the device, so only a strategy timed on the
  // device is compared with it (a host-timed rate holds the host's launches and waits).
  auto d = dense_rates().find({c.config.name, c.tokens});
  if (plan.timing == Timing::kDevice && d != dense_rates().end()) {
    counters["efficiency_vs_dense"] = efficiency_vs_dense(useful_rate, d->second);
  }
}

// The reference GPU's L2 (H100 / H200: 50 MiB), which sizes the cold rotation in the plan.
constexpr std::int64_t kPlanL2Bytes = std::int64_t{50} << 20;
// The check's reference accumulates in double with a plain kernel: priced for the estimate as
// fp32 FLOPs at a tenth of the fp32 peak.
constexpr double kCheckSlowdown = 10;

// The plan of one case: its work from the routing (host code), how it is timed, its set-up.
Plan moe_plan(const Case& c, CachePolicy cache, bool first_of_config) {
  const MoeWorkOptions wopts{.counts_from_device = c.counts_from_device};
  const MoeWork mw = moe_work(c.strategy, c.config, kDtype, routed(c), wopts);
  const bool dense = c.strategy == MoeStrategy::dense_equivalent;
  Plan p;
  p.work = mw.work;
  p.labels = moe_labels(c.strategy, c.config, kDtype, c.routing, wopts);
  if (dense) p.labels["routing"] = "none";
  p.labels["cache"] = std::string(to_string(cache));
  if (c.counts_from_device) p.ranks = 1;  // the counts' d2h copy
  const double H = static_cast<double>(c.config.hidden), I = static_cast<double>(c.config.intermediate);
  const double E = c.config.experts, k = c.config.top_k, B = static_cast<double>(c.tokens);
  const double eb = input_bytes(kDtype);
  if (host_timed(c.strategy, wopts)) {
    p.timing = Timing::kHost;
    // Batches of about 2 ms: the closing synchronize (about 10 µs) stays a small part of them.
    p.target_sample_s = 2e-3;
    p.max_batch = 1000;
  } else {
    // Launches one op puts in the queue behind the blocking kernel.
    const int launches = dense || c.strategy == MoeStrategy::grouped ||
                                 c.strategy == MoeStrategy::padded_batched
                             ? 2
                             : 1;  // per_expert_graph: one graph launch
    p.max_batch = 256 / launches;
  }
  if (c.strategy == MoeStrategy::grouped) {
    // cublasGemmGroupedBatchedEx takes host arrays of sizes: should it wait for the device inside
    // the call, it is timed without the blocking kernel rather than failing (gpu.h).
    p.may_synchronize = true;
    p.hold_key = "cublasGemmGroupedBatchedEx";
  }
  const auto sets = static_cast<double>(
      rotation_sets(static_cast<std::int64_t>(mw.work.bytes), kPlanL2Bytes, cache));
  // Activations (x, gathered x, y1, y2) of every rotation set, filled or poisoned once.
  p.setup_bytes = sets * B * (dense ? H + 2 * k * I + H : k * (H + H + 2 * I + H) + H) * eb;
  if (first_of_config) {  // the config's expert weights, filled once for the whole sweep
    const double per_set = (E * 3 * I * H + 3 * k * I * H) * eb;
    const auto weight_sets = static_cast<double>(rotation_sets(
        static_cast<std::int64_t>(3 * I * H * eb * k), kPlanL2Bytes, cache));
    p.setup_bytes += weight_sets * per_set;
  }
  if (c.strategy == MoeStrategy::per_expert_graph) {
    // The eager run of every shape, then the capture: about 20 µs per GEMM on the host.
    p.setup_s = 20e-6 * mw.work.graph_nodes;
  }
  // The check: one layer (priced as a kernel-free op) and the reference on 64 sampled rows of
  // both projections.
  const double rows = std::min<double>(kCheckRows, dense ? B : B * k);
  p.check_work = Work{.flops = kCheckSlowdown * 2 * rows * (2 * I * H + H * I) + mw.work.flops,
                      .kernels = 4};
  return p;
}

void register_moe(const Options& opts) {
  const std::vector<std::int64_t> all_tokens = token_sweep(opts.quick);
  const std::vector<std::int64_t> coarse = token_sweep(true);
  struct Variant {
    MoeStrategy strategy;
    bool d2h;
    const char* name;
  };
  const Variant all_variants[] = {
      {MoeStrategy::per_expert_loop, false, "per_expert_loop"},
      {MoeStrategy::per_expert_graph, false, "per_expert_graph"},
      {MoeStrategy::grouped, false, "grouped"},
      {MoeStrategy::grouped, true, "grouped_d2h"},
      {MoeStrategy::padded_batched, false, "padded_batched"},
      {MoeStrategy::lt_grouped, false, "lt_grouped"},
  };
  // Decided from the cuBLAS headers built against, without a GPU: a benchmark that could only
  // skip would be a zero-time entry in every run and a row in every comparison.
  std::vector<Variant> variants;
  std::string not_registered;
  for (const Variant& v : all_variants) {
    if (auto why = strategy_unavailable(v.strategy)) {
      not_registered += (not_registered.empty() ? "" : "; ") + std::string(v.name) + ": " + *why;
    } else {
      variants.push_back(v);
    }
  }
  if (!not_registered.empty()) benchmark::AddCustomContext("not_registered", not_registered);
  bool first_of_config = true;
  auto add_case = [&](Case c) {
    Plan plan = moe_plan(c, opts.cache, first_of_config);
    first_of_config = false;
    add("moe/" + c.key, plan, [c](benchmark::State& st, const Plan& p) { moe(st, p, c); });
  };
  for (const MoeConfig& config : moe_configs()) {
    first_of_config = true;
    for (std::int64_t b : all_tokens) {
      const std::string tokens = "tokens:" + std::to_string(b);
      add_case({config, MoeStrategy::dense_equivalent, false, RoutingSpec{}, b,
                config.name + "/dense_equivalent/" + tokens});
      for (const RoutingSpec& r : default_routings()) {
        const bool uniform = r.kind == RoutingKind::uniform;
        const bool sampled = opts.quick
                                 ? b == kQuickRoutingTokens
                                 : std::find(coarse.begin(), coarse.end(), b) != coarse.end();
        if (!uniform && !sampled) continue;
        for (const Variant& v : variants) {
          add_case({config, v.strategy, v.d2h, r, b,
                    config.name + "/" + v.name + "/" + routing_label(r) + "/" + tokens});
        }
      }
    }
  }
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  return batchcost::run_gpu_main(argc, argv, "batchcost-moe", batchcost::register_moe);
}
