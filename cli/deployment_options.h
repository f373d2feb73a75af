// The deployment flags `batchcost predict` and `batchcost serve` share: one parser and one
// validation, so every knob of one is a knob of the other. Host C++ only.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "predict/model_config.h"
#include "predict/predict.h"

namespace batchcost {

// --gpus --tp --ep --pp --gpus-per-node --micro-batches --cuda-graphs --overlap --dispatch-dtype
// --redundant-experts into `d`; --weights and --kv-cache (the model's precision overrides) into
// `weights` and `kv_cache`.
void add_deployment_options(CLI::App* app, Deployment& d, std::string& weights,
                            std::string& kv_cache);
// The checks no flag's own range makes: tp·pp within the GPUs a deployment may have (InputError
// naming --tp, --pp).
void check_deployment(const Deployment& d);
// `model` with --weights / --kv-cache applied; InputError naming the flag for an unknown type.
void apply_precision(const std::string& weights, const std::string& kv_cache, LlmConfig& model);

}  // namespace batchcost
