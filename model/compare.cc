// Comparison of two runs or two GPUs (see compare.h).
#include "model/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "core/model_file.h"
#include "model/report.h"

namespace batchcost {

double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t m = a.size(), n = b.size(), total = m + n;
  // Mid-ranks of the pooled values, and the tie groups' sizes.
  std::vector<std::pair<double, int>> pooled;
  for (double x : a) pooled.push_back({x, 0});
  for (double y : b) pooled.push_back({y, 1});
  std::sort(pooled.begin(), pooled.end());
  double rank_sum_a = 0, tie_term = 0;
  bool ties = false;
  for (size_t i = 0; i < total;) {
    size_t j = i;
    while (j < total && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i), mid_rank = 0.5 * static_cast<double>(i + j + 1);
    for (size_t k = i; k < j; ++k) {
      if (pooled[k].second == 0) rank_sum_a += mid_rank;
    }
    tie_term += t * t * t - t;
    ties |= t > 1;
    i = j;
  }
  const double md = static_cast<double>(m), nd = static_cast<double>(n);
  const double u_a = rank_sum_a - md * (md + 1) / 2, u_b = md * nd - u_a;
  const double u = std::max(u_a, u_b);
  if (std::min(m, n) <= 8 && !ties) {
    // The exact null distribution of U: the coefficients of the Gaussian binomial
    // [m+n choose k]_q, k = min(m, n), built one factor (1 - q^(l+i)) / (1 - q^i) at a time.
    const size_t k = std::min(m, n), l = std::max(m, n), top = k * l;
    std::vector<double> c = {1.0};
    c.resize(top + 1, 0.0);
    for (size_t i = 1; i <= k; ++i) {
      for (size_t d = top; d >= l + i; --d) c[d] -= c[d - l - i];
      for (size_t d = i; d <= top; ++d) c[d] += c[d - i];
    }
    double all = 0, at_least = 0;
    for (size_t d = 0; d <= top; ++d) {
      all += c[d];
      if (static_cast<double>(d) >= u) at_least += c[d];
    }
    return std::min(1.0, 2 * at_least / all);
  }
  const double mu = md * nd / 2;
  const double sd =
      std::sqrt(md * nd / 12 * ((md + nd + 1) - tie_term / ((md + nd) * (md + nd - 1))));
  if (sd == 0) return 1;
  const double z = (u - mu - 0.5) / sd;
  return std::min(1.0, std::erfc(z / std::sqrt(2.0)));
}

double mann_whitney_min_p(int m, int n) {
  std::vector<double> a, b;
  for (int i = 0; i < m; ++i) a.push_back(i);
  for (int i = 0; i < n; ++i) b.push_back(m + i);
  return mann_whitney_p(a, b);
}

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      size_t is = i, js = j;  // skip leading zeros, then the longer number is the larger
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      std::string_view x(a.data() + is, ie - is), y(b.data() + js, je - js);
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
  return a < b;  // equal up to digit padding: any fixed order
}

namespace {

// The context keys whose difference makes two runs' times differ for reasons other than the
// code: what hardware_differences checks, by what they are.
const std::vector<std::pair<const char*, std::vector<const char*>>>& hardware_keys() {
  static const std::vector<std::pair<const char*, std::vector<const char*>>> keys = {
      {"GPU", {"gpu_name", "compute_capability", "sm_count", "memory_bytes"}},
      {"driver", {"driver_version", "cuda_driver"}},
      {"clocks",
       {"sm_clock_mhz_max", "memory_clock_mhz_max", "applications_clocks_setting",
        "sm_clock_mhz_start", "sm_clock_mhz_end"}},
      {"libraries", {"cuda_runtime", "cublas_version", "nccl_version"}},
      // What a collective's time is (nccl-tests' -a: rank 0's, the average, min or max over
      // ranks): the same run reads up to the slowest rank's skew apart.
      {"method", {"collective_time_over_ranks"}},
  };
  return keys;
}

std::string text_of(const nlohmann::json& j) {
  return j.is_string() ? j.get<std::string>() : j.dump();
}

}  // namespace

