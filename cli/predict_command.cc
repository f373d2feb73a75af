// `batchcost predict` (see predict_command.h).
#include "cli/predict_command.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "cli/deployment_options.h"
#include "core/dtype.h"
#include "core/format.h"
#include "core/forms.h"
#include "core/input_error.h"
#include "predict/hardware.h"
#include "predict/model_config.h"
#include "predict/predict_report.h"

namespace batchcost {
namespace {

// A model name or file as the output names it: models/NAME.json for a shipped one.
std::string model_source(const LlmConfig& c, const std::string& given) {
  bool shipped = false;
  for (const std::string& n : shipped_model_names()) shipped |= n == c.name;
  return shipped && given.find('/') == std::string::npos && given.find(".json") == std::string::npos
             ? "models/" + c.name + ".json"
             : given;
}

// The request shapes of --input-len and --output-len: pairs of equal lists, or one value with
// a list.
std::vector<std::pair<double, double>> request_shapes(const PredictArgs& a) {
  std::vector<std::pair<double, double>> out;
  if (a.input_lens.empty() && a.output_lens.empty()) return out;
  if (a.input_lens.empty() || a.output_lens.empty()) {
    throw InputError("--input-len and --output-len go together (a request has both)");
  }
  const size_t n = std::max(a.input_lens.size(), a.output_lens.size());
  if ((a.input_lens.size() != n && a.input_lens.size() != 1) ||
      (a.output_lens.size() != n && a.output_lens.size() != 1)) {
    throw InputError("--input-len has " + std::to_string(a.input_lens.size()) +
                     " values and --output-len " + std::to_string(a.output_lens.size()) +
                     ": give lists of the same length (one request shape each), or one value");
  }
  for (size_t i = 0; i < n; ++i) {
    out.emplace_back(static_cast<double>(a.input_lens[a.input_lens.size() == 1 ? 0 : i]),
                     static_cast<double>(a.output_lens[a.output_lens.size() == 1 ? 0 : i]));
  }
  return out;
}

}  // namespace

CLI::App* add_predict_command(CLI::App& app, PredictArgs& pa) {
  Deployment& dep = pa.options.deployment;
  CLI::App* pred = app.add_subcommand("predict", "speed and cost of serving an LLM");
  pred->option_defaults()->always_capture_default();
  pred->add_option("--hardware", pa.hardware,
                   "model.json (the fitted constants of the GPU), a results folder to fit, or "
                   "h100|h200 (the shipped calibration; stated constants where it has none)");
  pred->add_option("--model", pa.model, "a shipped model (--list-models) or a JSON file");
  pred->add_flag("--list-models", pa.list_models, "list the shipped models");
  // Ranges: far beyond any real deployment, and within what the arithmetic holds exactly (a batch
  // or a context of 1e9 tokens, 2^20 GPUs, a price of a million dollars per GPU-hour).
  pred->add_option("--batch", pa.batches, "batch sizes: sequences decoded together")
      ->delimiter(',')
      ->check(finite_in(1, 1e9));
  pred->add_option("--context", pa.options.context, "tokens of KV cache per sequence")
      ->check(finite_in(0, 1e9));
  add_deployment_options(pred, dep, pa.weights, pa.kv_cache);
  pred->add_option("--price", pa.options.price_per_gpu_hour, "price per GPU-hour")
      ->check(finite_in(0, 1e6));
  auto* stated = pred->add_option("--stated", pa.stated,
                                  "model.json-shaped file of stated constants to fill gaps "
                                  "(default: the stated constants of an H100 or H200's type)");
  pred->add_flag("--no-stated", pa.no_stated,
                 "price with the measured constants alone; name what is missing")
      ->excludes(stated);
  pred->add_flag("--whole-step", pa.options.whole_step,
                 "overlap arithmetic and memory over the whole step, not per op");
  pred->add_flag("--ops", pa.show_ops, "the operations of each step");
  add_speculation_options(pred, pa.speculation);
  pred->add_option("--arrival-rate", pa.arrival_rate, "serving window: requests per second")
      ->check(finite_in(0, 1e9));
  pred->add_option("--window", pa.window_s, "serving window: seconds requests are collected")
      ->check(finite_in(0, 1e6));
  pred->add_option("--input-len", pa.input_lens, "requests: prompt tokens (a list: one per shape)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  pred->add_option("--output-len", pa.output_lens, "requests: output tokens (a list likewise)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  pred->add_option("--concurrency", pa.concurrency, "requests: requests in flight (a list)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  pred->add_option("--chunk", pa.options.chunk, "prefill in chunks of N tokens (0: whole prompt)")
      ->check(CLI::NonNegativeNumber);
  pred->add_option("--gpu-memory", pa.gpu_memory_gib,
                   "GiB per GPU; replaces hardware.memory_bytes (0: use it; neither: unchecked)")
      ->check(CLI::NonNegativeNumber);
  pred->add_flag("--strict", pa.strict,
                 "refuse a network constant used more than 4x outside the sizes it was fitted on");
  pred->add_flag("--json", pa.json, "JSON instead of tables");

  return pred;
}

void check_predict_args(const PredictArgs& a) { check_deployment(a.options.deployment); }

int run_predict(const PredictArgs& a) {
  if (a.list_models) {
    for (const std::string& name : shipped_model_names()) {
      LlmConfig c = load_llm_config(name);
      std::cout << name << "  " << c.display_name << ": " << describe(c) << "\n";
    }
    return 0;
  }
  if (a.hardware.empty() || a.model.empty()) {
    throw InputError("predict needs --hardware MODEL.json and --model NAME|FILE");
  }
  check_deployment(a.options.deployment);
  if (a.arrival_rate > 0 && !(a.window_s > 0)) {
    throw InputError(
        "--arrival-rate needs --window S: the seconds over which arriving requests "
        "are collected into one batch");
  }
  if (a.window_s > 0 && !(a.arrival_rate > 0)) {
    throw InputError("--window needs --arrival-rate R: the requests per second that fill it");
  }
  check_speculation(a.speculation);
  const std::vector<std::pair<double, double>> shapes = request_shapes(a);
  PredictReport r;
  r.model = load_llm_config(a.model);
  r.model_source = model_source(r.model, a.model);
  std::optional<LlmConfig> draft;
  if (!a.speculation.draft_model.empty()) {
    draft = load_llm_config(a.speculation.draft_model);
    r.draft_source = model_source(*draft, a.speculation.draft_model);
  }
  apply_precision(a.weights, a.kv_cache, r.model);
  r.hardware_source = a.hardware;
  Hardware hw = load_hardware(a.hardware, a.stated, !a.no_stated);
  for (const std::string& w : hw.warnings) std::cerr << "warning: " << w << "\n";
  r.hardware = hw.context;
  r.constants = hw.constants;
  r.unmeasured = hw.unmeasured;
  r.unidentified = hw.unidentified;
  r.notes.insert(r.notes.end(), hw.notes.begin(), hw.notes.end());
  r.options = a.options;
  r.options.deployment = resolve(a.options.deployment, r.model);
  const std::optional<double> context_memory = hw.memory_bytes();
  if (a.gpu_memory_gib > 0) {
    r.options.gpu_memory_bytes = a.gpu_memory_gib * 1073741824.0;
    r.memory_source = "--gpu-memory";
    if (context_memory) {
      r.notes.push_back("--gpu-memory " + format_number(a.gpu_memory_gib) + " GiB replaces " +
                        a.hardware + "'s memory_bytes of " +
                        format_number(*context_memory / 1073741824.0) + " GiB");
    }
  } else if (context_memory) {
    r.options.gpu_memory_bytes = *context_memory;
    r.memory_source = "hardware.memory_bytes";
  }
  r.show_ops = a.show_ops;
  // A GPU calibrated without fp8 GEMMs (or one without fp8) still predicts an fp8 model: its
  // GEMMs are priced at the activations' P, its weights stay 1 byte, and a note says so.
  const std::string fp8 = gemm_dtype(r.model.precision);
  const std::string act = r.model.precision.activations;
  if (fp8 != act && !r.constants.flops_per_s.count(fp8) && r.constants.flops_per_s.count(act)) {
    r.model.precision.gemm = act;
    r.notes.push_back(a.hardware + " has no P[" + fp8 + "]: the " + fp8 +
                      " GEMMs are priced at P[" + act + "] (weights still " +
                      r.model.precision.weights + ")");
  }
  const std::vector<double> batches(a.batches.begin(), a.batches.end());
  try {
    r.steps = predict_steps(r.constants, r.model, r.options, batches);
    // A network constant used far outside the sizes it was fitted on is marked, or refused.
    std::set<std::string> outside;
    for (const StepPrediction& s : r.steps) {
      for (const std::string& e : extrapolated_network(r.constants, s.ops)) outside.insert(e);
    }
    for (const std::string& e : outside) {
      if (a.strict) throw InputError("--strict: " + e + " (more than 4x outside)");
      r.notes.push_back("extrapolated: " + e + " (more than 4x outside; --strict refuses)");
    }
    for (long long c : a.concurrency) {
      for (const auto& [input, output] : shapes) {
        r.requests.push_back(predict_request(r.constants, r.model, r.options, input, output,
                                             static_cast<double>(c)));
      }
    }
    if (a.speculation.given()) {
      r.speculation = speculation_of(a.speculation, draft ? &*draft : nullptr);
      for (double b : batches) {
        r.speculative.push_back(
            predict_speculative(r.constants, r.model, r.options, b, *r.speculation));
      }
    }
    r.moe_crossover = predict_moe_crossover(r.constants, r.model);
    if (a.arrival_rate > 0) {
      r.window = serving_window(a.arrival_rate, a.window_s);
      r.window_step = predict_step(r.constants, r.model, r.options, r.window->batch);
    }
  } catch (const MissingConstants& e) {
    std::cerr << "batchcost: " << missing_constants_message(e, a.hardware);
    return 2;
  }
  if (a.json) {
    std::cout << predict_json(r).dump(2) << "\n";
  } else {
    std::cout << predict_table(r);
  }
  return 0;
}

}  // namespace batchcost
