// The table and JSON of `batchcost predict` (predict.h), and the message that says which
// constants a deployment lacks and how to supply them. Fixed formatting and order, so the output
// is the same byte for byte for the same input. Host C++ only.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "predict/predict.h"

namespace batchcost {

struct PredictReport {
  LlmConfig model;
  std::string model_source;  // "models/deepseek-v3.json" or the user's file
  PredictOptions options;    // options.deployment resolved
  std::string hardware_source;
  nlohmann::json hardware = nlohmann::json::object();  // model.json's hardware context
  Constants constants;
  std::set<std::string> unmeasured;  // stated constants (predict.h: unmeasured_constants)
  // Constants the fit behind them did not identify (model.json's identification: held at a
  // bound, or no sample where their term is half the time); like stated ones, weak.
  std::set<std::string> unidentified;
  std::vector<StepPrediction> steps;
  bool show_ops = false;
  std::optional<Speculation> speculation;
  std::vector<SpeculativeStep> speculative;
  std::optional<ServingWindow> window;
  std::optional<StepPrediction> window_step;
  // Requests (--input-len / --output-len): one per shape and concurrency, shapes varying
  // fastest.
  std::vector<RequestPrediction> requests;
  // Where options.gpu_memory_bytes came from: "hardware.memory_bytes", "--gpu-memory", or empty
  // (unknown: nothing refused).
  std::string memory_source;
  std::string draft_source;        // the draft model's file or shipped name, with a draft model
  std::vector<std::string> notes;  // said by the command line (a fallback it took)
  std::optional<MoeCrossoverPrediction> moe_crossover;  // an MoE model's (predict.h)
};

std::string predict_table(const PredictReport& report);

// The deployment line of predict and serve ("8 GPUs: tp 8, ep 1, pp 1, dp 1 (...)"; the context
// where one is given), and the model's precision ("weights bf16, activations bf16, KV cache
// bf16").
std::string deployment_line(const LlmConfig& model, const Deployment& deployment,
                            std::optional<double> context = std::nullopt);
std::string precision_line(const LlmConfig& model);

// "W up to 72%<of>, P[bf16] up to 65%<of>": weak constants by their largest share, largest first,
// those under half a percent left out.
std::string weak_constants_list(const std::map<std::string, double>& largest,
                                const std::string& of);

// The compute-and-memory term an op is priced with, in the form `constants` hold, with the
// refined form's term values ("max(flops / P, bytes / W)" for the epoch form); and as JSON
// (name, terms, and the tiles where the form has them), so predict and serve name the form.
std::string form_term_text(const Constants& constants);
nlohmann::ordered_json form_json(const Constants& constants);

// The "constants used:" block of predict and serve: each constant of `used` with its value, `*`
// where it is in `unmeasured` (stated), `!` where in `unidentified`, and the legend of each mark
// used; and its JSON (name, value or regimes, measured).
std::string constants_used_text(const Constants& constants, const std::set<std::string>& used,
                                const std::set<std::string>& unmeasured,
                                const std::set<std::string>& unidentified = {});
nlohmann::ordered_json constants_used_json(const Constants& constants,
                                           const std::set<std::string>& used,
                                           const std::set<std::string>& unmeasured);
nlohmann::ordered_json predict_json(const PredictReport& report);

// What is missing and how to supply it (a measurement fitted with the one-GPU results, or a
// file of stated constants), for stderr.
std::string missing_constants_message(const MissingConstants& missing,
                                      const std::string& hardware_source);

}  // namespace batchcost
