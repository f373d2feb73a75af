// The work of one MoE layer's expert FFN under each GPU strategy, host C++ only: the FLOPs, HBM
// bytes, launches, graph nodes and host syncs that the GPU strategies declare, so the cost model
// can predict them (DESIGN.md: the `moe` family is predicted, then measured).
//
// The expert FFN on tokens already grouped by expert is two GEMMs per expert e with c_e tokens:
//   gate+up  [c_e, H] · [H, 2I] → [c_e, 2I]
//   down     [c_e, I] · [I, H]  → [c_e, H]
// (H = hidden, I = intermediate). The SwiGLU between them is not run by any strategy: the
// strategies differ in how they dispatch GEMMs, and an elementwise pass would only add the same
// bytes to each. Each GEMM's work follows gemm_work() (core/gemm_shapes.h), and a strategy's work
// is the sum over the GEMMs it executes. So:
//   bytes = the weights of every expert a GEMM runs for, read once (2·H·I + I·H elements each)
//         + each GEMM's activations: gate+up reads c·H, writes c·2I; down reads c·I, writes c·H
//           (the intermediate is written once and read once, its gate half only by `down`).
//   flops = 2·Σ_e c_e·(H·2I + I·H) = 6·B·k·H·I for every strategy but padded_batched.
//
// Strategies (the labels are the `strategy=` values):
//   dense_equivalent  two GEMMs over all B tokens, k times the expert width: [B, H]·[H, 2kI] and
//                     [B, kI]·[kI, H]: what a dense model of the same active parameters runs.
//                     Same FLOPs as the experts; the weights are those of one FFN of width k·I.
// Latency events: a strategy timed on the host (host_timed(): the loop, and any strategy that
// copies its counts from the device and waits) declares the host's `launches`; one timed on the
// device declares `kernels`, the device's fixed cost per kernel run back to back.
//   per_expert_loop   one cuBLAS GEMM per projection per active expert: 2·active launches.
//   per_expert_graph  the same loop captured once in a CUDA graph and replayed: 2·active graph
//                     nodes (the shapes are frozen at capture; the benchmark declares the node
//                     count of the graph it captured, which cuBLAS may make larger).
//   grouped           cublasGemmGroupedBatchedEx (cuBLAS >= 12.5), one call per projection over
//                     the active experts: 2 kernels. Its m/n/k arrays are host arrays, so the
//                     host must know the counts.
//   padded_batched    cublasGemmStridedBatchedEx over all E experts, each padded to the largest
//                     count: 2 kernels. Strided batching needs every expert's weights at a
//                     fixed stride, so it runs (and reads the weights of) all E experts, and
//                     executes the FLOPs of the padding rows. `Work.flops` reports the executed
//                     FLOPs (what the GPU spends time on, what the model must predict);
//                     `MoeWork::useful_flops` the routed tokens' FLOPs.
//   lt_grouped        cuBLASLt grouped GEMM with the per-group shapes on the device (where the
//                     installed cuBLAS has it): 2 kernels, no counts on the host.
//
// Host counts. In an inference engine the router runs on the GPU, and a strategy whose GEMM
// shapes are host arguments (per_expert_loop, grouped, padded_batched) must first copy the
// counts device → host and wait: 1 sync and 1 host-device copy (a `collectives` event in the
// contract, labelled op=d2h) of E int32 counts (`net_bytes` = 4·E). MoeWorkOptions::
// counts_from_device says whether the benchmark does that copy; the label says which
// (`counts=`, see counts_label()).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/gemm_shapes.h"
#include "core/contract.h"
#include "core/moe_routing.h"

namespace batchcost {

struct MoeConfig {
  std::string name;               // label value, e.g. "deepseek_v3"
  int experts = 0;                // E (routed experts; shared experts are a dense GEMM, not here)
  int top_k = 0;                  // k
  std::int64_t hidden = 0;        // H
  std::int64_t intermediate = 0;  // I, the width of one expert

