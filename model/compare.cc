// Comparison of two runs or two GPUs (see compare.h).
#include "model/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "model/model_file.h"
#include "model/report.h"

namespace batchcost {

void compare_samples(const std::vector<Sample>& baseline, const std::vector<Sample>& candidate,
                     Comparison& out) {
  out.have_samples = true;
  std::map<std::string, const Sample*> base, cand;
  for (const Sample& s : baseline) base[s.name] = &s;
  for (const Sample& s : candidate) cand[s.name] = &s;
  std::map<std::string, double> log_sum;
  for (const auto& [name, b] : base) {
    auto it = cand.find(name);
    if (it == cand.end()) {
      out.only_baseline.push_back(name);
      continue;
    }
    const Sample* c = it->second;
    BenchmarkDiff d{name, b->family, b->time_s, c->time_s, c->time_s / b->time_s, 0, ""};
    // NOTES: two standard deviations of the difference of two noisy times; where a side ran
    // once (cv unknown, 0) only an exact tie is "same".
    d.noise = 2 * std::hypot(b->cv, c->cv);
    d.verdict = std::abs(d.ratio - 1) <= d.noise ? "same" : d.ratio < 1 ? "faster" : "slower";
    log_sum[d.family] += std::log(d.ratio);
    ++out.families[d.family].n;
    out.benchmarks.push_back(d);
  }
  for (const auto& [name, c] : cand) {
    if (!base.count(name)) out.only_candidate.push_back(name);
  }
  for (auto& [family, f] : out.families) {
    f.geomean_ratio = std::exp(log_sum[family] / f.n);
  }
  std::stable_sort(
      out.benchmarks.begin(), out.benchmarks.end(),
      [](const BenchmarkDiff& a, const BenchmarkDiff& b) { return a.family < b.family; });
}

void compare_constants(const Constants& baseline, const Constants& candidate, Comparison& out) {
  out.have_constants = true;
  std::vector<NamedConstant> b = named_constants(baseline), c = named_constants(candidate);
  std::vector<ConstantDiff> diffs;
  auto find = [](std::vector<ConstantDiff>& list, const NamedConstant& n) -> ConstantDiff& {
    for (ConstantDiff& d : list) {
      if (d.name == n.name) return d;
    }
    list.push_back({n.name, n.unit, n.scale, std::nullopt, std::nullopt, false});
    return list.back();
  };
  for (const NamedConstant& n : b) find(diffs, n).baseline = n.estimate;
  for (const NamedConstant& n : c) find(diffs, n).candidate = n.estimate;
  for (ConstantDiff& d : diffs) {
    if (d.baseline && d.candidate) {
      d.overlap = d.baseline->low <= d.candidate->high && d.candidate->low <= d.baseline->high;
    }
  }
  out.constants = std::move(diffs);
}

void compare_contexts(const nlohmann::json& baseline, const nlohmann::json& candidate,
                      Comparison& out) {
  std::set<std::string> keys;
  for (const auto& [k, v] : baseline.items()) keys.insert(k);
  for (const auto& [k, v] : candidate.items()) keys.insert(k);
  for (const std::string& k : keys) {
    ContextDiff d{k, "", "", false};
    auto text = [](const nlohmann::json& j) {
      return j.is_string() ? j.get<std::string>() : j.dump();
    };
    if (baseline.contains(k)) d.baseline = text(baseline[k]);
    if (candidate.contains(k)) d.candidate = text(candidate[k]);
    d.differs = !baseline.contains(k) || !candidate.contains(k) || baseline[k] != candidate[k];
    out.contexts.push_back(d);
  }
}

namespace {

std::string ratio_text(double r) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", r);
  return text;
}

std::string estimate_text(const std::optional<Estimate>& e, double scale) {
  if (!e) return "-";
  return format_number(e->value / scale) + " [" + format_number(e->low / scale) + ", " +
         format_number(e->high / scale) + "]";
}

// Long context values (cache lists, warnings) are cut for the table; --json has them whole.
std::string cut(const std::string& s) { return s.size() <= 48 ? s : s.substr(0, 45) + "..."; }

nlohmann::ordered_json estimate_json(const std::optional<Estimate>& e) {
  if (!e) return nullptr;
  return {{"value", round_significant(e->value, 6)},
          {"interval", {round_significant(e->low, 6), round_significant(e->high, 6)}}};
}

}  // namespace

