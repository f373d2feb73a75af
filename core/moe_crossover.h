// The MoE crossover: from which batch an MoE layer's expert FFN stops wasting the GPU. Host C++
// only; the cost model prices it, so the crossover comes out of the fitted constants.
//
// One GPU runs one layer's whole expert FFN (gate+up then down, core/moe_work.h) for B tokens
// routed by the MoE benchmark's own routing (route(), uniform, kMoeRoutingSeed), three ways:
//   per_expert_loop   one GEMM per projection per active expert, each launched from the host;
//   grouped           one grouped kernel per projection over the active experts;
//   dense_equivalent  the same FLOPs as one dense FFN of width k·I (what a dense model of the
//                     same active parameters runs): the reference a strategy is held against.
// Each GEMM is priced as its own sample (work from gemm_work(), labels dtype, m, n, k and, for
// the grouped kernel, groups and layout=grouped, so the refined form's tile, wave and grouped
// terms see its shape), and a strategy's time is the sum over the GEMMs it runs. Every strategy
// does the same useful FLOPs, so the ratio of two times is the ratio of their costs per token.
//
// A crossover of a slower strategy to a faster one is the first B of the grid from which on, at
// every larger B of the grid too, the slower costs at most (1 + tolerance) times the faster: a
// grouped kernel over 256 experts catches up with the dense-equivalent only once each expert
// has enough tokens to amortise reading its weights. The same function turns measured times
// into the measured crossover (`batchcost validate`), so the two are read the same way.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/cost_model.h"
#include "core/moe_work.h"

namespace batchcost {

// The seed of the MoE benchmark's routings (moe/moe_bench.cc), so a prediction routes the very
// tokens a measurement ran.
inline constexpr std::uint64_t kMoeRoutingSeed = 20250101;

// The default share by which a strategy may cost more than the one it is held against.
inline constexpr double kMoeCrossoverTolerance = 0.10;

// The GEMMs of one strategy of the layer at `routing`'s counts, one sample each: per_expert_loop
// (2 per active expert, `launches` 1 each), grouped (2, `kernels` 1 each), dense_equivalent
// (2, `kernels` 1 each; over routing.tokens rows). Other strategies throw std::invalid_argument.
std::vector<Sample> moe_strategy_gemms(MoeStrategy strategy, const MoeConfig& config,
                                       GemmDtype dtype, const Routing& routing);

// The predicted seconds of one strategy (the sum over its GEMMs); the first constant it lacks is
// returned in `missing` as predict() does.
Prediction moe_strategy_time(const Constants& constants, MoeStrategy strategy,
                             const MoeConfig& config, GemmDtype dtype, const Routing& routing);

// Seconds per layer of each strategy at each batch of a grid.
struct MoeCurve {
  std::vector<std::int64_t> tokens;  // the grid, increasing
  std::vector<double> loop_s, grouped_s, dense_s;
};

// The curve over `tokens` (increasing, each >= 1) with uniform routing; throws
// std::invalid_argument for a bad grid. Where the constants lack one the layer needs, `missing`
// names the first (as predict() does) and the curve is empty.
struct MoeCurveResult {
  MoeCurve curve;
  std::string missing;
};
MoeCurveResult predict_moe_curve(const Constants& constants, const MoeConfig& config,
                                 GemmDtype dtype, std::span<const std::int64_t> tokens);

// The first tokens[i] from which on slower[j] <= (1 + tolerance) · faster[j] for every j >= i;
// nothing when the last point does not hold. Spans of one size; throws std::invalid_argument
// otherwise, or for a non-positive or non-finite time.
std::optional<std::int64_t> crossover(std::span<const std::int64_t> tokens,
                                      std::span<const double> slower,
                                      std::span<const double> faster,
                                      double tolerance = kMoeCrossoverTolerance);

// The three crossovers of a curve: loop to grouped, grouped to dense-equivalent, loop to
// dense-equivalent.
struct MoeCrossovers {
  std::optional<std::int64_t> loop_to_grouped, grouped_to_dense, loop_to_dense;
};
MoeCrossovers crossovers(const MoeCurve& curve, double tolerance = kMoeCrossoverTolerance);
// {"loop_to_grouped": B or null, "grouped_to_dense": …, "loop_to_dense": …}, as predict and
// validate write them.
nlohmann::ordered_json crossovers_json(const MoeCrossovers& at);

// A measured crossover beside the predicted one, for one MoE config of a results folder.
struct MoeCrossoverCheck {
  MoeConfig config;
  std::string dtype;
  MoeCurve measured, predicted;  // on the batches where all three strategies were measured
  MoeCrossovers measured_at, predicted_at;
  std::string missing;  // the first constant the prediction lacks (predicted is then empty)
};

// For every config of moe_configs() with per_expert_loop and grouped (routing=uniform, not
// counts=d2h) and dense_equivalent measured at two or more common batches (the tokens:B of the
// name): the measured curve (the samples' time_s), and the prediction of `constants` on the
// same batches. Samples of other families, routings or configs are not read. Throws
// std::invalid_argument naming a moe sample whose name has no tokens:B.
std::vector<MoeCrossoverCheck> check_moe_crossovers(const std::vector<Sample>& samples,
                                                    const Constants& constants);

// Powers of two from 1 to `largest` (a power of two >= 1).
std::vector<std::int64_t> powers_of_two(std::int64_t largest);

}  // namespace batchcost
