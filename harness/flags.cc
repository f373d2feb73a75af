// The harness's command line: its own flags, taken out before Google Benchmark sees argv, their
// checks, and --help (see harness.h).
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "harness/harness.h"

namespace batchcost {
namespace {

bool has_flag(const std::vector<std::string>& args, std::string_view name) {
  return std::any_of(args.begin() + 1, args.end(), [&](const std::string& a) {
    return a == name || a.starts_with(std::string(name) + "=");
  });
}

// The unit every benchmark is registered with (add()), from --benchmark_time_unit.
benchmark::TimeUnit g_time_unit = benchmark::kNanosecond;

// A count flag's value: digits only, 1..max.
int parse_count(const std::string& flag, const std::string& v, int max) {
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument(flag + " needs a whole number from 1 to " + std::to_string(max) +
                                ", got '" + v + "'");
  }
  const int n = std::stoi(v);
  if (n < 1 || n > max) {
    throw std::invalid_argument(flag + " needs a whole number from 1 to " + std::to_string(max) +
                                ", got '" + v + "'");
  }
  return n;
}

// A decimal number flag's value, finite and within [lo, hi] ("0.5", "75", "1e-2").
double parse_number(const std::string& flag, const std::string& v, double lo, double hi,
                    const std::string& what) {
  double x = 0;
  std::size_t used = 0;
  bool ok =
      !v.empty() && v.size() <= 32 && v.find_first_not_of("0123456789.eE+-") == std::string::npos;
  if (ok) {
    try {
      x = std::stod(v, &used);
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok || used != v.size() || !std::isfinite(x) || x < lo || x > hi) {
    throw std::invalid_argument(flag + " needs " + what + ", got '" + v + "'");
  }
  return x;
}

// --devices' value: "all" or a comma-separated list of distinct device indices.
std::vector<int> parse_device_list(const std::string& v, bool* all) {
  *all = v == "all";
  if (*all) return {};
  std::vector<int> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = v.find(',', pos);
    const std::string item =
        v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item.empty() || item.size() > 4 ||
        item.find_first_not_of("0123456789") != std::string::npos) {
      throw std::invalid_argument(
          "--devices needs 'all' or device indices separated by commas "
          "(0,1,3), got '" +
          v + "'");
    }
    const int d = std::stoi(item);
    if (std::find(out.begin(), out.end(), d) != out.end()) {
      throw std::invalid_argument("--devices lists device " + item + " twice: '" + v + "'");
    }
    out.push_back(d);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

// A results file that can be written: not a folder, in a folder that exists. (Whether the
// folder is writable is found out by creating the temporary file, before anything runs.)
void check_out_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw std::invalid_argument("--benchmark_out=" + path + " is a folder, not a file name");
  }
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::invalid_argument("--benchmark_out=" + path + ": the folder " + dir +
                                " does not exist");
  }
}

void check_one_of(const std::string& flag, const std::string& v,
                  std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (v == a) return;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  throw std::invalid_argument(flag + " must be one of " + list + ", got '" + v + "'");
}

}  // namespace

benchmark::TimeUnit parse_time_unit(std::string_view unit) {
  if (unit == "ns") return benchmark::kNanosecond;
  if (unit == "us") return benchmark::kMicrosecond;
  if (unit == "ms") return benchmark::kMillisecond;
  if (unit == "s") return benchmark::kSecond;
  throw std::invalid_argument("--benchmark_time_unit must be one of ns, us, ms, s, got '" +
                              std::string(unit) + "'");
}

benchmark::TimeUnit time_unit() { return g_time_unit; }

namespace {

// The harness's flags that take a value. NVBench writes them with a space ("--devices 0,1",
// "--max-noise 0.5") and spells --devices -d: both are taken as "--flag=value".
constexpr std::array<std::string_view, 13> kValuedFlags = {"--device",
                                                           "--cache",
                                                           "--estimate",
                                                           "--samples",
                                                           "--repetitions",
                                                           "--devices",
                                                           "--max-noise",
                                                           "--min-samples",
                                                           "--max-samples",
                                                           "--throttle-threshold",
                                                           "--throttle-recovery-delay",
                                                           "--progress",
                                                           "--deadline"};

bool is_valued_flag(std::string_view a) {
  return std::find(kValuedFlags.begin(), kValuedFlags.end(), a) != kValuedFlags.end();
}

std::vector<std::string> joined_values(const std::vector<std::string>& args) {
  std::vector<std::string> out{args[0]};
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i] == "-d" ? "--devices" : args[i];
    if (is_valued_flag(a) && i + 1 < args.size() && !args[i + 1].starts_with("-")) {
      out.push_back(a + "=" + args[++i]);
    } else {
      out.push_back(std::move(a));
    }
  }
  return out;
}

