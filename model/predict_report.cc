// Tables and JSON of predict (see predict_report.h).
#include "model/predict_report.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "model/model_file.h"
#include "model/report.h"

namespace batchcost {
namespace {

using nlohmann::ordered_json;

double r6(double v) { return round_significant(v, 6); }

// "1.58e15" style, for the counts of the ops table.
std::string sci(double v) {
  if (v == 0) return "0";
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", v);
  return text;
}

std::string billions(double v) { return format_number(v / 1e9) + " B"; }

std::string gigabytes(double bytes) { return format_number(bytes / 1e9); }

// A constant's value in the unit a person reads, by its name ("P[bf16]", "W", "λ[launch]",
// "network all_reduce/8"); regimes of a network constant joined by " | ".
std::string constant_text(const Constants& c, const std::string& name) {
  if (name == "W" && c.hbm_bytes_per_s)
    return format_number(c.hbm_bytes_per_s->value / 1e12) + " TB/s";
  if (name.rfind("P[", 0) == 0) {
    auto it = c.flops_per_s.find(name.substr(2, name.size() - 3));
    if (it != c.flops_per_s.end()) return format_number(it->second.value / 1e12) + " TFLOP/s";
  }
  if (name.rfind("λ[", 0) == 0) {
    auto it = c.latency_s.find(name.substr(3, name.size() - 4));
    if (it != c.latency_s.end()) return format_time(it->second.value);
  }
  if (name.rfind("network ", 0) == 0) {
    std::string key = name.substr(8);
    for (const auto& [k, regimes] : c.network) {
      if (net_key_name(k) != key) continue;
      std::string out;
      for (const Regime& r : regimes) {
        out += (out.empty() ? "" : " | ") + format_time(r.latency_s.value) + " + x / " +
               format_number(r.bytes_per_s.value / 1e9) + " GB/s";
      }
      return out;
    }
  }
  return "?";
}

std::string deployment_line(const PredictReport& r) {
  const Deployment& d = r.options.deployment;
  std::ostringstream o;
  o << d.gpus << " GPU" << (d.gpus == 1 ? "" : "s") << ": tp " << d.tp << ", ep " << d.ep << ", pp "
    << d.pp << ", dp " << data_parallel(d) << " (" << d.gpus_per_node << " GPUs per node), "
    << d.micro_batches << " micro-batch" << (d.micro_batches == 1 ? "" : "es") << "; "
    << (d.cuda_graphs ? "kernels in CUDA graphs" : "kernels launched one by one") << "; context "
    << r.options.context;
  return o.str();
}

std::string mode_line(const PredictOptions& o) {
  return o.whole_step ? "whole step: max(Σ flops / P, Σ bytes / W) + network + latency"
                      : "per operation: Σ over ops of max(flops / P, bytes / W) + network + "
                        "latency";
}

double memory_limit(const PredictReport& r) {
  const auto& hw = r.hardware;
  if (hw.is_object() && hw.contains("memory_bytes") && hw["memory_bytes"].is_number()) {
    return hw["memory_bytes"].get<double>();
  }
  return 0;
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
  if (r.window_step) used.insert(r.window_step->constants.begin(), r.window_step->constants.end());
  return used;
}

std::vector<std::string> notes(const PredictReport& r) {
  std::vector<std::string> out = r.notes;
  const Deployment& d = r.options.deployment;
  const double limit = memory_limit(r);
  for (const StepPrediction& s : r.steps) {
    const double need = s.weight_bytes_per_gpu + s.kv_bytes_per_gpu;
    if (limit > 0 && need > limit) {
      out.push_back("at batch " + format_number(s.batch) + " a GPU would hold " + gigabytes(need) +
                    " GB of weights and KV cache, more than its " + gigabytes(limit) +
                    " GB (hardware.memory_bytes): spread the model with "
                    "--gpus, --tp, --ep, --pp (marked ! in the table)");
      break;
    }
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
  if (!r.options.whole_step) {
    out.push_back(
        "arithmetic and memory: per op, max(flops / P, bytes / W) counted as "
        "arithmetic where flops / P binds, memory where bytes / W does");
  }
  return out;
}

Table ops_table(const StepPrediction& s) {
  Table t({"op", "kind", "count", "flops", "bytes", "net bytes", "kernels", "time", "arith",
           "memory", "network", "latency"},
          "llrrrrrrrrrr");
  for (const PricedOp& p : s.ops) {
    const Work& w = p.op.sample.work;
    t.add({p.op.name, p.op.kind, format_number(p.op.count), sci(w.flops * p.op.count),
           sci(w.bytes * p.op.count), sci(w.net_bytes * p.op.count),
           format_number((w.launches + w.graph_nodes) * p.op.count), format_time(p.split.total()),
           format_time(p.split.arithmetic), format_time(p.split.memory),
           format_time(p.split.network), format_time(p.split.latency)});
  }
  return t;
}

ordered_json step_json(const PredictReport& r, const StepPrediction& s) {
  ordered_json j;
  j["batch"] = s.batch;
  j["sequences_per_group_and_micro_batch"] = s.sequences;
  j["step_s"] = r6(s.step_s);
  j["arithmetic_s"] = r6(s.split.arithmetic);
  j["memory_s"] = r6(s.split.memory);
  j["network_s"] = r6(s.split.network);
  j["latency_s"] = r6(s.split.latency);
  j["bubble_s"] = r6(s.bubble_s);
  j["tokens_per_s_per_user"] = r6(s.tokens_per_s_per_user);
  j["tokens_per_s"] = r6(s.tokens_per_s);
  j["tokens_per_s_per_gpu"] = r6(s.tokens_per_s_per_gpu);
  j["gpu_hours_per_million_tokens"] = r6(s.gpu_hours_per_million);
  if (r.options.price_per_gpu_hour > 0) j["cost_per_million_tokens"] = r6(s.cost_per_million);
  j["weight_bytes_per_gpu"] = r6(s.weight_bytes_per_gpu);
  j["kv_cache_bytes_per_gpu"] = r6(s.kv_bytes_per_gpu);
  j["pareto"] = s.pareto;
  ordered_json stated = ordered_json::array();
  for (const std::string& n : s.constants) {
    if (r.unmeasured.count(n)) stated.push_back(n);
  }
  j["unmeasured_constants"] = stated;
  if (r.show_ops) {
    ordered_json ops = ordered_json::array();
    for (const PricedOp& p : s.ops) {
      const Work& w = p.op.sample.work;
      ops.push_back({{"name", p.op.name},
                     {"kind", p.op.kind},
                     {"count", r6(p.op.count)},
                     {"flops", r6(w.flops * p.op.count)},
                     {"bytes", r6(w.bytes * p.op.count)},
                     {"net_bytes", r6(w.net_bytes * p.op.count)},
                     {"kernels", r6((w.launches + w.graph_nodes) * p.op.count)},
                     {"time_s", r6(p.split.total())},
                     {"arithmetic_s", r6(p.split.arithmetic)},
                     {"memory_s", r6(p.split.memory)},
                     {"network_s", r6(p.split.network)},
                     {"latency_s", r6(p.split.latency)}});
    }
    j["ops"] = ops;
  }
  return j;
}

}  // namespace

std::string predict_table(const PredictReport& r) {
  std::ostringstream o;
  const LlmConfig& m = r.model;
  const ParameterCounts pc = parameter_counts(m);
  const double ctx = r.options.context;
  o << "model: " << m.display_name << " (" << r.model_source << "): " << describe(m) << "\n"
    << "  parameters " << billions(pc.total) << ", " << billions(pc.active) << " active per token; "
    << format_number(flops_per_token(m, ctx) / 1e9) << " GFLOP per token at context " << ctx
    << " (2 × " << billions(pc.active_matmul) << " in GEMMs + "
    << format_number(attention_flops_per_token(m, ctx) / 1e9) << " GFLOP attention)\n"
    << "  weights " << m.precision.weights << ", activations " << m.precision.activations
    << ", KV cache " << m.precision.kv_cache << " ("
    << format_number(kv_elements_per_token_layer(m.attention) * m.layers *
                     dtype_bytes(m.precision.kv_cache) / 1e3)
    << " kB per token)\n"
    << "deployment: " << deployment_line(r) << "\n"
    << "pricing: " << mode_line(r.options) << "\n"
    << "hardware: " << r.hardware_source;
  if (r.hardware.is_object() && r.hardware.contains("gpu_name") &&
      r.hardware["gpu_name"].is_string()) {
    o << " (" << r.hardware["gpu_name"].get<std::string>() << ")";
  }
  o << "\n";
  const std::set<std::string> used = all_used(r);
  bool any_stated = false;
  Table constants({"  constant", "value", ""}, "lll");
  for (const std::string& n : used) {
    bool stated = r.unmeasured.count(n) > 0;
    any_stated |= stated;
    constants.add({"  " + n, constant_text(r.constants, n), stated ? "*" : ""});
  }
  o << "constants used:\n" << constants.str();
  if (any_stated) o << "  * stated, not measured\n";
  o << "\n";

  const bool priced = r.options.price_per_gpu_hour > 0;
  const double limit = memory_limit(r);
  Table t({"batch", "step", "arithmetic", "memory", "network", "latency", "bubble", "tok/s/user",
           "tok/s/GPU", "GPU-h/Mtok", priced ? "$/Mtok" : "", "GB/GPU", "front"},
          "rrrrrrrrrrrrl");
  for (const StepPrediction& s : r.steps) {
    const double gb = s.weight_bytes_per_gpu + s.kv_bytes_per_gpu;
    t.add(
        {format_number(s.batch), format_time(s.step_s) + (unmeasured_in(r, s.constants) ? "*" : ""),
         format_time(s.split.arithmetic), format_time(s.split.memory), format_time(s.split.network),
         format_time(s.split.latency), s.bubble_s > 0 ? format_time(s.bubble_s) : "0",
         format_number(s.tokens_per_s_per_user), format_number(s.tokens_per_s_per_gpu),
         format_number(s.gpu_hours_per_million), priced ? format_number(s.cost_per_million) : "",
         gigabytes(gb) + (limit > 0 && gb > limit ? "!" : ""), s.pareto ? "x" : ""});
  }
  o << t.str();
  o << "front: x where no other batch is both faster per user and cheaper per token";
  if (priced)
    o << "; $/Mtok at $" << format_number(r.options.price_per_gpu_hour) << " per GPU-hour";
  o << "\n";
  if (any_stated) o << "*: priced with stated constants, not measured\n";

  if (r.show_ops) {
    for (const StepPrediction& s : r.steps) {
      o << "\nbatch " << format_number(s.batch) << ": the ops of one stage and micro-batch ("
        << format_number(s.sequences) << " sequences per attention group)\n"
        << ops_table(s).str();
    }
  }
  if (r.speculation) {
    const Speculation& sp = *r.speculation;
    o << "\nspeculative decoding: γ " << sp.gamma << ", acceptance " << format_number(sp.acceptance)
      << ", draft step " << format_number(sp.draft_cost)
      << " × a target step: " << format_number(expected_tokens_per_verify(sp.gamma, sp.acceptance))
      << " tokens per verification\n";
    Table s({"batch", "step", "verify", "tok/s/user", "speed-up"}, "rrrrr");
    for (const SpeculativeStep& x : r.speculative) {
      s.add({format_number(x.batch), format_time(x.step_s), format_time(x.verify_s),
             format_number(x.tokens_per_s_per_user), format_number(x.speedup) + "×"});
    }
    o << s.str();
  }
  if (r.window && r.window_step) {
    const ServingWindow& w = *r.window;
    const StepPrediction& s = *r.window_step;
    o << "\nserving window: " << format_number(w.rate_per_s) << " requests/s collected for "
      << format_time(w.window_s) << " form a batch of " << format_number(w.batch) << "; extra wait "
      << format_time(w.mean_wait_s) << " on average, " << format_time(w.max_wait_s)
      << " at most; then a step of " << format_time(s.step_s) << " ("
      << format_number(s.tokens_per_s_per_user) << " tok/s per user, "
      << format_number(s.gpu_hours_per_million) << " GPU-h per million tokens)\n";
  }
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
  j["schema"] = "batchcost.predict/1";
  j["model"] = {{"name", m.name},
                {"display_name", m.display_name},
                {"source", r.model_source},
                {"parameters", r6(pc.total)},
                {"active_parameters", r6(pc.active)},
                {"flops_per_token", r6(flops_per_token(m, r.options.context))},
                {"kv_cache_bytes_per_token", r6(kv_elements_per_token_layer(m.attention) *
                                                m.layers * dtype_bytes(m.precision.kv_cache))}};
  j["deployment"] = {{"gpus", d.gpus},
                     {"tp", d.tp},
                     {"ep", d.ep},
                     {"pp", d.pp},
                     {"dp", data_parallel(d)},
                     {"gpus_per_node", d.gpus_per_node},
                     {"micro_batches", d.micro_batches},
                     {"cuda_graphs", d.cuda_graphs}};
  j["context"] = r.options.context;
  j["mode"] = r.options.whole_step ? "whole_step" : "per_op";
  if (r.options.price_per_gpu_hour > 0) j["price_per_gpu_hour"] = r.options.price_per_gpu_hour;
  j["hardware"] = {{"source", r.hardware_source}};
  if (r.hardware.is_object() && r.hardware.contains("gpu_name")) {
    j["hardware"]["gpu_name"] = r.hardware["gpu_name"];
  }
  ordered_json constants = ordered_json::array();
  for (const std::string& n : all_used(r)) {
    constants.push_back({{"name", n},
                         {"value", constant_text(r.constants, n)},
                         {"measured", r.unmeasured.count(n) == 0}});
  }
  j["constants"] = constants;
  ordered_json steps = ordered_json::array();
  for (const StepPrediction& s : r.steps) steps.push_back(step_json(r, s));
  j["steps"] = steps;
  if (r.speculation) {
    ordered_json rows = ordered_json::array();
    for (const SpeculativeStep& x : r.speculative) {
      rows.push_back({{"batch", x.batch},
                      {"step_s", r6(x.step_s)},
                      {"verify_s", r6(x.verify_s)},
                      {"tokens_per_s_per_user", r6(x.tokens_per_s_per_user)},
                      {"speedup", r6(x.speedup)}});
    }
    j["speculative"] = {
        {"gamma", r.speculation->gamma},
        {"acceptance", r.speculation->acceptance},
        {"draft_cost", r.speculation->draft_cost},
        {"tokens_per_verify",
         r6(expected_tokens_per_verify(r.speculation->gamma, r.speculation->acceptance))},
        {"steps", rows}};
  }
  if (r.window && r.window_step) {
    j["serving_window"] = {{"arrival_rate_per_s", r.window->rate_per_s},
                           {"window_s", r.window->window_s},
                           {"batch", r.window->batch},
                           {"mean_wait_s", r6(r.window->mean_wait_s)},
                           {"max_wait_s", r6(r.window->max_wait_s)},
                           {"step", step_json(r, *r.window_step)}};
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
