// The predictor of `batchcost predict` (see predict.h).
#include "model/predict.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "collectives/ops.h"
#include "model/model_file.h"
#include "moe/routing.h"

namespace batchcost {
namespace {

struct Builder {
  const LlmConfig& model;
  const Deployment& d;
  std::vector<Op> ops;

  // Kernels as launches or, in a CUDA graph, as graph nodes.
  Work kernels(double n) const {
    Work w;
    (d.cuda_graphs ? w.graph_nodes : w.launches) = n;
    return w;
  }

  void add(const std::string& name, const std::string& kind, double count, Work work,
           const std::string& dtype = "", const std::string& net_op = "", int ranks = 0) {
    Op op;
    op.name = name;
    op.kind = kind;
    op.count = count;
    op.sample.name = name;
    op.sample.family = "predict";
    op.sample.work = work;
    if (work.flops > 0) op.sample.labels["dtype"] = dtype;
    if (!net_op.empty()) {
      op.sample.labels["op"] = net_op;
      op.sample.ranks = ranks;
    }
    ops.push_back(std::move(op));
  }

  // C[m, n] = A[m, k]·B[k, n]: weights B in w bytes, activations in a bytes (gemm_shapes.h).
  void gemm(const std::string& name, double count, double m, double k, double n, double w, double a,
            const std::string& dtype) {
    Work work = kernels(1);
    work.flops = 2 * m * n * k;
    work.bytes = k * n * w + (m * k + m * n) * a;
    add(name, "gemm", count, work, dtype);
  }

  void elementwise(const std::string& name, double count, double bytes, double n_kernels) {
    Work work = kernels(n_kernels);
    work.bytes = bytes;
    add(name, "elementwise", count, work);
  }

