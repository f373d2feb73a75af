// libFuzzer target for the LLM configuration reader and the predictor: the input is a
// configuration file (batchcost.llm/1). It must be read or refused with InputError; a configuration
// that is read must count finite, non-negative parameters and FLOPs, and predict a finite, positive
// step time on stated H100-like constants at the default deployment (or be refused by resolve()
// with InputError). Built and run by tools/fuzz.sh.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/input_file.h"
#include "predict/model_config.h"
#include "predict/predict.h"

namespace {

void check(bool promise) {
  if (!promise) __builtin_trap();
}

batchcost::Constants stated() {
  batchcost::Constants c;
  c.flops_per_s["bf16"] = {7.9e14, 7.9e14, 7.9e14};
  c.flops_per_s["fp16"] = {7.9e14, 7.9e14, 7.9e14};
  c.flops_per_s["fp32"] = {6.0e13, 6.0e13, 6.0e13};
  c.flops_per_s["fp8_e4m3"] = {1.58e15, 1.58e15, 1.58e15};
  c.hbm_bytes_per_s = batchcost::Estimate{3.0e12, 3.0e12, 3.0e12};
  for (const char* kind : {"launch", "kernel", "graph_node", "sync"}) {
    c.latency_s[kind] = {2.5e-6, 2.5e-6, 2.5e-6};
  }
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  batchcost::LlmConfig config;
  try {
    config = batchcost::llm_config_from_json(batchcost::parse_json_input(text, "fuzz.json"),
                                             "fuzz.json");
  } catch (const batchcost::InputError&) {
    return 0;
  }
  const batchcost::ParameterCounts p = batchcost::parameter_counts(config);
  check(std::isfinite(p.total) && p.total > 0 && p.active <= p.total * (1 + 1e-12));
  check(std::isfinite(batchcost::flops_per_token(config, 4096)));
  (void)batchcost::describe(config);
  static const batchcost::Constants constants = stated();
  batchcost::PredictOptions options;
  options.context = 4096;
  try {
    for (const batchcost::StepPrediction& s :
         batchcost::predict_steps(constants, config, options, {1, 64})) {
      check(std::isfinite(s.step_s) && s.step_s > 0);
    }
  } catch (const batchcost::InputError&) {  // resolve(), MissingConstants
  }
  return 0;
}
