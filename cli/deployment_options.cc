// The deployment flags of predict and serve (see deployment_options.h).
#include "cli/deployment_options.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "core/dtype.h"
#include "core/input_error.h"

namespace batchcost {
namespace {

// NOTES: far beyond any real deployment, and within what the arithmetic holds exactly.
constexpr std::int64_t kMaxGpus = std::int64_t{1} << 20;

}  // namespace

void add_deployment_options(CLI::App* app, Deployment& dep, std::string& weights,
                            std::string& kv_cache) {
  const int max_gpus = static_cast<int>(kMaxGpus);
  app->add_option("--gpus", dep.gpus, "GPUs in all (default tp·pp; more: data parallel)")
      ->check(CLI::Range(0, max_gpus));
  app->add_option("--tp", dep.tp, "tensor parallelism")->check(CLI::Range(1, max_gpus));
  app->add_option("--ep", dep.ep, "expert parallelism (1: experts split by tp)")
      ->check(CLI::Range(1, max_gpus));
  app->add_option("--pp", dep.pp, "pipeline stages")->check(CLI::Range(1, max_gpus));
  app->add_option("--gpus-per-node", dep.gpus_per_node, "GPUs per node")
      ->check(CLI::Range(1, max_gpus));
  app->add_option("--micro-batches", dep.micro_batches, "pipeline micro-batches (default pp)")
      ->check(CLI::Range(0, max_gpus));
  app->add_flag("--cuda-graphs", dep.cuda_graphs, "kernels as CUDA graph nodes");
  app->add_option("--weights", weights, "override the weights' type (bf16, fp8_e4m3, ...)");
  app->add_option("--kv-cache", kv_cache, "override the KV cache's type");
  app->add_flag("--overlap", dep.overlap,
                "hide communication behind compute, per layer, up to the smaller of the two");
  app->add_option("--dispatch-dtype", dep.dispatch_dtype,
                  "the MoE dispatch all-to-all's type: fp8 or bf16 (empty: the activations')");
  app->add_option("--redundant-experts", dep.redundant_experts,
                  "expert parallelism: extra expert replicas over the ep GPUs");
  dep.step_overhead_s = kStatedStepOverheadS;
  app->add_option("--step-overhead", dep.step_overhead_s,
                  "the engine's seconds per step outside the GPU's work (scheduling, sampling, "
                  "host gaps), once per step (default: fitted to NIM's Llama-3.1-8B on H100 at "
                  "one user; 0: the GPU's work alone)")
      ->check(finite_in(0, 10))
      ->capture_default_str();
}

void check_deployment(const Deployment& d) {
  const std::int64_t replica = std::int64_t{d.tp} * d.pp;
  if (replica > kMaxGpus) {
    throw InputError("--tp, --pp: tp·pp = " + std::to_string(replica) + " GPUs, above " +
                     std::to_string(kMaxGpus));
  }
}

void apply_precision(const std::string& weights, const std::string& kv_cache, LlmConfig& model) {
  for (const auto& [flag, value, field] :
       {std::tuple{"--weights", weights, &model.precision.weights},
        std::tuple{"--kv-cache", kv_cache, &model.precision.kv_cache}}) {
    if (value.empty()) continue;
    try {
      dtype_bytes(value);
    } catch (const std::invalid_argument&) {
      throw InputError(std::string(flag) + ": unknown type '" + value +
                       "' (bf16, fp16, fp8_e4m3, fp32)");
    }
    *field = value;
  }
}

CLI::Validator finite_in(double low, double high) {
  return CLI::Validator(
      [low, high](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return "'" + text + "' is not a number";
        if (!std::isfinite(v)) return "'" + text + "' is not a finite number";
        if (v < low || v > high) {
          std::ostringstream o;
          o << "'" << text << "' is outside [" << low << ", " << high << "]";
          return o.str();
        }
        return "";
      },
      "", "FINITE");
}

void add_speculation_options(CLI::App* app, SpeculationArgs& s) {
  app->add_option("--gamma", s.gamma, "speculative decoding: drafted tokens per step")
      ->check(CLI::Range(0, 1024));
  app->add_option("--acceptance", s.acceptance, "speculative decoding: acceptance per token")
      ->check(finite_in(0, 1));
  app->add_option("--draft-cost", s.draft_cost,
                  "speculative decoding: a draft step over a target step (-1: not given)")
      ->check(finite_in(-1, 1e3));
  app->add_option("--draft-model", s.draft_model,
                  "speculative decoding: the draft model (shipped name or file), priced on the "
                  "same hardware");
}

void check_speculation(const SpeculationArgs& s) {
  if (s.draft_cost >= 0 && !s.draft_model.empty()) {
    throw InputError("give --draft-model or --draft-cost, not both");
  }
  if (!s.given()) return;
  if (s.gamma < 0 || s.acceptance < 0) {
    throw InputError("speculative decoding needs both --gamma and --acceptance");
  }
  if (s.draft_model.empty() && s.draft_cost < 0) {
    throw InputError(
        "speculative decoding needs the draft's cost: --draft-model NAME|FILE "
        "(priced on the same hardware) or --draft-cost C (a draft step over a "
        "target step; 0 for a free draft)");
  }
}

Speculation speculation_of(const SpeculationArgs& s, const LlmConfig* draft) {
  check_speculation(s);
  return Speculation{s.gamma, s.acceptance, std::max(0.0, s.draft_cost), draft};
}

}  // namespace batchcost
