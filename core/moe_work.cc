// The work of the MoE strategies: see work.h.
#include "core/moe_work.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace batchcost {
namespace {

void add(Work& sum, const Work& w) {
  sum.flops += w.flops;
  sum.bytes += w.bytes;
  sum.net_bytes += w.net_bytes;
  sum.launches += w.launches;
  sum.kernels += w.kernels;
  sum.graph_nodes += w.graph_nodes;
  sum.syncs += w.syncs;
  sum.collectives += w.collectives;
}

// The two GEMMs of one expert with `rows` tokens.
Work expert_ffn_work(std::int64_t rows, const MoeConfig& c, GemmDtype dtype) {
  Work w = gemm_work(rows, 2 * c.intermediate, c.hidden, dtype);
  add(w, gemm_work(rows, c.hidden, c.intermediate, dtype));
  return w;
}

double expert_weight_bytes(const MoeConfig& c, GemmDtype dtype) {
  const double h = static_cast<double>(c.hidden);
  const double i = static_cast<double>(c.intermediate);
  return (h * 2 * i + i * h) * input_bytes(dtype);
}

// B from the counts, checking that they can be a routing of B tokens to k distinct experts.
std::int64_t tokens_of(const MoeConfig& config, std::span<const std::int64_t> counts) {
  if (counts.size() != static_cast<std::size_t>(config.experts)) {
    throw std::invalid_argument("moe_work: " + std::to_string(counts.size()) + " counts for " +
                                std::to_string(config.experts) + " experts of " + config.name);
  }
  std::int64_t total = 0;
  for (std::int64_t c : counts) {
    if (c < 0) throw std::invalid_argument("moe_work: negative count " + std::to_string(c));
    total += c;
  }
  if (total % config.top_k != 0) {
    throw std::invalid_argument("moe_work: counts sum to " + std::to_string(total) +
                                ", not a multiple of top_k " + std::to_string(config.top_k));
  }
  const std::int64_t tokens = total / config.top_k;
  for (std::int64_t c : counts) {
    if (c > tokens) {
      throw std::invalid_argument("moe_work: an expert has " + std::to_string(c) + " tokens of " +
                                  std::to_string(tokens) + " (a token picks an expert once)");
    }
  }
  return tokens;
}

}  // namespace

MoeConfig deepseek_v3() { return {"deepseek_v3", 256, 8, 7168, 2048}; }
MoeConfig qwen3_30b_a3b() { return {"qwen3_30b_a3b", 128, 8, 2048, 768}; }
std::vector<MoeConfig> moe_configs() { return {deepseek_v3(), qwen3_30b_a3b()}; }

void check_moe_config(const MoeConfig& config) {
  const auto fail = [&config](const std::string& what) {
    throw std::invalid_argument("MoE config '" + config.name + "': " + what);
  };
  if (config.experts < 1) fail("experts must be >= 1");
  if (config.top_k < 1 || config.top_k > config.experts) fail("need 1 <= top_k <= experts");
  if (config.hidden < 1) fail("hidden must be >= 1");
  if (config.intermediate < 1) fail("intermediate must be >= 1");
}

std::string_view strategy_label(MoeStrategy strategy) {
  switch (strategy) {
    case MoeStrategy::dense_equivalent:
      return "dense_equivalent";
    case MoeStrategy::per_expert_loop:
      return "per_expert_loop";
    case MoeStrategy::per_expert_graph:
      return "per_expert_graph";
    case MoeStrategy::grouped:
      return "grouped";
    case MoeStrategy::padded_batched:
      return "padded_batched";
    case MoeStrategy::lt_grouped:
      return "lt_grouped";
  }
  throw std::invalid_argument("strategy_label: not a MoeStrategy");
}

MoeStrategy parse_strategy(std::string_view label) {
  for (MoeStrategy s : kMoeStrategies) {
    if (strategy_label(s) == label) return s;
  }
  throw std::invalid_argument("not an MoE strategy: '" + std::string(label) + "'");
}

bool needs_host_counts(MoeStrategy strategy) {
  return strategy == MoeStrategy::per_expert_loop || strategy == MoeStrategy::grouped ||
         strategy == MoeStrategy::padded_batched;
}

bool host_timed(MoeStrategy strategy, const MoeWorkOptions& options) {
  return strategy == MoeStrategy::per_expert_loop ||
         (options.counts_from_device && needs_host_counts(strategy));
}

std::string_view counts_label(MoeStrategy strategy, const MoeWorkOptions& options) {
  switch (strategy) {
    case MoeStrategy::dense_equivalent:
      return "none";
    case MoeStrategy::per_expert_graph:
      return "captured";
    case MoeStrategy::lt_grouped:
      return "device";
    case MoeStrategy::per_expert_loop:
    case MoeStrategy::grouped:
    case MoeStrategy::padded_batched:
      return options.counts_from_device ? "d2h" : "host";
  }
  throw std::invalid_argument("counts_label: not a MoeStrategy");
}

