// `batchcost serve`: a deployment under a request load, simulated step by step. Pure host C++.
//
// predict prices one engine step for a given batch; serve turns a load (Poisson arrivals at a
// rate, or a number of closed-loop users) into the latencies and the cost a user of that
// deployment sees, pricing every step with the same priced operations (serve_costs.h builds the
// step costs from predict; this file knows only the StepCosts interface, so the simulator is
// tested on hand-made costs).
//
// The loop is event-driven over engine steps, not over time ticks: a step's duration comes from
// its batch and context, the clock jumps over idle gaps to the next arrival, and each request
// costs O(log n) bookkeeping (a heap of finishing steps), so 10^6 requests take seconds.
//
// Scheduling policies:
//   continuous       iteration-level (Orca, vLLM, SGLang): at every step boundary waiting
//                    requests join the running batch while it has fewer than max_batch
//                    sequences and the KV cache can hold the request's whole prompt + output
//                    (reserved at admission, so nothing is ever preempted: requests wait); the
//                    step decodes one token for every running sequence that finished its prefill
//                    and spends the rest of the step's token budget on prompt chunks (chunked
//                    prefill), first come first served. A request's first token comes at the end
//                    of the step that finishes its prompt.
//   window:SECONDS   static batches: the clock is cut into windows of SECONDS; at the first
//                    window boundary at which the engine is free, every waiting request (up to
//                    max_batch and the KV cache) forms a batch, its prompts are prefilled, then it
//                    decodes until its longest request ends; nobody joins a running batch.
// A step that decodes b sequences and prefills c prompt tokens costs decode_s(b, L) +
// prefill_s(c, L'), L the running sequences' mean context and L' the chunks' mean context: the
// chunk is priced as its own pass (no fusion with the decode GEMMs), which is conservative.
//
// Data-parallel groups (StepCosts::groups, attention data parallelism): each group is a scheduler
// of its own, with its own waiting queue, max_batch, token budget and share of the KV cache;
// arrivals go to the groups round-robin. The groups step together (their experts and collectives
// are shared, as SGLang's DP attention and vLLM's data-parallel MoE run them, idle groups with an
// empty batch), and a step is priced at the busiest group's load in every group:
// decode_s(groups × b_max, L) + prefill_s(c_max, L'), exact when the load is balanced and
// conservative when it is not.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace batchcost {

// A length that is fixed ("1024") or log-normal with a mean and a standard deviation of the
// length itself ("1024:256"), drawn as a whole number in [1, max]. parse_length throws
// InputError (results.h) naming `flag` for anything else.
struct LengthDist {
  double mean = 0;
  double sd = 0;  // 0: fixed
  std::int64_t max = 1 << 20;
};
LengthDist parse_length(const std::string& text, const std::string& flag);

struct Request {
  double arrival_s = 0;
  std::int64_t input = 1;   // prompt tokens
  std::int64_t output = 1;  // generated tokens, the first one by the prefill
  bool prefilled = false;   // its prompt's KV cache arrives made (a decode pool): it only decodes
};

// One request's times (seconds from the load's start; -1 where it never got there).
struct RequestTimes {
  double arrival_s = 0, first_token_s = -1, end_s = -1;
  bool rejected = false;
};

// n requests with Poisson arrivals at `rate_per_s` from t = 0, lengths drawn from the two
// distributions, deterministic for a seed.
std::vector<Request> poisson_requests(double rate_per_s, std::int64_t n, const LengthDist& input,
                                      const LengthDist& output, std::uint64_t seed);
// n requests all arriving at t = 0 (an offline batch job: throughput, not latency), lengths drawn
// as poisson_requests draws them for the same seed.
std::vector<Request> offline_requests(std::int64_t n, const LengthDist& input,
                                      const LengthDist& output, std::uint64_t seed);

