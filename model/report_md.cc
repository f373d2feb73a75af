// The Markdown report of `batchcost report` (see report_md.h).
#include "model/report_md.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <tuple>

#include "core/forms.h"
#include "model/compare.h"
#include "model/select.h"

namespace batchcost {
namespace {

// How many rows of a per-benchmark table the page shows before folding the rest away.
constexpr size_t kWorstRows = 10;

// A cell of a Markdown table: a `|` would end the cell, a newline the row.
std::string cell(std::string text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|') {
      out += "\\|";
    } else if (ch == '\n') {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

std::string code(const std::string& text) { return "`" + text + "`"; }

// A GitHub-flavoured Markdown table; `align` has one letter per column, 'l' or 'r'.
std::string md_table(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows, const std::string& align) {
  std::string out = "|";
  for (const std::string& h : header) {
    out += ' ';
    out += cell(h);
    out += " |";
  }
  out += "\n|";
  for (char a : align) out += a == 'r' ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (size_t c = 0; c < header.size(); ++c) {
      out += ' ';
      if (c < row.size()) out += cell(row[c]);
      out += " |";
    }
    out += "\n";
  }
  return out;
}

std::string abs_percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100 * fraction);
  return text;
}

std::string ratio_text(double r) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", r);
  return text;
}

std::string interval_text(const Estimate& e, double scale) {
  return "[" + format_number(e.low / scale) + ", " + format_number(e.high / scale) + "]";
}

// The series a fitted sample belongs to for the held-out check.
std::string series_of(const Sample& s) {
  bool net = s.work.net_bytes > 0 || s.work.collectives > 0;
  return s.family + "|" + (net ? net_key_name(net_key_of(s)) : dtype_of(s));
}

std::string joined(const std::set<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? "-" : out;
}

std::string context_value(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Per (family, role) summary rows of validation rows.
std::vector<std::vector<std::string>> summary_rows(const std::vector<ValidationRow>& rows) {
  std::vector<std::vector<std::string>> out;
  for (const auto& [key, s] : validation_summary(rows)) {
    bool any = s.quality.n > 0;
    out.push_back({key.first, key.second, std::to_string(s.quality.n),
                   any ? abs_percent(s.quality.median_abs_rel_err) : "-",
                   any ? abs_percent(s.quality.p90_abs_rel_err) : "-",
                   std::to_string(s.not_predicted)});
  }
  return out;
}

const std::vector<std::string> kSummaryHeader = {"family",       "role",      "n",
                                                 "median |err|", "p90 |err|", "not predicted"};

// The rows worst first across families (unpredictable ones last), `kWorstRows` shown and the
// rest folded into a <details> block.
std::string worst_rows_md(std::vector<ValidationRow> rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const ValidationRow& a, const ValidationRow& b) {
    bool ua = !a.missing.empty(), ub = !b.missing.empty();
    return std::make_tuple(ua, -std::abs(a.rel_err), a.name) <
           std::make_tuple(ub, -std::abs(b.rel_err), b.name);
  });
  auto table = [](const std::vector<ValidationRow>& part) {
    std::vector<std::vector<std::string>> t;
    for (const ValidationRow& r : part) {
      if (r.missing.empty()) {
        t.push_back({code(r.name), r.role, format_time(r.measured_s), format_time(r.predicted_s),
                     format_percent(r.rel_err)});
      } else {
        t.push_back({code(r.name), r.role, format_time(r.measured_s), "-", r.missing});
      }
    }
    return md_table({"benchmark", "role", "measured", "predicted", "error"}, t, "llrrr");
  };
  size_t shown = std::min(rows.size(), kWorstRows);
  std::string out = table({rows.begin(), rows.begin() + static_cast<long>(shown)});
  if (rows.size() > shown) {
    out += "\n<details><summary>the other " + std::to_string(rows.size() - shown) +
           "</summary>\n\n" + table({rows.begin() + static_cast<long>(shown), rows.end()}) +
           "\n</details>\n";
  }
  return out;
}

std::string title_of(const RunReport& run) {
  const nlohmann::json& ctx = run.inputs.context;
  if (ctx.contains("gpu_name") && ctx["gpu_name"].is_string()) {
    return ctx["gpu_name"].get<std::string>() + " (" + run.path + ")";
  }
  return run.path;
}

