// `batchcost predict`: the speed and cost of serving an LLM (model_config.h) on a deployment of
// GPUs whose constants were fitted (model.json), one decode step at a time. Pure host C++.
//
// A decode step is decomposed into the operations a server runs (decode_ops() lists them with
// their work formulas), each becomes a Sample whose Work is priced by the fitter's own
// predict(constants, sample) (cost_model.h), so the predictor and the fitter cannot diverge.
//
// Per operation the time splits into four components, which sum to predict()'s time:
//   latency    Σ count·λ[kind]                          (predict of the latency counters alone)
//   network    c·T_net[op, ranks](net_bytes / c)        (predict of net_bytes and collectives
//   alone) arithmetic max(flops/P, bytes/W) where flops/P binds, else 0 memory     max(flops/P,
//   bytes/W) where bytes/W binds, else 0
// In the whole-step mode (--whole-step: the "inference economics" analysis) arithmetic and memory
// overlap over the whole step instead: max(Σ flops/P, Σ bytes/W) + Σ network + Σ latency.
//
// Deployment. gpus = dp·tp·pp: pp pipeline stages of dp·tp GPUs; attention and dense layers are
// tensor-parallel over tp, with dp attention groups (data parallel) each serving ceil(B/dp) of the
// B sequences. MoE layers are either tensor-parallel too (ep = 1: every GPU holds 1/tp of every
// expert) or expert-parallel (ep > 1, dividing dp·tp and E + redundant: every GPU holds
// (E + redundant) / ep whole experts, tokens travel by all-to-all). Stages are taken as
// balanced: a stage does 1/pp of the model's work.
//
// Memory. Weights and KV cache per GPU against options.gpu_memory_bytes: a batch above
// max_batch_that_fits() does not fit (StepPrediction::fits), is shown as impossible and is off
// the Pareto front.
//
// Pipeline. The B sequences form mb micro-batches; a stage spends t_s per micro-batch (its ops
// plus the send to the next stage), a micro-batch needs pp·t_s to come round again, so one decode
// step (every sequence one token) takes max(mb, pp)·t_s, of which (max(mb, pp) − mb)·t_s is the
// bubble.
//
// Kernel latency (the contract's two kinds). Eager execution: per kernel max(λ[launch],
// λ[kernel]). Launches are asynchronous, so the host issuing kernel i + 1 overlaps the device's
// fixed cost of kernel i; the slower of the two paces a stream of back-to-back kernels (their
// sum would hold only with a host wait after every kernel). At small batch λ[launch] > λ[kernel]:
// eager decode is host-launch bound. A kernel's own work is not credited against the launch (a
// long kernel would let the host run ahead), which keeps the rule conservative. A model.json
// without λ[kernel] (older files) prices eager kernels at λ[launch] alone, and says so. CUDA
// graphs: one λ[launch] per graph per stage and micro-batch, plus λ[graph_node] per kernel node;
// λ[kernel] is not added, since a replayed node's measured cost already holds the device's fixed
// cost; without λ[graph_node] the nodes fall back to λ[kernel], said likewise.
//
// Prefill (prefill_ops) is its own step: the prompt's tokens in one pass (or --chunk tokens at a
// time), attention causal over the prompt, the LM head only on each prompt's last token. A
// request (predict_request) is priced from the two steps: TTFT, TPOT, end-to-end latency and the
// requests per second that `concurrency` requests in flight sustain.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/cost_model.h"
#include "core/moe_crossover.h"
#include "core/sample.h"
#include "core/stated.h"
#include "model/results.h"
#include "predict/model_config.h"

