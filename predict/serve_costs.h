// The step costs of `batchcost serve` from the predictor (predict.h), so that serving is priced
// by the very operations `batchcost predict` prices. Pure host C++.
//
// Pricing a step from scratch (dozens of priced ops) for each of millions of simulated steps
// would dominate the run, so the costs are tabulated once on a grid and interpolated:
//   decode_s(b, L)   predict_step(batch b, context L): b on every integer to 64, then on a
//                    geometric grid (×1.125) to max_batch, and max_batch itself; L on powers of
//                    two from 64 to max_context. Linear in b and in L between grid points (a
//                    step's KV-cache reads grow linearly with L; its GEMMs are piecewise linear
//                    in b between the roofline's corners).
//   prefill_s(c, L)  a prompt chunk of c tokens in every data-parallel group over a mean context
//                    L: the step of one sequence per group at c tokens per sequence (predict's
//                    multi-token step, as a speculative verify), on powers of two of c to the
//                    token budget.
// decode_s's b runs to max_batch in every group (max_batch × groups over the deployment). With
// speculative decoding a decode step is the speculative cycle at b and L (predict.h), and each
// decoding sequence gains E tokens per step (the expectation: acceptance is not drawn per step).
// The KV capacity of a data-parallel group is the deployment's GPU memory (times
// `memory_utilization`, as vLLM's gpu_memory_utilization) less the weights, over the KV bytes of
// one token in that group; each group holds its own (serve.h), kv_capacity_tokens is their sum.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "predict/predict.h"
#include "predict/serve.h"

namespace batchcost {

struct ServeCostOptions {
  double gpu_memory_bytes = 0;      // per GPU
  double memory_utilization = 0.9;  // of gpu_memory_bytes for weights and KV cache
  std::int64_t max_batch = 256;
  std::int64_t token_budget = 8192;
  double max_context = 8192;  // the largest context a step will see (prompt + output)
  // Stated or unidentified constants: the share of each step's time they price is tabulated
  // beside it, so a simulated load point is marked as predict marks a step (kWeakShareMark).
  std::set<std::string> weak;
  // Speculative decoding: a decode step is predict_speculative's cycle (the target verifying γ
  // drafted tokens plus γ draft steps) and yields its expected tokens per sequence.
  std::optional<Speculation> speculation;
};

struct ServeCostTables {
  std::vector<double> batches, contexts, prefill_tokens;
  std::vector<double> decode;   // batches × contexts, row-major
  std::vector<double> prefill;  // prefill_tokens × contexts
  // Seconds of each tabulated step priced with ServeCostOptions::weak constants (same layout),
  // and each weak constant's largest share of one tabulated step.
  std::vector<double> decode_weak, prefill_weak;
  std::map<std::string, double> weak_largest;
  double weight_bytes_per_gpu = 0;
  double kv_bytes_per_token_per_gpu = 0;
  std::int64_t kv_capacity_tokens = 0;            // in all
  std::int64_t kv_capacity_tokens_per_group = 0;  // each data-parallel group's
  std::int64_t largest_batch_that_fits = 0;       // per group, at max_context per sequence
  int gpus = 0;
  int groups = 1;                   // data-parallel groups
  double tokens_per_step = 1;       // per decoding sequence (speculative decoding: E)
  double step_overhead_s = 0;       // the deployment's, added once per serve step
  std::set<std::string> constants;  // every constant a tabulated step used (predict.h's names)
  // Network constants a tabulated step used more than 4x outside the sizes they were fitted on
  // (predict.h's extrapolated_network).
  std::set<std::string> extrapolated;
};

// Throws MissingConstants (a constant the steps need) or InputError (a deployment whose weights
// do not fit, a bad option).
ServeCostTables tabulate_serve_costs(const Constants& constants, const LlmConfig& model,
                                     const PredictOptions& options, const ServeCostOptions& o);

// Interpolating StepCosts over the tables (which it copies).
StepCosts step_costs(const ServeCostTables& tables);

}  // namespace batchcost
