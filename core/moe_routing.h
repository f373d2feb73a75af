// Token routing for one MoE layer, host C++ only: seeded, deterministic generators of which
// experts each token picks, the permutation that groups the (token, slot) assignments by expert,
// routing statistics, and the expected number of active experts under uniform top-k routing.
//
// Every generator picks, for each of B tokens, k distinct experts out of E (a token never picks
// the same expert twice, as top-k of router logits guarantees). The random kinds are all "top-k
// of per-token random logits":
//   uniform       logits iid: each token's k experts are a uniform random k-subset.
//   zipf<s>       logit_e = log w_e + Gumbel noise, w_e = (e + 1)^-s: expert 0 is the hottest.
//   lognormal<σ>  logit_e = log w_e + Gumbel noise, log w_e = σ·z_e with z_e ~ N(0, 1) drawn once
//                 per batch: the expert loads are log-normal.
// Top-k of log w + Gumbel noise draws k experts without replacement, each next one with
// probability proportional to w among those left (the Gumbel-top-k trick), so a token's first
// pick follows w exactly and the k picks are distinct.
//   balanced      round-robin, no randomness: assignment a = t·k + j goes to expert a mod E, so
//                 every expert gets ⌊B·k/E⌋ or ⌈B·k/E⌉ assignments.
//
// Portability: the random bits come from std::mt19937_64 (its output is fixed by the standard);
// uniforms and normals are made here from raw bits, never by std::*_distribution (whose output
// differs between standard libraries). The uniform kind compares raw 64-bit integers and is
// bit-exact everywhere; zipf and lognormal go through std::log / std::cos, whose last-ulp results
// may differ between C libraries, which could only swap two experts whose logits tie to an ulp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace batchcost {

enum class RoutingKind { uniform, balanced, zipf, lognormal };

struct RoutingSpec {
  RoutingKind kind = RoutingKind::uniform;
  double param = 0;  // zipf: the exponent s >= 0; lognormal: σ >= 0; otherwise unused (0)

  bool operator==(const RoutingSpec&) const = default;
};

// The label value: "uniform", "balanced", "zipf1.0", "zipf1.2", "lognormal0.5" (the parameter in
// its shortest round-trip decimal form, with at least one decimal).
std::string routing_label(const RoutingSpec& spec);
// Inverse of routing_label; "zipf" alone means zipf1.0 and "lognormal" alone lognormal1.0.
// Throws std::invalid_argument naming the text for anything else (or a negative parameter).
RoutingSpec parse_routing(std::string_view label);
// The distributions the MoE benchmark sweeps: uniform, balanced, zipf1.0, lognormal1.0.
std::vector<RoutingSpec> default_routings();

// The routing of one batch. Assignment a = t·k + j is token t's j-th pick (j = 0 the highest
// logit). The grouped order lists the B·k assignments expert by expert (expert 0 first) and,
// within an expert, by increasing assignment index, i.e. by token.
struct Routing {
  int experts = 0;                       // E
  int top_k = 0;                         // k
  std::int64_t tokens = 0;               // B
  std::vector<std::int32_t> expert_of;   // size B·k: expert of assignment a (row-major [B][k])
  std::vector<std::int64_t> counts;      // size E: assignments (tokens) per expert; sum B·k
  std::vector<std::int64_t> offsets;     // size E + 1: expert e owns grouped positions
                                         // [offsets[e], offsets[e+1]); offsets[E] = B·k
  std::vector<std::int32_t> assignment;  // size B·k: the assignment at each grouped position
                                         // (the gather index; token = assignment / k)

  std::int32_t token_at(std::int64_t grouped_position) const {
    return assignment[static_cast<std::size_t>(grouped_position)] / top_k;
  }
};

// Routes `tokens` tokens to `top_k` of `experts` experts. Requires experts >= 1,
// 1 <= top_k <= experts, tokens >= 0 and tokens·top_k < 2^31 (the indices are int32 so the GPU
// can use them as they are); throws std::invalid_argument otherwise. Same arguments, same result;
// and the first B tokens of a routing of more tokens (same spec and seed) are the routing of B
// tokens: the tokens draw from one stream in turn, after anything drawn once per routing.
Routing route(const RoutingSpec& spec, std::int64_t tokens, int experts, int top_k,
              std::uint64_t seed);

// Counts and the grouping permutation of given picks (size tokens·top_k, row-major, each in
// [0, experts), distinct within a token; checked). route() ends here; exposed for tests and for
// routing read from a real model.
Routing group_by_expert(std::vector<std::int32_t> expert_of, std::int64_t tokens, int experts,
                        int top_k);

struct RoutingStats {
  int active_experts = 0;                    // experts with at least one token
  double mean_tokens_per_expert = 0;         // over all E experts: B·k / E
  double mean_tokens_per_active_expert = 0;  // the mean M of the per-expert GEMMs; 0 if none
  std::int64_t max_tokens_per_expert = 0;
  std::int64_t min_tokens_per_expert = 0;
  double imbalance = 1;  // max / mean over all experts (the usual MoE load factor); 1 when there
                         // are no tokens at all (nothing is imbalanced)
};
// Statistics of per-expert counts (non-empty, none negative; throws std::invalid_argument).
RoutingStats routing_stats(std::span<const std::int64_t> counts);

// E·(1 − (1 − k/E)^B): the expected number of experts that at least one of B tokens picks when
// every token picks a uniform random k-subset of E experts (each expert is missed by a token with
// probability 1 − k/E, independently across tokens). Computed as −E·expm1(B·log1p(−k/E)), which
// keeps its precision when k/E is small and B large. Requires E > 0, 0 < k <= E, B >= 0
// (std::invalid_argument otherwise).
double expected_active_experts(double experts, double top_k, double tokens);

}  // namespace batchcost