namespace batchcost {

struct Deployment {
  int gpus = 0;  // 0: tp·pp (one replica); else a multiple of tp·pp
  int tp = 1;    // tensor parallelism
  int ep = 1;    // expert parallelism: 1, or a divisor of dp·tp that divides the experts
  int pp = 1;    // pipeline stages
  int gpus_per_node = 8;
  int micro_batches = 0;     // 0: pp
  bool cuda_graphs = false;  // kernels as graph nodes, one graph launch per stage and micro-batch
  // Expert parallelism: ep divides the E + redundant slots that the experts and
  // `redundant_experts` extra replicas (of the hottest experts, as DeepSeek-V3's EPLB places
  // them) fill, (E + redundant) / ep per GPU; resolve() refuses a remainder.
  int redundant_experts = 0;
  // Communication hidden behind compute, per layer, up to the smaller of the two (two
  // micro-batches, one computing while the other communicates).
  bool overlap = false;
  std::string dispatch_dtype{};  // the MoE dispatch all-to-all's type; empty: the activations'
  // The engine's time per step outside the GPU work the cost model prices (scheduling, sampling,
  // detokenization, host gaps between steps), s: added once to every engine step (a decode
  // step, a prefill chunk, a serve step that does both). 0 here; the command line's default is
  // kStatedStepOverheadS.
  double step_overhead_s = 0;
};

// The command line's --step-overhead default, s. Fitted, not assumed: the median gap between
// NVIDIA NIM 1.8.0's measured TPOT of Llama-3.1-8B FP8 on one H100 at one user (five input /
// output lengths, tests/data/predict/published/nim_h100_under_load.json) and batchcost's TPOT of
// the same on the shipped h100 calibration with no overhead. tests/data/predict/published/
// compare.py refits it and its check fails when the fit leaves this value.
inline constexpr double kStatedStepOverheadS = 1.73e-3;

// Checks the deployment against the model and fills gpus and micro_batches; throws InputError
// naming the flag that is wrong.
Deployment resolve(const Deployment& deployment, const LlmConfig& model);
int data_parallel(const Deployment& resolved);  // dp = gpus / (tp·pp)
// Expert slots a GPU holds: (E + redundant) / ep with ep > 1, else E (each split by tp).
int expert_slots_per_gpu(const LlmConfig& model, const Deployment& resolved);

// One operation of a decode step on one GPU: its work per instance and how many instances a step
// runs on that GPU's stage (layers / pp, or 1 for an op that runs once per stage).
struct Op {
  std::string name;  // "qkv_proj", "experts_gate_up", "moe_dispatch", ...
  std::string kind;  // gemm, attention, elementwise, collective
  double count = 1;
  Sample sample;  // work, labels (dtype=, op=), ranks
  // Which layers it belongs to: "all" (attention, every layer), "dense", "moe" (the FFN of those
  // layers), or "stage" (once per stage). Overlap is reckoned per layer from it.
  std::string layer = "all";
  double kernels = 0;  // kernels per instance (launches eagerly, graph nodes in a graph)
};

// The operations of one decode step on one GPU of one stage, for `sequences` sequences in the
// GPU's attention group (per micro-batch), `tokens_per_sequence` tokens each (1 for decode, γ+1
// when a speculative step verifies γ drafted tokens), over `context` tokens of KV cache. Per
// layer, with m = sequences·tokens_per_sequence tokens, a/w/kv the activation, weight and cache
// element sizes and GEMM work as core/gemm_shapes.h (flops 2·m·n·k, bytes (m·k + m·n)·a + k·n·w):
//   attn_norm        elementwise: 2·m·H·a bytes, 1 kernel
//   GQA/MHA          qkv_proj GEMM H → (heads + 2·kv_heads)·d / tp; attention: 4·m·(heads/tp)·d·L
//                    flops, reading seqs·L·2·(kv_heads/tp)·d·kv bytes of cache; o_proj GEMM
//   MLA (absorbed)   mla_down GEMM H → q_lora + kv_lora + rope (replicated); q_up q_lora →
//                    heads/tp·(nope + rope); q_absorb heads/tp·nope → kv_lora; attention
//                    2·m·heads/tp·(2·kv_lora + rope)·L flops reading seqs·L·(kv_lora + rope)·kv
//                    bytes (the latent is shared by all heads, and not split by tp); v_up
//                    kv_lora → heads/tp·v; o_proj
//   attn_all_reduce  tp > 1: all_reduce over tp of m·H·a
//   ffn_norm         elementwise like attn_norm
//   dense FFN        gate_up GEMM H → 2·I/tp, ffn_activation (3·m·I/tp·a bytes), down I/tp → H,
//                    ffn_all_reduce (tp > 1)
//   MoE FFN          router GEMM H → E (+ top-k: 2 kernels); shared_gate_up / shared_down;
//                    moe_permute (gather and scatter, 4·c·H·a bytes, 2 kernels); experts_gate_up
//                    and experts_down as grouped GEMMs (core/moe_work.h) over c assignments and the
//                    expected active experts of this GPU's S slots,
//                    A = expected_active_experts(E, k, T) / E · S (T the tokens of the expert
//                    group; S = E / ep when ep divides E) reading A·3·H·I_e·w bytes of weights;
//                    ep = 1: I_e = I/tp, c = m·k, T = m, moe_all_reduce over tp;
//                    ep > 1: c = (m/tp)·k, T = ep·m/tp, moe_dispatch and moe_combine all_to_all
//                    over ep, each of (m/tp)·k·H·a, and moe_all_gather over tp of m·H·a (tp > 1)
// and once per stage: embedding (m·H·a), final_norm, lm_head GEMM H → V/tp, sampling (reads the
// m·V/tp logits), and pp_send (pp > 1: send_recv over 2 ranks of m·H·a). Per-layer ops count
// layers / pp; once-per-stage ops count 1 / pp but pp_send, which counts 1.
// Every kernel is 1 launch and 1 device kernel (or 1 graph node with cuda_graphs); a
// collective's latency is its fitted α. Network sizes are nccl-tests' sizes, turned into net_bytes
// by core/collective_ops.h. An eager kernel declares both `launches` and `kernels` (1 each); the
// pricing takes the larger of the two costs (see the header). moe_dispatch moves c·H values of the
// dispatch dtype, with an fp8 dispatch also one fp32 scale per 128 values (as DeepEP sends them);
// combine stays in the activations' type.
std::vector<Op> decode_ops(const LlmConfig& model, const Deployment& resolved, double sequences,
                           double tokens_per_sequence, double context);

// The operations of one prefill chunk on one GPU of one stage: `sequences` prompts per attention
// group, `tokens` new tokens each after `prior` tokens already cached (0 for the first or only
// chunk). Differences from decode_ops:
//   attention (GQA/MHA): causal, 4·m·(heads/tp)·d·(prior + (tokens + 1) / 2) flops, reading the
//                    sequences' (prior + tokens) tokens of K and V once (flash attention)
//   MLA:             the non-absorbed form prefill runs: kv_up GEMM kv_lora → heads/tp·(nope + v)
//                    over every cached token, attention 2·m·heads/tp·(nope + rope + v)·L_eff flops;
//                    no q_absorb / v_up
//   lm_head, sampling: over `sequences` rows (each prompt's last token), only when `last` (the
//                    chunk that ends the prompt), else left out.
std::vector<Op> prefill_ops(const LlmConfig& model, const Deployment& resolved, double sequences,
                            double tokens, double prior, bool last);

struct Split {
  double arithmetic = 0;
  double memory = 0;
  double network = 0;
  double latency = 0;
  double hidden = 0;  // network time hidden behind arithmetic and memory (--overlap)
  double total() const { return arithmetic + memory + network + latency - hidden; }
};

struct PricedOp {
  Op op;
  Split split;                      // for all `count` instances
  double compute_s = 0;             // flops / P, all instances (before the max)
  double memory_s = 0;              // bytes / W, all instances
  std::set<std::string> constants;  // the constants it used: "P[bf16]", "W", "λ[launch]", ...
};

// Raised when the constants lack something the ops need; `missing` lists each ("W",
// "network all_to_all/8", ...) once, sorted.
class MissingConstants : public InputError {
 public:
  explicit MissingConstants(std::vector<std::string> missing);
  std::vector<std::string> missing;
};

// Prices one op with predict(); throws MissingConstants.
PricedOp price(const Constants& constants, const Op& op);

// Which latency constants the kernels are priced with, and whether that is a fallback.
struct KernelLatency {
  std::string rule;       // one line for the output
  bool fallback = false;  // λ[kernel] (eager) or λ[graph_node] (graphs) absent
};
KernelLatency kernel_latency(const Constants& constants, bool cuda_graphs);

// Hidden network time of a stage's priced ops with overlap: per layer type t (dense, moe; a
// dense model's layers are all dense), min(network, arithmetic + memory) of one such layer (the
// "all" ops plus the FFN ops of t), times the layers of type t.
double hidden_network_s(const std::vector<PricedOp>& ops);

struct PredictOptions {
  Deployment deployment;
  double context = 4096;
  bool whole_step = false;
  double price_per_gpu_hour = 0;  // 0: no price given
  double tokens_per_sequence = 1;
  double gpu_memory_bytes = 0;  // per GPU; 0: unknown, nothing is refused
  double chunk = 0;             // prefill chunk in tokens; 0: the whole prompt in one pass
};

// Memory a GPU holds (resolved deployment): its share of the weights (replicated MLA down
// projections and router, tp-split attention / dense / embeddings, its expert slots), and the KV
// cache of `sequences` sequences of its attention group over `context` tokens (split by
// min(tp, kv_heads) for GQA, not split for MLA), both over pp stages.
double weight_bytes_per_gpu(const LlmConfig& model, const Deployment& resolved);
double kv_bytes_per_gpu(const LlmConfig& model, const Deployment& resolved, double sequences,
                        double context);
// The largest batch B (sequences over the whole deployment, dp groups of ceil(B / dp)) whose
// weights and KV cache fit in `memory_bytes` per GPU: dp·floor((memory − weights) / KV of one
// sequence); 0 when the weights alone do not fit. No room is kept for activations or the runtime.
long long max_batch_that_fits(const LlmConfig& model, const Deployment& resolved, double context,
                              double memory_bytes);

struct StepPrediction {
  double batch = 0;           // B, sequences over the whole deployment
  double sequences = 0;       // per attention group and micro-batch
  std::vector<PricedOp> ops;  // one stage, one micro-batch
  Split split;                // of the whole step: micro_batches × the stage's ops
  double bubble_s = 0;        // pipeline idle time within the step
  double stage_s = 0;         // t_s
  double overhead_s = 0;      // the deployment's step_overhead_s, within step_s
  double step_s = 0;          // cycle · t_s + overhead_s
  double tokens_per_s_per_user = 0;
  double tokens_per_s = 0;  // all sequences
  double tokens_per_s_per_gpu = 0;
  double gpu_hours_per_million = 0;
  double cost_per_million = 0;  // 0 without a price
  double weight_bytes_per_gpu = 0;
  double kv_bytes_per_gpu = 0;
  bool fits = true;     // weights + KV cache within options.gpu_memory_bytes (true if unknown)
  bool pareto = false;  // fits, and no other fitting batch is both faster per user and cheaper
  std::set<std::string> constants;
};

// The share of a step's time (its ops' arithmetic, memory, network and latency) priced with weak
// constants (`weak`: stated or unidentified), in all and per constant (an op's arithmetic goes
// to its P, memory to W, network to its network constant, latency to its λs).
struct WeakShare {
  double share = 0;
  std::map<std::string, double> by_constant;
};
WeakShare weak_share(const std::vector<PricedOp>& ops, const std::set<std::string>& weak);
// NOTES: a cell is marked where more than this share of its time is weak: a stated λ[graph_node]
// that prices 1% of a memory-bound step does not make the step a guess.
constexpr double kWeakShareMark = 0.10;

// One decode step at batch B (throws MissingConstants, InputError).
StepPrediction predict_step(const Constants& constants, const LlmConfig& model,
                            const PredictOptions& options, double batch);
// The same at an explicit context (tokens of KV cache per sequence), for callers (serve).
StepPrediction decode_step_time(const Constants& constants, const LlmConfig& model,
                                const PredictOptions& options, double batch, double context);

// Prefill of `prompts` prompts of `tokens` tokens each (spread over the dp attention groups,
// ceil(prompts / dp) each), whole or in chunks of options.chunk tokens. With pp stages the
// chunks pipeline: Σ chunk stage times + (pp − 1)·the longest. fits: the prompts' KV cache.
struct PrefillPrediction {
  double prompts = 0;
  double tokens = 0;
  int chunks = 1;
  std::vector<StepPrediction> chunk_steps;  // one stage, per chunk (step_s = its stage time)
  Split split;                              // all chunks, one stage
  double time_s = 0;
  double tokens_per_s = 0;  // prompt tokens over the whole deployment
  bool fits = true;
  std::set<std::string> constants;
};
PrefillPrediction prefill_time(const Constants& constants, const LlmConfig& model,
                               const PredictOptions& options, double prompts, double tokens);

// One request shape at `concurrency` requests in flight (continuous batching, no chunked
// interleaving): each request's prefill runs as its own step (one prompt per attention group,
// ceil(concurrency / dp) such prefills a cycle), then output − 1 decode steps at batch
// concurrency over the mean context input + output / 2. Per cycle every request in flight is
// prefilled once and decodes its output, so
//   TTFT  = t_prefill                         (no queueing)
//   cycle = ceil(c / dp)·t_prefill + (output − 1)·t_decode
//   E2E   = cycle,   TPOT = (E2E − TTFT) / (output − 1)  (decode plus the others' prefill stalls)
//   requests/s = c / cycle,  output tokens/s = c·output / cycle
struct RequestPrediction {
  double input = 0, output = 0, concurrency = 0;
  double ttft_s = 0, tpot_s = 0, e2e_s = 0, decode_step_s = 0, cycle_s = 0;
  double requests_per_s = 0, output_tokens_per_s = 0, output_tokens_per_s_per_gpu = 0;
  bool fits = true;  // concurrency sequences of input + output tokens
  std::set<std::string> constants;
};
RequestPrediction predict_request(const Constants& constants, const LlmConfig& model,
                                  const PredictOptions& options, double input, double output,
                                  double concurrency);
// The mean over request shapes of each field (requests/s: concurrency over the mean cycle).
RequestPrediction mean_request(const std::vector<RequestPrediction>& requests);

// Steps for every batch, with the Pareto front of tokens/s per user against GPU-hours per
// million tokens marked among the batches that fit in memory.
std::vector<StepPrediction> predict_steps(const Constants& constants, const LlmConfig& model,
                                          const PredictOptions& options,
                                          const std::vector<double>& batches);

// Speculative decoding (Leviathan et al. 2023): a target step verifies γ drafted tokens per
// sequence; with acceptance α per token it yields E = (1 − α^(γ+1)) / (1 − α) tokens (γ + 1 at
// α = 1). The γ draft steps cost t_draft each: a draft model's own decode step on the same
// GPUs and deployment (tp, pp; no ep), or draft_cost × the plain step when given as a ratio.
// Speed-up = E·t_step / (t_verify + γ·t_draft), t_verify the step at γ + 1 tokens per sequence.
struct Speculation {
  int gamma = 0;
  double acceptance = 0;
  double draft_cost = 0;             // ratio, used without a draft model
  const LlmConfig* draft = nullptr;  // priced on the same constants when set
};
double expected_tokens_per_verify(int gamma, double acceptance);
struct SpeculativeStep {
  double batch = 0;
  double step_s = 0;    // plain decode
  double verify_s = 0;  // the target at γ + 1 tokens per sequence
  double draft_s = 0;   // one draft step
  double cycle_s = 0;   // t_verify + γ·t_draft
  double tokens_per_verify = 0;
  double tokens_per_s_per_user = 0;
  double tokens_per_s_per_gpu = 0;
  double gpu_hours_per_million = 0;
  double cost_per_million = 0;  // 0 without a price
  double speedup = 0;
  bool fits = true;  // the target's weights and KV cache (the draft's are not counted)
};
SpeculativeStep predict_speculative(const Constants& constants, const LlmConfig& model,
                                    const PredictOptions& options, double batch,
                                    const Speculation& speculation);

// A serving window: requests arriving at `rate_per_s`, collected for `window_s` and decoded
// together: the batch it forms, ceil(rate·window) (at least 1), and the extra wait a request
// spends in the window, window / 2 on average (arrivals uniform over it), window at most.
struct ServingWindow {
  double rate_per_s = 0;
  double window_s = 0;
  double batch = 0;
  double mean_wait_s = 0;
  double max_wait_s = 0;
};
ServingWindow serving_window(double rate_per_s, double window_s);

// The names of the constants that are stated, not measured: every constant of a model.json with
// "measured": false, and those its "unmeasured" list names ("P[bf16]", "W", "λ[launch]",
// "network all_reduce/8"). Throws InputError naming `source` for a malformed list.
std::set<std::string> unmeasured_constants(const nlohmann::json& model_doc,
                                           const std::string& source);
// constant_names and add_stated: core/stated.h.

// The network constants `ops` use outside the sizes they were fitted on, by more than `factor`
// either way (core/regimes.h; a regime without a stored range is not judged): one line per
// network operation, "network all_reduce/8 at 16 KiB per collective, fitted on 128 MiB .. 4 GiB",
// sorted. A decode all-reduce priced with a latency fitted on gigabyte messages is a guess.
std::vector<std::string> extrapolated_network(const Constants& constants,
                                              const std::vector<PricedOp>& ops,
                                              double factor = 4.0);

// The MoE crossover of the model's expert FFN (core/moe_crossover.h): one GPU running one MoE
// layer's routed experts (all E of them, uniform routing as batchcost-moe runs it) at the GEMM
// dtype of the model, over B = 1, 2, 4, … kMoeCrossoverLargest, priced by `constants`. Nothing
// for a dense model; `missing` names the first constant the pricing lacks (the curve is then
// empty).
inline constexpr std::int64_t kMoeCrossoverLargest = 1 << 18;
struct MoeCrossoverPrediction {
  MoeConfig config;
  std::string dtype;
  MoeCurve curve;
  MoeCrossovers at;
  std::string missing;
};
std::optional<MoeCrossoverPrediction> predict_moe_crossover(const Constants& constants,
                                                            const LlmConfig& model);

}  // namespace batchcost