// Google Benchmark's own flags, checked and passed on (the time unit and the repetitions are
// kept: add() applies the unit, the repetitions are added once by take_harness_flags).
struct GbenchFlags {
  int repetitions = 0;
  std::string filter;
  benchmark::TimeUnit unit = benchmark::kNanosecond;

  void take(const std::string& a, const std::string& key, const std::string& v,
            std::vector<std::string>& rest) {
    if (key == "--benchmark_out_format" && v != "json") {
      throw std::invalid_argument(
          "only --benchmark_out_format=json is supported (the fitter reads JSON), got '" + a + "'");
    }
    if (key == "--benchmark_format") check_one_of(key, v, {"console", "json", "csv"});
    if (key == "--benchmark_time_unit") {
      // Applied by add() to each benchmark (not passed on), so it holds with a Google
      // Benchmark that predates the flag too.
      unit = parse_time_unit(v);
      return;
    }
    if (key == "--benchmark_repetitions") {
      repetitions = parse_count(key, v, 1000);
      return;  // added by take_harness_flags, once
    }
    if (key == "--benchmark_filter") filter = v;
    if (key == "--benchmark_out") {
      if (v.empty()) throw std::invalid_argument("--benchmark_out needs a file name");
      check_out_path(v);
    }
    rest.push_back(a);
  }
};

}  // namespace

