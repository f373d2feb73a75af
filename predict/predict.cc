// The predictor of `batchcost predict` (see predict.h).
#include "predict/predict.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "core/collective_ops.h"
#include "core/format.h"
#include "core/model_file.h"
#include "core/moe_routing.h"
#include "core/regimes.h"

namespace batchcost {
namespace {

struct Builder {
  const LlmConfig& model;
  const Deployment& d;
  std::vector<Op> ops;
  std::string layer = "all";

  // Kernels as graph nodes in a CUDA graph; eagerly, each both a host launch and a device kernel
  // (priced at the larger of the two, predict.h).
  Work kernels(double n) const {
    Work w;
    if (d.cuda_graphs) {
      w.graph_nodes = n;
    } else {
      w.launches = n;
      w.kernels = n;
    }
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
    op.layer = layer;
    op.kernels = kind == "launch" ? 0 : work.graph_nodes + work.kernels;
    if (work.flops > 0) op.sample.labels["dtype"] = dtype;
    if (!net_op.empty()) {
      op.sample.labels["op"] = net_op;
      op.sample.ranks = ranks;
    }
    ops.push_back(std::move(op));
  }

  // The shape labels the refined form's GEMM terms read (core/forms.h: m, n, k per group,
  // groups, layout) on the last op added. Expected token counts are fractional; a label holds
  // the whole rows a kernel runs, at least one.
  void label_shape(double m, double n, double k, double groups = 1, bool grouped = false) {
    auto whole = [](double v) {
      return std::to_string(std::max<long long>(1, std::llround(std::ceil(v - 1e-9))));
    };
    Labels& l = ops.back().sample.labels;
    l["m"] = whole(m);
    l["n"] = whole(n);
    l["k"] = whole(k);
    if (grouped) {
      l["groups"] = std::to_string(std::max<long long>(1, std::llround(groups)));
      l["layout"] = "grouped";
    }
  }

