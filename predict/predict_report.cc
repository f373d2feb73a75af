// Tables and JSON of predict (see predict_report.h).
#include "predict/predict_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/forms.h"
#include "core/model_file.h"
#include "model/report.h"

namespace batchcost {
namespace {

using nlohmann::ordered_json;

double r6(double v) { return round_significant(v, 6); }

// 4 significant digits like format_number, but never an exponent ("16380", not "1.638e+04").
std::string num(double v) {
  if (v == 0 || !std::isfinite(v)) return format_number(v);
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", std::max(0, 3 - magnitude), round_significant(v, 4));
  std::string out = text;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

// A time in ns, µs, ms or s, with num()'s digits.
std::string dur(double seconds) {
  static const std::pair<double, const char*> units[] = {{1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}};
  for (const auto& [scale, unit] : units) {
    if (seconds >= scale) return num(seconds / scale) + " " + unit;
  }
  return num(seconds / 1e-9) + " ns";
}

// A count with an SI prefix, for the ops table: "1.58 P", "734 M", "12".
std::string si(double v) {
  static const std::pair<double, const char*> prefixes[] = {
      {1e18, " E"}, {1e15, " P"}, {1e12, " T"}, {1e9, " G"}, {1e6, " M"}, {1e3, " k"}};
  for (const auto& [scale, prefix] : prefixes) {
    if (std::fabs(v) >= scale) return num(v / scale) + prefix;
  }
  return num(v);
}

std::string billions(double v) { return num(v / 1e9) + " B"; }

// Memory in GiB (2^30 bytes), the unit of GPU memory sizes (an "80 GB" H100 holds 80 GiB), in
// predict and serve alike.
std::string gibibytes(double bytes) { return num(bytes / 1073741824.0); }

long long integer(double v) { return static_cast<long long>(std::llround(v)); }

// A constant's value in the unit a person reads, by its name ("P[bf16]", "W", "λ[launch]",
// "network all_reduce/8"); regimes of a network constant joined by " | ".
std::string constant_text(const Constants& c, const std::string& name) {
  if (name == "W" && c.hbm_bytes_per_s) return num(c.hbm_bytes_per_s->value / 1e12) + " TB/s";
  if (name.rfind("P[", 0) == 0) {
    auto it = c.flops_per_s.find(name.substr(2, name.size() - 3));
    if (it != c.flops_per_s.end()) return num(it->second.value / 1e12) + " TFLOP/s";
  }
  if (name.rfind("λ[", 0) == 0) {
    auto it = c.latency_s.find(name.substr(3, name.size() - 4));
    if (it != c.latency_s.end()) return dur(it->second.value);
  }
  if (name.rfind("network ", 0) == 0) {
    std::string key = name.substr(8);
    for (const auto& [k, regimes] : c.network) {
      if (net_key_name(k) != key) continue;
      std::string out;
      for (const Regime& r : regimes) {
        out += (out.empty() ? "" : " | ") + dur(r.latency_s.value) + " + x / " +
               num(r.bytes_per_s.value / 1e9) + " GB/s";
      }
      return out;
    }
  }
  return "?";
}

// A constant's value in SI units (FLOP/s, B/s, s) for JSON; network constants as their regimes.
void constant_json(const Constants& c, const std::string& name, ordered_json& j) {
  if (name == "W" && c.hbm_bytes_per_s) {
    j["value"] = c.hbm_bytes_per_s->value;
    j["unit"] = "B/s";
  } else if (name.rfind("P[", 0) == 0) {
    auto it = c.flops_per_s.find(name.substr(2, name.size() - 3));
    if (it != c.flops_per_s.end()) j["value"] = it->second.value;
    j["unit"] = "FLOP/s";
  } else if (name.rfind("λ[", 0) == 0) {
    auto it = c.latency_s.find(name.substr(3, name.size() - 4));
    if (it != c.latency_s.end()) j["value"] = it->second.value;
    j["unit"] = "s";
  } else if (name.rfind("network ", 0) == 0) {
    ordered_json regimes = ordered_json::array();
    for (const auto& [k, list] : c.network) {
      if (net_key_name(k) != name.substr(8)) continue;
      for (const Regime& x : list) {
        regimes.push_back({{"latency_s", x.latency_s.value}, {"bytes_per_s", x.bytes_per_s.value}});
      }
    }
    j["regimes"] = regimes;
  }
}

std::string deployment_line(const PredictReport& r) {
  return batchcost::deployment_line(r.model, r.options.deployment, r.options.context);
}

std::string mode_line(const PredictOptions& o, const Constants& c) {
  return o.whole_step
             ? "whole step: max(Σ flops / P, Σ bytes / W) + network + latency"
             : "per operation: Σ over ops of " + form_term_text(c) + " + network + latency";
}

double memory_limit(const PredictReport& r) { return r.options.gpu_memory_bytes; }

long long max_batch(const PredictReport& r) {
  return memory_limit(r) > 0 ? max_batch_that_fits(r.model, r.options.deployment, r.options.context,
                                                   memory_limit(r))
                             : -1;
}

std::set<std::string> weak_constants(const PredictReport& r) {
  std::set<std::string> weak = r.unmeasured;
  weak.insert(r.unidentified.begin(), r.unidentified.end());
  return weak;
}

// True where more than kWeakShareMark of the step's time is priced with weak constants.
bool weak_step(const PredictReport& r, const StepPrediction& s) {
  return weak_share(s.ops, weak_constants(r)).share > kWeakShareMark;
}

bool unmeasured_in(const PredictReport& r, const std::set<std::string>& used) {
  for (const std::string& n : used) {
    if (r.unmeasured.count(n)) return true;
  }
  return false;
}

std::set<std::string> all_used(const PredictReport& r) {
  std::set<std::string> used;
  for (const StepPrediction& s : r.steps) used.insert(s.constants.begin(), s.constants.end());
  for (const RequestPrediction& q : r.requests) used.insert(q.constants.begin(), q.constants.end());
  if (r.window_step) used.insert(r.window_step->constants.begin(), r.window_step->constants.end());
  return used;
}

std::vector<std::string> notes(const PredictReport& r) {
  std::vector<std::string> out = r.notes;
  const Deployment& d = r.options.deployment;
  const double limit = memory_limit(r);
  if (limit > 0) {
    const long long most = max_batch(r);
    const double weights = weight_bytes_per_gpu(r.model, d);
    if (most == 0) {
      out.push_back("the weights alone, " + gibibytes(weights) + " GiB per GPU, exceed its " +
                    gibibytes(limit) + " GiB (" + r.memory_source +
                    "): every batch is impossible; spread the model with --gpus, --tp, --ep, --pp");
    } else {
      out.push_back("memory: " + gibibytes(weights) + " GiB of weights per GPU of " +
                    gibibytes(limit) + " GiB (" + r.memory_source +
                    "); the largest batch whose KV "
                    "cache fits at context " +
                    num(r.options.context) + " is " + std::to_string(most) +
                    " (nothing kept for activations or the runtime)");
    }
  } else {
    out.push_back(
        "memory: the GPU's memory size is unknown (no hardware.memory_bytes, no "
        "--gpu-memory): no batch is refused");
  }
  if (d.tp > d.gpus_per_node) {
    out.push_back("the tensor-parallel group of " + std::to_string(d.tp) +
                  " GPUs spans nodes: its all_reduce constants must be measured across nodes");
  }
  if (d.ep > d.gpus_per_node) {
    out.push_back("the expert-parallel group of " + std::to_string(d.ep) +
                  " GPUs spans nodes: its all_to_all constants must be measured across nodes");
  }
  if (d.pp > 1 && d.gpus / d.pp >= d.gpus_per_node) {
    out.push_back(
        "pipeline stages sit on different nodes: the send_recv/2 constants must be "
        "measured between nodes");
  }
  out.push_back("kernel latency: " + kernel_latency(r.constants, d.cuda_graphs).rule);
  if (d.overlap) {
    out.push_back(
        "overlap: per layer, min(network, arithmetic + memory) of the layer is hidden "
        "(communication behind compute, two micro-batches); the hidden column");
  }
  if (!r.options.whole_step) {
    out.push_back(
        "arithmetic and memory: per op, max(flops / P, bytes / W) counted as "
        "arithmetic where flops / P binds, memory where bytes / W does");
  }
  return out;
}

Table ops_table(const std::vector<PricedOp>& ops) {
  Table t({"op", "kind", "count", "kernels", "flops", "bytes", "net bytes", "time", "arith",
           "memory", "network", "latency"},
          "llrrrrrrrrrr");
  for (const PricedOp& p : ops) {
    const Work& w = p.op.sample.work;
    t.add({p.op.name, p.op.kind, num(p.op.count), num(p.op.kernels), si(w.flops * p.op.count),
           si(w.bytes * p.op.count), si(w.net_bytes * p.op.count), dur(p.split.total()),
           dur(p.split.arithmetic), dur(p.split.memory), dur(p.split.network),
           dur(p.split.latency)});
  }
  return t;
}

// Kernels (launches eagerly, graph nodes in a graph) per layer of each type and per step.
struct KernelCount {
  double attention = 0, dense = 0, moe = 0, stage = 0, step = 0;
};
KernelCount kernel_count(const std::vector<PricedOp>& ops) {
  KernelCount k;
  for (const PricedOp& p : ops) {
    const std::string& l = p.op.layer;
    (l == "all"     ? k.attention
     : l == "dense" ? k.dense
     : l == "moe"   ? k.moe
                    : k.stage) += p.op.kernels;
    k.step += p.op.kernels * p.op.count;
  }
  return k;
}

std::string kernel_line(const PredictReport& r, const std::vector<PricedOp>& ops) {
  const KernelCount k = kernel_count(ops);
  std::ostringstream o;
  o << "kernels per layer: " << num(k.attention + k.dense) << " in a dense layer";
  if (k.moe > 0) o << ", " << num(k.attention + k.moe) << " in an MoE layer";
  o << " (" << num(k.attention) << " of them the norms and attention), " << num(k.stage)
    << " once per stage; " << num(k.step) << " per stage and micro-batch, each "
    << (r.options.deployment.cuda_graphs ? "a graph node (one graph launch per stage)"
                                         : "one launch")
    << " (Epoch AI's analysis counts 4 launches per layer)\n";
  return o.str();
}

ordered_json ops_json(const std::vector<PricedOp>& ops) {
  ordered_json out = ordered_json::array();
  for (const PricedOp& p : ops) {
    const Work& w = p.op.sample.work;
    out.push_back({{"name", p.op.name},
                   {"kind", p.op.kind},
                   {"layer", p.op.layer},
                   {"count", r6(p.op.count)},
                   {"kernels_per_instance", r6(p.op.kernels)},
                   {"flops", r6(w.flops * p.op.count)},
                   {"bytes", r6(w.bytes * p.op.count)},
                   {"net_bytes", r6(w.net_bytes * p.op.count)},
                   {"kernels", r6(p.op.kernels * p.op.count)},
                   {"time_s", r6(p.split.total())},
                   {"arithmetic_s", r6(p.split.arithmetic)},
                   {"memory_s", r6(p.split.memory)},
                   {"network_s", r6(p.split.network)},
                   {"latency_s", r6(p.split.latency)}});
  }
  return out;
}

ordered_json stated_json(const PredictReport& r, const std::set<std::string>& used) {
  ordered_json stated = ordered_json::array();
  for (const std::string& n : used) {
    if (r.unmeasured.count(n)) stated.push_back(n);
  }
  return stated;
}

ordered_json step_json(const PredictReport& r, const StepPrediction& s) {
  ordered_json j;
  j["batch"] = integer(s.batch);
  j["sequences_per_group_and_micro_batch"] = integer(s.sequences);
  j["fits"] = s.fits;
  j["step_s"] = r6(s.step_s);
  j["arithmetic_s"] = r6(s.split.arithmetic);
  j["memory_s"] = r6(s.split.memory);
  j["network_s"] = r6(s.split.network);
  j["latency_s"] = r6(s.split.latency);
  if (r.options.deployment.overlap) j["hidden_network_s"] = r6(s.split.hidden);
  j["bubble_s"] = r6(s.bubble_s);
  j["tokens_per_s_per_user"] = r6(s.tokens_per_s_per_user);
  j["tokens_per_s"] = r6(s.tokens_per_s);
  j["tokens_per_s_per_gpu"] = r6(s.tokens_per_s_per_gpu);
  j["gpu_hours_per_million_tokens"] = r6(s.gpu_hours_per_million);
  if (r.options.price_per_gpu_hour > 0) j["cost_per_million_tokens"] = r6(s.cost_per_million);
  j["weight_bytes_per_gpu"] = r6(s.weight_bytes_per_gpu);
  j["kv_cache_bytes_per_gpu"] = r6(s.kv_bytes_per_gpu);
  j["pareto"] = s.pareto;
  j["unmeasured_constants"] = stated_json(r, s.constants);
  j["weak_share"] = r6(weak_share(s.ops, weak_constants(r)).share);
  if (r.show_ops) j["ops"] = ops_json(s.ops);
  return j;
}

// The requests by concurrency, in the order given.
std::vector<std::vector<RequestPrediction>> request_groups(const PredictReport& r) {
  std::vector<std::vector<RequestPrediction>> groups;
  for (const RequestPrediction& x : r.requests) {
    if (groups.empty() || groups.back().front().concurrency != x.concurrency) groups.emplace_back();
    groups.back().push_back(x);
  }
  return groups;
}

ordered_json request_json(const PredictReport& r, const RequestPrediction& q) {
  ordered_json j;
  j["input_len"] = integer(q.input);
  j["output_len"] = integer(q.output);
  j["concurrency"] = integer(q.concurrency);
  j["fits"] = q.fits;
  j["ttft_s"] = r6(q.ttft_s);
  j["tpot_s"] = r6(q.tpot_s);
  j["e2e_s"] = r6(q.e2e_s);
  j["decode_step_s"] = r6(q.decode_step_s);
  j["requests_per_s"] = r6(q.requests_per_s);
  j["output_tokens_per_s"] = r6(q.output_tokens_per_s);
  j["output_tokens_per_s_per_gpu"] = r6(q.output_tokens_per_s_per_gpu);
  j["unmeasured_constants"] = stated_json(r, q.constants);
  return j;
}

}  // namespace

std::string deployment_line(const LlmConfig& model, const Deployment& d,
                            std::optional<double> context) {
  std::ostringstream o;
  o << d.gpus << " GPU" << (d.gpus == 1 ? "" : "s") << ": tp " << d.tp << ", ep " << d.ep << ", pp "
    << d.pp << ", dp " << data_parallel(d) << " (" << d.gpus_per_node << " GPUs per node), "
    << d.micro_batches << " micro-batch" << (d.micro_batches == 1 ? "" : "es") << "; "
    << (d.cuda_graphs ? "kernels in CUDA graphs" : "kernels launched one by one");
  o << "; " << num(d.step_overhead_s * 1e3) << " ms per step outside the GPU's work";
  if (context) o << "; context " << num(*context);
  if (d.ep > 1) {
    o << "; " << expert_slots_per_gpu(model, d) << " expert slots per GPU";
    if (d.redundant_experts > 0) o << " (" << d.redundant_experts << " redundant)";
    o << ", dispatch "
      << (d.dispatch_dtype.empty() ? model.precision.activations : d.dispatch_dtype);
  }
  if (d.overlap) o << "; overlap on";
  return o.str();
}

std::string precision_line(const LlmConfig& m) {
  return "weights " + m.precision.weights + ", activations " + m.precision.activations +
         ", KV cache " + m.precision.kv_cache;
}

std::string weak_constants_list(const std::map<std::string, double>& largest,
                                const std::string& of) {
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [n, share] : largest) order.push_back({-share, n});
  std::sort(order.begin(), order.end());
  std::string list;
  for (const auto& [share, n] : order) {
    if (-share < 0.005) continue;  // below half a percent: not worth naming
    list += (list.empty() ? "" : ", ") + n + " up to " +
            std::to_string(static_cast<int>(std::lround(-share * 100))) + "%" + of;
  }
  return list;
}

std::string form_term_text(const Constants& c) {
  if (c.form == Form::kEpoch) return "max(flops / P, bytes / W)";
  std::string terms;
  for (const NamedConstant& t : named_terms(c)) {
    terms += ", " + t.name + " " + format_number(t.estimate.value / t.scale) +
             (t.unit.empty() ? "" : " " + t.unit);
  }
  for (const auto& [dtype, tile] : c.terms.tile) {
    terms += ", tile[" + dtype + "] " + (tile.rows ? tile_name(tile) : "from labels") + " over " +
             std::to_string(c.terms.sm_count) + " SMs";
  }
  return "the refined form of flops / P and bytes / W (core/forms.h" + terms + ")";
}

nlohmann::ordered_json form_json(const Constants& c) {
  ordered_json j = {{"name", form_name(c.form)}, {"terms", ordered_json::object()}};
  for (const NamedConstant& t : named_terms(c)) j["terms"][t.name] = r6(t.estimate.value);
  for (const auto& [dtype, tile] : c.terms.tile) {
    j["tiles"][dtype] = tile.rows ? tile_name(tile) : "labels";
  }
  if (!c.terms.tile.empty()) j["sm_count"] = c.terms.sm_count;
  return j;
}

std::string constants_used_text(const Constants& c, const std::set<std::string>& used,
                                const std::set<std::string>& unmeasured,
                                const std::set<std::string>& unidentified) {
  bool any_stated = false, any_unidentified = false;
  Table constants({"  constant", "value", ""}, "lll");
  for (const std::string& n : used) {
    const bool stated = unmeasured.count(n) > 0;
    const bool weak = !stated && unidentified.count(n) > 0;
    any_stated |= stated;
    any_unidentified |= weak;
    constants.add({"  " + n, constant_text(c, n), stated ? "*" : weak ? "!" : ""});
  }
  std::string out = "constants used:\n" + constants.str();
  if (any_stated) out += "  * stated, not measured\n";
  if (any_unidentified) {
    out += "  ! not identified by the fit behind it (model.json's identification)\n";
  }
  return out;
}

nlohmann::ordered_json constants_used_json(const Constants& c, const std::set<std::string>& used,
                                           const std::set<std::string>& unmeasured) {
  ordered_json constants = ordered_json::array();
  for (const std::string& n : used) {
    ordered_json one = {{"name", n}};
    constant_json(c, n, one);
    one["measured"] = unmeasured.count(n) == 0;
    constants.push_back(one);
  }
  return constants;
}

namespace {

// The model, deployment, pricing and hardware lines and the constants used; true where a stated
// constant is among them.
bool table_header(std::ostringstream& o, const PredictReport& r) {
  const LlmConfig& m = r.model;
  const ParameterCounts pc = parameter_counts(m);
  const double ctx = r.options.context;
  o << "model: " << m.display_name << " (" << r.model_source << "): " << describe(m) << "\n"
    << "  parameters " << billions(pc.total) << ", " << billions(pc.active) << " active per token; "
    << num(flops_per_token(m, ctx) / 1e9) << " GFLOP per token at context " << num(ctx) << " (2 × "
    << billions(pc.active_matmul) << " in GEMMs + " << num(attention_flops_per_token(m, ctx) / 1e9)
    << " GFLOP attention)\n"
    << "  weights " << m.precision.weights << ", activations " << m.precision.activations
    << ", KV cache " << m.precision.kv_cache << " ("
    << num(kv_elements_per_token_layer(m.attention) * m.layers * dtype_bytes(m.precision.kv_cache) /
           1e3)
    << " kB per token)\n"
    << "deployment: " << deployment_line(r) << "\n"
    << "pricing: " << mode_line(r.options, r.constants) << "\n"
    << "hardware: " << r.hardware_source;
  if (r.hardware.is_object() && r.hardware.contains("gpu_name") &&
      r.hardware["gpu_name"].is_string()) {
    o << " (" << r.hardware["gpu_name"].get<std::string>() << ")";
  }
  o << "\n";
  const std::set<std::string> used = all_used(r);
  const bool any_stated = unmeasured_in(r, used);
  o << constants_used_text(r.constants, used, r.unmeasured, r.unidentified);
  o << "\n";
  return any_stated;
}

// One row per batch: the step, its four components, throughput, cost, memory, the front.
void table_steps(std::ostringstream& o, const PredictReport& r, bool any_stated) {
  const bool priced = r.options.price_per_gpu_hour > 0;
  const bool overlap = r.options.deployment.overlap;
  const double limit = memory_limit(r);
  std::vector<std::string> header = {"batch",   "step",   "arithmetic", "memory",    "network",
                                     "latency", "bubble", "tok/s/user", "tok/s/GPU", "GPU-h/Mtok"};
  std::string align = "rrrrrrrrrr";
  if (overlap) {
    header.insert(header.begin() + 5, "hidden");
    align += "r";
  }
  if (priced) {
    header.push_back("$/Mtok");
    align += "r";
  }
  header.push_back("GiB/GPU");
  header.push_back("front");
  align += "rl";
  Table t(header, align);
  bool any_impossible = false;
  for (const StepPrediction& s : r.steps) {
    const double gb = s.weight_bytes_per_gpu + s.kv_bytes_per_gpu;
    std::vector<std::string> row;
    if (!s.fits) {
      any_impossible = true;
      row = {num(s.batch), "impossible"};
      row.resize(header.size() - 2, "-");
    } else {
      row = {num(s.batch),
             dur(s.step_s) + (weak_step(r, s) ? "*" : ""),
             dur(s.split.arithmetic),
             dur(s.split.memory),
             dur(s.split.network),
             dur(s.split.latency),
             s.bubble_s > 0 ? dur(s.bubble_s) : "0",
             num(s.tokens_per_s_per_user),
             num(s.tokens_per_s_per_gpu),
             num(s.gpu_hours_per_million)};
      if (overlap) row.insert(row.begin() + 5, dur(s.split.hidden));
      if (priced) row.push_back(num(s.cost_per_million));
    }
    row.push_back(gibibytes(gb) + (limit > 0 && gb > limit ? "!" : ""));
    row.push_back(s.pareto ? "x" : "");
    t.add(row);
  }
  o << t.str();
  o << "front: x where no other batch that fits is both faster per user and cheaper per token";
  if (priced) o << "; $/Mtok at $" << num(r.options.price_per_gpu_hour) << " per GPU-hour";
  o << "\n";
  if (any_impossible) {
    o << "impossible: weights and KV cache (GiB/GPU, marked !) exceed the GPU's "
      << gibibytes(limit) << " GiB; the largest batch that fits is " << max_batch(r) << "\n";
  }
  // Which weak constants price the marked steps, by their largest share of one.
  std::map<std::string, double> largest;
  bool any_fits = false;
  for (const StepPrediction& s : r.steps) {
    any_fits |= s.fits;
    if (!s.fits || !weak_step(r, s)) continue;
    for (const auto& [n, share] : weak_share(s.ops, weak_constants(r)).by_constant) {
      largest[n] = std::max(largest[n], share);
    }
  }
  if (!largest.empty()) {
    o << "*: more than " << num(kWeakShareMark * 100)
      << "% of the step priced with stated or unidentified constants: "
      << weak_constants_list(largest, "") << "\n";
  } else if (any_stated && any_fits) {
    o << "stated constants (marked * above) price at most " << num(kWeakShareMark * 100)
      << "% of any step\n";
  }
}

// --input-len/--output-len/--concurrency: one row per request shape and concurrency.
void table_requests(std::ostringstream& o, const PredictReport& r) {
  if (!r.requests.empty()) {
    o << "\nrequests: TTFT = the prefill of one prompt per attention group"
      << (r.options.chunk > 0 ? " in chunks of " + num(r.options.chunk) + " tokens" : "")
      << ", then output − 1 decode steps at batch = concurrency over context input + output / 2; "
         "E2E = a cycle in which each request in flight is prefilled once (ceil(concurrency / "
         "dp) prefills) and decodes; TPOT = (E2E − TTFT) / (output − 1), the others' prefills "
         "included\n";
    Table q({"concurrency", "input", "output", "TTFT", "TPOT", "E2E", "decode step", "req/s",
             "out tok/s", "out tok/s/GPU", "fits"},
            "rrrrrrrrrrl");
    auto add = [&](const std::string& in, const std::string& out, const RequestPrediction& x) {
      if (!x.fits) {
        q.add({num(x.concurrency), in, out, "impossible", "-", "-", "-", "-", "-", "-", "no"});
        return;
      }
      q.add({num(x.concurrency), in, out,
             dur(x.ttft_s) + (unmeasured_in(r, x.constants) ? "*" : ""),
             x.output > 1 ? dur(x.tpot_s) : "-", dur(x.e2e_s),
             x.output > 1 ? dur(x.decode_step_s) : "-", num(x.requests_per_s),
             num(x.output_tokens_per_s), num(x.output_tokens_per_s_per_gpu), "yes"});
    };
    for (const std::vector<RequestPrediction>& group : request_groups(r)) {
      for (const RequestPrediction& x : group) add(num(x.input), num(x.output), x);
      if (group.size() > 1) add("mean", "", mean_request(group));
    }
    o << q.str();
  }
}

// --ops: the operations of each step, and of the first request's prefill.
void table_ops(std::ostringstream& o, const PredictReport& r) {
  if (r.show_ops) {
    for (const StepPrediction& s : r.steps) {
      o << "\nbatch " << num(s.batch) << ": the ops of one stage and micro-batch ("
        << num(s.sequences) << " sequences per attention group)\n"
        << ops_table(s.ops).str() << kernel_line(r, s.ops);
    }
    if (!r.requests.empty()) {
      const RequestPrediction& x = r.requests.front();
      PrefillPrediction pre = prefill_time(r.constants, r.model, r.options,
                                           data_parallel(r.options.deployment), x.input);
      const StepPrediction& last = pre.chunk_steps.back();
      o << "\nprefill of " << num(x.input) << " tokens"
        << (pre.chunks > 1 ? ", its last chunk of " + std::to_string(pre.chunks) : "")
        << ": the ops of one stage\n"
        << ops_table(last.ops).str() << kernel_line(r, last.ops);
    }
  }
}

// --gamma/--acceptance: the speculative cycle per batch.
void table_speculation(std::ostringstream& o, const PredictReport& r) {
  const bool priced = r.options.price_per_gpu_hour > 0;
  if (r.speculation) {
    const Speculation& sp = *r.speculation;
    o << "\nspeculative decoding: γ " << sp.gamma << ", acceptance " << num(sp.acceptance) << ", "
      << num(expected_tokens_per_verify(sp.gamma, sp.acceptance))
      << " tokens per verification; draft step: ";
    if (sp.draft) {
      o << sp.draft->display_name << " (" << r.draft_source
        << ") priced on the same constants and GPUs (tp " << r.options.deployment.tp << ", pp "
        << r.options.deployment.pp << ")\n";
    } else {
      o << num(sp.draft_cost) << " × a target step (--draft-cost, given, not priced)\n";
    }
    if (sp.draft) {
      o << "  (the draft's weights and KV cache are not counted against the GPU's memory)\n";
    }
    std::vector<std::string> head = {"batch", "step",       "verify",    "draft",
                                     "cycle", "tok/s/user", "tok/s/GPU", "GPU-h/Mtok"};
    if (priced) head.push_back("$/Mtok");
    head.push_back("speed-up");
    Table s(head, std::string(head.size(), 'r'));
    for (const SpeculativeStep& x : r.speculative) {
      if (!x.fits) {
        std::vector<std::string> row = {num(x.batch), "impossible"};
        row.resize(head.size(), "-");
        s.add(row);
        continue;
      }
      std::vector<std::string> row = {num(x.batch),
                                      dur(x.step_s),
                                      dur(x.verify_s),
                                      dur(x.draft_s),
                                      dur(x.cycle_s),
                                      num(x.tokens_per_s_per_user),
                                      num(x.tokens_per_s_per_gpu),
                                      num(x.gpu_hours_per_million)};
      if (priced) row.push_back(num(x.cost_per_million));
      row.push_back(num(x.speedup) + "×");
      s.add(row);
    }
    o << s.str();
  }
}

// The MoE crossover (predict.h predict_moe_crossover): cost per token of each way of running one
// layer's experts, and the batch from which one catches up with another.
std::string crossover_text(const std::optional<std::int64_t>& b, std::int64_t largest) {
  return b ? "B = " + std::to_string(*b) : "not within B <= " + std::to_string(largest);
}

void table_moe_crossover(std::ostringstream& o, const PredictReport& r) {
  const MoeCrossoverPrediction& x = *r.moe_crossover;
  o << "\nMoE crossover: one GPU running one layer's " << x.config.experts
    << " routed experts (top-" << x.config.top_k << ", H " << x.config.hidden << ", I "
    << x.config.intermediate << ", " << x.dtype
    << " GEMMs, uniform routing as batchcost-moe runs it), per token:\n";
  if (!x.missing.empty()) {
    o << "  not priced: the constants lack " << x.missing << "\n";
    return;
  }
  const MoeCurve& c = x.curve;
  Table t({"batch", "per-expert loop", "grouped", "dense-equivalent", "loop / dense",
           "grouped / dense"},
          "rrrrrr");
  for (std::size_t j = 0; j < c.tokens.size(); j += 2) {  // every power of four
    const double b = static_cast<double>(c.tokens[j]);
    t.add({std::to_string(c.tokens[j]), dur(c.loop_s[j] / b), dur(c.grouped_s[j] / b),
           dur(c.dense_s[j] / b), num(c.loop_s[j] / c.dense_s[j]) + "×",
           num(c.grouped_s[j] / c.dense_s[j]) + "×"});
  }
  o << t.str();
  const std::int64_t largest = c.tokens.back();
  o << "catches up (costs at most " << num(100 * kMoeCrossoverTolerance)
    << "% more per token, at that batch and every larger one):\n"
    << "  per-expert loop -> grouped           " << crossover_text(x.at.loop_to_grouped, largest)
    << "\n  grouped -> dense-equivalent          " << crossover_text(x.at.grouped_to_dense, largest)
    << "\n  per-expert loop -> dense-equivalent  " << crossover_text(x.at.loop_to_dense, largest)
    << "\n";
  // The constants that price it, marked as the steps' are.
  o << "priced with";
  bool weak = false;
  for (const std::string& name : {"P[" + x.dtype + "]", std::string("W"), std::string("λ[kernel]"),
                                  std::string("λ[launch]")}) {
    const char* mark = r.unmeasured.count(name) ? "*" : r.unidentified.count(name) ? "!" : "";
    weak |= *mark != 0;
    o << (name[0] == 'P' ? " " : ", ") << name << mark;
  }
  o << (weak ? " (* stated, ! not identified by the fit)" : "") << "\n";
}

// --arrival-rate/--window: the batch a serving window forms and its step.
void table_window(std::ostringstream& o, const PredictReport& r) {
  if (r.window && r.window_step) {
    const ServingWindow& w = *r.window;
    const StepPrediction& s = *r.window_step;
    o << "\nserving window: " << num(w.rate_per_s) << " requests/s collected for "
      << dur(w.window_s) << " form a batch of " << num(w.batch) << "; extra wait "
      << dur(w.mean_wait_s) << " on average, " << dur(w.max_wait_s) << " at most; then a step of "
      << dur(s.step_s) << " (" << num(s.tokens_per_s_per_user) << " tok/s per user, "
      << num(s.gpu_hours_per_million) << " GPU-h per million tokens)"
      << (s.fits ? "" : " — impossible: it does not fit in memory") << "\n";
  }
}

}  // namespace

std::string predict_table(const PredictReport& r) {
  std::ostringstream o;
  const bool any_stated = table_header(o, r);
  table_steps(o, r, any_stated);
  if (!r.requests.empty()) table_requests(o, r);
  if (r.show_ops) table_ops(o, r);
  if (r.speculation) table_speculation(o, r);
  if (r.window && r.window_step) table_window(o, r);
  if (r.moe_crossover) table_moe_crossover(o, r);
  const std::vector<std::string> n = notes(r);
  if (!n.empty()) o << "\n";
  for (const std::string& line : n) o << "note: " << line << "\n";
  return o.str();
}

ordered_json predict_json(const PredictReport& r) {
  const LlmConfig& m = r.model;
  const ParameterCounts pc = parameter_counts(m);
  const Deployment& d = r.options.deployment;
  ordered_json j;
  j["schema"] = "batchcost.predict/2";
  j["model"] = {{"name", m.name},
                {"display_name", m.display_name},
                {"source", r.model_source},
                {"parameters", r6(pc.total)},
                {"active_parameters", r6(pc.active)},
                {"flops_per_token", r6(flops_per_token(m, r.options.context))},
                {"kv_cache_bytes_per_token", r6(kv_elements_per_token_layer(m.attention) *
                                                m.layers * dtype_bytes(m.precision.kv_cache))}};
  const KernelLatency kl = kernel_latency(r.constants, d.cuda_graphs);
  j["deployment"] = {
      {"gpus", d.gpus},
      {"tp", d.tp},
      {"ep", d.ep},
      {"pp", d.pp},
      {"dp", data_parallel(d)},
      {"gpus_per_node", d.gpus_per_node},
      {"micro_batches", d.micro_batches},
      {"cuda_graphs", d.cuda_graphs},
      {"expert_slots_per_gpu", expert_slots_per_gpu(m, d)},
      {"redundant_experts", d.redundant_experts},
      {"dispatch_dtype", d.dispatch_dtype.empty() ? m.precision.activations : d.dispatch_dtype},
      {"overlap", d.overlap},
      {"step_overhead_s", d.step_overhead_s}};
  j["kernel_latency"] = {{"rule", kl.rule}, {"fallback", kl.fallback}};
  j["context"] = integer(r.options.context);
  j["mode"] = r.options.whole_step ? "whole_step" : "per_op";
  j["form"] = form_json(r.constants);
  if (r.options.price_per_gpu_hour > 0) j["price_per_gpu_hour"] = r.options.price_per_gpu_hour;
  j["hardware"] = {{"source", r.hardware_source}};
  if (r.hardware.is_object() && r.hardware.contains("gpu_name")) {
    j["hardware"]["gpu_name"] = r.hardware["gpu_name"];
  }
  ordered_json memory;
  if (memory_limit(r) > 0) {
    memory["gpu_memory_bytes"] = memory_limit(r);
    memory["source"] = r.memory_source;
    memory["max_batch"] = max_batch(r);
  } else {
    memory["gpu_memory_bytes"] = nullptr;
    memory["source"] = nullptr;
    memory["max_batch"] = nullptr;
  }
  memory["weight_bytes_per_gpu"] = r6(weight_bytes_per_gpu(m, d));
  j["memory"] = memory;
  j["constants"] = constants_used_json(r.constants, all_used(r), r.unmeasured);
  ordered_json steps = ordered_json::array();
  for (const StepPrediction& s : r.steps) steps.push_back(step_json(r, s));
  j["steps"] = steps;
  if (!r.requests.empty()) {
    ordered_json groups = ordered_json::array();
    for (const std::vector<RequestPrediction>& group : request_groups(r)) {
      ordered_json rows = ordered_json::array();
      for (const RequestPrediction& q : group) rows.push_back(request_json(r, q));
      groups.push_back({{"concurrency", integer(group.front().concurrency)},
                        {"shapes", rows},
                        {"mean", request_json(r, mean_request(group))}});
    }
    j["requests"] = {{"chunk", integer(r.options.chunk)}, {"by_concurrency", groups}};
  }
  if (r.speculation) {
    ordered_json rows = ordered_json::array();
    for (const SpeculativeStep& x : r.speculative) {
      ordered_json row = {{"batch", integer(x.batch)},
                          {"fits", x.fits},
                          {"step_s", r6(x.step_s)},
                          {"verify_s", r6(x.verify_s)},
                          {"draft_s", r6(x.draft_s)},
                          {"cycle_s", r6(x.cycle_s)},
                          {"tokens_per_s_per_user", r6(x.tokens_per_s_per_user)},
                          {"tokens_per_s_per_gpu", r6(x.tokens_per_s_per_gpu)},
                          {"gpu_hours_per_million_tokens", r6(x.gpu_hours_per_million)}};
      if (r.options.price_per_gpu_hour > 0) row["cost_per_million_tokens"] = r6(x.cost_per_million);
      row["speedup"] = r6(x.speedup);
      rows.push_back(row);
    }
    const Speculation& sp = *r.speculation;
    j["speculative"] = {
        {"gamma", sp.gamma},
        {"acceptance", sp.acceptance},
        {"draft_model", sp.draft ? ordered_json(sp.draft->name) : ordered_json(nullptr)},
        {"draft_source", sp.draft ? ordered_json(r.draft_source) : ordered_json(nullptr)},
        {"draft_cost", sp.draft ? ordered_json(nullptr) : ordered_json(sp.draft_cost)},
        {"tokens_per_verify", r6(expected_tokens_per_verify(sp.gamma, sp.acceptance))},
        {"steps", rows}};
  }
  if (r.window && r.window_step) {
    j["serving_window"] = {
        {"arrival_rate_per_s", r.window->rate_per_s}, {"window_s", r.window->window_s},
        {"batch", integer(r.window->batch)},          {"mean_wait_s", r6(r.window->mean_wait_s)},
        {"max_wait_s", r6(r.window->max_wait_s)},     {"step", step_json(r, *r.window_step)}};
  }
  if (r.moe_crossover) {
    const MoeCrossoverPrediction& x = *r.moe_crossover;
    ordered_json mc = {{"experts", x.config.experts},
                       {"top_k", x.config.top_k},
                       {"hidden", x.config.hidden},
                       {"intermediate", x.config.intermediate},
                       {"dtype", x.dtype},
                       {"routing", "uniform"},
                       {"tolerance", kMoeCrossoverTolerance}};
    if (!x.missing.empty()) {
      mc["missing"] = x.missing;
    } else {
      mc["crossover"] = crossovers_json(x.at);
      ordered_json curve = ordered_json::array();
      for (std::size_t i = 0; i < x.curve.tokens.size(); ++i) {
        curve.push_back({{"tokens", x.curve.tokens[i]},
                         {"per_expert_loop_s", r6(x.curve.loop_s[i])},
                         {"grouped_s", r6(x.curve.grouped_s[i])},
                         {"dense_equivalent_s", r6(x.curve.dense_s[i])}});
      }
      mc["curve"] = curve;
    }
    j["moe_crossover"] = mc;
  }
  j["notes"] = notes(r);
  return j;
}

std::string missing_constants_message(const MissingConstants& e, const std::string& hw) {
  std::string list;
  bool network = false, other = false;
  for (const std::string& n : e.missing) {
    list += "  " + n + "\n";
    (n.rfind("network ", 0) == 0 ? network : other) = true;
  }
  std::string out = hw + " lacks constants this prediction needs:\n" + list;
  if (network) {
    out +=
        "A deployment over several GPUs needs network constants that a one-GPU calibration "
        "lacks. Either\n"
        "  - measure them on the target machine (batchcost-collectives, or nccl-tests such as\n"
        "    all_reduce_perf / alltoall_perf / sendrecv_perf -g N) and fit them together with "
        "the\n"
        "    one-GPU results: batchcost fit results/h100 nccl.log --out model.json\n"
        "  - or state them: --stated FILE, a model.json-shaped file with \"measured\": false, "
        "e.g.\n"
        "    {\"schema\": \"batchcost.model/1\", \"measured\": false, \"constants\": {\"network\":"
        "\n     {\"all_reduce\": {\"8\": [{\"latency_s\": 2.5e-5, \"bytes_per_s\": 4.7e11}]}}}}\n"
        "    predict marks every stated constant with * in its output.\n";
  }
  if (other) {
    out +=
        "Fit the results of the GEMM, memory and launch benchmarks of the target GPU, state the "
        "constant with --stated FILE, or price the GEMMs in a dtype the model has (--weights "
        "bf16).\n";
  }
  return out;
}

}  // namespace batchcost