  // A collective of nccl-tests' `size_bytes` over `ranks` GPUs.
  void collective(const std::string& name, double count, collective::Op op, int ranks,
                  double size_bytes) {
    Work work;
    work.net_bytes =
        collective::net_bytes(op, ranks, static_cast<std::size_t>(std::ceil(size_bytes)));
    work.collectives = 1;
    add(name, "collective", count, work, "", std::string(collective::op_name(op)), ranks);
  }
};

double ceil_div(double a, double b) { return std::ceil(a / b - 1e-12); }

}  // namespace

MissingConstants::MissingConstants(std::vector<std::string> names)
    : InputError("the constants lack what this prediction needs"), missing(std::move(names)) {}

Deployment resolve(const Deployment& in, const LlmConfig& model) {
  Deployment d = in;
  auto fail = [](const std::string& flag, const std::string& why) {
    throw InputError("--" + flag + ": " + why);
  };
  if (d.tp < 1) fail("tp", "must be at least 1");
  if (d.pp < 1) fail("pp", "must be at least 1");
  if (d.ep < 1) fail("ep", "must be at least 1");
  if (d.gpus_per_node < 1) fail("gpus-per-node", "must be at least 1");
  if (d.gpus == 0) d.gpus = d.tp * d.pp;
  if (d.gpus < 1 || d.gpus % (d.tp * d.pp) != 0) {
    fail("gpus",
         std::to_string(d.gpus) + " is not a multiple of tp·pp = " + std::to_string(d.tp * d.pp));
  }
  if (d.pp > model.layers)
    fail("pp", "more stages than the model's " + std::to_string(model.layers) + " layers");
  const AttentionConfig& a = model.attention;
  if (a.heads % d.tp != 0) {
    fail("tp", std::to_string(d.tp) + " does not divide the " + std::to_string(a.heads) +
                   " attention heads");
  }
  if (a.kind != AttentionKind::mla && a.kv_heads % d.tp != 0 && d.tp % a.kv_heads != 0) {
    fail("tp", std::to_string(d.tp) + " and the " + std::to_string(a.kv_heads) +
                   " KV heads do not divide one another");
  }
  const int stage_gpus = d.gpus / d.pp;
  if (d.ep > 1) {
    if (!model.ffn.moe) fail("ep", "the model has no experts");
    if (model.ffn.experts % d.ep != 0) {
      fail("ep", std::to_string(d.ep) + " does not divide the " +
                     std::to_string(model.ffn.experts) + " experts");
    }
    if (stage_gpus % d.ep != 0) {
      fail("ep", std::to_string(d.ep) + " does not divide the " + std::to_string(stage_gpus) +
                     " GPUs of a stage (gpus / pp)");
    }
  }
  if (d.micro_batches == 0) d.micro_batches = d.pp;
  if (d.micro_batches < 1) fail("micro-batches", "must be at least 1");
  return d;
}

int data_parallel(const Deployment& d) { return d.gpus / (d.tp * d.pp); }

std::vector<Op> decode_ops(const LlmConfig& model, const Deployment& d, double sequences,
                           double tokens_per_sequence, double context) {
  Builder b{model, d, {}};
  const double tp = d.tp, pp = d.pp, ep = d.ep;
  const double h = static_cast<double>(model.hidden);
  const double m = sequences * tokens_per_sequence;
  const double L = context;
  const double w = dtype_bytes(model.precision.weights);
  const double a = dtype_bytes(model.precision.activations);
  const double kv = dtype_bytes(model.precision.kv_cache);
  const std::string g = gemm_dtype(model.precision);
  const std::string act = model.precision.activations;
  const double layers = model.layers / pp;
  const AttentionConfig& at = model.attention;
  const double heads = at.heads / tp;

  // Attention, every layer.
  b.elementwise("attn_norm", layers, 2 * m * h * a, 1);
  if (at.kind == AttentionKind::mla) {
    const double lora = at.kv_lora_rank, rope = at.qk_rope_head_dim, nope = at.qk_nope_head_dim;
    const double q_rank = at.q_lora_rank;
    // NOTES: the down projections are replicated across tp (as SGLang and vLLM run MLA): their
    // output, the latent, is what every head needs.
    b.gemm("mla_down", layers, m, h, q_rank + lora + rope, w, a, g);
    if (q_rank > 0) {
      b.gemm("q_up", layers, m, q_rank, heads * (nope + rope), w, a, g);
    }
    // Absorbed form: W_UK turns each head's query into the latent space, W_UV the attention's
    // latent output into each head's values: per head [m, nope]·[nope, lora], [m, lora]·[lora, v].
    b.gemm("q_absorb", layers, m * heads, nope, lora, w * heads, a, g);
    Work attn = b.kernels(1);
    attn.flops = 2 * m * heads * (2 * lora + rope) * L;
    attn.bytes = sequences * L * (lora + rope) * kv + m * (lora + rope) * kv +
                 m * heads * (2 * lora + rope) * a;
    b.add("attention", "attention", layers, attn, act);
    b.gemm("v_up", layers, m * heads, lora, at.v_head_dim, w * heads, a, g);
    b.gemm("o_proj", layers, m, heads * at.v_head_dim, h, w, a, g);
  } else {
    const double d_head = at.head_dim;
    const double kv_heads = std::max(1.0, at.kv_heads / tp);
    b.gemm("qkv_proj", layers, m, h, (heads + 2 * kv_heads) * d_head, w, a, g);
    Work attn = b.kernels(1);
    attn.flops = 4 * m * heads * d_head * L;
    attn.bytes = sequences * L * 2 * kv_heads * d_head * kv + m * 2 * kv_heads * d_head * kv +
                 2 * m * heads * d_head * a;
    b.add("attention", "attention", layers, attn, act);
    b.gemm("o_proj", layers, m, heads * d_head, h, w, a, g);
  }
  if (d.tp > 1) {
    b.collective("attn_all_reduce", layers, collective::Op::all_reduce, d.tp, m * h * a);
  }

  // FFN: dense layers, then MoE layers.
  const FfnConfig& f = model.ffn;
  const double dense_layers = (f.moe ? f.dense_layers : model.layers) / pp;
  const double moe_layers = f.moe ? (model.layers - f.dense_layers) / pp : 0;
  const double ffn_layers = dense_layers + moe_layers;
  b.elementwise("ffn_norm", ffn_layers, 2 * m * h * a, 1);
  if (dense_layers > 0) {
    const double i = static_cast<double>(f.intermediate) / tp;
    b.gemm("gate_up", dense_layers, m, h, 2 * i, w, a, g);
    b.elementwise("ffn_activation", dense_layers, 3 * m * i * a, 1);
    b.gemm("down", dense_layers, m, i, h, w, a, g);
    if (d.tp > 1) {
      b.collective("ffn_all_reduce", dense_layers, collective::Op::all_reduce, d.tp, m * h * a);
    }
  }
  if (moe_layers > 0) {
    const double e = f.experts, k = f.top_k;
    const bool expert_parallel = d.ep > 1;
    // Tokens this GPU routes, the tokens of its expert group, the experts it holds.
    const double own = expert_parallel ? m / tp : m;
    const double group = expert_parallel ? ep * own : m;
    const double i_e = static_cast<double>(f.expert_intermediate) / (expert_parallel ? 1 : tp);
    const double c = own * k;  // (token, expert) assignments this GPU computes
    const double active = expected_active_experts(e, k, group) / ep;
    Work router = b.kernels(2);  // the gate GEMM and the top-k
    router.flops = 2 * own * h * e;
    router.bytes = h * e * a + own * (h + e) * a;
    b.add("router", "gemm", moe_layers, router, act);
    if (f.shared_experts > 0) {
      const double i_s = static_cast<double>(f.shared_intermediate) * f.shared_experts /
                         (expert_parallel ? 1 : tp);
      b.gemm("shared_gate_up", moe_layers, own, h, 2 * i_s, w, a, g);
      b.elementwise("shared_activation", moe_layers, 3 * own * i_s * a, 1);
      b.gemm("shared_down", moe_layers, own, i_s, h, w, a, g);
    }
    if (expert_parallel) {
      b.collective("moe_dispatch", moe_layers, collective::Op::all_to_all, d.ep, c * h * a);
    }
    b.elementwise("moe_permute", moe_layers, 4 * c * h * a, 2);
    // Grouped GEMMs over the active experts (moe/work.h, strategy grouped): each active
    // expert's weights read once, each assignment's activations in and out.
    Work gate_up = b.kernels(1);
    gate_up.flops = 2 * c * h * 2 * i_e;
    gate_up.bytes = active * h * 2 * i_e * w + c * (h + 2 * i_e) * a;
    b.add("experts_gate_up", "gemm", moe_layers, gate_up, g);
    b.elementwise("experts_activation", moe_layers, 3 * c * i_e * a, 1);
    Work down = b.kernels(1);
    down.flops = 2 * c * i_e * h;
    down.bytes = active * i_e * h * w + c * (i_e + h) * a;
    b.add("experts_down", "gemm", moe_layers, down, g);
    if (expert_parallel) {
      b.collective("moe_combine", moe_layers, collective::Op::all_to_all, d.ep, c * h * a);
      if (d.tp > 1) {
        b.collective("moe_all_gather", moe_layers, collective::Op::all_gather, d.tp, m * h * a);
      }
    } else if (d.tp > 1) {
      b.collective("moe_all_reduce", moe_layers, collective::Op::all_reduce, d.tp, m * h * a);
    }
  }

  // Once per model, spread over the stages; and the send from one stage to the next.
  const double once = 1 / pp;
  const double v = static_cast<double>(model.vocab) / tp;
  b.elementwise("embedding", once, 2 * m * h * a, 1);
  b.elementwise("final_norm", once, 2 * m * h * a, 1);
  b.gemm("lm_head", once, m, h, v, w, a, g);
  b.elementwise("sampling", once, m * v * a, 1);
  if (d.pp > 1) {
    b.collective("pp_send", 1, collective::Op::send_recv, 2, m * h * a);
  }
  if (d.cuda_graphs) {
    Work launch;
    launch.launches = 1;
    b.add("graph_launch", "launch", 1, launch);
  }
  return std::move(b.ops);
}

namespace {

// Prices one part of an op's work (latency, network, flops or bytes alone) with predict().
double part(const Constants& constants, const Op& op, const Work& work, std::set<std::string>& used,
            std::vector<std::string>& missing) {
  if (declares_nothing(work)) return 0;
  Sample s = op.sample;
  s.work = work;
  Prediction p = predict(constants, s);
  if (!p.missing.empty()) {
    missing.push_back(p.missing);
    return 0;
  }
  if (work.flops > 0) used.insert("P[" + dtype_of(s) + "]");
  if (work.bytes > 0) used.insert("W");
  for (size_t i = 0; i < kLatencyKinds.size(); ++i) {
    if (work_field(work, kLatencyCounters[i]) > 0) {
      used.insert("λ[" + std::string(kLatencyKinds[i]) + "]");
    }
  }
  if (collective_count(work) > 0) used.insert("network " + net_key_name(net_key_of(s)));
  return p.time_s * op.count;
}

PricedOp price_into(const Constants& constants, const Op& op, std::vector<std::string>& missing) {
  PricedOp p;
  p.op = op;
  const Work& w = op.sample.work;
  Work latency, network, flops, bytes;
  latency.launches = w.launches;
  latency.graph_nodes = w.graph_nodes;
  latency.syncs = w.syncs;
  network.net_bytes = w.net_bytes;
  network.collectives = w.collectives;
  flops.flops = w.flops;
  bytes.bytes = w.bytes;
  p.split.latency = part(constants, op, latency, p.constants, missing);
  p.split.network = part(constants, op, network, p.constants, missing);
  p.compute_s = part(constants, op, flops, p.constants, missing);
  p.memory_s = part(constants, op, bytes, p.constants, missing);
  (p.compute_s >= p.memory_s ? p.split.arithmetic : p.split.memory) =
      std::max(p.compute_s, p.memory_s);
  return p;
}

[[noreturn]] void throw_missing(std::vector<std::string> missing) {
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  throw MissingConstants(std::move(missing));
}

}  // namespace

PricedOp price(const Constants& constants, const Op& op) {
  std::vector<std::string> missing;
  PricedOp p = price_into(constants, op, missing);
  if (!missing.empty()) throw_missing(std::move(missing));
  return p;
}

StepPrediction predict_step(const Constants& constants, const LlmConfig& model,
                            const PredictOptions& options, double batch) {
  if (!(batch >= 1) || !std::isfinite(batch)) throw InputError("--batch: must be at least 1");
  const Deployment d = resolve(options.deployment, model);
  const double group = ceil_div(batch, data_parallel(d));  // sequences per attention group
  const double micro = std::min<double>(d.micro_batches, group);
  StepPrediction s;
  s.batch = batch;
  s.sequences = ceil_div(group, micro);
  std::vector<std::string> missing;
  for (const Op& op :
       decode_ops(model, d, s.sequences, options.tokens_per_sequence, options.context)) {
    s.ops.push_back(price_into(constants, op, missing));
  }
  if (!missing.empty()) throw_missing(std::move(missing));

  Split stage;
  double compute_s = 0, memory_s = 0;
  for (const PricedOp& p : s.ops) {
    stage.latency += p.split.latency;
    stage.network += p.split.network;
    stage.arithmetic += p.split.arithmetic;
    stage.memory += p.split.memory;
    compute_s += p.compute_s;
    memory_s += p.memory_s;
    s.constants.insert(p.constants.begin(), p.constants.end());
  }
  if (options.whole_step) {
    // Arithmetic and memory overlap over the whole step, not op by op.
    stage.arithmetic = compute_s >= memory_s ? compute_s : 0;
    stage.memory = compute_s >= memory_s ? 0 : memory_s;
  }
  s.stage_s = stage.total();
  const double cycle = std::max<double>(micro, d.pp);
  s.step_s = cycle * s.stage_s;
  s.bubble_s = (cycle - micro) * s.stage_s;
  s.split = {micro * stage.arithmetic, micro * stage.memory, micro * stage.network,
             micro * stage.latency};
  s.tokens_per_s_per_user = 1 / s.step_s;
  s.tokens_per_s = batch / s.step_s;
  s.tokens_per_s_per_gpu = s.tokens_per_s / d.gpus;
  s.gpu_hours_per_million = d.gpus * s.step_s / batch / 3600 * 1e6;
  s.cost_per_million = options.price_per_gpu_hour * s.gpu_hours_per_million;

  // Memory a GPU holds: its share of the weights, and the KV cache of its sequences.
  const ParameterCounts pc = parameter_counts(model);
  const AttentionConfig& at = model.attention;
  double replicated = pc.router, split_tp = pc.attention + pc.dense_ffn + pc.embedding + pc.lm_head;
  if (at.kind == AttentionKind::mla) {
    const double down = static_cast<double>(model.hidden) *
                        (at.q_lora_rank + at.kv_lora_rank + at.qk_rope_head_dim) * model.layers;
    replicated += down;
    split_tp -= down;
  }
  double experts = d.ep > 1 ? pc.routed_experts / d.ep + pc.shared_experts
                            : (pc.routed_experts + pc.shared_experts) / d.tp;
  s.weight_bytes_per_gpu =
      (replicated + split_tp / d.tp + experts) / d.pp * dtype_bytes(model.precision.weights);
  const double kv_split = at.kind == AttentionKind::mla ? 1 : std::min<double>(d.tp, at.kv_heads);
  s.kv_bytes_per_gpu = group * options.context * kv_elements_per_token_layer(at) * model.layers /
                       d.pp / kv_split * dtype_bytes(model.precision.kv_cache);
  return s;
}

std::vector<StepPrediction> predict_steps(const Constants& constants, const LlmConfig& model,
                                          const PredictOptions& options,
                                          const std::vector<double>& batches) {
  std::vector<StepPrediction> steps;
  std::vector<std::string> missing;
  for (double b : batches) {
    try {
      steps.push_back(predict_step(constants, model, options, b));
    } catch (const MissingConstants& e) {
      missing.insert(missing.end(), e.missing.begin(), e.missing.end());
    }
  }
  if (!missing.empty()) throw_missing(std::move(missing));
  for (StepPrediction& s : steps) {
    s.pareto = std::none_of(steps.begin(), steps.end(), [&](const StepPrediction& o) {
      bool no_worse = o.tokens_per_s_per_user >= s.tokens_per_s_per_user &&
                      o.gpu_hours_per_million <= s.gpu_hours_per_million;
      bool better = o.tokens_per_s_per_user > s.tokens_per_s_per_user ||
                    o.gpu_hours_per_million < s.gpu_hours_per_million;
      return no_worse && better;
    });
  }
  return steps;
}

double expected_tokens_per_verify(int gamma, double acceptance) {
  if (gamma < 0) throw InputError("--gamma: must be at least 0");
  if (!(acceptance >= 0 && acceptance <= 1)) throw InputError("--acceptance: must be in [0, 1]");
  if (acceptance == 1) return gamma + 1;
  return (1 - std::pow(acceptance, gamma + 1)) / (1 - acceptance);
}

SpeculativeStep predict_speculative(const Constants& constants, const LlmConfig& model,
                                    const PredictOptions& options, double batch,
                                    const Speculation& sp) {
  if (!(sp.draft_cost >= 0)) throw InputError("--draft-cost: must be at least 0");
  SpeculativeStep out;
  out.batch = batch;
  PredictOptions plain = options, verify = options;
  plain.tokens_per_sequence = 1;
  verify.tokens_per_sequence = sp.gamma + 1;
  out.step_s = predict_step(constants, model, plain, batch).step_s;
  out.verify_s = predict_step(constants, model, verify, batch).step_s;
  out.tokens_per_verify = expected_tokens_per_verify(sp.gamma, sp.acceptance);
  const double cycle = out.verify_s + sp.gamma * sp.draft_cost * out.step_s;
  out.tokens_per_s_per_user = out.tokens_per_verify / cycle;
  out.speedup = out.tokens_per_verify * out.step_s / cycle;
  return out;
}

ServingWindow serving_window(double rate_per_s, double window_s) {
  if (!(rate_per_s > 0) || !std::isfinite(rate_per_s)) {
    throw InputError("--arrival-rate: must be positive");
  }
  if (!(window_s > 0) || !std::isfinite(window_s)) throw InputError("--window: must be positive");
  ServingWindow w{rate_per_s, window_s, std::max(1.0, ceil_div(rate_per_s * window_s, 1)),
                  window_s / 2, window_s};
  return w;
}

std::set<std::string> constant_names(const Constants& c) {
  std::set<std::string> names;
  for (const auto& [dtype, e] : c.flops_per_s) names.insert("P[" + dtype + "]");
  if (c.hbm_bytes_per_s) names.insert("W");
  for (const auto& [kind, e] : c.latency_s) names.insert("λ[" + kind + "]");
  for (const auto& [key, r] : c.network) names.insert("network " + net_key_name(key));
  return names;
}

std::set<std::string> unmeasured_constants(const nlohmann::json& doc, const std::string& source) {
  std::set<std::string> out;
  if (!doc.is_object()) return out;
  if (doc.contains("measured")) {
    if (!doc["measured"].is_boolean()) throw InputError(source + ": measured: not true or false");
    if (!doc["measured"].get<bool>()) {
      if (!doc.contains("constants") || !doc["constants"].is_object()) return out;
      nlohmann::json bare = {{"schema", kModelSchema}, {"constants", doc["constants"]}};
      // The constants' names, read as model.json reads them.
      return constant_names(model_from_json(bare, source).constants);
    }
  }
  if (doc.contains("unmeasured")) {
    const auto& list = doc["unmeasured"];
    if (!list.is_array()) throw InputError(source + ": unmeasured: not a list of names");
    for (const auto& n : list) {
      if (!n.is_string()) throw InputError(source + ": unmeasured: not a list of names");
      out.insert(n.get<std::string>());
    }
  }
  return out;
}

std::set<std::string> add_stated(Constants& base, const Constants& stated) {
  std::set<std::string> added;
  for (const auto& [dtype, e] : stated.flops_per_s) {
    if (base.flops_per_s.emplace(dtype, e).second) added.insert("P[" + dtype + "]");
  }
  if (!base.hbm_bytes_per_s && stated.hbm_bytes_per_s) {
    base.hbm_bytes_per_s = stated.hbm_bytes_per_s;
    added.insert("W");
  }
  for (const auto& [kind, e] : stated.latency_s) {
    if (base.latency_s.emplace(kind, e).second) added.insert("λ[" + kind + "]");
  }
  for (const auto& [key, r] : stated.network) {
    if (base.network.emplace(key, r).second) added.insert("network " + net_key_name(key));
  }
  return added;
}

}  // namespace batchcost