Options take_harness_flags(std::vector<std::string>& args) {
  if (args.empty()) args.emplace_back("benchmark");
  args = joined_values(args);
  Options opts;
  std::vector<std::string> rest{args[0]};
  GbenchFlags gbench;
  std::optional<double> max_noise_pct;
  std::optional<int> min_samples, max_samples;
  bool device_given = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto eq = a.find('=');
    const std::string key = a.substr(0, eq);
    const std::string v = eq == std::string::npos ? "" : a.substr(eq + 1);
    if (a == "--quick") {
      opts.quick = true;
    } else if (a == "--print_gpu") {
      opts.print_gpu = true;
    } else if (a.starts_with("--device=")) {
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 4) {
        throw std::invalid_argument("--device needs a device index (0, 1, ...), got '" + v + "'");
      }
      opts.device = std::stoi(v);
      device_given = true;
    } else if (a.starts_with("--cache=")) {
      if (v == "cold") {
        opts.cache = CachePolicy::kCold;
      } else if (v == "hot") {
        opts.cache = CachePolicy::kHot;
      } else {
        throw std::invalid_argument("--cache must be cold or hot, got '" + v + "'");
      }
    } else if (a.starts_with("--estimate=")) {
      if (v.empty())
        throw std::invalid_argument("--estimate needs h100, h200 or a model.json file");
      opts.estimate = v;
    } else if (a.starts_with("--samples=")) {
      opts.samples = parse_count("--samples", v, 1000);
    } else if (a.starts_with("--repetitions=")) {
      opts.repetitions = parse_count("--repetitions", v, 1000);
    } else if (a.starts_with("--devices=")) {
      opts.devices = parse_device_list(v, &opts.devices_all);
      opts.per_gpu_flags.push_back("--devices");
    } else if (a.starts_with("--max-noise=")) {
      max_noise_pct = parse_number("--max-noise", v, 1e-6, 100,
                                   "a relative standard deviation in percent (0.5), above 0");
      opts.per_gpu_flags.push_back("--max-noise");
    } else if (a.starts_with("--min-samples=")) {
      min_samples = parse_count("--min-samples", v, 1000);
    } else if (a.starts_with("--max-samples=")) {
      max_samples = parse_count("--max-samples", v, 1000);
    } else if (a.starts_with("--throttle-threshold=")) {
      opts.throttle.threshold =
          parse_number("--throttle-threshold", v, 0, 100,
                       "a percentage of the default SM clock from 0 (off) to 100") /
          100;
      opts.per_gpu_flags.push_back("--throttle-threshold");
    } else if (a.starts_with("--throttle-recovery-delay=")) {
      opts.throttle.recovery_delay_s =
          parse_number("--throttle-recovery-delay", v, 0, 10, "seconds from 0 to 10");
      opts.per_gpu_flags.push_back("--throttle-recovery-delay");
    } else if (a.starts_with("--deadline=")) {
      opts.deadline_s = parse_number("--deadline", v, 1e-3, 1e6, "seconds from 0.001 to 1e6");
    } else if (a.starts_with("--progress=")) {
      check_one_of("--progress", v, {"on", "off"});
      opts.progress = v == "on";
    } else if (a == "--help" || a == "-h") {
      opts.help = true;
      rest.push_back("--help");
    } else if (is_valued_flag(a)) {
      throw std::invalid_argument(a + " needs a value: " + a + "=...");
    } else if (key == "--min-time") {
      throw std::invalid_argument(
          "--min-time (NVBench's) is not used here: every benchmark runs a fixed plan of "
          "samples (--samples=N, --repetitions=N), or stops at --max-noise=PCT");
    } else if (key == "--timeout") {
      throw std::invalid_argument(
          "--timeout (NVBench's) is not used here: --deadline=SECONDS stops starting "
          "benchmarks after SECONDS and writes every one that finished");
    } else if (key == "--benchmark_min_time" || key == "--benchmark_min_warmup_time") {
      throw std::invalid_argument(
          key +
          " is not used: every benchmark runs a fixed number of samples per repetition "
          "(set it with --samples=N, the repetitions with --repetitions=N)");
    } else {
      gbench.take(a, key, v, rest);
    }
  }
  const int gb_repetitions = gbench.repetitions;
  const std::string& filter = gbench.filter;
  const benchmark::TimeUnit unit = gbench.unit;
  if (gb_repetitions != 0 && opts.repetitions != 0 && gb_repetitions != opts.repetitions) {
    throw std::invalid_argument("--repetitions and --benchmark_repetitions disagree");
  }
  if (opts.repetitions == 0) opts.repetitions = gb_repetitions;
  (void)BenchmarkFilter(filter);  // a malformed expression is a usage error, before anything runs
  opts.policy = sampling_policy(opts.quick, opts.samples, opts.repetitions);
  g_time_unit = unit;
  if (device_given && (opts.devices_all || !opts.devices.empty())) {
    throw std::invalid_argument("--device=N and --devices=LIST together: give one of them");
  }
  if (opts.samples && (max_noise_pct || min_samples || max_samples)) {
    throw std::invalid_argument(
        "--samples=N fixes the samples of a repetition: it does not go "
        "with --max-noise, --min-samples or --max-samples");
  }
  if (min_samples && max_samples && *min_samples > *max_samples) {
    throw std::invalid_argument("--min-samples=" + std::to_string(*min_samples) +
                                " is more than --max-samples=" + std::to_string(*max_samples));
  }
  // One bound given moves the profile's other one where they would cross.
  if (min_samples) {
    opts.policy.min_samples = *min_samples;
    opts.policy.max_samples = std::max(opts.policy.max_samples, *min_samples);
  }
  if (max_samples) {
    opts.policy.max_samples = *max_samples;
    opts.policy.min_samples = std::min(opts.policy.min_samples, *max_samples);
  }
  if (max_noise_pct) opts.policy.max_noise = *max_noise_pct / 100;
  rest.push_back("--benchmark_repetitions=" + std::to_string(opts.policy.repetitions));
  // One Google Benchmark iteration per repetition: each runs the plan's samples in one
  // KeepRunningBatch, so a repetition's length is the plan's, never grown by Google Benchmark.
#ifdef BATCHCOST_BENCHMARK_MIN_TIME_SECONDS
  rest.push_back("--benchmark_min_time=1e-9");
#else
  rest.push_back("--benchmark_min_time=1x");
