// The host half of the benchmark harness (see harness.h).
#include "bench/harness.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "model/atomic_file.h"

namespace batchcost {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool has_flag(const std::vector<std::string>& args, std::string_view name) {
  return std::any_of(args.begin() + 1, args.end(), [&](const std::string& a) {
    return a == name || starts_with(a, std::string(name) + "=");
  });
}

std::atomic<int> g_failures{0};
std::mutex g_checks_mutex;
std::map<std::string, std::string> g_check_verdicts;

// Paths the signal handler removes, fixed-size so that the handler only calls async-signal-safe
// functions (unlink, _exit).
char g_partial_path[4096];
char g_tmp_path[4096];  // write_file_atomically's temporary file while it exists

extern "C" void remove_partial_and_exit(int sig) {
  if (g_partial_path[0] != '\0') unlink(g_partial_path);
  if (g_tmp_path[0] != '\0') unlink(g_tmp_path);
  _exit(128 + sig);
}

void write_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomic(path, text);  // model/atomic_file.h: mkstemp, fsync, rename, signal cleanup
}

// The display reporter of a non-primary rank: reports nothing.
class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

std::string_view to_string(CachePolicy c) { return c == CachePolicy::kCold ? "cold" : "hot"; }

Options take_harness_flags(std::vector<std::string>& args) {
  if (args.empty()) args.emplace_back("benchmark");
  Options opts;
  std::vector<std::string> rest{args[0]};
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--quick") {
      opts.quick = true;
    } else if (a == "--print_gpu") {
      opts.print_gpu = true;
    } else if (starts_with(a, "--device=")) {
      std::string v = a.substr(9);
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 4) {
        throw std::invalid_argument("--device needs a device index (0, 1, ...), got '" + v + "'");
      }
      opts.device = std::stoi(v);
    } else if (starts_with(a, "--cache=")) {
      std::string v = a.substr(8);
      if (v == "cold") {
        opts.cache = CachePolicy::kCold;
      } else if (v == "hot") {
        opts.cache = CachePolicy::kHot;
      } else {
        throw std::invalid_argument("--cache must be cold or hot, got '" + v + "'");
      }
    } else if (a == "--help" || a == "-h") {
      opts.help = true;
      rest.push_back("--help");
    } else if (a == "--device" || a == "--cache") {
      throw std::invalid_argument(a + " needs a value: " + a + "=...");
    } else {
      if (starts_with(a, "--benchmark_out_format=") && a != "--benchmark_out_format=json") {
        throw std::invalid_argument(
            "only --benchmark_out_format=json is supported (the fitter reads JSON), got '" + a + "'");
      }
      if (a == "--benchmark_out=") throw std::invalid_argument("--benchmark_out needs a file name");
      rest.push_back(a);
    }
  }
  if (!has_flag(rest, "--benchmark_repetitions")) {
    rest.push_back(opts.quick ? "--benchmark_repetitions=3" : "--benchmark_repetitions=5");
  }
  // Google Benchmark's default, 0.5 s per repetition, makes a sweep of a hundred sizes take
  // minutes; the harness's samples are batches long enough for the event resolution, so a
  // shorter minimum still gives many samples per repetition.
  if (!has_flag(rest, "--benchmark_min_time")) {
    rest.push_back(opts.quick ? "--benchmark_min_time=0.01" : "--benchmark_min_time=0.05");
  }
  if (has_flag(rest, "--benchmark_out") && !has_flag(rest, "--benchmark_out_format")) {
    rest.push_back("--benchmark_out_format=json");
  }
  args = std::move(rest);
  return opts;
}

std::string harness_help(std::string_view program) {
  std::ostringstream o;
  o << "usage: " << program << " [harness flags] [Google Benchmark flags]\n"
    << "\nharness flags:\n"
    << "  --quick          coarse sweeps and short runs (smoke tests, about a minute)\n"
    << "  --device=N       measure CUDA device N (default 0)\n"
    << "  --cache=cold|hot cold (default): inputs rotate through buffers several times the L2;\n"
    << "                   hot: the same buffers every time (measures the L2 where they fit)\n"
    << "  --print_gpu      print the GPU's short name (the results/<gpu> folder) and exit\n"
    << "\ndefaults added unless given: --benchmark_repetitions=5 (3 with --quick),\n"
    << "  --benchmark_min_time=0.05 (0.01), --benchmark_out_format=json with --benchmark_out\n"
    << "\nexit status: 0 done, 1 a check or benchmark failed, 2 usage error, 77 no usable GPU\n"
    << "\nGoogle Benchmark flags follow.\n";
  return o.str();
}