std::string comparison_report(const Comparison& c) {
  std::string out;
  if (c.have_samples) {
    Table t({"benchmark", "baseline", "candidate", "ratio", "noise", "verdict"}, "lrrrrl");
    for (const BenchmarkDiff& d : c.benchmarks) {
      t.add({d.name, format_time(d.baseline_s), format_time(d.candidate_s), ratio_text(d.ratio),
             d.noise > 0 ? "±" + ratio_text(d.noise) : "unknown", d.verdict});
    }
    out +=
        "benchmarks (ratio = candidate / baseline time; same = within the noise of the "
        "repetitions)\n" +
        t.str() + "\n";
    Table f({"family", "n", "geomean ratio"}, "lrr");
    for (const auto& [family, d] : c.families) {
      f.add({family, std::to_string(d.n), ratio_text(d.geomean_ratio)});
    }
    out += "per family\n" + f.str() + "\n";
    for (const auto& [title, names] : {std::pair{"only in baseline", &c.only_baseline},
                                       std::pair{"only in candidate", &c.only_candidate}}) {
      if (names->empty()) continue;
      out += std::string(title) + " (" + std::to_string(names->size()) + ")\n";
      for (const std::string& n : *names) out += "  " + n + "\n";
      out += "\n";
    }
  }
  if (c.have_constants) {
    Table t({"constant", "baseline [95%]", "candidate [95%]", "ratio", "overlap", "unit"},
            "lrrrll");
    for (const ConstantDiff& d : c.constants) {
      bool both = d.baseline && d.candidate;
      t.add({d.name, estimate_text(d.baseline, d.scale), estimate_text(d.candidate, d.scale),
             both ? ratio_text(d.candidate->value / d.baseline->value) : "-",
             both ? (d.overlap ? "yes" : "no") : "-", d.unit});
    }
    out += "constants (ratio = candidate / baseline)\n" + t.str() + "\n";
  }
  Table t({"context", "baseline", "candidate", ""}, "llll");
  for (const ContextDiff& d : c.contexts) {
    t.add({d.key, cut(d.baseline.empty() ? "-" : d.baseline),
           cut(d.candidate.empty() ? "-" : d.candidate), d.differs ? "differs" : ""});
  }
  out += "hardware and software\n" + t.str();
  return out;
}

nlohmann::ordered_json comparison_json(const Comparison& c) {
  nlohmann::ordered_json doc;
  if (c.have_samples) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const BenchmarkDiff& d : c.benchmarks) {
      list.push_back({{"name", d.name},
                      {"family", d.family},
                      {"baseline_s", round_significant(d.baseline_s, 6)},
                      {"candidate_s", round_significant(d.candidate_s, 6)},
                      {"ratio", round_significant(d.ratio, 6)},
                      {"noise", round_significant(d.noise, 4)},
                      {"verdict", d.verdict}});
    }
    doc["benchmarks"] = list;
    nlohmann::ordered_json families = nlohmann::ordered_json::object();
    for (const auto& [family, d] : c.families) {
      families[family] = {{"n", d.n}, {"geomean_ratio", round_significant(d.geomean_ratio, 6)}};
    }
    doc["families"] = families;
    doc["only_baseline"] = c.only_baseline;
    doc["only_candidate"] = c.only_candidate;
  }
  if (c.have_constants) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const ConstantDiff& d : c.constants) {
      nlohmann::ordered_json row = {{"name", d.name},
                                    {"baseline", estimate_json(d.baseline)},
                                    {"candidate", estimate_json(d.candidate)}};
      if (d.baseline && d.candidate) {
        row["ratio"] = round_significant(d.candidate->value / d.baseline->value, 6);
        row["overlap"] = d.overlap;
      }
      list.push_back(row);
    }
    doc["constants"] = list;
  }
  nlohmann::ordered_json contexts = nlohmann::ordered_json::array();
  for (const ContextDiff& d : c.contexts) {
    contexts.push_back({{"key", d.key},
                        {"baseline", d.baseline},
                        {"candidate", d.candidate},
                        {"differs", d.differs}});
  }
  doc["hardware"] = contexts;
  return doc;
}

}  // namespace batchcost
