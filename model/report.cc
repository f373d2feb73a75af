// Tables and JSON of fit and validate (see report.h).
#include "model/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

#include "core/model_file.h"

namespace batchcost {
namespace {

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;  // count UTF-8 lead bytes only
  return n;
}

// |err| as a percentage with one decimal.
std::string abs_percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100 * fraction);
  return text;
}

}  // namespace

Table::Table(std::vector<std::string> header, std::string align) : align_(std::move(align)) {
  rows_.push_back(std::move(header));
}

void Table::add(std::vector<std::string> row) {
  row.resize(align_.size());
  rows_.push_back(std::move(row));
}

std::string Table::str() const {
  std::vector<size_t> width(align_.size(), 0);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      std::string gap(width[c] - display_width(row[c]), ' ');
      if (c > 0) line += "  ";
      line += align_[c] == 'r' ? gap + row[c] : row[c] + gap;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  }
  return out;
}

std::string format_time(double seconds) {
  static const std::pair<double, const char*> units[] = {{1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}};
  for (const auto& [scale, unit] : units) {
    if (seconds >= scale) return format_number(seconds / scale) + " " + unit;
  }
  return format_number(seconds / 1e-9) + " ns";
}

std::string format_percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%+.1f%%", 100 * fraction);
  return text;
}

std::vector<NamedConstant> named_terms(const Constants& c) {
  std::vector<NamedConstant> out;
  // The refined form's terms (core/forms.h), where the constants hold that form.
  if (c.form != Form::kRefined) return out;
  const RefinedTerms& t = c.terms;
  if (t.overlap_p) out.push_back({"overlap p", "", 1, *t.overlap_p});
  if (t.k_half) out.push_back({"k_half", "elements", 1, *t.k_half});
  if (t.grouped_bandwidth_ratio)
    out.push_back({"W grouped / W", "", 1, *t.grouped_bandwidth_ratio});
  if (t.saturating_sms) out.push_back({"SM share saturating W", "", 1, *t.saturating_sms});
  if (t.l2_bytes_per_s) out.push_back({"L2 operand bandwidth", "TB/s", 1e12, *t.l2_bytes_per_s});
  return out;
}

std::vector<NamedConstant> named_constants(const Constants& c) {
  std::vector<NamedConstant> out;
  for (const auto& [dtype, e] : c.flops_per_s)
    out.push_back({"P[" + dtype + "]", "TFLOP/s", 1e12, e});
  if (c.hbm_bytes_per_s) out.push_back({"W", "TB/s", 1e12, *c.hbm_bytes_per_s});
  for (const auto& [kind, e] : c.latency_s) out.push_back({"λ[" + kind + "]", "µs", 1e-6, e});
  for (NamedConstant& t : named_terms(c)) out.push_back(std::move(t));
  for (const auto& [key, regimes] : c.network) {
    for (size_t i = 0; i < regimes.size(); ++i) {
      std::string name = net_key_name(key) + " #" + std::to_string(i + 1);
      out.push_back({name + " latency", "µs", 1e-6, regimes[i].latency_s});
      out.push_back({name + " bandwidth", "GB/s", 1e9, regimes[i].bytes_per_s});
    }
  }
  return out;
}

std::string constants_table(const Constants& constants) {
  Table t({"constant", "value", "95% interval", "unit"}, "lrll");
  for (const NamedConstant& c : named_constants(constants)) {
    const Estimate& e = c.estimate;
    t.add({c.name, format_number(e.value / c.scale),
           "[" + format_number(e.low / c.scale) + ", " + format_number(e.high / c.scale) + "]",
           c.unit});
  }
  return t.str();
}

std::string quality_table(const std::map<std::string, Quality>& quality) {
  Table t({"family", "role", "n", "median |err|", "p90 |err|"}, "llrrr");
  for (const auto& [family, q] : quality) {
    t.add({family, q.role, std::to_string(q.n), q.n ? abs_percent(q.median_abs_rel_err) : "-",
           q.n ? abs_percent(q.p90_abs_rel_err) : "-"});
  }
  return t.str();
}

std::vector<ValidationRow> validation_rows(const std::vector<Sample>& samples,
                                           const std::vector<Role>& roles,
                                           const Constants& constants) {
  std::vector<ValidationRow> rows;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    ValidationRow row{s.name, s.family, std::string(role_name(roles[i])), s.time_s, 0, 0, ""};
    if (roles[i] == Role::kNotModelled) {
      row.missing = "declares no work";
    } else {
      Prediction p = predict(constants, s);
      row.missing = p.missing.empty() ? "" : "no " + p.missing;
      row.predicted_s = p.time_s;
      if (p.missing.empty()) row.rel_err = p.time_s / s.time_s - 1;
    }
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const ValidationRow& a, const ValidationRow& b) {
    bool ua = !a.missing.empty(), ub = !b.missing.empty();
    return std::make_tuple(a.family, ua, -std::abs(a.rel_err), a.name) <
           std::make_tuple(b.family, ub, -std::abs(b.rel_err), b.name);
  });
  return rows;
}

std::map<std::pair<std::string, std::string>, ValidationSummary> validation_summary(
    const std::vector<ValidationRow>& rows) {
  std::map<std::pair<std::string, std::string>, std::vector<double>> errors;
  std::map<std::pair<std::string, std::string>, ValidationSummary> out;
  for (const ValidationRow& r : rows) {
    ValidationSummary& s = out[{r.family, r.role}];
    s.quality.role = r.role;
    if (r.missing.empty()) {
      errors[{r.family, r.role}].push_back(std::abs(r.rel_err));
    } else {
      ++s.not_predicted;
    }
  }
  for (const auto& [key, e] : errors) {
    Quality& q = out[key].quality;
    q.n = static_cast<int>(e.size());
    std::tie(q.median_abs_rel_err, q.p90_abs_rel_err) = median_and_p90(e);
  }
  return out;
}