std::vector<std::int64_t> pow2_sweep(std::int64_t lo, std::int64_t hi, bool quick) {
  if (lo <= 0 || hi < lo) {
    throw std::invalid_argument("pow2_sweep: need 0 < lo <= hi, got lo=" + std::to_string(lo) +
                                " hi=" + std::to_string(hi));
  }
  std::vector<std::int64_t> out;
  int i = 0;
  for (std::int64_t v = lo; v <= hi; ++i) {
    if (!quick || i % 4 == 0) out.push_back(v);
    if (v > hi / 2) break;
    v *= 2;
  }
  if (quick && out.back() != hi && (hi & (hi - 1)) == 0 && hi % lo == 0) out.push_back(hi);
  return out;
}

std::string format_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(bytes) >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  if (bytes == std::floor(bytes)) {
    std::snprintf(buf, sizeof buf, "%.0f %s", bytes, units[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g %s", bytes, units[u]);
  }
  return buf;
}

std::int64_t rotation_sets(std::int64_t bytes_per_set, std::int64_t l2_bytes, CachePolicy cache) {
  if (bytes_per_set <= 0) throw std::invalid_argument("rotation_sets: working set must be > 0 bytes");
  if (cache == CachePolicy::kHot || l2_bytes <= 0) return 1;
  std::int64_t span = kColdFactor * l2_bytes;
  return std::max<std::int64_t>(1, (span + bytes_per_set - 1) / bytes_per_set);
}

int ops_per_sample(double op_seconds, double target_s, int max_ops) {
  if (max_ops < 1) max_ops = 1;
  if (!(op_seconds > 0) || !std::isfinite(op_seconds)) return max_ops;
  // The tiny shrink keeps 200e-6 / 2e-6 at 100, not 101, despite rounding in the division.
  double n = std::ceil(target_s / op_seconds * (1 - 1e-12));
  if (!(n >= 1)) return 1;
  return n > max_ops ? max_ops : static_cast<int>(n);
}

void record(benchmark::State& state, const Work& work, const Labels& labels,
            double seconds_per_iteration, const std::map<std::string, double>& extra) {
  state.SetLabel(format_label(labels));
  for (auto name : kWorkCounterNames) {
    double v = work_field(work, name);
    if (v != 0) state.counters[std::string(name)] = v;
  }
  if (seconds_per_iteration > 0 && std::isfinite(seconds_per_iteration)) {
    Rates r = derive_rates(work, seconds_per_iteration);
    if (work.flops != 0) state.counters["flops_per_s"] = r.flops_per_s;
    if (work.bytes != 0) state.counters["bytes_per_s"] = r.bytes_per_s;
    if (work.net_bytes != 0) state.counters["net_bytes_per_s"] = r.net_bytes_per_s;
  }
  for (const auto& [name, value] : extra) state.counters[name] = value;
}

void fail(benchmark::State& state, const std::string& message) {
  ++g_failures;
  state.SkipWithError(message.c_str());
}

void skip(benchmark::State& state, const std::string& reason) {
  state.SkipWithError(("skipped: " + reason).c_str());
}

int failures() { return g_failures.load(); }

std::string check_once(const std::string& shape, const std::function<std::string()>& check) {
  {
    std::lock_guard<std::mutex> lock(g_checks_mutex);
    auto it = g_check_verdicts.find(shape);
    if (it != g_check_verdicts.end()) return it->second;
  }
  std::string verdict = check();
  std::lock_guard<std::mutex> lock(g_checks_mutex);
  g_check_verdicts.emplace(shape, verdict);
  return verdict;
}

namespace {
// NVML's clocks event (throttle) reason bits, as nvml.h defines them.
struct ReasonBit {
  std::uint64_t bit;
  const char* name;
  bool slowdown;
};
constexpr ReasonBit kReasons[] = {
    {0x1, "gpu_idle", false},
    {0x2, "applications_clocks_setting", false},
    {0x4, "sw_power_cap", true},
    {0x8, "hw_slowdown", true},
    {0x10, "sync_boost", false},
    {0x20, "sw_thermal_slowdown", true},
    {0x40, "hw_thermal_slowdown", true},
    {0x80, "hw_power_brake_slowdown", true},
    {0x100, "display_clock_setting", false},
    {0x200, "board_limit", true},  // nvmlClocksEventReasonBoardLimit (NVML 13)
    {0x400, "reliability", true},  // nvmlClocksEventReasonReliability (NVML 13)
};
}  // namespace

std::string describe_throttle_reasons(std::uint64_t mask) {
  if (mask == 0) return "none";
  std::string out;
  for (const auto& r : kReasons) {
    if (mask & r.bit) {
      if (!out.empty()) out += ',';
      out += r.name;
      mask &= ~r.bit;
    }
  }
  if (mask != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(mask));
    if (!out.empty()) out += ',';
    out += buf;
  }
  return out;
}

