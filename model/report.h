// The tables and JSON of `batchcost fit` and `batchcost validate`: constants with intervals in
// the units a person reads, the quality per family, measured against predicted per benchmark.
// Fixed formatting and sorted rows, so the output is the same byte for byte for the same input.
// Host C++ only.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/cost_model.h"
#include "core/format.h"
#include "core/moe_crossover.h"
#include "core/sample.h"

namespace batchcost {

// A plain-text table: columns sized to their widest cell (counting UTF-8 characters).
class Table {
 public:
  // `align` has one letter per column: 'l' or 'r'.
  Table(std::vector<std::string> header, std::string align);
  void add(std::vector<std::string> row);
  std::string str() const;

 private:
  std::vector<std::vector<std::string>> rows_;
  std::string align_;
};

// Formatting (format_number and format_bytes are core/format.h's): a time in ns, µs, ms or s;
// a signed percentage.
std::string format_time(double seconds);
std::string format_percent(double fraction);

// A constant with its printable name and the unit a person reads it in.
struct NamedConstant {
  std::string name;  // "P[bf16]", "W", "λ[launch]", "all_reduce/8 #1 latency"
  std::string unit;  // "TFLOP/s", "TB/s", "µs", "GB/s"
  double scale = 1;  // SI value / scale = the value in `unit`
  Estimate estimate;
};
std::vector<NamedConstant> named_constants(const Constants& constants);
// The refined form's terms among them ("overlap p", "k_half", ...); none for the epoch form.
std::vector<NamedConstant> named_terms(const Constants& constants);

std::string constants_table(const Constants& constants);
std::string quality_table(const std::map<std::string, Quality>& quality);

// One benchmark as validate shows it.
struct ValidationRow {
  std::string name, family, role;
  double measured_s = 0, predicted_s = 0, rel_err = 0;
  std::string missing;  // why it could not be predicted; empty when it was
};
// Rows grouped by family (sorted), largest |error| first, unpredictable ones last.
std::vector<ValidationRow> validation_rows(const std::vector<Sample>& samples,
                                           const std::vector<Role>& roles,
                                           const Constants& constants);
// Per (family, role): the quality of the rows that were predicted, and how many were not.
struct ValidationSummary {
  Quality quality;  // n counts the predicted rows
  int not_predicted = 0;
};
std::map<std::pair<std::string, std::string>, ValidationSummary> validation_summary(
    const std::vector<ValidationRow>& rows);
std::string validation_report(const std::vector<ValidationRow>& rows);
nlohmann::ordered_json validation_json(const std::vector<ValidationRow>& rows);

// validate's MoE crossover (core/moe_crossover.h): per config, the measured and predicted cost
// per token of the per-expert loop, the grouped kernel and the dense-equivalent at each batch
// measured, and the batches from which each catches up, measured against predicted. Empty where
// `checks` is.
std::string moe_crossover_report(const std::vector<MoeCrossoverCheck>& checks);
nlohmann::ordered_json moe_crossover_json(const std::vector<MoeCrossoverCheck>& checks);

}  // namespace batchcost