std::string validation_report(const std::vector<ValidationRow>& rows) {
  std::string out;
  for (size_t i = 0; i < rows.size();) {
    const std::string& family = rows[i].family;
    Table t({"benchmark", "role", "measured", "predicted", "error"}, "llrrr");
    for (; i < rows.size() && rows[i].family == family; ++i) {
      const ValidationRow& r = rows[i];
      if (r.missing.empty()) {
        t.add({r.name, r.role, format_time(r.measured_s), format_time(r.predicted_s),
               format_percent(r.rel_err)});
      } else {
        t.add({r.name, r.role, format_time(r.measured_s), "-", r.missing});
      }
    }
    out += "== " + family + " ==\n" + t.str() + "\n";
  }
  Table t({"family", "role", "n", "median |err|", "p90 |err|", "not predicted"}, "llrrrr");
  for (const auto& [key, s] : validation_summary(rows)) {
    bool any = s.quality.n > 0;
    t.add({key.first, key.second, std::to_string(s.quality.n),
           any ? abs_percent(s.quality.median_abs_rel_err) : "-",
           any ? abs_percent(s.quality.p90_abs_rel_err) : "-", std::to_string(s.not_predicted)});
  }
  return out + "summary per family, |predicted / measured - 1|\n" + t.str();
}

nlohmann::ordered_json validation_json(const std::vector<ValidationRow>& rows) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ValidationRow& r : rows) {
    nlohmann::ordered_json row = {{"name", r.name},
                                  {"family", r.family},
                                  {"role", r.role},
                                  {"measured_s", round_significant(r.measured_s, 6)}};
    if (r.missing.empty()) {
      row["predicted_s"] = round_significant(r.predicted_s, 6);
      row["rel_err"] = round_significant(r.rel_err, 4);
    } else {
      row["not_predicted"] = r.missing;
    }
    list.push_back(row);
  }
  nlohmann::ordered_json summary = nlohmann::ordered_json::array();
  for (const auto& [key, s] : validation_summary(rows)) {
    summary.push_back({{"family", key.first},
                       {"role", key.second},
                       {"n", s.quality.n},
                       {"median_abs_rel_err", round_significant(s.quality.median_abs_rel_err, 4)},
                       {"p90_abs_rel_err", round_significant(s.quality.p90_abs_rel_err, 4)},
                       {"not_predicted", s.not_predicted}});
  }
  return {{"benchmarks", list}, {"summary", summary}};
}

namespace {

std::string crossover_cell(const std::optional<std::int64_t>& b) {
  return b ? std::to_string(*b) : "none";
}

}  // namespace

std::string moe_crossover_report(const std::vector<MoeCrossoverCheck>& checks) {
  std::string out;
  for (const MoeCrossoverCheck& c : checks) {
    out += "\nMoE crossover, " + c.config.name + " (" + c.dtype +
           ", uniform routing): time per token, measured / predicted\n";
    const bool priced = c.missing.empty();
    Table t({"batch", "per-expert loop", "grouped", "dense-equivalent"}, "rrrr");
    for (std::size_t j = 0; j < c.measured.tokens.size(); ++j) {
      const double b = static_cast<double>(c.measured.tokens[j]);
      auto cell = [&](double measured, const std::vector<double>& predicted) {
        return format_time(measured / b) + " / " +
               (priced ? format_time(predicted[j] / b) : std::string("-"));
      };
      t.add({std::to_string(c.measured.tokens[j]), cell(c.measured.loop_s[j], c.predicted.loop_s),
             cell(c.measured.grouped_s[j], c.predicted.grouped_s),
             cell(c.measured.dense_s[j], c.predicted.dense_s)});
    }
    out += t.str();
    if (!priced) {
      out += "not predicted: the constants lack " + c.missing + "\n";
      continue;
    }
    Table x(
        {"catches up (at most " + format_number(100 * kMoeCrossoverTolerance) + "% more per token)",
         "measured B", "predicted B"},
        "lrr");
    x.add({"per-expert loop -> grouped", crossover_cell(c.measured_at.loop_to_grouped),
           crossover_cell(c.predicted_at.loop_to_grouped)});
    x.add({"grouped -> dense-equivalent", crossover_cell(c.measured_at.grouped_to_dense),
           crossover_cell(c.predicted_at.grouped_to_dense)});
    x.add({"per-expert loop -> dense-equivalent", crossover_cell(c.measured_at.loop_to_dense),
           crossover_cell(c.predicted_at.loop_to_dense)});
    out += x.str();
    out += "(none: not within the largest batch measured, " +
           std::to_string(c.measured.tokens.back()) + ")\n";
  }
  return out;
}

nlohmann::ordered_json moe_crossover_json(const std::vector<MoeCrossoverCheck>& checks) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const MoeCrossoverCheck& c : checks) {
    nlohmann::ordered_json item = {
        {"model", c.config.name},      {"dtype", c.dtype},
        {"routing", "uniform"},        {"tolerance", kMoeCrossoverTolerance},
        {"tokens", c.measured.tokens}, {"measured", crossovers_json(c.measured_at)}};
    if (c.missing.empty()) {
      item["predicted"] = crossovers_json(c.predicted_at);
    } else {
      item["not_predicted"] = c.missing;
    }
    list.push_back(item);
  }
  return list;
}

}  // namespace batchcost