bool is_slowdown(std::uint64_t mask) {
  for (const auto& r : kReasons) {
    if (r.slowdown && (mask & r.bit)) return true;
  }
  return false;
}

std::vector<std::string> clock_warnings(const std::vector<double>& sm_clock_mhz_samples,
                                        std::uint64_t throttle_reasons_seen) {
  std::vector<std::string> out;
  if (!sm_clock_mhz_samples.empty()) {
    auto [lo, hi] = std::minmax_element(sm_clock_mhz_samples.begin(), sm_clock_mhz_samples.end());
    if (*lo < 0.95 * *hi) {
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "SM clock dropped during the run: %.0f MHz at its lowest against %.0f MHz at "
                    "its highest (more than 5%%); results mix clock states",
                    *lo, *hi);
      out.emplace_back(buf);
    }
  }
  if (is_slowdown(throttle_reasons_seen)) {
    out.push_back("the GPU throttled during the run: " +
                  describe_throttle_reasons(throttle_reasons_seen));
  }
  return out;
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
  if (starts_with(rest, "nvidia ")) rest.remove_prefix(7);
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

void finalize_output(const std::string& partial_path, const std::string& final_path,
                     const nlohmann::json& start, const nlohmann::json& end) {
  std::ifstream in(partial_path, std::ios::binary);
  if (!in) throw std::runtime_error("benchmark output " + partial_path + " was not written");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("benchmark output " + partial_path + " is not valid JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("benchmarks")) {
    throw std::runtime_error("benchmark output " + partial_path + " has no \"benchmarks\"");
  }
  nlohmann::json& ctx = doc["context"];
  // Typed values replace the strings AddCustomContext had to use.
  for (const auto& part : {start, end}) {
    if (!part.is_object()) continue;
    for (const auto& [k, v] : part.items()) ctx[k] = v;
  }
  write_file_atomically(final_path, doc.dump(2) + "\n");
  std::remove(partial_path.c_str());
}

benchmark::internal::Benchmark* add(const std::string& name,
                                    std::function<void(benchmark::State&)> body) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), [body](benchmark::State& state) {
    try {
      body(state);
    } catch (const OutOfDeviceMemory& e) {
      skip(state, e.what());
    } catch (const std::exception& e) {
      fail(state, e.what());
    }
  });
  return b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

