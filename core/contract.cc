// The benchmark/fitter contract: counters, labels, families.
#include "core/contract.h"

#include <cmath>
#include <stdexcept>

namespace batchcost {
namespace {

template <typename W>
auto& field(W& work, std::string_view counter) {
  if (counter == "flops") return work.flops;
  if (counter == "bytes") return work.bytes;
  if (counter == "net_bytes") return work.net_bytes;
  if (counter == "launches") return work.launches;
  if (counter == "kernels") return work.kernels;
  if (counter == "graph_nodes") return work.graph_nodes;
  if (counter == "syncs") return work.syncs;
  if (counter == "collectives") return work.collectives;
  throw std::invalid_argument("not a work counter: '" + std::string(counter) + "'");
}

void check_token(std::string_view token, std::string_view what, std::string_view label) {
  if (token.empty() || token.find_first_of(" =\t\n") != std::string_view::npos) {
    throw std::invalid_argument("malformed label '" + std::string(label) + "': " +
                                std::string(what) + " '" + std::string(token) +
                                "' must be non-empty, without spaces or '='");
  }
}

}  // namespace

double& work_field(Work& work, std::string_view counter) { return field(work, counter); }
double work_field(const Work& work, std::string_view counter) { return field(work, counter); }

bool declares_nothing(const Work& work) {
  for (auto name : kWorkCounterNames) {
    if (work_field(work, name) != 0) return false;
  }
  return true;
}

Rates derive_rates(const Work& work, double seconds_per_iteration) {
  if (!(seconds_per_iteration > 0) || !std::isfinite(seconds_per_iteration)) {
    throw std::invalid_argument("derive_rates: time per iteration must be positive and finite, got " +
                                std::to_string(seconds_per_iteration));
  }
  return {work.flops / seconds_per_iteration, work.bytes / seconds_per_iteration,
          work.net_bytes / seconds_per_iteration};
}

std::string format_label(const Labels& labels) {
  std::string out;
  for (const auto& [key, value] : labels) {
    check_token(key, "key", key);
    check_token(value, "value of " + key, value);
    if (!out.empty()) out += ' ';
    out += key + '=' + value;
  }
  return out;
}

Labels parse_label(std::string_view label) {
  Labels out;
  size_t pos = 0;
  while (pos < label.size()) {
    if (label[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t end = label.find(' ', pos);
    if (end == std::string_view::npos) end = label.size();
    std::string_view pair = label.substr(pos, end - pos);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == pair.size() ||
        pair.find('=', eq + 1) != std::string_view::npos) {
      throw std::invalid_argument("malformed label '" + std::string(label) + "': '" +
                                  std::string(pair) + "' is not key=value");
    }
    std::string key(pair.substr(0, eq));
    if (!out.emplace(key, std::string(pair.substr(eq + 1))).second) {
      throw std::invalid_argument("malformed label '" + std::string(label) + "': key '" + key +
                                  "' appears twice");
    }
    pos = end;
  }
  return out;
}

std::string family_of(std::string_view benchmark_name) {
  return std::string(benchmark_name.substr(0, benchmark_name.find('/')));
}

}  // namespace batchcost
