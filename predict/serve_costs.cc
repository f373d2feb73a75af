// Tabulated step costs for the serving simulator (see serve_costs.h).
#include "predict/serve_costs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

namespace batchcost {
namespace {

// Index i with grid[i] <= x <= grid[i+1] (clamped to the ends) and the weight of grid[i+1].
std::pair<std::size_t, double> bracket(const std::vector<double>& grid, double x) {
  if (grid.size() == 1 || x <= grid.front()) return {0, 0};
  if (x >= grid.back()) return {grid.size() - 2, 1};
  auto hi = static_cast<std::size_t>(std::upper_bound(grid.begin(), grid.end(), x) - grid.begin());
  std::size_t lo = hi - 1;
  return {lo, (x - grid[lo]) / (grid[hi] - grid[lo])};
}

double bilinear(const std::vector<double>& rows, const std::vector<double>& cols,
                const std::vector<double>& values, double r, double c) {
  auto [i, wr] = bracket(rows, r);
  auto [j, wc] = bracket(cols, c);
  std::size_t n = cols.size();
  std::size_t i1 = std::min(i + 1, rows.size() - 1), j1 = std::min(j + 1, cols.size() - 1);
  double a = values[i * n + j] * (1 - wc) + values[i * n + j1] * wc;
  double b = values[i1 * n + j] * (1 - wc) + values[i1 * n + j1] * wc;
  return a * (1 - wr) + b * wr;
}

std::vector<double> pow2_grid(double lo, double hi) {
  std::vector<double> g;
  for (double v = lo; v < hi; v *= 2) g.push_back(v);
  g.push_back(hi);
  return g;
}

}  // namespace

ServeCostTables tabulate_serve_costs(const Constants& constants, const LlmConfig& model,
                                     const PredictOptions& options, const ServeCostOptions& o) {
  if (o.max_batch < 1 || o.max_batch > (1 << 20)) {
    throw InputError("--max-batch must be between 1 and 1048576");
  }
  if (o.token_budget < o.max_batch || o.token_budget > (1 << 24)) {
    throw InputError("--token-budget must be at least --max-batch and at most 16777216");
  }
  if (!(o.max_context >= 1) || !std::isfinite(o.max_context) || o.max_context > 1e8) {
    throw InputError("serve: the longest request (prompt + output) must be 1 to 1e8 tokens");
  }
  if (!(o.memory_utilization > 0 && o.memory_utilization <= 1)) {
    throw InputError("--memory-utilization must be in (0, 1]");
  }
  if (!(o.gpu_memory_bytes > 0) || !std::isfinite(o.gpu_memory_bytes)) {
    throw InputError("serve needs the GPU's memory: the hardware's context has no memory_bytes; "
                     "give --gpu-memory GIB");
  }
  ServeCostTables t;
  PredictOptions opt = options;
  opt.tokens_per_sequence = 1;
  opt.context = 1;
  const Deployment resolved = resolve(options.deployment, model);
  // The tables hold the GPU's work alone: a serve step that decodes and prefills adds the
  // deployment's step overhead once (StepCosts::step_overhead_s), not once per table.
  t.step_overhead_s = resolved.step_overhead_s;
  opt.deployment.step_overhead_s = 0;
  const int dp = data_parallel(resolved);
  StepPrediction one = predict_step(constants, model, opt, dp);  // one sequence per group
  t.gpus = resolved.gpus;
  t.weight_bytes_per_gpu = one.weight_bytes_per_gpu;
  t.kv_bytes_per_token_per_gpu = one.kv_bytes_per_gpu;  // one sequence of one token per group
  const double free_bytes = o.gpu_memory_bytes * o.memory_utilization - t.weight_bytes_per_gpu;
  if (free_bytes <= 0 || t.kv_bytes_per_token_per_gpu <= 0) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "serve: the weights (%.1f GB per GPU) leave no room for a KV cache in %.1f GB "
                  "(%.0f%% of %.1f GB): use more GPUs, lighter weights or --gpu-memory",
                  t.weight_bytes_per_gpu / 1e9, o.gpu_memory_bytes * o.memory_utilization / 1e9,
                  o.memory_utilization * 100, o.gpu_memory_bytes / 1e9);
    throw InputError(msg);
  }
  const double per_group = std::min(std::floor(free_bytes / t.kv_bytes_per_token_per_gpu), 1e15);
  t.groups = dp;
  t.kv_capacity_tokens_per_group = static_cast<std::int64_t>(per_group);
  t.kv_capacity_tokens = static_cast<std::int64_t>(per_group * dp);
  t.largest_batch_that_fits = static_cast<std::int64_t>(std::floor(per_group / o.max_context));

  // Sequences over the whole deployment: up to max_batch in each group.
  const double most = static_cast<double>(o.max_batch) * dp;
  for (double b = 1; b <= most; b = b < 64 ? b + 1 : std::ceil(b * 1.125)) t.batches.push_back(b);
  if (t.batches.back() != most) t.batches.push_back(most);
  t.contexts = pow2_grid(std::min(64.0, o.max_context), std::max(64.0, o.max_context));
  t.prefill_tokens = pow2_grid(1, static_cast<double>(o.token_budget));
  // A step's time, and beside it the seconds its weak constants price (their share of the
  // stage's ops, as predict marks a step, times the step).
  if (o.speculation) {
    t.tokens_per_step = expected_tokens_per_verify(o.speculation->gamma, o.speculation->acceptance);
  }
  auto tabulate = [&](double sequences, std::vector<double>& time, std::vector<double>& weak,
                      bool decode) {
    const StepPrediction step = predict_step(constants, model, opt, sequences);
    t.constants.insert(step.constants.begin(), step.constants.end());
    for (const std::string& e : extrapolated_network(constants, step.ops)) t.extrapolated.insert(e);
    // NOTES: a speculative cycle's weak share is taken as its plain step's (the verify step
    // prices the same ops at γ + 1 tokens).
    double seconds = step.step_s;
    if (decode && o.speculation) {
      seconds = predict_speculative(constants, model, opt, sequences, *o.speculation).cycle_s;
    }
    time.push_back(seconds);
    const WeakShare w = o.weak.empty() ? WeakShare{} : weak_share(step.ops, o.weak);
    weak.push_back(w.share * seconds);
    for (const auto& [name, share] : w.by_constant) {
      t.weak_largest[name] = std::max(t.weak_largest[name], share);
    }
  };
  for (double b : t.batches) {
    for (double L : t.contexts) {
      opt.context = L;
      tabulate(b, t.decode, t.decode_weak, true);
    }
  }
  for (double c : t.prefill_tokens) {  // a chunk of c tokens in every group
    opt.tokens_per_sequence = c;
    for (double L : t.contexts) {
      opt.context = L;
      tabulate(dp, t.prefill, t.prefill_weak, false);
    }
  }
  return t;
}

StepCosts step_costs(const ServeCostTables& tables) {
  auto t = std::make_shared<const ServeCostTables>(tables);
  StepCosts c;
  c.decode_s = [t](std::int64_t b, double L) {
    return bilinear(t->batches, t->contexts, t->decode, static_cast<double>(b), L);
  };
  c.prefill_s = [t](std::int64_t n, double L) {
    return bilinear(t->prefill_tokens, t->contexts, t->prefill, static_cast<double>(n), L);
  };
  c.decode_weak_s = [t](std::int64_t b, double L) {
    return bilinear(t->batches, t->contexts, t->decode_weak, static_cast<double>(b), L);
  };
  c.prefill_weak_s = [t](std::int64_t n, double L) {
    return bilinear(t->prefill_tokens, t->contexts, t->prefill_weak, static_cast<double>(n), L);
  };
  c.kv_capacity_tokens = t->kv_capacity_tokens;
  c.gpus = t->gpus;
  c.groups = t->groups;
  c.tokens_per_step = t->tokens_per_step;
  c.step_overhead_s = t->step_overhead_s;
  return c;
}

}  // namespace batchcost