int run_main(int argc, char** argv, const MainSpec& spec) {
  std::vector<std::string> args(argv, argv + argc);
  Options opts;
  try {
    opts = take_harness_flags(args);
  } catch (const std::invalid_argument& e) {
    if (spec.primary) std::fprintf(stderr, "%s: %s (see --help)\n", spec.program.c_str(), e.what());
    return kExitUsage;
  }
  if (opts.help && spec.primary) std::fputs(harness_help(spec.program).c_str(), stdout);
  if (!spec.primary) {  // the primary alone writes the results file
    std::erase_if(args, [](const std::string& a) {
      return starts_with(a, "--benchmark_out=") || starts_with(a, "--benchmark_out_format=");
    });
  }
  SilentReporter silent;
  benchmark::BenchmarkReporter* display = spec.primary ? nullptr : &silent;

  // Google Benchmark writes to <out>.<pid>.partial; the harness renames it into place at the end.
  std::string final_out, partial_out;
  for (auto& a : args) {
    if (starts_with(a, "--benchmark_out=")) {
      final_out = a.substr(16);
      partial_out = final_out + "." + std::to_string(getpid()) + ".partial";
      a = "--benchmark_out=" + partial_out;
    }
  }
  if (!final_out.empty() && !opts.help) {
    std::FILE* probe = std::fopen(partial_out.c_str(), "w");
    if (probe == nullptr) {
      std::fprintf(stderr, "%s: cannot write the results file %s: %s\n", spec.program.c_str(),
                   final_out.c_str(), std::strerror(errno));
      return kExitUsage;
    }
    std::fclose(probe);
    std::snprintf(g_partial_path, sizeof g_partial_path, "%s", partial_out.c_str());
    std::signal(SIGINT, remove_partial_and_exit);
    std::signal(SIGTERM, remove_partial_and_exit);
  }
  auto cleanup = [&] {
    if (!partial_out.empty()) std::remove(partial_out.c_str());
  };

  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  int cargc = static_cast<int>(args.size());
  benchmark::Initialize(&cargc, cargs.data());
  if (benchmark::ReportUnrecognizedArguments(cargc, cargs.data())) {
    cleanup();
    return kExitUsage;
  }

  try {
    spec.register_benchmarks(opts);
  } catch (const std::exception& e) {
    if (spec.primary) std::fprintf(stderr, "%s: %s\n", spec.program.c_str(), e.what());
    cleanup();
    return kExitUsage;
  }

  bool listing = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true";
  });
  if (listing) {
    benchmark::RunSpecifiedBenchmarks(display);
    cleanup();
    return kExitOk;
  }

  nlohmann::json start;
  try {
    start = spec.start(opts);
  } catch (const NoDevice& e) {
    if (spec.primary) {
      std::fprintf(stderr, "%s: no usable CUDA GPU: %s\n", spec.program.c_str(), e.what());
    }
    cleanup();
    return kExitNoGpu;
  } catch (const std::exception& e) {
    if (spec.primary) {
      std::fprintf(stderr, "%s: cannot open the GPU: %s\n", spec.program.c_str(), e.what());
    }
    cleanup();
    return kExitCheckFailed;
  }
  if (opts.print_gpu) {
    if (spec.primary) {
      std::printf("%s\n", start.value("gpu_slug", std::string("unknown-gpu")).c_str());
    }
    if (spec.shutdown) spec.shutdown();
    cleanup();
    return kExitOk;
  }
  for (const auto& [k, v] : start.items()) {
    benchmark::AddCustomContext(k, v.is_string() ? v.get<std::string>() : v.dump());
  }

  size_t ran = benchmark::RunSpecifiedBenchmarks(display);
  nlohmann::json end = spec.finish ? spec.finish() : nlohmann::json::object();
  if (end.contains("warnings") && spec.primary) {
    for (const auto& w : end["warnings"]) {
      std::fprintf(stderr, "%s: WARNING: %s\n", spec.program.c_str(), w.get<std::string>().c_str());
    }
  }
  benchmark::Shutdown();
  if (spec.shutdown) spec.shutdown();

  if (ran == 0) {
    if (spec.primary) {
      std::fprintf(stderr, "%s: no benchmark matched --benchmark_filter\n", spec.program.c_str());
    }
    cleanup();
    return kExitUsage;
  }
  if (!final_out.empty()) {
    try {
      finalize_output(partial_out, final_out, start, end);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", spec.program.c_str(), e.what());
      cleanup();
      return kExitUsage;
    }
  }
  if (failures() > 0) {
    if (spec.primary) {
      std::fprintf(stderr, "%s: %d benchmark(s) failed their check or hit an error (see above)\n",
                   spec.program.c_str(), failures());
    }
    return kExitCheckFailed;
  }
  return kExitOk;
}

}  // namespace batchcost