std::string run_section(const RunReport& run) {
  std::string out = "## " + title_of(run) + "\n\n";
  const Inputs& in = run.inputs;
  out += std::to_string(in.sources.size()) + " file" + (in.sources.size() == 1 ? "" : "s") + ", " +
         std::to_string(in.samples.size()) + " samples";
  if (in.skipped > 0) out += ", " + std::to_string(in.skipped) + " skipped by the harness";
  out += ":";
  for (const std::string& s : in.sources) out += " " + code(s);
  out += ".";
  if (!run.readme.empty()) {
    out += " Where the data comes from: [README.md](" + run.readme + ").";
  }
  out += "\n\n";
  for (const std::string& w : in.warnings) out += "> warning: " + w + "\n";
  if (!in.warnings.empty()) out += "\n";

  out += "### Context\n\n";
  if (in.context.empty()) {
    out += "The files carry no context (nccl-tests logs name no driver or library versions)";
    out += run.readme.empty() ? ".\n\n" : ": see the README.\n\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [k, v] : in.context.items()) rows.push_back({code(k), context_value(v)});
    out += md_table({"key", "value"}, rows, "ll") + "\n";
  }

  out += "### Constants\n\nForm: **" + form_name(run.fit.constants.form) +
         "** (selected by held-out error, as `batchcost fit` does; core/forms.h). 95% intervals "
         "from the covariance of the robust fit. *From*: the files whose fitted samples are "
         "priced with the constant.\n\n";
  std::map<std::string, std::set<std::string>> origins =
      constant_origins(in.samples, run.fit.roles);
  std::vector<std::vector<std::string>> rows;
  for (const NamedConstant& c : named_constants(run.fit.constants)) {
    rows.push_back({c.name, format_number(c.estimate.value / c.scale),
                    interval_text(c.estimate, c.scale), c.unit,
                    joined(origins[origin_key(c.name)])});
  }
  out +=
      rows.empty()
          ? "No constant was determined.\n\n"
          : md_table({"constant", "value", "95% interval", "unit", "from"}, rows, "lrlll") + "\n";
  for (const std::string& n : run.fit.notes) out += "- " + n + "\n";
  if (!run.fit.notes.empty()) out += "\n";

  out +=
      "### Quality of the fit\n\nThe error \\|predicted / measured − 1\\| over the samples of "
      "each family (fitted families: in-sample).\n\n";
  std::vector<std::vector<std::string>> q;
  for (const auto& [family, quality] : run.fit.quality) {
    q.push_back({family, quality.role, std::to_string(quality.n),
                 quality.n ? abs_percent(quality.median_abs_rel_err) : "-",
                 quality.n ? abs_percent(quality.p90_abs_rel_err) : "-"});
  }
  out += md_table({"family", "role", "n", "median |err|", "p90 |err|"}, q, "llrrr") + "\n";

  std::vector<ValidationRow> predicted_only;
  for (const ValidationRow& r : run.validation) {
    if (r.role != "fit") predicted_only.push_back(r);
  }
  out += "### Validation: predicted, never fitted\n\n";
  if (predicted_only.empty()) {
    out += "No validation family (`moe` by default) or excluded sample in these files.\n\n";
  } else {
    out += md_table(kSummaryHeader, summary_rows(predicted_only), "llrrrr") + "\n" +
           worst_rows_md(predicted_only) + "\n";
  }

  out +=
      "### Held out\n\nEvery third fitted sample of each series (interior sizes) left out of "
      "a second fit and predicted by it.\n\n";
  for (const std::string& n : run.held_out.notes) out += "- " + n + "\n";
  if (!run.held_out.notes.empty()) out += "\n";
  if (!run.held_out.rows.empty()) {
    out += md_table(kSummaryHeader, summary_rows(run.held_out.rows), "llrrrr") + "\n" +
           worst_rows_md(run.held_out.rows) + "\n";
  }
  return out;
}

std::string estimate_cell(const std::optional<Estimate>& e, double scale) {
  if (!e) return "-";
  return format_number(e->value / scale) + " " + interval_text(*e, scale);
}