std::vector<std::string> hardware_differences(const nlohmann::json& baseline,
                                              const nlohmann::json& candidate) {
  std::vector<std::string> out;
  if (!baseline.is_object() || !candidate.is_object()) return out;
  for (const auto& [what, keys] : hardware_keys()) {
    for (const char* key : keys) {
      if (!baseline.contains(key) || !candidate.contains(key)) continue;
      if (baseline[key] == candidate[key]) continue;
      out.push_back(std::string(what) + ": " + key + " '" + text_of(baseline[key]) + "' vs '" +
                    text_of(candidate[key]) + "'");
    }
  }
  return out;
}

bool different_gpu(const nlohmann::json& a, const nlohmann::json& b) {
  for (const std::string& d : hardware_differences(a, b)) {
    if (d.starts_with("GPU: ")) return true;
  }
  return false;
}

const std::vector<double>& network_reference_bytes() {
  static const std::vector<double> sizes = {8,          65536.0,     1048576.0,
                                            16777216.0, 268435456.0, 1073741824.0};
  return sizes;
}

std::vector<Sample> select_samples(const std::vector<Sample>& samples, const CompareOptions& o) {
  std::optional<std::regex> re;
  if (!o.filter.empty()) re.emplace(o.filter, std::regex::ECMAScript);
  std::vector<Sample> out;
  for (const Sample& s : samples) {
    if (!o.families.empty() && !o.families.count(s.family)) continue;
    if (re && !std::regex_search(s.name, *re)) continue;
    out.push_back(s);
  }
  return out;
}

NetRanges net_ranges_of_samples(const std::vector<Sample>& samples, const FitOptions& options) {
  NetRanges out;
  for (const Sample& s : samples) {
    if (s.work.net_bytes <= 0 || role_of(s, options) != Role::kFit) continue;
    const double x = s.work.net_bytes / collective_count(s.work);
    auto [it, added] = out.try_emplace(net_key_of(s), x, x);
    it->second.first = std::min(it->second.first, x);
    it->second.second = std::max(it->second.second, x);
  }
  return out;
}

NetRanges net_ranges_of_model(const nlohmann::json& model) {
  NetRanges out;
  const nlohmann::json* network = nullptr;
  if (model.contains("constants") && model["constants"].is_object() &&
      model["constants"].contains("network") && model["constants"]["network"].is_object()) {
    network = &model["constants"]["network"];
  }
  if (!network) return out;
  for (const auto& [op, by_ranks] : network->items()) {
    if (!by_ranks.is_object()) continue;
    for (const auto& [ranks, regimes] : by_ranks.items()) {
      if (!regimes.is_array()) continue;
      std::optional<std::pair<double, double>> range;
      for (const auto& r : regimes) {
        if (!r.is_object() || !r.contains("bytes_range")) continue;
        const auto& br = r["bytes_range"];
        if (!br.is_array() || br.size() != 2 || !br[0].is_number() || !br[1].is_number()) continue;
        double lo = br[0].get<double>(), hi = br[1].get<double>();
        range = range ? std::pair{std::min(range->first, lo), std::max(range->second, hi)}
                      : std::pair{lo, hi};
      }
      int n = 0;
      try {
        n = std::stoi(ranks);
      } catch (const std::exception&) {
        continue;
      }
      if (range) out[{op, n}] = *range;
    }
  }
  return out;
}

