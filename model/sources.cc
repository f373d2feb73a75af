// Where the sources of one fit disagree (see sources.h).
#include "model/sources.h"

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "core/format.h"
#include "core/input_error.h"
#include "model/compare.h"
#include "model/report.h"

namespace batchcost {
namespace {

struct Alone {
  std::string source;
  Constants constants;
  NetRanges ranges;
  std::map<std::string, std::string> unidentified;
};

std::string interval_text(const Estimate& e, double scale, const std::string& unit) {
  return format_number(e.value / scale) + " [" + format_number(e.low / scale) + ", " +
         format_number(e.high / scale) + "]" + (unit.empty() ? "" : " " + unit);
}

std::string time_text(const Estimate& e) {
  return format_time(e.value) + " [" + format_time(e.low) + ", " + format_time(e.high) + "]";
}

}  // namespace

std::string source_of(const Sample& s) {
  const std::filesystem::path parent = std::filesystem::path(s.source).parent_path();
  return parent.empty() ? s.source : parent.string();
}

std::vector<std::string> source_conflicts(const std::vector<Sample>& samples,
                                          const FitOptions& options) {
  std::map<std::string, std::vector<Sample>> by_source;
  for (const Sample& s : samples) by_source[source_of(s)].push_back(s);
  if (by_source.size() < 2) return {};
  std::vector<Alone> alone;
  for (const auto& [source, group] : by_source) {
    try {
      FitResult r = fit(group, options);
      Alone a{source, r.constants, net_ranges_of_samples(group, options), {}};
      for (const Identification& id : r.identification) {
        if (id.status != "identified") a.unidentified[id.name] = id.status;
      }
      alone.push_back(std::move(a));
    } catch (const InputError&) {
      // Nothing this source measures can be fitted alone (it prices nothing by itself).
    }
  }
  std::set<std::string> out;
  for (size_t i = 0; i < alone.size(); ++i) {
    for (size_t j = i + 1; j < alone.size(); ++j) {
      const Alone &a = alone[i], &b = alone[j];
      Comparison c;
      compare_constants(a.constants, b.constants, c, a.unidentified, b.unidentified);
      for (const ConstantDiff& d : c.constants) {
        if (!d.baseline || !d.candidate || !d.unidentified.empty() || d.overlap) continue;
        out.insert(d.name + ": " + a.source + " " + interval_text(*d.baseline, d.scale, d.unit) +
                   ", " + b.source + " " + interval_text(*d.candidate, d.scale, d.unit));
      }
      compare_network(a.constants, a.ranges, b.constants, b.ranges, c);
      for (const NetworkDiff& n : c.network) {
        for (const NetworkSizeDiff& s : n.sizes) {
          if (s.overlap) continue;
          out.insert("network " + net_key_name(n.key) + " at " + format_bytes(s.bytes) + ": " +
                     a.source + " " + time_text(s.baseline) + ", " + b.source + " " +
                     time_text(s.candidate));
        }
      }
    }
  }
  return {out.begin(), out.end()};
}

}  // namespace batchcost
