// `batchcost serve`: its flags and its run (see predict/serve.h). Host C++ only.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/deployment_options.h"
#include "predict/predict.h"

namespace batchcost {

struct ServeArgs {
  std::string hardware, model, stated;
  bool no_stated = false;  // --no-stated: no constants from the GPU type's stated ones
  Deployment deployment;
  std::string weights, kv_cache;  // --weights, --kv-cache: the model's precision overrides
  std::vector<double> rates;
  std::vector<std::int64_t> users;
  bool offline = false;   // --offline: every request at t = 0
  double prefix_hit = 0;  // --prefix-hit: share of each prompt already in the prefix cache
  int prefill_gpus = 0, decode_gpus = 0;  // --prefill-gpus, --decode-gpus: disaggregated pools
  SpeculationArgs speculation;            // --gamma --acceptance --draft-cost --draft-model
  bool whole_step = false;                // --whole-step: predict's pricing over the whole step
  bool strict = false;  // --strict: refuse a network constant used > 4x outside its sizes
  double think_s = 0;
  std::string input_len = "1024", output_len = "256";
  std::int64_t requests = 2000;
  std::uint64_t seed = 1;
  std::vector<std::string> policies = {"continuous"};
  std::int64_t max_batch = 0;  // 0: the largest that fits, at most 256
  std::int64_t token_budget = 8192;
  double price = 0, slo_ttft_s = 0, slo_tpot_s = 0;
  double gpu_memory_gib = 0;  // 0: the hardware context's memory_bytes
  double memory_utilization = 0.9;
  bool json = false;
};

CLI::App* add_serve_command(CLI::App& app, ServeArgs& args);
int run_serve(const ServeArgs& args);  // throws InputError for the caller to report

}  // namespace batchcost