void compare_samples(const std::vector<Sample>& baseline, const std::vector<Sample>& candidate,
                     Comparison& out) {
  out.have_samples = true;
  const CompareOptions& o = out.options;
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
    BenchmarkDiff d;
    d.name = name;
    d.family = b->family;
    d.baseline_s = b->time_s;
    d.candidate_s = c->time_s;
    d.ratio = c->time_s / b->time_s;
    d.baseline_reps = b->repetitions;
    d.candidate_reps = c->repetitions;
    if (b->cv > 0 && c->cv > 0) d.noise = 2 * std::hypot(b->cv, c->cv);
    const auto& tb = b->repetition_times_s;
    const auto& tc = c->repetition_times_s;
    const bool beyond_threshold = std::abs(d.ratio - 1) > o.threshold;
    const std::string direction = d.ratio < 1 ? "faster" : "slower";
    if (tb.size() >= 2 && tc.size() >= 2) {
      const double min_p =
          mann_whitney_min_p(static_cast<int>(tb.size()), static_cast<int>(tc.size()));
      d.p_value = mann_whitney_p(tb, tc);
      if (min_p >= o.alpha) {
        d.verdict = "?";
        d.why = std::to_string(tb.size()) + " vs " + std::to_string(tc.size()) +
                " repetitions: the U test cannot reach p < alpha";
      } else {
        d.verdict = *d.p_value < o.alpha && beyond_threshold ? direction : "same";
      }
    } else if (d.noise) {
      // Aggregates only (the repetitions' times were not written): the cv's noise band.
      d.verdict = std::abs(d.ratio - 1) > *d.noise && beyond_threshold ? direction : "same";
    } else {
      d.verdict = "?";
      d.why = "noise unknown (one repetition)";
    }
    log_sum[d.family] += std::log(d.ratio);
    FamilyDiff& f = out.families[d.family];
    ++f.n;
    ++f.verdicts[d.verdict];
    out.benchmarks.push_back(d);
  }
  for (const auto& [name, c] : cand) {
    if (!base.count(name)) out.only_candidate.push_back(name);
  }
  for (auto& [family, f] : out.families) {
    f.geomean_ratio = std::exp(log_sum[family] / f.n);
  }
  std::sort(out.benchmarks.begin(), out.benchmarks.end(),
            [](const BenchmarkDiff& a, const BenchmarkDiff& b) {
              if (a.family != b.family) return a.family < b.family;
              return natural_less(a.name, b.name);
            });
  std::sort(out.only_baseline.begin(), out.only_baseline.end(), natural_less);
  std::sort(out.only_candidate.begin(), out.only_candidate.end(), natural_less);
}

std::map<std::string, std::string> unidentified_constants(const nlohmann::json& identification) {
  std::map<std::string, std::string> out;
  if (!identification.is_object()) return out;
  for (const auto& [name, id] : identification.items()) {
    if (!id.is_object()) continue;
    const auto status = id.find("status");
    if (status == id.end() || !status->is_string() || *status == "identified") continue;
    const auto why = id.find("why");
    out[name] = status->get<std::string>() +
                (why != id.end() && why->is_string() ? ": " + why->get<std::string>() : "");
  }
  return out;
}

void compare_constants(const Constants& baseline, const Constants& candidate, Comparison& out,
                       const std::map<std::string, std::string>& baseline_unidentified,
                       const std::map<std::string, std::string>& candidate_unidentified) {
  out.have_constants = true;
  Constants b_only = baseline, c_only = candidate;
  b_only.network.clear();
  c_only.network.clear();
  std::vector<NamedConstant> b = named_constants(b_only), c = named_constants(c_only);
  std::vector<ConstantDiff> diffs;
  auto find = [](std::vector<ConstantDiff>& list, const NamedConstant& n) -> ConstantDiff& {
    for (ConstantDiff& d : list) {
      if (d.name == n.name) return d;
    }
    list.push_back({n.name, n.unit, n.scale, std::nullopt, std::nullopt, false, ""});
    return list.back();
  };
  for (const NamedConstant& n : b) find(diffs, n).baseline = n.estimate;
  for (const NamedConstant& n : c) find(diffs, n).candidate = n.estimate;
  for (ConstantDiff& d : diffs) {
    for (const auto& [side, marked] : {std::pair{"baseline", &baseline_unidentified},
                                       std::pair{"candidate", &candidate_unidentified}}) {
      auto it = marked->find(d.name);
      if (it == marked->end()) continue;
      d.unidentified += (d.unidentified.empty() ? "" : "; ") + std::string(side) + " " + it->second;
    }
    if (d.baseline && d.candidate) {
      d.overlap = d.baseline->low <= d.candidate->high && d.candidate->low <= d.baseline->high;
    }
  }
  out.constants = std::move(diffs);
}

