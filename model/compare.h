// `batchcost compare`: two GPUs (or two runs) side by side, as google/benchmark's compare.py
// does for two runs: per benchmark the time ratio and whether the repetitions show it (the
// two-sided Mann-Whitney U test compare.py runs, or the noise of the cv aggregates where only
// aggregates were written; "?" where it cannot be told), per family the geometric mean, the
// fitted constants with their intervals, the network's T_net at reference sizes, and the
// contexts. Host C++ only.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/cost_model.h"
#include "core/format.h"
#include "core/sample.h"

namespace batchcost {

// --- Pure statistics and ordering -----------------------------------------------------------

// The two-sided p-value of the Mann-Whitney U test of `a` against `b`, as
// scipy.stats.mannwhitneyu(a, b, alternative="two-sided") computes it with its default method
// (what compare.py calls): the exact distribution where one side has at most 8 values and there
// are no ties, else the normal approximation with tie and continuity corrections. Both sides
// need at least one value.
double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b);

// The smallest p-value the U test can give with m and n repetitions (all of one side below all
// of the other): 2 / C(m + n, m) where the exact test applies. With 3 against 3 it is 0.1, so
// no difference is ever significant at 0.05; 4 against 4 gives 0.029.
// NOTES: repetitions per side for a 5% difference to come out significant (p < 0.05) in at
// least ~80% of runs, simulated with normal noise of the given cv (2000 trials, scipy's test):
//   cv 0.5-1%: 4    cv 2%: 5 (84%; 7 gives 97%)    cv 3%: 9 (89%)    cv 5%: 20 (83%)
// So 3 (a quick run) can never tell, 5 tells a 5% change on device-timed kernels (cv ≤ 2%),
// and noisier samples (host-timed, collectives across nodes) need 9 or more.
double mann_whitney_min_p(int m, int n);

// Orders names as a person reads them: runs of digits compare as numbers, so
// "bytes:128" < "bytes:1024" < "bytes:1048576"; otherwise character by character.
bool natural_less(const std::string& a, const std::string& b);

// Every difference between two contexts that makes their times incomparable as a like-for-like
// run: the GPU, the driver, the clocks, the libraries, what a collective's time is (the
// average or the maximum over ranks). Keys absent from either side are not
// reported (they cannot be told). Each entry reads "GPU: gpu_name 'A' vs 'B'".
std::vector<std::string> hardware_differences(const nlohmann::json& baseline,
                                              const nlohmann::json& candidate);
// Whether the contexts name different GPUs (name, compute capability, SM count or memory).
bool different_gpu(const nlohmann::json& a, const nlohmann::json& b);

// --- The comparison --------------------------------------------------------------------------

struct CompareOptions {
  double alpha = 0.05;             // the U test's significance level (compare.py's --alpha)
  double threshold = 0;            // |ratio - 1| at or below this is "same" even when significant
  std::string filter;              // ECMAScript regex searched in names; empty: all
  std::set<std::string> families;  // only these families; empty: all
};

// One benchmark in both runs.
struct BenchmarkDiff {
  std::string name, family;
  double baseline_s = 0, candidate_s = 0;
  double ratio = 0;  // candidate / baseline
  int baseline_reps = 1, candidate_reps = 1;
  std::optional<double> noise;    // 2·sqrt(cv_b² + cv_c²); absent where a cv is unknown
  std::optional<double> p_value;  // the U test, where both sides kept ≥ 2 repetitions' times
  std::string verdict;            // "same", "faster", "slower" or "?" (cannot be told)
  std::string why;                // for "?": why it cannot be told
};

// Per family: the geometric mean of the ratios, and the verdicts.
struct FamilyDiff {
  int n = 0;
  double geomean_ratio = 0;
  std::map<std::string, int> verdicts;
};

struct ConstantDiff {
  std::string name, unit;
  double scale = 1;
  std::optional<Estimate> baseline, candidate;
  bool overlap = false;  // the two 95% intervals overlap
  // Why a side's fit did not identify it ("candidate: no sample where its term is half the
  // time"); such a constant gets no ratio and no verdict.
  std::string unidentified;
};

// The constants a fit's identification (model.json's "identification": name -> {status, why})
// marks other than identified (unidentified, or held at the data's bound), with the reason.
std::map<std::string, std::string> unidentified_constants(const nlohmann::json& identification);

// The sizes (bytes each GPU receives per collective) one side's network constants were fitted
// on, per operation.
using NetRanges = std::map<NetKey, std::pair<double, double>>;

// T_net of one network operation at one size on both sides.
struct NetworkSizeDiff {
  double bytes = 0;
  Estimate baseline, candidate;  // seconds; the interval from the regimes' intervals
  bool overlap = false;
};

// One network operation. Regimes are not paired by index (two fits may keep different
// numbers of regimes): T_net is compared at reference sizes inside both fitted ranges.
struct NetworkDiff {
  NetKey key;
  std::optional<std::pair<double, double>> baseline_range, candidate_range;
  bool in_baseline = false, in_candidate = false;
  std::vector<NetworkSizeDiff> sizes;
  std::string note;  // why no size is compared, where none is
};

struct ContextDiff {
  std::string key;
  std::string baseline, candidate;  // the values as JSON text; "" where absent
  bool differs = false;
};

struct Comparison {
  CompareOptions options;
  std::vector<BenchmarkDiff> benchmarks;  // sorted by family, then name (numbers as numbers)
  std::map<std::string, FamilyDiff> families;
  std::vector<std::string> only_baseline, only_candidate;
  std::vector<ConstantDiff> constants;
  std::vector<NetworkDiff> network;
  std::vector<ContextDiff> contexts;
  std::vector<std::string> warnings;  // hardware_differences of the two contexts
  bool have_samples = false, have_constants = false;
};

// The reference sizes T_net is compared at: 8 B, 64 KiB, 1 MiB, 16 MiB, 256 MiB, 1 GiB.
const std::vector<double>& network_reference_bytes();

// The samples that pass the filter and the family selection.
std::vector<Sample> select_samples(const std::vector<Sample>& samples, const CompareOptions& o);

// Per network operation, the smallest and largest bytes per collective of the samples that
// were fitted (role kFit), or of a model.json's stored "bytes_range"s (absent where none).
NetRanges net_ranges_of_samples(const std::vector<Sample>& samples, const FitOptions& options);
NetRanges net_ranges_of_model(const nlohmann::json& model);

// Pure parts, each filling its share of a Comparison.
void compare_samples(const std::vector<Sample>& baseline, const std::vector<Sample>& candidate,
                     Comparison& out);
// P, W and the latencies (the network is compare_network's).
void compare_constants(const Constants& baseline, const Constants& candidate, Comparison& out,
                       const std::map<std::string, std::string>& baseline_unidentified = {},
                       const std::map<std::string, std::string>& candidate_unidentified = {});
void compare_network(const Constants& baseline, const NetRanges& baseline_ranges,
                     const Constants& candidate, const NetRanges& candidate_ranges,
                     Comparison& out);
void compare_contexts(const nlohmann::json& baseline, const nlohmann::json& candidate,
                      Comparison& out);

std::string comparison_report(const Comparison& c);
nlohmann::ordered_json comparison_json(const Comparison& c);

}  // namespace batchcost
