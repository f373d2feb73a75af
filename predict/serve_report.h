// The table and JSON of `batchcost serve`: one row per load point (a rate or a number of users)
// and policy, the largest load meeting the SLOs, and what the simulation assumed. Host C++ only.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "predict/serve.h"
#include "predict/serve_costs.h"

namespace batchcost {

struct ServePoint {
  std::string load;  // "rate", "users" or "offline" (every request at t = 0)
  double value = 0;  // requests/s, or users
  Policy policy;
  ServeResult result;
  double cost_per_million = 0;  // 0 without a price
  bool meets_slo = true;
};

struct Slo {
  double ttft_s = 0;  // 0: none; compared with the p90
  double tpot_s = 0;
};
// Marks each point against the SLOs (p90 TTFT and p90 TPOT) and prices it.
void judge(std::vector<ServePoint>& points, const Slo& slo, double price_per_gpu_hour);
// The largest load of each policy that meets the SLO, if any.
std::vector<const ServePoint*> largest_meeting_slo(const std::vector<ServePoint>& points);

struct ServeReport {
  std::string model, hardware, deployment;
  std::string precision;  // "weights bf16, activations bf16, KV cache bf16"
  ServeCostTables tables;
  std::vector<ServePoint> points;
  Slo slo;
  double price_per_gpu_hour = 0;
  std::string input_len, output_len;
  std::int64_t requests = 0;
  std::uint64_t seed = 0;
  double prefix_hit = 0;             // Policy::prefix_hit of every point
  // Disaggregated pools (simulate_disaggregated): `tables` are the decode pool's.
  struct Pools {
    std::string prefill_deployment;
    ServeCostTables prefill;
    double kv_transfer_s = 0;  // of a prompt of the mean input length
  };
  std::optional<Pools> pools;
  std::optional<Speculation> speculation;  // speculative decoding, where asked for
  double tokens_per_step = 1;              // E per decode step
  std::string draft_name;                  // the draft model's, where it is one
  Constants constants;               // what the steps were priced with
  std::set<std::string> unmeasured;  // the stated ones among them (predict/hardware.h)
  std::set<std::string> unidentified;  // those the fit behind them did not identify
  std::vector<std::string> notes;
};

std::string serve_table(const ServeReport& report);
nlohmann::ordered_json serve_json(const ServeReport& report);

}  // namespace batchcost
