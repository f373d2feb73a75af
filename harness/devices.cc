// Devices, their names and the summary of a --devices run (see harness.h).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "harness/harness.h"
#include "model/results.h"

namespace batchcost {

namespace {
double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace

std::map<std::string, double> benchmark_times_s(const nlohmann::json& results) {
  std::map<std::string, double> out;
  if (!results.is_object() || !results.contains("benchmarks")) return out;  // nothing was run
  // The fitter's reader (model/results.h): units, repetitions (their median), errors and skips.
  for (const Sample& s : parse_google_benchmark(results, "results").samples) out[s.name] = s.time_s;
  return out;
}

std::vector<std::string> device_summary(
    const std::vector<std::pair<int, std::map<std::string, double>>>& times) {
  // The fastest time of each benchmark over the devices that have it.
  std::map<std::string, double> fastest;
  for (const auto& [device, t] : times) {
    for (const auto& [name, s] : t) {
      auto it = fastest.find(name);
      if (it == fastest.end() || s < it->second) fastest[name] = s;
    }
  }
  struct Row {
    int device;
    double ratio;
    std::size_t n;
  };
  std::vector<Row> rows;
  for (const auto& [device, t] : times) {
    std::vector<double> ratios;
    for (const auto& [name, s] : t) ratios.push_back(s / fastest[name]);
    rows.push_back({device, ratios.empty() ? 0 : median_of(ratios), ratios.size()});
  }
  std::vector<std::string> out;
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "devices: median over benchmarks of each device's time relative to the fastest "
                "device (%zu benchmarks)",
                fastest.size());
  out.emplace_back(buf);
  const Row* slowest = nullptr;
  for (const Row& r : rows) {
    if (r.n > 0 && (slowest == nullptr || r.ratio > slowest->ratio)) slowest = &r;
  }
  const bool compared = rows.size() > 1 && slowest != nullptr;
  for (const Row& r : rows) {
    if (r.n == 0) {
      std::snprintf(buf, sizeof buf, "  device %d  no results", r.device);
    } else {
      std::snprintf(buf, sizeof buf, "  device %d  %.3f  (%zu benchmarks)%s", r.device, r.ratio,
                    r.n, compared && &r == slowest ? "  <- slowest" : "");
    }
    out.emplace_back(buf);
  }
  if (compared) {
    std::snprintf(buf, sizeof buf, "slowest: device %d, %.1f%% slower than the fastest (median)",
                  slowest->device, (slowest->ratio - 1) * 100);
    out.emplace_back(buf);
  }
  return out;
}

int worst_exit_status(const std::vector<int>& statuses) {
  auto rank = [](int s) {
    switch (s) {
      case kExitOk:
        return 0;
      case kExitNoGpu:
        return 1;
      case kExitCheckFailed:
        return 2;
      case kExitUsage:
        return 3;
      default:
        return 4;  // a crash or a status the harness never gives
    }
  };
  int worst = kExitOk;
  for (int s : statuses) {
    if (rank(s) > rank(worst)) worst = s;
  }
  return worst;
}

std::string device_out_path(const std::string& out, int device) {
  const std::string suffix = ".json";
  const bool json = out.size() > suffix.size() &&
                    out.compare(out.size() - suffix.size(), suffix.size(), suffix) == 0;
  const std::string stem = json ? out.substr(0, out.size() - suffix.size()) : out;
  return stem + ".device" + std::to_string(device) + ".json";
}

std::string gpu_slug(std::string_view gpu_name) {
  std::string name;
  for (char c : gpu_name) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto has = [&](std::string_view s) { return name.find(s) != std::string::npos; };
  auto form = [&](std::string_view chip) -> std::string {
    std::string c(chip);
    if (has("pcie")) return c + "-pcie";
    if (has("nvl")) return c + "-nvl";
    return c;
  };
  if (has("gh200")) return "gh200";
  if (has("h100")) return has("pcie") || has("nvl") ? form("h100") : "h100-sxm";
  if (has("h200")) return form("h200");
  if (has("a100")) return has("pcie") ? "a100-pcie" : "a100-sxm";
  std::string out;
  std::string_view rest = name;
  if (rest.starts_with("nvidia ")) rest.remove_prefix(7);
  for (char c : rest) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "unknown-gpu" : out;
}

std::string format_gpu_uuid(const unsigned char (&b)[16]) {
  char buf[64];
  std::snprintf(buf, sizeof buf,
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                b[14], b[15]);
  return buf;
}

std::string format_cuda_version(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

std::vector<int> parse_cpu_list(std::string_view text) {
  std::vector<int> out;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty()) throw std::invalid_argument("not a CPU list: empty");
  auto number = [&](std::string_view t) {
    if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string_view::npos) {
      throw std::invalid_argument("not a CPU list: '" + std::string(text) + "'");
    }
    return std::stoi(std::string(t));
  };
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto dash = item.find('-');
    const int lo = number(item.substr(0, dash));
    const int hi = dash == std::string_view::npos ? lo : number(item.substr(dash + 1));
    if (hi < lo || (!out.empty() && lo <= out.back())) {
      throw std::invalid_argument("not a CPU list: '" + std::string(text) + "'");
    }
    for (int c = lo; c <= hi; ++c) out.push_back(c);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) throw std::invalid_argument("not a CPU list: trailing ','");
  }
  return out;
}

}  // namespace batchcost