  bool operator==(const MoeConfig&) const = default;
};

// The two models of the MoE sweep (their config.json: n_routed_experts / num_experts,
// num_experts_per_tok, hidden_size, moe_intermediate_size).
MoeConfig deepseek_v3();    // E = 256, k = 8, H = 7168, I = 2048
MoeConfig qwen3_30b_a3b();  // E = 128, k = 8, H = 2048, I = 768
std::vector<MoeConfig> moe_configs();
// Throws std::invalid_argument naming the field unless E >= 1, 1 <= k <= E, H >= 1, I >= 1.
void check_moe_config(const MoeConfig& config);

enum class MoeStrategy {
  dense_equivalent,
  per_expert_loop,
  per_expert_graph,
  grouped,
  padded_batched,
  lt_grouped,
};
inline constexpr std::array<MoeStrategy, 6> kMoeStrategies = {
    MoeStrategy::dense_equivalent, MoeStrategy::per_expert_loop, MoeStrategy::per_expert_graph,
    MoeStrategy::grouped,          MoeStrategy::padded_batched,  MoeStrategy::lt_grouped};
std::string_view strategy_label(MoeStrategy strategy);
// Inverse of strategy_label; throws std::invalid_argument naming the text otherwise.
MoeStrategy parse_strategy(std::string_view label);
// Whether the strategy's GEMM shapes are host arguments that depend on the counts.
bool needs_host_counts(MoeStrategy strategy);

struct MoeWorkOptions {
  // The benchmark copies the counts from the device and synchronizes before dispatching (only
  // for strategies with needs_host_counts; ignored by the others).
  bool counts_from_device = false;
};

// The `counts=` label value:
//   d2h      the host needed the counts and copied them from the device (1 sync counted);
//   host     the host needed the counts and already had them (the benchmark routed on the host;
//            an engine would pay the d2h copy);
//   captured per_expert_graph: the shapes were fixed when the graph was captured;
//   device   lt_grouped: the shapes stay on the device;
//   none     dense_equivalent: no routing.
std::string_view counts_label(MoeStrategy strategy, const MoeWorkOptions& options);

// Whether the benchmark times the strategy on the host: per_expert_loop (its cost is its host
// launches), and a strategy that waits for its counts inside each layer (counts_from_device with
// needs_host_counts), which a batch held behind the blocking kernel cannot do.
bool host_timed(MoeStrategy strategy, const MoeWorkOptions& options);

struct MoeWork {
  Work work;                        // the counters the benchmark declares (flops = executed)
  double useful_flops = 0;          // flops of the routed tokens (= work.flops but for padding)
  double weight_bytes = 0;          // the part of work.bytes that is expert (or dense) weights
  double activation_bytes = 0;      // the rest: activations in and out of each GEMM
  int problems_per_projection = 0;  // GEMMs each projection runs: the active experts, E for
                                    // padded_batched, 1 for dense_equivalent
  std::int64_t max_gemm_m = 0;      // the largest M among them (B for dense_equivalent)

  bool operator==(const MoeWork&) const = default;
};

// The work of one MoE layer's expert FFN for per-expert token counts (size E, each in [0, B],
// summing to B·k for some B; checked, std::invalid_argument otherwise).
MoeWork moe_work(MoeStrategy strategy, const MoeConfig& config, GemmDtype dtype,
                 std::span<const std::int64_t> counts, const MoeWorkOptions& options = {});
// The same for a routing, whose experts and top_k must be the config's.
MoeWork moe_work(MoeStrategy strategy, const MoeConfig& config, GemmDtype dtype,
                 const Routing& routing, const MoeWorkOptions& options = {});

// The labels of one MoE benchmark: dtype, model, strategy, routing, counts, and op=d2h where the
// counts are copied from the device. Merge with the harness's own (cache=, timing=) before
// format_label().
Labels moe_labels(MoeStrategy strategy, const MoeConfig& config, GemmDtype dtype,
                  const RoutingSpec& routing, const MoeWorkOptions& options = {});

// Efficiency against dense_equivalent at the same B: the ratio of achieved FLOP/s, a strategy's
// (from its useful_flops, e.g. derive_rates(Work{.flops = useful_flops}, t)) over
// dense_equivalent's. Both rates must be positive and finite (std::invalid_argument otherwise).
// As every strategy's useful FLOPs equal dense_equivalent's, this is also t_dense / t_strategy.
double efficiency_vs_dense(double strategy_flops_per_s, double dense_flops_per_s);

}  // namespace batchcost