  // C[m, n] = A[m, k]·B[k, n]: weights B in w bytes, activations in a bytes (gemm_shapes.h).
  void gemm(const std::string& name, double count, double m, double k, double n, double w, double a,
            const std::string& dtype) {
    Work work = kernels(1);
    work.flops = 2 * m * n * k;
    work.bytes = k * n * w + (m * k + m * n) * a;
    add(name, "gemm", count, work, dtype);
    label_shape(m, n, k);
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
  if (d.redundant_experts < 0) fail("redundant-experts", "must be at least 0");
  if (d.redundant_experts > 0 && d.ep == 1) {
    fail("redundant-experts", "needs expert parallelism (--ep above 1)");
  }
  if (d.ep > 1) {
    if (!model.ffn.moe) fail("ep", "the model has no experts");
    if (stage_gpus % d.ep != 0) {
      fail("ep", std::to_string(d.ep) + " does not divide the " + std::to_string(stage_gpus) +
                     " GPUs of a stage (gpus / pp)");
    }
    // Every GPU of an expert group holds the same number of expert slots; a remainder would leave
    // some GPUs an expert short (and price all_to_all over a group the model cannot form).
    if ((static_cast<long long>(model.ffn.experts) + d.redundant_experts) % d.ep != 0) {
      fail("ep",
           std::to_string(d.ep) + " does not divide the model's " +
               std::to_string(model.ffn.experts) + " experts" +
               (d.redundant_experts > 0 ? " + " + std::to_string(d.redundant_experts) + " redundant"
                                        : std::string()));
    }
  }
  if (!d.dispatch_dtype.empty()) {
    if (d.dispatch_dtype != "fp8" && d.dispatch_dtype != "fp8_e4m3" && d.dispatch_dtype != "bf16" &&
        d.dispatch_dtype != "fp16") {
      fail("dispatch-dtype", "'" + d.dispatch_dtype + "' is not bf16, fp16 or fp8");
    }
    if (d.dispatch_dtype == "fp8") d.dispatch_dtype = "fp8_e4m3";
    if (d.ep == 1) fail("dispatch-dtype", "needs expert parallelism (--ep above 1)");
  }
  if (d.micro_batches == 0) d.micro_batches = d.pp;
  if (d.micro_batches < 1) fail("micro-batches", "must be at least 1");
  if (!(d.step_overhead_s >= 0) || !std::isfinite(d.step_overhead_s)) {
    fail("step-overhead", "must be a finite number of seconds, at least 0");
  }
  return d;
}

int data_parallel(const Deployment& d) { return d.gpus / (d.tp * d.pp); }

int expert_slots_per_gpu(const LlmConfig& model, const Deployment& d) {
  if (!model.ffn.moe) return 0;
  if (d.ep == 1) return model.ffn.experts;
  return (model.ffn.experts + d.redundant_experts) / d.ep;  // resolve() refused a remainder
}

namespace {

// Decode (prefill = false: `context` tokens cached, attention over them) or one prefill chunk
// (prefill = true: `context` = the prior tokens cached, causal attention over the chunk).
// The MoE layers' ops for `m` tokens on this GPU: the router, the shared experts, the dispatch
// and combine all-to-alls under expert parallelism, and the grouped expert GEMMs over the experts
// expected to be active. `w`, `a` the bytes of a weight and an activation, `g` the GEMMs' type.
void add_moe_ops(Builder& b, const LlmConfig& model, const Deployment& d, double m,
                 double moe_layers, double w, double a, const std::string& g) {
  const FfnConfig& f = model.ffn;
  const double h = static_cast<double>(model.hidden);
  const double tp = d.tp, ep = d.ep;
  const std::string& act = model.precision.activations;
  b.layer = "moe";
  const double e = f.experts, k = f.top_k;
  const bool expert_parallel = d.ep > 1;
  // Tokens this GPU routes, the tokens of its expert group, the experts it holds.
  const double own = expert_parallel ? m / tp : m;
  const double group = expert_parallel ? ep * own : m;
  const double i_e = static_cast<double>(f.expert_intermediate) / (expert_parallel ? 1 : tp);
  const double c = own * k;  // (token, expert) assignments this GPU computes
  // The expected active experts' share of this GPU's slots (E / ep whole experts when ep
  // divides E and nothing is redundant; 1/tp of every expert when ep = 1).
  const double slots = expert_parallel ? expert_slots_per_gpu(model, d) : e;
  const double active = expected_active_experts(e, k, group) / e * slots;
  Work router = b.kernels(2);  // the gate GEMM and the top-k
  router.flops = 2 * own * h * e;
  router.bytes = h * e * a + own * (h + e) * a;
  b.add("router", "gemm", moe_layers, router, act);
  if (f.shared_experts > 0) {
    const double i_s =
        static_cast<double>(f.shared_intermediate) * f.shared_experts / (expert_parallel ? 1 : tp);
    b.gemm("shared_gate_up", moe_layers, own, h, 2 * i_s, w, a, g);
    b.elementwise("shared_activation", moe_layers, 3 * own * i_s * a, 1);
    b.gemm("shared_down", moe_layers, own, i_s, h, w, a, g);
  }
  if (expert_parallel) {
    const std::string& dt = d.dispatch_dtype.empty() ? act : d.dispatch_dtype;
    const double per_value = dtype_bytes(dt) + (dtype_bytes(dt) == 1 ? 4.0 / 128 : 0);
    b.collective("moe_dispatch", moe_layers, collective::Op::all_to_all, d.ep, c * h * per_value);
  }
  b.elementwise("moe_permute", moe_layers, 4 * c * h * a, 2);
  // Grouped GEMMs over the active experts (core/moe_work.h, strategy grouped): each active
  // expert's weights read once, each assignment's activations in and out.
  Work gate_up = b.kernels(1);
  gate_up.flops = 2 * c * h * 2 * i_e;
  gate_up.bytes = active * h * 2 * i_e * w + c * (h + 2 * i_e) * a;
  b.add("experts_gate_up", "gemm", moe_layers, gate_up, g);
  // One grouped kernel: the active experts as groups of c / active rows each (at least one).
  const double groups = std::max(1.0, active), rows = c / groups;
  b.label_shape(rows, 2 * i_e, h, groups, true);
  b.elementwise("experts_activation", moe_layers, 3 * c * i_e * a, 1);
  Work down = b.kernels(1);
  down.flops = 2 * c * i_e * h;
  down.bytes = active * i_e * h * w + c * (i_e + h) * a;
  b.add("experts_down", "gemm", moe_layers, down, g);
  b.label_shape(rows, h, i_e, groups, true);
  if (expert_parallel) {
    b.collective("moe_combine", moe_layers, collective::Op::all_to_all, d.ep, c * h * a);
    if (d.tp > 1) {
      b.collective("moe_all_gather", moe_layers, collective::Op::all_gather, d.tp, m * h * a);
    }
  } else if (d.tp > 1) {
    b.collective("moe_all_reduce", moe_layers, collective::Op::all_reduce, d.tp, m * h * a);
  }
}

std::vector<Op> build_ops(const LlmConfig& model, const Deployment& d, double sequences,
                          double tokens_per_sequence, double context, bool prefill, bool last) {
  Builder b{model, d, {}};
  const double tp = d.tp, pp = d.pp;
  const double h = static_cast<double>(model.hidden);
  const double m = sequences * tokens_per_sequence;
  // Decode: every token attends to the `context` cached tokens. Prefill: token j of the chunk
  // attends to prior + j + 1 tokens, prior + (tokens + 1) / 2 on average; K and V of all
  // prior + tokens are read once.
  const double L = prefill ? context + (tokens_per_sequence + 1) / 2 : context;
  const double cached = prefill ? context + tokens_per_sequence : context;
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
    const double q_rank = at.q_lora_rank, v_dim = at.v_head_dim;
    // NOTES: the down projections are replicated across tp (as SGLang and vLLM run MLA): their
    // output, the latent, is what every head needs.
    b.gemm("mla_down", layers, m, h, q_rank + lora + rope, w, a, g);
    if (q_rank > 0) {
      b.gemm("q_up", layers, m, q_rank, heads * (nope + rope), w, a, g);
    }
    if (prefill) {
      // Non-absorbed: the cached latents are expanded to each head's keys and values.
      b.gemm("kv_up", layers, sequences * cached, lora, heads * (nope + v_dim), w, a, g);
      Work attn = b.kernels(1);
      attn.flops = 2 * m * heads * (nope + rope + v_dim) * L;
      attn.bytes = sequences * cached * heads * (nope + rope + v_dim) * a + m * (lora + rope) * kv +
                   m * heads * (nope + rope + v_dim) * a;
      b.add("attention", "attention", layers, attn, act);
    } else {
      // Absorbed form: W_UK turns each head's query into the latent space, W_UV the attention's
      // latent output into each head's values: per head [m, nope]·[nope, lora], [m, lora]·[lora,
      // v].
      b.gemm("q_absorb", layers, m * heads, nope, lora, w * heads, a, g);
      Work attn = b.kernels(1);
      attn.flops = 2 * m * heads * (2 * lora + rope) * L;
      attn.bytes = sequences * L * (lora + rope) * kv + m * (lora + rope) * kv +
                   m * heads * (2 * lora + rope) * a;
      b.add("attention", "attention", layers, attn, act);
      b.gemm("v_up", layers, m * heads, lora, v_dim, w * heads, a, g);
    }
    b.gemm("o_proj", layers, m, heads * v_dim, h, w, a, g);
  } else {
    const double d_head = at.head_dim;
    const double kv_heads = std::max(1.0, at.kv_heads / tp);
    b.gemm("qkv_proj", layers, m, h, (heads + 2 * kv_heads) * d_head, w, a, g);
    Work attn = b.kernels(1);
    attn.flops = 4 * m * heads * d_head * L;
    attn.bytes = sequences * (prefill ? cached : L) * 2 * kv_heads * d_head * kv +
                 m * 2 * kv_heads * d_head * kv + 2 * m * heads * d_head * a;
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
    b.layer = "dense";
    const double i = static_cast<double>(f.intermediate) / tp;
    b.gemm("gate_up", dense_layers, m, h, 2 * i, w, a, g);
    b.elementwise("ffn_activation", dense_layers, 3 * m * i * a, 1);
    b.gemm("down", dense_layers, m, i, h, w, a, g);
    if (d.tp > 1) {
      b.collective("ffn_all_reduce", dense_layers, collective::Op::all_reduce, d.tp, m * h * a);
    }
  }
  if (moe_layers > 0) add_moe_ops(b, model, d, m, moe_layers, w, a, g);