// What the simulator needs to know of the deployment. The two cost functions are seconds of one
// engine step (the whole deployment, all pipeline stages and data-parallel groups): decode_s of
// `sequences` over the whole deployment (sequences / groups in each group), prefill_s of a chunk
// of `tokens` in every group.
struct StepCosts {
  std::function<double(std::int64_t sequences, double mean_context)> decode_s;
  std::function<double(std::int64_t tokens, double mean_context)> prefill_s;
  // Optional: the seconds of the same steps priced with stated or unidentified constants
  // (ServeResult::weak_share); absent, none is.
  std::function<double(std::int64_t sequences, double mean_context)> decode_weak_s;
  std::function<double(std::int64_t tokens, double mean_context)> prefill_weak_s;
  std::int64_t kv_capacity_tokens = 0;  // KV cache tokens the deployment holds in all
  int gpus = 1;
  int groups = 1;  // data-parallel groups; each holds kv_capacity_tokens / groups
  // Tokens a decoding sequence gains per decode step: 1, or speculative decoding's expected
  // tokens per verify E (a request then decodes its output - 1 tokens in ceil((output - 1) / E)
  // steps).
  double tokens_per_step = 1;
  // The engine's fixed time per step outside the GPU's work (Deployment::step_overhead_s),
  // added once to every step that decodes or prefills.
  double step_overhead_s = 0;
};

struct Policy {
  enum class Kind { kContinuous, kWindow } kind = Kind::kContinuous;
  double window_s = 0;               // kWindow
  std::int64_t max_batch = 256;      // running sequences at most, per data-parallel group
  std::int64_t token_budget = 8192;  // tokens one step processes at most (decode + prefill),
                                     // per data-parallel group
  // Share of each prompt found in the prefix cache (SGLang's RadixAttention, vLLM's automatic
  // prefix caching): those tokens are not prefilled but are attended to; at least one prompt
  // token is prefilled (it produces the first token). Their KV cache is still reserved per
  // request (no sharing between requests is assumed): conservative on memory.
  double prefix_hit = 0;
};
// "continuous" or "window:SECONDS"; throws InputError naming --policy.
Policy parse_policy(const std::string& text);
std::string describe(const Policy& policy);

// A closed loop: `users` users each send a request, wait for its last token, think for an
// exponentially distributed time of mean `think_s` (0: none) and send the next.
struct ClosedLoop {
  std::int64_t users = 1;
  double think_s = 0;
};

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0;
};
// Nearest-rank percentiles and the mean of `values` (all zero when empty).
Percentiles percentiles_of(std::vector<double> values);

struct ServeResult {
  std::int64_t requests = 0;  // completed
  std::int64_t rejected = 0;  // prompt + output larger than a group's KV cache: never admitted
  Percentiles ttft_s, tpot_s, e2e_s;
  double makespan_s = 0;  // first arrival to last token
  double output_tokens = 0;
  double tokens_per_s_per_gpu = 0;    // output tokens
  double requests_per_s_per_gpu = 0;  // completed requests
  double mean_batch = 0;  // running sequences (decoding and prefilling), time-weighted over busy
                          // time
  double busy_fraction = 0;
  double gpu_hours_per_million = 0;  // GPU-hours per million output tokens
  double mean_in_system = 0;    // time-average of waiting + running requests (Little's L)
  double arrival_rate_s = 0;    // completed requests over the span of arrivals to completions
  std::int64_t steps = 0;
  double weak_share = 0;  // of the busy time, priced with weak constants (StepCosts::*_weak_s)
};

// Simulates an open-loop load (requests sorted by arrival) or a closed loop of users issuing
// `n_requests` requests in all, lengths drawn from the distributions. Throws InputError for a
// policy or costs that cannot serve (a zero capacity, a non-positive step time).
ServeResult simulate(const StepCosts& costs, const Policy& policy,
                     const std::vector<Request>& requests,
                     std::vector<RequestTimes>* times = nullptr);  // per request, where given

// Prefill/decode disaggregation (DistServe, Splitwise, SGLang's and DeepSeek's deployments): the
// prompts are prefilled in a pool of their own, each request's KV cache then moves over the
// network to a decode pool, which admits it (its whole prompt + output reserved) and only
// decodes. TTFT is the prefill pool's (the first token streams from there), TPOT and E2E run to
// the last token in the decode pool; throughput and cost are over both pools' GPUs. The pools are
// simulated one after the other (the decode pool's arrivals are the prefill pool's results plus
// the transfer), so an open-loop load only: a closed loop couples arrivals to completions.
struct Disaggregated {
  StepCosts prefill, decode;
  std::function<double(std::int64_t prompt_tokens)> kv_transfer_s;
};
ServeResult simulate_disaggregated(const Disaggregated& pools, const Policy& policy,
                                   const std::vector<Request>& requests);
ServeResult simulate_closed(const StepCosts& costs, const Policy& policy, const ClosedLoop& loop,
                            std::int64_t n_requests, const LengthDist& input,
                            const LengthDist& output, std::uint64_t seed);

}  // namespace batchcost