namespace {

// T_net at `bytes` with an interval: the envelope of the regimes' low ends (shortest latency,
// highest bandwidth) and of their high ends.
Estimate network_estimate(const std::vector<Regime>& regimes, double bytes) {
  Estimate e{network_time(regimes, bytes), INFINITY, INFINITY};
  for (const Regime& r : regimes) {
    e.low = std::min(e.low, r.latency_s.low + bytes / r.bytes_per_s.high);
    e.high = std::min(e.high, r.latency_s.high + bytes / r.bytes_per_s.low);
  }
  return e;
}

}  // namespace

void compare_network(const Constants& baseline, const NetRanges& baseline_ranges,
                     const Constants& candidate, const NetRanges& candidate_ranges,
                     Comparison& out) {
  std::set<NetKey> keys;
  for (const auto& [k, v] : baseline.network) keys.insert(k);
  for (const auto& [k, v] : candidate.network) keys.insert(k);
  for (const NetKey& key : keys) {
    NetworkDiff d;
    d.key = key;
    auto b = baseline.network.find(key), c = candidate.network.find(key);
    d.in_baseline = b != baseline.network.end() && !b->second.empty();
    d.in_candidate = c != candidate.network.end() && !c->second.empty();
    if (auto r = baseline_ranges.find(key); r != baseline_ranges.end())
      d.baseline_range = r->second;
    if (auto r = candidate_ranges.find(key); r != candidate_ranges.end()) {
      d.candidate_range = r->second;
    }
    if (!d.in_baseline || !d.in_candidate) {
      d.note = d.in_baseline ? "only in baseline" : "only in candidate";
      out.network.push_back(d);
      continue;
    }
    // Sizes inside both fitted ranges (a side whose ranges were not stored does not restrict).
    double lo = 0, hi = INFINITY;
    for (const auto& range : {d.baseline_range, d.candidate_range}) {
      if (!range) continue;
      lo = std::max(lo, range->first);
      hi = std::min(hi, range->second);
    }
    std::vector<double> sizes;
    if (lo > hi) {
      d.note = "the fitted ranges do not overlap: nothing to compare without extrapolating";
    } else {
      for (double x : network_reference_bytes()) {
        if (x >= lo && x <= hi) sizes.push_back(x);
      }
      // A narrow common range holds no reference size: compare at its geometric middle.
      if (sizes.empty()) sizes.push_back(std::sqrt(std::max(lo, 1.0) * hi));
    }
    for (double x : sizes) {
      NetworkSizeDiff s{x, network_estimate(b->second, x), network_estimate(c->second, x), false};
      s.overlap = s.baseline.low <= s.candidate.high && s.candidate.low <= s.baseline.high;
      d.sizes.push_back(s);
    }
    out.network.push_back(d);
  }
}

void compare_contexts(const nlohmann::json& baseline, const nlohmann::json& candidate,
                      Comparison& out) {
  std::set<std::string> keys;
  for (const auto& [k, v] : baseline.items()) keys.insert(k);
  for (const auto& [k, v] : candidate.items()) keys.insert(k);
  for (const std::string& k : keys) {
    ContextDiff d{k, "", "", false};
    if (baseline.contains(k)) d.baseline = text_of(baseline[k]);
    if (candidate.contains(k)) d.candidate = text_of(candidate[k]);
    d.differs = !baseline.contains(k) || !candidate.contains(k) || baseline[k] != candidate[k];
    out.contexts.push_back(d);
  }
  out.warnings = hardware_differences(baseline, candidate);
}

namespace {

std::string ratio_text(double r) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", r);
  return text;
}

std::string p_text(double p) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", p);
  return text;
}

std::string estimate_text(const std::optional<Estimate>& e, double scale) {
  if (!e) return "-";
  return format_number(e->value / scale) + " [" + format_number(e->low / scale) + ", " +
         format_number(e->high / scale) + "]";
}

// A time with its interval, in the unit format_time picks for the value.
std::string time_estimate_text(const Estimate& e) {
  static const std::pair<double, const char*> units[] = {
      {1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}, {1e-9, "ns"}};
  for (const auto& [scale, unit] : units) {
    if (e.value >= scale || scale == 1e-9) {
      return format_number(e.value / scale) + " " + unit + " [" + format_number(e.low / scale) +
             ", " + format_number(e.high / scale) + "]";
    }
  }
  return "";
}