MoeWork moe_work(MoeStrategy strategy, const MoeConfig& config, GemmDtype dtype,
                 std::span<const std::int64_t> counts, const MoeWorkOptions& options) {
  check_moe_config(config);
  const std::int64_t tokens = tokens_of(config, counts);
  const std::int64_t max_count = *std::max_element(counts.begin(), counts.end());
  const auto active =
      static_cast<int>(std::count_if(counts.begin(), counts.end(), [](auto c) { return c > 0; }));
  const double k = config.top_k;
  const double useful_flops = 6.0 * static_cast<double>(tokens) * k *
                              static_cast<double>(config.hidden) *
                              static_cast<double>(config.intermediate);

  MoeWork out;
  out.useful_flops = useful_flops;
  switch (strategy) {
    case MoeStrategy::dense_equivalent: {
      const std::int64_t width = config.top_k * config.intermediate;
      out.work = gemm_work(tokens, 2 * width, config.hidden, dtype);
      add(out.work, gemm_work(tokens, config.hidden, width, dtype));
      out.weight_bytes = tokens > 0 ? k * expert_weight_bytes(config, dtype) : 0;
      out.problems_per_projection = 1;
      out.max_gemm_m = tokens;
      break;
    }
    case MoeStrategy::per_expert_loop:
    case MoeStrategy::per_expert_graph:
    case MoeStrategy::grouped:
    case MoeStrategy::lt_grouped:
      for (std::int64_t c : counts) add(out.work, expert_ffn_work(c, config, dtype));
      out.weight_bytes = active * expert_weight_bytes(config, dtype);
      out.problems_per_projection = active;
      out.max_gemm_m = max_count;
      if (strategy == MoeStrategy::per_expert_graph) {
        out.work.graph_nodes = out.work.kernels;  // one kernel node per GEMM
        out.work.kernels = 0;
      } else if (strategy != MoeStrategy::per_expert_loop) {
        out.work.kernels = active > 0 ? 2 : 0;  // one call per projection for all experts
      }
      break;
    case MoeStrategy::padded_batched:
      if (max_count > 0) {
        const Work one = expert_ffn_work(max_count, config, dtype);
        out.work.flops = config.experts * one.flops;
        out.work.bytes = config.experts * one.bytes;
        out.work.kernels = 2;
        out.weight_bytes = config.experts * expert_weight_bytes(config, dtype);
        out.problems_per_projection = config.experts;
      }
      out.max_gemm_m = max_count;
      break;
  }
  out.activation_bytes = out.work.bytes - out.weight_bytes;

  if (options.counts_from_device && needs_host_counts(strategy)) {
    // NOTES: cudaMemcpyAsync of E int32 counts, then cudaStreamSynchronize: the host can only
    // choose the GEMM shapes once the router's output has arrived.
    out.work.syncs += 1;
    out.work.collectives += 1;
    out.work.net_bytes += 4.0 * config.experts;
  }
  if (host_timed(strategy, options)) {  // the host's launches, not the device's kernel gaps
    out.work.launches = out.work.kernels;
    out.work.kernels = 0;
  }
  return out;
}

MoeWork moe_work(MoeStrategy strategy, const MoeConfig& config, GemmDtype dtype,
                 const Routing& routing, const MoeWorkOptions& options) {
  if (routing.experts != config.experts || routing.top_k != config.top_k) {
    throw std::invalid_argument("moe_work: a routing of top-" + std::to_string(routing.top_k) +
                                " of " + std::to_string(routing.experts) + " experts for " +
                                config.name);
  }
  return moe_work(strategy, config, dtype, routing.counts, options);
}

Labels moe_labels(MoeStrategy strategy, const MoeConfig& config, GemmDtype dtype,
                  const RoutingSpec& routing, const MoeWorkOptions& options) {
  Labels labels{{"dtype", std::string(dtype_label(dtype))},
                {"model", config.name},
                {"strategy", std::string(strategy_label(strategy))},
                {"routing", routing_label(routing)},
                {"counts", std::string(counts_label(strategy, options))}};
  // The counts' copy is a device → host transfer: priced as the d2h network operation.
  if (options.counts_from_device && needs_host_counts(strategy)) labels["op"] = "d2h";
  return labels;
}

double efficiency_vs_dense(double strategy_flops_per_s, double dense_flops_per_s) {
  if (!(std::isfinite(strategy_flops_per_s) && strategy_flops_per_s > 0 &&
        std::isfinite(dense_flops_per_s) && dense_flops_per_s > 0)) {
    throw std::invalid_argument("efficiency_vs_dense: rates must be positive and finite; got " +
                                std::to_string(strategy_flops_per_s) + " and " +
                                std::to_string(dense_flops_per_s));
  }
  return strategy_flops_per_s / dense_flops_per_s;
}

}  // namespace batchcost
