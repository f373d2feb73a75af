// The deployment flags `batchcost predict` and `batchcost serve` share: one parser and one
// validation, so every knob of one is a knob of the other. Host C++ only.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "predict/model_config.h"
#include "predict/predict.h"

namespace batchcost {

// --gpus --tp --ep --pp --gpus-per-node --micro-batches --cuda-graphs --overlap --dispatch-dtype
// --redundant-experts --step-overhead (default kStatedStepOverheadS) into `d`; --weights and
// --kv-cache (the model's precision overrides) into `weights` and `kv_cache`.
void add_deployment_options(CLI::App* app, Deployment& d, std::string& weights,
                            std::string& kv_cache);
// The checks no flag's own range makes: tp·pp within the GPUs a deployment may have (InputError
// naming --tp, --pp).
void check_deployment(const Deployment& d);
// `model` with --weights / --kv-cache applied; InputError naming the flag for an unknown type.
void apply_precision(const std::string& weights, const std::string& kv_cache, LlmConfig& model);

// Speculative decoding (predict.h's Speculation): --gamma --acceptance, and the draft's cost as
// --draft-model NAME|FILE (priced on the same hardware) or --draft-cost C (a ratio).
struct SpeculationArgs {
  int gamma = -1;
  double acceptance = -1, draft_cost = -1;  // -1: not given
  std::string draft_model;
  bool given() const {
    return gamma >= 0 || acceptance >= 0 || draft_cost >= 0 || !draft_model.empty();
  }
};
void add_speculation_options(CLI::App* app, SpeculationArgs& s);
// InputError naming the flags for half a description (needs no file).
void check_speculation(const SpeculationArgs& s);
// The speculation the flags describe, its draft `draft` (--draft-model loaded) or null.
Speculation speculation_of(const SpeculationArgs& s, const LlmConfig* draft);

// A CLI11 check that a number is finite and within [low, high]: CLI11's Range and
// NonNegativeNumber let nan through (every comparison with nan is false).
CLI::Validator finite_in(double low, double high);

}  // namespace batchcost