std::string range_text(const std::optional<std::pair<double, double>>& r, bool present) {
  if (!present) return "-";
  if (!r) return "not stored";
  return format_bytes(r->first, 4) + " - " + format_bytes(r->second, 4);
}

// Long context values (cache lists, warnings) are cut for the table; --json has them whole.
std::string cut(const std::string& s) { return s.size() <= 48 ? s : s.substr(0, 45) + "..."; }

nlohmann::ordered_json estimate_json(const std::optional<Estimate>& e) {
  if (!e) return nullptr;
  return {{"value", round_significant(e->value, 6)},
          {"interval", {round_significant(e->low, 6), round_significant(e->high, 6)}}};
}

nlohmann::ordered_json optional_json(const std::optional<double>& v, int digits) {
  if (!v) return nullptr;
  return round_significant(*v, digits);
}

nlohmann::ordered_json range_json(const std::optional<std::pair<double, double>>& r) {
  if (!r) return nullptr;
  return {r->first, r->second};
}

}  // namespace

std::string comparison_report(const Comparison& c) {
  std::string out;
  if (c.have_samples) {
    Table t({"benchmark", "baseline", "candidate", "ratio", "reps", "noise", "p", "verdict"},
            "lrrrrrrl");
    int too_few = 0, unknown = 0;
    for (const BenchmarkDiff& d : c.benchmarks) {
      t.add({d.name, format_time(d.baseline_s), format_time(d.candidate_s), ratio_text(d.ratio),
             std::to_string(d.baseline_reps) + "/" + std::to_string(d.candidate_reps),
             d.noise ? "±" + ratio_text(*d.noise) : "?", d.p_value ? p_text(*d.p_value) : "?",
             d.verdict});
      if (d.verdict == "?") ++(d.p_value ? too_few : unknown);
    }
    char alpha[32];
    std::snprintf(alpha, sizeof alpha, "%g", c.options.alpha);
    out +=
        "benchmarks (ratio = candidate / baseline time; p: two-sided Mann-Whitney U test of "
        "the repetitions; same = not significant at p < " +
        std::string(alpha) +
        (c.options.threshold > 0 ? " or within ±" + ratio_text(c.options.threshold) : "") +
        "; ? = cannot be told)\n" + t.str();
    if (too_few) {
      out += "? " + std::to_string(too_few) +
             " with too few repetitions: the U test needs 4 per side to reach p < 0.05 at all\n";
    }
    if (unknown) {
      out += "? " + std::to_string(unknown) + " measured once on a side: noise unknown\n";
    }
    out += "\n";
    Table f({"family", "n", "geomean ratio", "faster", "slower", "same", "?"}, "lrrrrrr");
    for (const auto& [family, d] : c.families) {
      const auto& verdicts = d.verdicts;  // a lambda may not capture a structured binding (clang)
      auto count = [&verdicts](const char* v) {
        auto it = verdicts.find(v);
        return std::to_string(it == verdicts.end() ? 0 : it->second);
      };
      f.add({family, std::to_string(d.n), ratio_text(d.geomean_ratio), count("faster"),
             count("slower"), count("same"), count("?")});
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
    std::string not_identified;
    for (const ConstantDiff& d : c.constants) {
      const bool both = d.baseline && d.candidate;
      const bool judged = both && d.unidentified.empty();
      t.add({d.name, estimate_text(d.baseline, d.scale), estimate_text(d.candidate, d.scale),
             judged ? ratio_text(d.candidate->value / d.baseline->value) : "-",
             judged ? (d.overlap ? "yes" : "no") : (d.unidentified.empty() ? "-" : "!"), d.unit});
      if (!d.unidentified.empty()) not_identified += "  " + d.name + ": " + d.unidentified + "\n";
    }
    out += "constants (ratio = candidate / baseline)\n" + t.str();
    if (!not_identified.empty()) {
      out += "! not identified by a side's fit: no ratio and no verdict\n" + not_identified;
    }
    out += "\n";
  }
  if (!c.network.empty()) {
    Table t({"operation", "bytes", "baseline [95%]", "candidate [95%]", "ratio", "overlap"},
            "lrrrrl");
    for (const NetworkDiff& d : c.network) {
      const std::string name = net_key_name(d.key);
      t.add({name, "fitted on", range_text(d.baseline_range, d.in_baseline),
             range_text(d.candidate_range, d.in_candidate), "", d.note});
      for (const NetworkSizeDiff& s : d.sizes) {
        t.add({name, format_bytes(s.bytes, 4), time_estimate_text(s.baseline),
               time_estimate_text(s.candidate), ratio_text(s.candidate.value / s.baseline.value),
               s.overlap ? "yes" : "no"});
      }
    }
    out +=
        "network: T_net at reference sizes (bytes each GPU receives per collective) inside "
        "both fitted ranges; ratio = candidate / baseline time\n" +
        t.str() + "\n";
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
  doc["options"] = {{"alpha", c.options.alpha},
                    {"threshold", c.options.threshold},
                    {"filter", c.options.filter},
                    {"families", c.options.families}};
  doc["warnings"] = c.warnings;
  if (c.have_samples) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const BenchmarkDiff& d : c.benchmarks) {
      list.push_back({{"name", d.name},
                      {"family", d.family},
                      {"baseline_s", round_significant(d.baseline_s, 6)},
                      {"candidate_s", round_significant(d.candidate_s, 6)},
                      {"ratio", round_significant(d.ratio, 6)},
                      {"repetitions", {d.baseline_reps, d.candidate_reps}},
                      {"noise", optional_json(d.noise, 4)},
                      {"p_value", optional_json(d.p_value, 4)},
                      {"verdict", d.verdict == "?" ? nlohmann::ordered_json(nullptr)
                                                   : nlohmann::ordered_json(d.verdict)},
                      {"why_unknown", d.why.empty() ? nlohmann::ordered_json(nullptr)
                                                    : nlohmann::ordered_json(d.why)}});
    }
    doc["benchmarks"] = list;
    nlohmann::ordered_json families = nlohmann::ordered_json::object();
    for (const auto& [family, d] : c.families) {
      nlohmann::ordered_json verdicts = nlohmann::ordered_json::object();
      for (const char* v : {"faster", "slower", "same", "?"}) {
        auto it = d.verdicts.find(v);
        verdicts[std::string(v) == "?" ? "unknown" : v] = it == d.verdicts.end() ? 0 : it->second;
      }
      families[family] = {{"n", d.n},
                          {"geomean_ratio", round_significant(d.geomean_ratio, 6)},
                          {"verdicts", verdicts}};
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
      if (!d.unidentified.empty()) {
        row["not_identified"] = d.unidentified;  // no ratio, no verdict
      } else if (d.baseline && d.candidate) {
        row["ratio"] = round_significant(d.candidate->value / d.baseline->value, 6);
        row["overlap"] = d.overlap;
      }
      list.push_back(row);
    }
    doc["constants"] = list;
  }
  nlohmann::ordered_json network = nlohmann::ordered_json::array();
  for (const NetworkDiff& d : c.network) {
    nlohmann::ordered_json sizes = nlohmann::ordered_json::array();
    for (const NetworkSizeDiff& s : d.sizes) {
      sizes.push_back({{"bytes", s.bytes},
                       {"baseline_s", estimate_json(s.baseline)},
                       {"candidate_s", estimate_json(s.candidate)},
                       {"ratio", round_significant(s.candidate.value / s.baseline.value, 6)},
                       {"overlap", s.overlap}});
    }
    network.push_back({{"op", d.key.first},
                       {"ranks", d.key.second},
                       {"baseline_bytes_range", range_json(d.baseline_range)},
                       {"candidate_bytes_range", range_json(d.candidate_range)},
                       {"in_baseline", d.in_baseline},
                       {"in_candidate", d.in_candidate},
                       {"sizes", sizes},
                       {"note", d.note.empty() ? nlohmann::ordered_json(nullptr)
                                               : nlohmann::ordered_json(d.note)}});
  }
  if (c.have_constants) doc["network"] = network;
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
