// `batchcost predict`: speed and cost of serving an LLM (predict/predict.h). Host C++ only.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/deployment_options.h"
#include "predict/predict.h"

namespace batchcost {

// The arguments of `batchcost predict`.
struct PredictArgs {
  std::string hardware, model, stated, weights, kv_cache;
  bool no_stated = false;  // --no-stated: no constants from the GPU type's stated ones
  std::vector<long long> batches = {1, 8, 64, 512, 4096};
  std::vector<long long> input_lens, output_lens;
  std::vector<long long> concurrency = {1};
  double gpu_memory_gib = 0;
  PredictOptions options;
  bool show_ops = false, list_models = false, strict = false;
  SpeculationArgs speculation;
  double arrival_rate = 0, window_s = 0;
  bool json = false;
};

CLI::App* add_predict_command(CLI::App& app, PredictArgs& args);
// The checks of the parsed flags that need no file (the parallelism degrees together), which
// run_predict makes first; for the command line's parse-only mode (tests/fuzz/cli_fuzz.cc).
void check_predict_args(const PredictArgs& args);
int run_predict(const PredictArgs& args);  // throws InputError for the caller to report

}  // namespace batchcost