  // Once per model, spread over the stages; and the send from one stage to the next.
  b.layer = "stage";
  const double once = 1 / pp;
  const double v = static_cast<double>(model.vocab) / tp;
  // Prefill computes logits only for each prompt's last token, in the chunk that ends it.
  const double logits = prefill ? (last ? sequences : 0) : m;
  b.elementwise("embedding", once, 2 * m * h * a, 1);
  if (logits > 0) {
    b.elementwise("final_norm", once, 2 * logits * h * a, 1);
    b.gemm("lm_head", once, logits, h, v, w, a, g);
    b.elementwise("sampling", once, logits * v * a, 1);
  }
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

}  // namespace

std::vector<Op> decode_ops(const LlmConfig& model, const Deployment& d, double sequences,
                           double tokens_per_sequence, double context) {
  return build_ops(model, d, sequences, tokens_per_sequence, context, false, true);
}

std::vector<Op> prefill_ops(const LlmConfig& model, const Deployment& d, double sequences,
                            double tokens, double prior, bool last) {
  return build_ops(model, d, sequences, tokens, prior, true, last);
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
  Work launches, kernels, nodes, syncs, network, flops, bytes;
  launches.launches = w.launches;
  const bool have_kernel = constants.latency_s.count("kernel") > 0;
  // Without λ[kernel] (older model.json files) eager kernels cost λ[launch] alone; without
  // λ[graph_node] graph nodes cost λ[kernel] (kernel_latency() says which).
  if (have_kernel) kernels.kernels = w.kernels;
  if (w.graph_nodes > 0 && !constants.latency_s.count("graph_node") && have_kernel) {
    kernels.kernels += w.graph_nodes;
  } else {
    nodes.graph_nodes = w.graph_nodes;
  }
  syncs.syncs = w.syncs;
  network.net_bytes = w.net_bytes;
  network.collectives = w.collectives;
  flops.flops = w.flops;
  bytes.bytes = w.bytes;
  // Host launches and the device's fixed cost per kernel overlap: the slower paces the stream.
  p.split.latency = std::max(part(constants, op, launches, p.constants, missing),
                             part(constants, op, kernels, p.constants, missing)) +
                    part(constants, op, nodes, p.constants, missing) +
                    part(constants, op, syncs, p.constants, missing);
  p.split.network = part(constants, op, network, p.constants, missing);
  p.compute_s = part(constants, op, flops, p.constants, missing);
  p.memory_s = part(constants, op, bytes, p.constants, missing);
  // Arithmetic and memory together, in the form the constants hold: the epoch form's max of the
  // two parts, the refined form's overlap of them (core/forms.h), as `fit` priced the samples;
  // counted as arithmetic where flops / P is the larger part, else as memory.
  Work both = flops;
  both.bytes = w.bytes;
  const double together = constants.form == Form::kEpoch
                              ? std::max(p.compute_s, p.memory_s)
                              : part(constants, op, both, p.constants, missing);
  (p.compute_s >= p.memory_s ? p.split.arithmetic : p.split.memory) = together;
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

KernelLatency kernel_latency(const Constants& c, bool cuda_graphs) {
  const bool kernel = c.latency_s.count("kernel") > 0;
  if (cuda_graphs) {
    if (c.latency_s.count("graph_node") || !kernel) {
      return {
          "CUDA graphs: λ[launch] per graph + λ[graph_node] per kernel node (a replayed "
          "node's cost holds the device's fixed cost, so λ[kernel] is not added)",
          false};
    }
    return {
        "CUDA graphs: λ[launch] per graph + λ[kernel] per kernel node (fallback: the "
        "constants have no λ[graph_node])",
        true};
  }
  if (kernel) {
    return {
        "eager: per kernel max(λ[launch], λ[kernel]): asynchronous launches overlap the "
        "device's fixed cost per kernel, the slower of the two paces the stream",
        false};
  }
  return {
      "eager: per kernel λ[launch] alone (fallback: the constants have no λ[kernel], an "
      "older model.json; max(λ[launch], λ[kernel]) where it has one)",
      true};
}

double hidden_network_s(const std::vector<PricedOp>& ops) {
  struct Sums {
    double network = 0, compute = 0, layers = 0;
  };
  std::map<std::string, Sums> by;
  for (const PricedOp& p : ops) {
    if (p.op.layer == "stage") continue;
    Sums& s = by[p.op.layer];
    s.network += p.split.network;
    s.compute += p.split.arithmetic + p.split.memory;
    s.layers = std::max(s.layers, p.op.count);
  }
  const Sums all = by["all"];
  double hidden = 0;
  bool any_ffn = false;
  for (const char* type : {"dense", "moe"}) {
    auto it = by.find(type);
    if (it == by.end() || it->second.layers <= 0) continue;
    any_ffn = true;
    const Sums& t = it->second;
    const double net = (all.layers > 0 ? all.network / all.layers : 0) + t.network / t.layers;
    const double compute = (all.layers > 0 ? all.compute / all.layers : 0) + t.compute / t.layers;
    hidden += t.layers * std::min(net, compute);
  }
  if (!any_ffn && all.layers > 0) hidden = std::min(all.network, all.compute);
  return hidden;
}

namespace {

// Prices a stage's ops into `s` (ops, constants) and returns the stage's split: per op, or
// whole-step; with overlap, the hidden network time.
Split price_stage(const Constants& constants, const PredictOptions& options,
                  const std::vector<Op>& ops, std::vector<PricedOp>& priced,
                  std::set<std::string>& used) {
  std::vector<std::string> missing;
  for (const Op& op : ops) priced.push_back(price_into(constants, op, missing));
  if (!missing.empty()) throw_missing(std::move(missing));
  Split stage;
  double compute_s = 0, memory_s = 0;
  for (const PricedOp& p : priced) {
    stage.latency += p.split.latency;
    stage.network += p.split.network;
    stage.arithmetic += p.split.arithmetic;
    stage.memory += p.split.memory;
    compute_s += p.compute_s;
    memory_s += p.memory_s;
    used.insert(p.constants.begin(), p.constants.end());
  }
  if (options.whole_step) {
    // Arithmetic and memory overlap over the whole step, not op by op.
    stage.arithmetic = compute_s >= memory_s ? compute_s : 0;
    stage.memory = compute_s >= memory_s ? 0 : memory_s;
  }
  if (options.deployment.overlap) {
    stage.hidden = std::min(hidden_network_s(priced), stage.arithmetic + stage.memory);
  }
  return stage;
}

bool fits_in(double need, double memory) { return !(memory > 0) || need <= memory; }

}  // namespace

double weight_bytes_per_gpu(const LlmConfig& model, const Deployment& d) {
  const ParameterCounts pc = parameter_counts(model);
  const AttentionConfig& at = model.attention;
  double replicated = pc.router, split_tp = pc.attention + pc.dense_ffn + pc.embedding + pc.lm_head;
  if (at.kind == AttentionKind::mla) {
    const double down = static_cast<double>(model.hidden) *
                        (at.q_lora_rank + at.kv_lora_rank + at.qk_rope_head_dim) * model.layers;
    replicated += down;
    split_tp -= down;
  }
  double experts = 0;
  if (model.ffn.moe && d.ep > 1) {
    experts =
        pc.routed_experts / model.ffn.experts * expert_slots_per_gpu(model, d) + pc.shared_experts;
  } else {
    experts = (pc.routed_experts + pc.shared_experts) / d.tp;
  }
  return (replicated + split_tp / d.tp + experts) / d.pp * dtype_bytes(model.precision.weights);
}

double kv_bytes_per_gpu(const LlmConfig& model, const Deployment& d, double sequences,
                        double context) {
  const AttentionConfig& at = model.attention;
  const double kv_split = at.kind == AttentionKind::mla ? 1 : std::min<double>(d.tp, at.kv_heads);
  return sequences * context * kv_elements_per_token_layer(at) * model.layers / d.pp / kv_split *
         dtype_bytes(model.precision.kv_cache);
}

long long max_batch_that_fits(const LlmConfig& model, const Deployment& d, double context,
                              double memory_bytes) {
  const double room = memory_bytes - weight_bytes_per_gpu(model, d);
  if (!(room >= 0)) return 0;
  const double per_sequence = kv_bytes_per_gpu(model, d, 1, context);
  if (!(per_sequence > 0)) return std::numeric_limits<long long>::max();
  return static_cast<long long>(std::floor(room / per_sequence)) * data_parallel(d);
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
  PredictOptions resolved = options;
  resolved.deployment = d;
  const Split stage =
      price_stage(constants, resolved,
                  decode_ops(model, d, s.sequences, options.tokens_per_sequence, options.context),
                  s.ops, s.constants);
  s.stage_s = stage.total();
  const double cycle = std::max<double>(micro, d.pp);
  s.overhead_s = d.step_overhead_s;
  s.step_s = cycle * s.stage_s + s.overhead_s;
  s.bubble_s = (cycle - micro) * s.stage_s;
  s.split = {micro * stage.arithmetic, micro * stage.memory, micro * stage.network,
             micro * stage.latency, micro * stage.hidden};
  s.tokens_per_s_per_user = 1 / s.step_s;
  s.tokens_per_s = batch / s.step_s;
  s.tokens_per_s_per_gpu = s.tokens_per_s / d.gpus;
  s.gpu_hours_per_million = d.gpus * s.step_s / batch / 3600 * 1e6;
  s.cost_per_million = options.price_per_gpu_hour * s.gpu_hours_per_million;
  s.weight_bytes_per_gpu = weight_bytes_per_gpu(model, d);
  s.kv_bytes_per_gpu = kv_bytes_per_gpu(model, d, group, options.context);
  s.fits = fits_in(s.weight_bytes_per_gpu + s.kv_bytes_per_gpu, options.gpu_memory_bytes);
  return s;
}

StepPrediction decode_step_time(const Constants& constants, const LlmConfig& model,
                                const PredictOptions& options, double batch, double context) {
  PredictOptions o = options;
  o.context = context;
  return predict_step(constants, model, o, batch);
}

PrefillPrediction prefill_time(const Constants& constants, const LlmConfig& model,
                               const PredictOptions& options, double prompts, double tokens) {
  if (!(prompts >= 1) || !std::isfinite(prompts)) throw InputError("prefill: prompts below 1");
  if (!(tokens >= 1) || !std::isfinite(tokens)) throw InputError("--input-len: must be at least 1");
  if (!(options.chunk >= 0) || !std::isfinite(options.chunk)) {
    throw InputError("--chunk: must be at least 0");
  }
  const Deployment d = resolve(options.deployment, model);
  PredictOptions resolved = options;
  resolved.deployment = d;
  PrefillPrediction p;
  p.prompts = prompts;
  p.tokens = tokens;
  const double sequences = ceil_div(prompts, data_parallel(d));
  const double chunk = options.chunk > 0 ? std::min(options.chunk, tokens) : tokens;
  p.chunks = static_cast<int>(ceil_div(tokens, chunk));
  double longest = 0, sum = 0;
  for (int j = 0; j < p.chunks; ++j) {
    const double prior = j * chunk;
    const double n = std::min(chunk, tokens - prior);
    StepPrediction s;
    s.batch = prompts;
    s.sequences = sequences;
    const Split stage = price_stage(constants, resolved,
                                    prefill_ops(model, d, sequences, n, prior, j + 1 == p.chunks),
                                    s.ops, s.constants);
    s.split = stage;
    s.stage_s = stage.total();
    s.overhead_s = d.step_overhead_s;  // each chunk is an engine step of its own
    s.step_s = s.stage_s + s.overhead_s;
    p.constants.insert(s.constants.begin(), s.constants.end());
    p.split.arithmetic += stage.arithmetic;
    p.split.memory += stage.memory;
    p.split.network += stage.network;
    p.split.latency += stage.latency;
    p.split.hidden += stage.hidden;
    longest = std::max(longest, s.step_s);
    sum += s.step_s;
    p.chunk_steps.push_back(std::move(s));
  }
  p.time_s = sum + (d.pp - 1) * longest;
  p.tokens_per_s = prompts * tokens / p.time_s;
  p.fits = fits_in(weight_bytes_per_gpu(model, d) + kv_bytes_per_gpu(model, d, sequences, tokens),
                   options.gpu_memory_bytes);
  return p;
}

RequestPrediction predict_request(const Constants& constants, const LlmConfig& model,
                                  const PredictOptions& options, double input, double output,
                                  double concurrency) {
  if (!(output >= 1) || !std::isfinite(output)) {
    throw InputError("--output-len: must be at least 1");
  }
  if (!(concurrency >= 1) || !std::isfinite(concurrency)) {
    throw InputError("--concurrency: must be at least 1");
  }
  const Deployment d = resolve(options.deployment, model);
  const int dp = data_parallel(d);
  RequestPrediction r;
  r.input = input;
  r.output = output;
  r.concurrency = concurrency;
  // One prompt per attention group at a time: the balanced case expert parallelism assumes.
  const PrefillPrediction pre = prefill_time(constants, model, options, dp, input);
  r.ttft_s = pre.time_s;
  r.constants = pre.constants;
  if (output > 1) {
    const StepPrediction step =
        decode_step_time(constants, model, options, concurrency, input + output / 2);
    r.decode_step_s = step.step_s;
    r.constants.insert(step.constants.begin(), step.constants.end());
  }
  r.cycle_s = ceil_div(concurrency, dp) * r.ttft_s + (output - 1) * r.decode_step_s;
  r.e2e_s = r.cycle_s;
  r.tpot_s = output > 1 ? (r.e2e_s - r.ttft_s) / (output - 1) : 0;
  r.requests_per_s = concurrency / r.cycle_s;
  r.output_tokens_per_s = r.requests_per_s * output;
  r.output_tokens_per_s_per_gpu = r.output_tokens_per_s / d.gpus;
  r.fits = fits_in(weight_bytes_per_gpu(model, d) +
                       kv_bytes_per_gpu(model, d, ceil_div(concurrency, dp), input + output),
                   options.gpu_memory_bytes);
  return r;
}

RequestPrediction mean_request(const std::vector<RequestPrediction>& rs) {
  RequestPrediction m;
  if (rs.empty()) return m;
  const double n = static_cast<double>(rs.size());
  double gpus = 0;
  for (const RequestPrediction& r : rs) {
    m.input += r.input / n;
    m.output += r.output / n;
    m.concurrency += r.concurrency / n;
    m.ttft_s += r.ttft_s / n;
    m.tpot_s += r.tpot_s / n;
    m.e2e_s += r.e2e_s / n;
    m.decode_step_s += r.decode_step_s / n;
    m.cycle_s += r.cycle_s / n;
    m.fits = m.fits && r.fits;
    m.constants.insert(r.constants.begin(), r.constants.end());
    if (r.output_tokens_per_s_per_gpu > 0)
      gpus = r.output_tokens_per_s / r.output_tokens_per_s_per_gpu;
  }
  m.requests_per_s = m.concurrency / m.cycle_s;
  m.output_tokens_per_s = m.requests_per_s * m.output;
  m.output_tokens_per_s_per_gpu = gpus > 0 ? m.output_tokens_per_s / gpus : 0;
  return m;
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
    s.pareto = s.fits && std::none_of(steps.begin(), steps.end(), [&](const StepPrediction& o) {
                 if (!o.fits) return false;
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
  const StepPrediction step = predict_step(constants, model, plain, batch);
  out.step_s = step.step_s;
  out.fits = step.fits;
  out.verify_s = predict_step(constants, model, verify, batch).step_s;
  if (sp.draft) {
    // The draft runs on the same GPUs: the same tp and pp, its own (dense) FFN, no ep.
    PredictOptions draft = plain;
    draft.deployment.ep = 1;
    draft.deployment.step_overhead_s = 0;  // drafting runs within the engine's verify step
    draft.deployment.redundant_experts = 0;
    draft.deployment.dispatch_dtype.clear();
    draft.gpu_memory_bytes = 0;
    try {
      out.draft_s = predict_step(constants, *sp.draft, draft, batch).step_s;
    } catch (const MissingConstants&) {
      throw;
    } catch (const InputError& e) {
      throw InputError("--draft-model " + sp.draft->name + ": " + e.what());
    }
  } else {
    out.draft_s = sp.draft_cost * (out.step_s - step.overhead_s);  // of the GPU's work
  }
  out.tokens_per_verify = expected_tokens_per_verify(sp.gamma, sp.acceptance);
  out.cycle_s = out.verify_s + sp.gamma * out.draft_s;
  out.tokens_per_s_per_user = out.tokens_per_verify / out.cycle_s;
  const Deployment d = resolve(options.deployment, model);
  out.tokens_per_s_per_gpu = batch * out.tokens_per_s_per_user / d.gpus;
  out.gpu_hours_per_million = d.gpus * out.cycle_s / (batch * out.tokens_per_verify) / 3600 * 1e6;
  out.cost_per_million = options.price_per_gpu_hour * out.gpu_hours_per_million;
  out.speedup = out.tokens_per_verify * out.step_s / out.cycle_s;
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

std::vector<std::string> extrapolated_network(const Constants& constants,
                                              const std::vector<PricedOp>& ops, double factor) {
  std::set<std::string> out;
  for (const PricedOp& p : ops) {
    const Work& w = p.op.sample.work;
    const double c = collective_count(w);
    if (!(w.net_bytes > 0) || !(c > 0)) continue;
    const NetKey key = net_key_of(p.op.sample);
    auto it = constants.network.find(key);
    if (it == constants.network.end()) continue;
    const double bytes = w.net_bytes / c;
    if (regime_range_ok(it->second, bytes, factor)) continue;
    const Regime& r = it->second[static_cast<std::size_t>(envelope_regime(it->second, bytes))];
    out.insert("network " + net_key_name(key) + " at " + format_bytes(bytes, 4) +
               " per collective, fitted on " + format_bytes(r.bytes_min, 4) + " .. " +
               format_bytes(r.bytes_max, 4));
  }
  return {out.begin(), out.end()};
}

std::optional<MoeCrossoverPrediction> predict_moe_crossover(const Constants& constants,
                                                            const LlmConfig& model) {
  if (!model.ffn.moe) return std::nullopt;
  MoeCrossoverPrediction p;
  p.config = {model.name, model.ffn.experts, model.ffn.top_k, model.hidden,
              model.ffn.expert_intermediate};
  p.dtype = gemm_dtype(model.precision);
  const std::vector<std::int64_t> grid = powers_of_two(kMoeCrossoverLargest);
  MoeCurveResult r = predict_moe_curve(constants, p.config, parse_gemm_dtype(p.dtype), grid);
  p.missing = r.missing;
  p.curve = std::move(r.curve);
  if (p.missing.empty()) p.at = crossovers(p.curve);
  return p;
}

WeakShare weak_share(const std::vector<PricedOp>& ops, const std::set<std::string>& weak) {
  WeakShare w;
  double total = 0;
  for (const PricedOp& p : ops) {
    const Split& x = p.split;
    total += x.arithmetic + x.memory + x.network + x.latency;
    std::vector<std::string> flops, network, latency;
    for (const std::string& n : p.constants) {
      if (!weak.count(n)) continue;
      if (n.rfind("P[", 0) == 0) flops.push_back(n);
      if (n.rfind("network ", 0) == 0) network.push_back(n);
      if (n.rfind("λ[", 0) == 0) latency.push_back(n);
    }
    auto give = [&](const std::vector<std::string>& names, double seconds) {
      for (const std::string& n : names) w.by_constant[n] += seconds / names.size();
    };
    give(flops, x.arithmetic);
    if (weak.count("W") && p.constants.count("W")) w.by_constant["W"] += x.memory;
    give(network, x.network);
    give(latency, x.latency);
  }
  if (!(total > 0)) return {};
  for (auto& [n, seconds] : w.by_constant) {
    seconds /= total;
    w.share += seconds;
  }
  return w;
}

}  // namespace batchcost
