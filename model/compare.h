// `batchcost compare`: two GPUs (or two runs) side by side, as google/benchmark's compare.py
// does for two runs: per benchmark the time ratio and whether it is beyond the noise, the
// geometric mean per family, the fitted constants with their intervals, and the contexts.
// Host C++ only.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/cost_model.h"
#include "model/sample.h"

namespace batchcost {

// One benchmark in both runs.
struct BenchmarkDiff {
  std::string name, family;
  double baseline_s = 0, candidate_s = 0;
  double ratio = 0;     // candidate / baseline
  double noise = 0;     // the relative difference the repetitions explain: 2·sqrt(cv_b² + cv_c²)
  std::string verdict;  // "same", "faster" or "slower"
};

// Per family: the geometric mean of the ratios.
struct FamilyDiff {
  int n = 0;
  double geomean_ratio = 0;
};

struct ConstantDiff {
  std::string name, unit;
  double scale = 1;
  std::optional<Estimate> baseline, candidate;
  bool overlap = false;  // the two 95% intervals overlap
};

struct ContextDiff {
  std::string key;
  std::string baseline, candidate;  // the values as JSON text; "" where absent
  bool differs = false;
};

struct Comparison {
  std::vector<BenchmarkDiff> benchmarks;  // sorted by family, then name
  std::map<std::string, FamilyDiff> families;
  std::vector<std::string> only_baseline, only_candidate;
  std::vector<ConstantDiff> constants;
  std::vector<ContextDiff> contexts;
  bool have_samples = false, have_constants = false;
};

// Pure parts, each filling its share of a Comparison.
void compare_samples(const std::vector<Sample>& baseline, const std::vector<Sample>& candidate,
                     Comparison& out);
void compare_constants(const Constants& baseline, const Constants& candidate, Comparison& out);
void compare_contexts(const nlohmann::json& baseline, const nlohmann::json& candidate,
                      Comparison& out);

std::string comparison_report(const Comparison& c);
nlohmann::ordered_json comparison_json(const Comparison& c);

}  // namespace batchcost