#endif
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
    << "  --quick            coarse sweeps, 2 repetitions of 2-5 samples (smoke tests)\n"
    << "  --device=N         measure CUDA device N (default 0)\n"
    << "  --cache=cold|hot   cold (default): inputs rotate through buffers several times the L2;\n"
    << "                     hot: the same buffers every time (measures the L2 where they fit)\n"
    << "  --print_gpu        print the GPU's short name (the results/<gpu> folder) and exit\n"
    << "  --estimate=h100|h200|FILE\n"
    << "                     print, without a GPU, each benchmark's plan (repetitions x samples,\n"
    << "                     batch) and estimated time from the cost model with the stated\n"
    << "                     H100 SXM or H200 constants (tools/stated/) or a model.json, set-up\n"
    << "                     and warm-up included, then 'estimate: N benchmarks, T s'; honours\n"
    << "                     --quick, --samples, --repetitions and --benchmark_filter\n"
    << "  --samples=N        N samples per repetition for every benchmark (default: each\n"
    << "                     benchmark's plan, 3-10; 2-5 with --quick)\n"
    << "  --repetitions=N    repetitions (default 5, 2 with --quick; = --benchmark_repetitions)\n"
    << "  --min-samples=N, --max-samples=N\n"
    << "                     bounds of the samples a repetition takes (default 3-10, 2-5\n"
    << "                     with --quick); without --max-noise each plan stays within them\n"
    << "  --progress=on|off  '[k/N] name  elapsed  ETA' on stderr as each benchmark starts, the\n"
    << "                     ETA from the estimate scaled by the run so far (default on)\n"
    << "  --deadline=S       start no benchmark once S seconds have passed since the binary\n"
    << "                     started; write what finished, marked incomplete, and exit 3.\n"
    << "                     SIGINT, SIGTERM and SIGHUP do the same at once (a benchmark in\n"
    << "                     progress finishes its repetitions) and exit 128 + the signal.\n"
    << "                     While it runs, the results file is rewritten after each benchmark\n"
    << "                     (at most once a second), marked incomplete until the end, so a\n"
    << "                     SIGKILL loses at most the last second's benchmarks\n"
    << "\nper-GPU binaries only (not the collectives, whose ranks run in step):\n"
    << "  --devices=LIST|all run the whole binary once per device (0,2,5 or all), one after the\n"
    << "                     other, each writing <out>.device<N>.json for\n"
    << "                     --benchmark_out=<out>.json;\n"
    << "                     then a summary on stderr: each device's median time relative to the\n"
    << "                     fastest device, the slowest named; exit status the worst device's.\n"
    << "                     With --estimate: the price of all the runs (a list, or all on a GPU)\n"
    << "  --max-noise=PCT    NVBench's noise stopping: a repetition stops once the relative\n"
    << "                     standard deviation of its samples is at most PCT percent, after\n"
    << "                     --min-samples, or at --max-samples (what --estimate prices); records\n"
    << "                     the samples taken and noise_pct (default: fixed samples, no "
       "stopping)\n"
    << "  --throttle-threshold=PCT\n"
    << "                     a sample taken with the SM clock below PCT% of the default clock, or\n"
    << "                     with an NVML slowdown reason, is discarded and taken again after the\n"
    << "                     recovery delay, at most 3 times a sample and 10 s of waiting a\n"
    << "                     run, then kept with a warning (NVBench's default 75; 0: off)\n"
    << "  --throttle-recovery-delay=S\n"
    << "                     seconds to wait before retrying a throttled sample (default 0.05)\n"
    << "\nA sample is a batch of operations timed together; real_time is per operation. Device\n"
    << "time = repetitions x samples x batch x op; warm-up runs once per benchmark. The JSON\n"
    << "context records wall_time_s and estimate_s (the estimate with the closest stated GPU).\n"
    << "--benchmark_min_time is refused (sample counts are fixed); --benchmark_out_format is\n"
    << "json (the default with --benchmark_out).\n"
    << "\nexit status: 0 done, 1 a check or benchmark failed, 2 usage error, 3 stopped at\n"
    << "  --deadline, 77 no usable GPU or nothing to run here, 128+N stopped by signal N\n"
    << "\nGoogle Benchmark flags follow.\n";
  return o.str();
}

}  // namespace batchcost