std::string comparison_section(const RunReport& base, const RunReport& cand) {
  Comparison cmp;
  compare_samples(base.inputs.samples, cand.inputs.samples, cmp);
  compare_constants(base.fit.constants, cand.fit.constants, cmp);
  compare_contexts(base.inputs.context, cand.inputs.context, cmp);
  std::string out = "## " + cand.path + " against " + base.path + "\n\n";
  out += "Ratios are " + code(cand.path) + " / " + code(base.path) + ".\n\n### Constants\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const ConstantDiff& d : cmp.constants) {
    bool both = d.baseline && d.candidate;
    rows.push_back({d.name, estimate_cell(d.baseline, d.scale), estimate_cell(d.candidate, d.scale),
                    both ? ratio_text(d.candidate->value / d.baseline->value) : "-",
                    both ? (d.overlap ? "yes" : "no") : "-", d.unit});
  }
  out += md_table({"constant", base.path + " [95%]", cand.path + " [95%]", "ratio",
                   "intervals overlap", "unit"},
                  rows, "lrrrll") +
         "\n";
  if (!cmp.benchmarks.empty()) {
    out +=
        "### Time per family\n\nGeometric mean of the time ratios of the benchmarks both "
        "ran (below 1: faster).\n\n";
    std::vector<std::vector<std::string>> f;
    for (const auto& [family, d] : cmp.families) {
      f.push_back({family, std::to_string(d.n), ratio_text(d.geomean_ratio)});
    }
    out += md_table({"family", "n", "geomean ratio"}, f, "lrr") + "\n";
    std::vector<std::vector<std::string>> b;
    for (const BenchmarkDiff& d : cmp.benchmarks) {
      b.push_back({code(d.name), format_time(d.baseline_s), format_time(d.candidate_s),
                   ratio_text(d.ratio), d.noise ? "±" + ratio_text(*d.noise) : "unknown",
                   d.verdict});
    }
    out += "<details><summary>every benchmark (" + std::to_string(b.size()) + ")</summary>\n\n" +
           md_table({"benchmark", base.path, cand.path, "ratio", "noise", "verdict"}, b, "lrrrrl") +
           "\n</details>\n\n";
  }
  if (!cmp.only_baseline.empty() || !cmp.only_candidate.empty()) {
    out += std::to_string(cmp.only_baseline.size()) + " benchmarks only in " + code(base.path) +
           ", " + std::to_string(cmp.only_candidate.size()) + " only in " + code(cand.path) +
           ".\n\n";
  }
  std::vector<std::vector<std::string>> c;
  for (const ContextDiff& d : cmp.contexts) {
    if (d.differs) {
      c.push_back({code(d.key), d.baseline.empty() ? "-" : d.baseline,
                   d.candidate.empty() ? "-" : d.candidate});
    }
  }
  if (!c.empty()) {
    out +=
        "### Context that differs\n\n" + md_table({"key", base.path, cand.path}, c, "lll") + "\n";
  }
  return out;
}

}  // namespace

