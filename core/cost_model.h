// The cost model of DESIGN.md and its constants:
//
//   t = Σ_kind count_kind · λ_kind  +  c · T_net[op, ranks](net_bytes / c)  +  core
//   T_net(x) = min_i (α_i + x / R_i)
//
// where core is, in the paper's form ("epoch"), max(flops / P[dtype], bytes / W), and in the
// refined form the same with the physical terms of core/forms.h that held-out selection kept.
// Pure functions: which constants a sample needs, and the time the constants predict for it.
// Host C++ only.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/sample.h"

namespace batchcost {

// A fitted constant and its 95% interval [low, high].
struct Estimate {
  double value = 0;
  double low = 0;
  double high = 0;
};

// One latency-bandwidth line of a network operation: latency_s + bytes / bytes_per_s.
struct Regime {
  Estimate latency_s;
  Estimate bytes_per_s;  // per-GPU receive bandwidth
  // The bytes per collective of the fitted samples on which this line is the envelope, and how
  // many they are (n = 0: not known, e.g. a model.json written before ranges were kept).
  double bytes_min = 0;
  double bytes_max = 0;
  int n = 0;
};

// A network operation: its op label and its number of ranks.
using NetKey = std::pair<std::string, int>;

// The latency kinds and the Work counter each is priced on.
// launch: the host's cost of issuing a kernel or graph launch (host-timed); kernel: the device's
// fixed cost per kernel between back-to-back kernels (device-timed batches, what a CUDA graph or
// a saturated stream pays); graph_node: the cost per node of a replayed graph; sync: a host wait.
inline constexpr std::array<std::string_view, 4> kLatencyKinds = {"launch", "kernel", "graph_node",
                                                                  "sync"};
inline constexpr std::array<std::string_view, 4> kLatencyCounters = {"launches", "kernels",
                                                                     "graph_nodes", "syncs"};

// The form of the compute-and-memory term (core/forms.h).
enum class Form { kEpoch, kRefined };

// An output tile of a GEMM kernel, in elements of M (rows) and N (cols).
struct Tile {
  int rows = 0, cols = 0;
  bool operator==(const Tile&) const = default;
};

// The refined form's terms; each is absent unless held-out selection kept it (model/select.h).
struct RefinedTerms {
  std::optional<Estimate> overlap_p;                // p of (compute^p + memory^p)^(1/p)
  std::optional<Estimate> k_half;                   // K at which compute runs at P / 2
  std::optional<Estimate> grouped_bandwidth_ratio;  // W of grouped kernels / W
  std::optional<Estimate> saturating_sms;           // share of the SMs that saturates W
  std::optional<Estimate> l2_bytes_per_s;           // L2 to SM bandwidth of tile operand loads
  std::map<std::string, Tile> tile;  // per dtype: wave quantisation applies; 0x0: the samples'
                                     // own tile=RxC labels only
  int sm_count = 0;                  // SMs of a wave (from the context)
};

// The constants of one GPU. A constant the data did not determine is absent.
struct Constants {
  std::map<std::string, Estimate> flops_per_s;    // P[dtype]
  std::optional<Estimate> hbm_bytes_per_s;        // W
  std::map<std::string, Estimate> latency_s;      // λ[kind]
  std::map<NetKey, std::vector<Regime>> network;  // regimes, by increasing bandwidth
  Form form = Form::kEpoch;                       // how predict() combines P and W
  RefinedTerms terms;                             // used only when form is kRefined
};

// The dtype a sample's FLOPs are priced at: its dtype label, or "unlabelled".
std::string dtype_of(const Sample& sample);
// The network operation a sample's net_bytes and collectives are priced at.
NetKey net_key_of(const Sample& sample);
// "all_reduce/8": how tables and JSON name a network operation.
std::string net_key_name(const NetKey& key);

// Collectives a sample's network term counts: its `collectives`, at least 1 when it moves bytes.
double collective_count(const Work& work);

// T_net(bytes) = min over the regimes of latency + bytes / bandwidth. `regimes` is not empty.
double network_time(const std::vector<Regime>& regimes, double bytes);

// The time the constants predict for a sample, or the first constant it needs that is absent.
// The one entry point of every form: it dispatches on constants.form.
struct Prediction {
  double time_s = 0;
  std::string missing;  // "P[fp8_e4m3]", "W", "λ[sync]", "network all_reduce/8"; empty when priced
};
Prediction predict(const Constants& constants, const Sample& sample);

// The same constants priced in the paper's form, whatever form they hold.
Constants as_epoch(Constants constants);

// What a sample is to the fit.
enum class Role {
  kFit,          // fitted
  kValidate,     // a validation family: predicted, never fitted
  kExcluded,     // cache=hot: it measures L2, not HBM; predicted, not fitted
  kNotModelled,  // declares no work (e.g. the host cost of cudaEventRecord)
};
std::string_view role_name(Role role);

struct FitOptions {
  // `reference` (tools/torch_reference.py: PyTorch's GEMM and copy) is there to compare with,
  // never to fit.
  std::set<std::string> validate_families = {"moe", "reference"};
};

Role role_of(const Sample& sample, const FitOptions& options);

// How well constants predict one family's samples: |predicted / measured - 1|.
struct Quality {
  int n = 0;
  std::string role;  // fit or validate
  double median_abs_rel_err = 0;
  double p90_abs_rel_err = 0;
};

// Held-out quality of one family under both forms (model/select.h says how it is measured).
struct HeldOutQuality {
  Quality epoch, refined;
};

// Median and nearest-rank 90th percentile of |errors|; `errors` is not empty.
std::pair<double, double> median_and_p90(std::vector<double> abs_errors);

// Per family with samples whose role is fit or validate, over those `constants` can price
// (n = 0 where none can be).
std::map<std::string, Quality> quality_of(const std::vector<Sample>& samples,
                                          const std::vector<Role>& roles,
                                          const Constants& constants);

}  // namespace batchcost