std::vector<size_t> held_out_indices(const std::vector<Sample>& samples,
                                     const std::vector<Role>& roles) {
  std::map<std::string, std::vector<size_t>> series;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (roles[i] == Role::kFit) series[series_of(samples[i])].push_back(i);
  }
  std::vector<size_t> out;
  for (auto& [key, members] : series) {
    std::stable_sort(members.begin(), members.end(), [&](size_t a, size_t b) {
      return std::tie(samples[a].time_s, samples[a].name) <
             std::tie(samples[b].time_s, samples[b].name);
    });
    for (size_t k = 1; k + 1 < members.size(); k += 3) out.push_back(members[k]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

HeldOut held_out_check(const std::vector<Sample>& samples, const FitOptions& options) {
  HeldOut out;
  std::vector<Role> roles;
  for (const Sample& s : samples) roles.push_back(role_of(s, options));
  std::vector<size_t> held = held_out_indices(samples, roles);
  if (held.empty()) {
    out.notes.push_back("no series has 3 or more fitted samples: nothing to hold out");
    return out;
  }
  std::vector<Sample> kept, left_out;
  for (size_t i = 0, h = 0; i < samples.size(); ++i) {
    if (h < held.size() && held[h] == i) {
      left_out.push_back(samples[i]);
      ++h;
    } else {
      kept.push_back(samples[i]);
    }
  }
  FitResult r;
  try {
    r = fit(kept, options);
  } catch (const InputError& e) {
    out.notes.push_back(std::string("the fit without the held-out samples failed: ") + e.what());
    return out;
  }
  std::vector<Role> held_roles(left_out.size(), Role::kFit);
  out.rows = validation_rows(left_out, held_roles, r.constants);
  for (ValidationRow& row : out.rows) row.role = "held out";
  for (const std::string& n : r.notes) out.notes.push_back("the smaller fit: " + n);
  return out;
}

std::map<std::string, std::set<std::string>> constant_origins(const std::vector<Sample>& samples,
                                                              const std::vector<Role>& roles) {
  std::map<std::string, std::set<std::string>> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (roles[i] != Role::kFit) continue;
    const Sample& s = samples[i];
    Work w = s.work;  // work_field needs a mutable Work
    if (w.flops > 0) out["P[" + dtype_of(s) + "]"].insert(s.source);
    if (w.bytes > 0) out["W"].insert(s.source);
    for (size_t k = 0; k < kLatencyKinds.size(); ++k) {
      if (work_field(w, kLatencyCounters[k]) > 0) {
        out["λ[" + std::string(kLatencyKinds[k]) + "]"].insert(s.source);
      }
    }
    if (w.net_bytes > 0 || w.collectives > 0) out[net_key_name(net_key_of(s))].insert(s.source);
  }
  return out;
}

std::string origin_key(const std::string& constant_name) {
  return constant_name.substr(0, constant_name.find(" #"));
}

RunReport make_run_report(const std::string& path, const FitOptions& options) {
  RunReport run;
  run.path = path;
  run.inputs = read_inputs({path});
  // The constants `fit` writes: the form selected by held-out error (model/select.h), as every
  // other command and figure shows them.
  const Selection sel =
      select_form(run.inputs.samples, options, select_options_for(run.inputs.context));
  run.fit = sel.full;
  run.fit.constants = sel.chosen();
  run.fit.quality = quality_of(run.inputs.samples, run.fit.roles, run.fit.constants);
  run.validation = validation_rows(run.inputs.samples, run.fit.roles, run.fit.constants);
  run.held_out = held_out_check(run.inputs.samples, options);
  return run;
}

std::string markdown_report(const std::vector<RunReport>& runs,
                            const std::vector<std::string>& plots) {
  std::string out = "# batchcost report: ";
  for (size_t i = 0; i < runs.size(); ++i) out += (i ? ", " : "") + title_of(runs[i]);
  out +=
      "\n\nThe cost model `t = Σ count·λ + c·T_net(net_bytes/c) + max(flops/P, bytes/W)` "
      "(the paper's form, epoch) or its refined form (core/forms.h), whichever predicts held-out "
      "samples better, fitted to measured times (docs/DESIGN.md); each run names its form. A "
      "constant no sample determines is absent, not guessed.\n\n";
  for (const RunReport& run : runs) out += run_section(run);
  for (size_t i = 1; i < runs.size(); ++i) out += comparison_section(runs[0], runs[i]);
  out += "## Plots\n\n";
  if (plots.empty()) {
    out += "None beside this page (`tools/plot.py RESULTS --out DIR` renders them).\n";
  } else {
    for (const std::string& p : plots) {
      std::string name = std::filesystem::path(p).stem().string();
      out += "### " + name + "\n\n![" + name + "](" + p + ")\n\n";
    }
  }
  return out;
}

std::string report_summary(const RunReport& run) {
  std::map<std::string, std::set<std::string>> origins =
      constant_origins(run.inputs.samples, run.fit.roles);
  Table t({"constant", "value", "95% interval", "unit", "from"}, "lrlll");
  for (const NamedConstant& c : named_constants(run.fit.constants)) {
    t.add({c.name, format_number(c.estimate.value / c.scale), interval_text(c.estimate, c.scale),
           c.unit, joined(origins[origin_key(c.name)])});
  }
  std::string out = "form: " + form_name(run.fit.constants.form) +
                    "\nconstants (95% intervals; from: the files whose samples price them)\n" +
                    t.str();
  for (const std::string& n : run.fit.notes) out += "note: " + n + "\n";
  std::vector<ValidationRow> rows = run.held_out.rows;
  for (const ValidationRow& r : run.validation) {
    if (r.role != "fit") rows.push_back(r);
  }
  out += "\nvalidation (|predicted / measured - 1| of samples the fit never saw)\n";
  for (const std::string& n : run.held_out.notes) out += "note: " + n + "\n";
  if (!rows.empty()) {
    Table s(kSummaryHeader, "llrrrr");
    for (const auto& row : summary_rows(rows)) s.add(row);
    out += s.str();
  }
  return out;
}

}  // namespace batchcost
