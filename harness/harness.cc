// The host half of the benchmark harness (see harness.h).
#include "harness/harness.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/version.h"
#include "kernels/api_error.h"
#include "core/atomic_file.h"
#include "model/results.h"
#include "harness/environment.h"

namespace batchcost {
namespace {

std::atomic<int> g_failures{0};
std::mutex g_checks_mutex;
std::map<std::string, std::string> g_check_verdicts;

// Told to stop: the signal's number (SIGINT, SIGTERM, SIGHUP), set by the handler, which does
// nothing else (async-signal-safe); or the deadline, passed. The harness looks at both before
// each benchmark and each sample, and then writes what finished (finalize_output).
volatile std::sig_atomic_t g_stop_signal = 0;
std::atomic<bool> g_deadline_passed{false};
std::optional<std::chrono::steady_clock::time_point> g_deadline;

extern "C" void note_stop_signal(int sig) { g_stop_signal = sig; }

void install_stop_handlers() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction now {};
    ::sigaction(sig, nullptr, &now);
    if (!(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_IGN) continue;  // nohup: stays
    struct sigaction ours {};
    ours.sa_handler = note_stop_signal;
    ours.sa_flags = SA_RESTART;
    sigemptyset(&ours.sa_mask);
    ::sigaction(sig, &ours, nullptr);
  }
}

// Whether no new work may start: a stop signal came, or the deadline passed.
bool stopping() {
  if (g_stop_signal != 0) return true;
  if (g_deadline && !g_deadline_passed && std::chrono::steady_clock::now() >= *g_deadline) {
    g_deadline_passed = true;
  }
  return g_deadline_passed;
}

void write_results_atomically(const std::string& path, const std::string& text) {
  write_file_atomic(path, text);  // core/atomic_file.h: mkstemp, fsync, rename, signal cleanup
}

// The display reporter of a non-primary rank: reports nothing.
class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

// The results file's writer: Google Benchmark's own JSON, kept in memory (the stream is ours
// from ReportContext on), so that the harness can write what finished at any moment: after each
// benchmark (a checkpoint, marked incomplete) and at the end, however the run ended.
class ResultsReporter : public benchmark::JSONReporter {
 public:
  std::function<void()> after_runs;  // called after each benchmark's runs are reported

  bool ReportContext(const Context& context) override {
    SetOutputStream(&text_);
    SetErrorStream(&errors_);
    return JSONReporter::ReportContext(context);
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    JSONReporter::ReportRuns(runs);
    if (after_runs) after_runs();
  }
  void Finalize() override {
    JSONReporter::Finalize();
    finalized_ = true;
  }
  // The document so far, closed as Finalize() closes it.
  std::string json() const { return finalized_ ? text_.str() : text_.str() + "\n  ]\n}\n"; }

 private:
  std::ostringstream text_, errors_;
  bool finalized_ = false;
};

}  // namespace

std::string_view to_string(CachePolicy c) { return c == CachePolicy::kCold ? "cold" : "hot"; }

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

std::int64_t rotation_sets(std::int64_t bytes_per_set, std::int64_t l2_bytes, CachePolicy cache) {
  if (bytes_per_set <= 0) throw std::invalid_argument("rotation_sets: working set must be > 0 bytes");
  if (cache == CachePolicy::kHot || l2_bytes <= 0) return 1;
  std::int64_t span = kColdFactor * l2_bytes;
  return std::max<std::int64_t>(1, (span + bytes_per_set - 1) / bytes_per_set);
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
  for (const auto& [name, value] : extra) {
    if (value != 0) state.counters[name] = value;
  }
}

void fail(benchmark::State& state, const std::string& message) {
  ++g_failures;
  state.SkipWithError(message.c_str());
}

void skip(benchmark::State& state, const std::string& reason) {
  // Google Benchmark < 1.8 has no SkipWithMessage, and 1.8's still writes the entry with a time
  // of 0: finalize_output moves the entries of this prefix into the context's "skipped".
  state.SkipWithError((std::string(kSkipPrefix) + reason).c_str());
}

int failures() { return g_failures.load(); }

std::string stop_reason() {
  switch (g_stop_signal) {
    case 0:
      return g_deadline_passed ? "deadline" : "";
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
  }
  return "signal " + std::to_string(static_cast<int>(g_stop_signal));
}

void request_stop(int signal_number) { g_stop_signal = signal_number; }

bool first_call(const std::string& benchmark_name) {
  static std::mutex m;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(m);
  return seen.insert(benchmark_name).second;
}

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

std::map<std::string, double> sampling_counters(const SampleStats& stats) {
  std::map<std::string, double> out{{"samples", stats.samples}};
  if (stats.noise) out["noise_pct"] = round_significant(*stats.noise * 100, 4);
  if (stats.throttle_retries > 0) out["throttle_retries"] = stats.throttle_retries;
  if (stats.throttled_kept > 0) out["throttled_samples"] = stats.throttled_kept;
  return out;
}

std::string progress_line(std::size_t k, std::size_t n, std::string_view name, double elapsed_s,
                          double estimated_done_s, double estimated_left_s) {
  double scale = 1;
  if (estimated_done_s > kBinaryStartS && elapsed_s > 0) scale = elapsed_s / estimated_done_s;
  char buf[96];
  std::snprintf(buf, sizeof buf, "  elapsed %.1f s  ETA %.0f s", std::max(0.0, elapsed_s),
                std::max(0.0, estimated_left_s * scale));
  std::string out = "[";
  out.append(std::to_string(k)).append("/").append(std::to_string(n)).append("] ");
  out.append(name).append(buf);
  return out;
}

namespace {
// The start context's GPU slug, or `otherwise`. NOTES: out of line: GCC 12 at -O3 sees a null
// dereference (-Wnull-dereference) in json::value("gpu_slug", ...) inlined into run_main.
[[gnu::noinline]] std::string gpu_slug_of(const nlohmann::json& start, const char* otherwise) {
  const auto it = start.find("gpu_slug");
  return it != start.end() && it->is_string() ? it->get<std::string>() : otherwise;
}
}  // namespace

std::string non_finite_to_null(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  bool in_string = false;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < t.size()) {
        out += t[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (std::string_view token : {"-Infinity", "Infinity", "-NaN", "NaN"}) {
      if (t.substr(i, token.size()) == token) {
        out += "null";
        i += token.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

std::string plan_name_of(std::string run_name) {
  for (std::string_view suffix : {"/manual_time", "/real_time"}) {
    if (run_name.size() > suffix.size() && run_name.ends_with(suffix)) {
      run_name.resize(run_name.size() - suffix.size());
    }
  }
  return run_name;
}

void finalize_output(const std::string& partial_path, const std::string& final_path,
                     const nlohmann::json& start, const nlohmann::json& end) {
  std::ifstream in(partial_path, std::ios::binary);
  if (!in) throw std::runtime_error("benchmark output " + partial_path + " was not written");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  finalize_text(buffer.str(), partial_path, final_path, start, end);
  std::remove(partial_path.c_str());
}

std::size_t finalize_text(const std::string& text, const std::string& partial_path,
                          const std::string& final_path, const nlohmann::json& start,
                          const nlohmann::json& end) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(non_finite_to_null(text));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("benchmark output " + partial_path + " is not valid JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array()) {
    throw std::runtime_error("benchmark output " + partial_path + " has no \"benchmarks\"");
  }
  // A value that was not finite carries nothing: a counter is left out (absent means 0 to the
  // fitter, and a counter 0 in every repetition is what makes its cv NaN), an aggregate whose
  // time is not finite is dropped.
  nlohmann::json kept = nlohmann::json::array();
  nlohmann::json skipped = nlohmann::json::array();
  std::set<std::string> not_run;
  int dropped = 0;
  for (auto& b : doc["benchmarks"]) {
    // Not run because the run stopped: listed by name (without Google Benchmark's suffixes).
    if (b.is_object() && b.value("error_occurred", false) && b.contains("error_message") &&
        b["error_message"].is_string() &&
        b["error_message"].get_ref<const std::string&>().starts_with(kNotRunPrefix)) {
      not_run.insert(plan_name_of(b.contains("run_name") && b["run_name"].is_string()
                                      ? b["run_name"].get<std::string>()
                                      : b.value("name", std::string())));
      continue;
    }
    // A skip (skip()) is no result: written as an error with a time of 0, it would be one to
    // compare.py (whose overall geometric mean it removes). One context entry per benchmark and
    // reason, with the number of repetitions it ended.
    if (b.is_object() && b.value("error_occurred", false) && b.contains("error_message") &&
        b["error_message"].is_string() &&
        b["error_message"].get_ref<const std::string&>().starts_with(kSkipPrefix)) {
      const std::string name = b.value("name", std::string());
      const std::string reason =
          b["error_message"].get_ref<const std::string&>().substr(kSkipPrefix.size());
      auto same = std::find_if(skipped.begin(), skipped.end(), [&](const nlohmann::json& s) {
        return s["name"] == name && s["reason"] == reason;
      });
      if (same == skipped.end()) {
        skipped.push_back({{"name", name}, {"reason", reason}, {"repetitions", 1}});
      } else {
        (*same)["repetitions"] = (*same)["repetitions"].get<int>() + 1;
      }
      continue;
    }
    if (b.is_object() && b.contains("real_time") && b["real_time"].is_null()) {
      ++dropped;
      continue;
    }
    if (b.is_object()) {
      for (auto it = b.begin(); it != b.end();) {
        if (it->is_null()) {
          ++dropped;
          it = b.erase(it);
        } else {
          ++it;
        }
      }
    }
    kept.push_back(std::move(b));
  }
  doc["benchmarks"] = std::move(kept);
  nlohmann::json& ctx = doc["context"];
  // Typed values replace the strings AddCustomContext had to use.
  for (const auto& part : {start, end}) {
    if (!part.is_object()) continue;
    for (const auto& [k, v] : part.items()) ctx[k] = v;
  }
  ctx["batchcost"] = version_json();  // which batchcost wrote it (core/version.h)
  if (dropped > 0) ctx["non_finite_values_dropped"] = dropped;
  if (!skipped.empty()) ctx["skipped"] = std::move(skipped);
  if (ctx.contains("incomplete")) {  // what did not finish: the end's list and the cut ones
    if (ctx.contains("not_run") && ctx["not_run"].is_array()) {
      for (const auto& n : ctx["not_run"]) not_run.insert(n.get<std::string>());
    }
    // A name is "not run" only if no result of it was kept (a benchmark cut off in its third
    // repetition keeps its first two).
    for (const auto& b : doc["benchmarks"]) {
      if (b.contains("run_name") && b["run_name"].is_string()) {
        not_run.erase(plan_name_of(b["run_name"].get<std::string>()));
      }
    }
    ctx["not_run"] = not_run;
  } else {
    not_run.clear();
  }
  write_results_atomically(final_path, doc.dump(2) + "\n");
  return not_run.size();
}

namespace {

std::vector<Plan>& plans() {
  static std::vector<Plan> p;
  return p;
}
SamplingPolicy g_policy;

// The reference constants plans are resolved against: the stated H200's, compiled in (fixed, so
// that a plan, and so what a binary runs, never moves with a recalibration).
const Constants& reference_constants() {
  static const Constants c = shipped_stated("h200")->model.constants;
  return c;
}

// An out-of-memory error of the CUDA runtime or cuBLAS, which is a skip, not a failure.
bool is_out_of_memory(const ApiError& e) {
  return e.error_name() == "cudaErrorMemoryAllocation" ||
         e.error_name() == "CUBLAS_STATUS_ALLOC_FAILED";
}

}  // namespace

namespace {

// Throttle detection of this run (set by run_main for a per-GPU binary).
std::function<std::optional<ThrottleProbe>()> g_throttle_probe;
ThrottlePolicy g_throttle_policy;
double g_throttle_waited_s = 0;
int g_throttle_retries_total = 0;
int g_throttled_kept_total = 0;
std::set<std::string> g_throttle_warned;

// Progress of this run: each selected benchmark's estimate, the estimate of those started.
struct Progress {
  bool enabled = false;
  std::chrono::steady_clock::time_point start;
  std::map<std::string, double> estimate_s;  // by name, the selected benchmarks
  std::set<std::string> started;
  double started_estimate_s = 0;
  double total_estimate_s = 0;
};
Progress g_progress;

// Called as a benchmark's body is entered: prints its progress line the first time.
void progress_benchmark_starts(const std::string& name) {
  if (!g_progress.enabled || !g_progress.started.insert(name).second) return;
  const auto it = g_progress.estimate_s.find(name);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - g_progress.start).count();
  const std::string line =
      progress_line(g_progress.started.size(), g_progress.estimate_s.size(), name, elapsed,
                    kBinaryStartS + g_progress.started_estimate_s,
                    g_progress.total_estimate_s - g_progress.started_estimate_s);
  std::fprintf(stderr, "%s\n", line.c_str());
  if (it != g_progress.estimate_s.end()) g_progress.started_estimate_s += it->second;
}

}  // namespace

std::function<void()>& oom_reset() {
  static std::function<void()> f;
  return f;
}

void set_out_of_memory_reset(std::function<void()> reset) { oom_reset() = std::move(reset); }

const std::vector<Plan>& registered_plans() { return plans(); }
const SamplingPolicy& sampling() { return g_policy; }

void add(const std::string& name, Plan plan, Body body) {
  plan.name = name;
  resolve_plan(plan, reference_constants(), g_policy);
  plans().push_back(plan);
  auto shared = std::make_shared<const Plan>(std::move(plan));
  auto* b = benchmark::RegisterBenchmark(name.c_str(), [shared, body](benchmark::State& state) {
    // Told to stop: a benchmark not yet started ends at once, listed in the context's not_run.
    // One that has started runs its remaining repetitions (seconds at most): Google Benchmark
    // needs every repetition of a benchmark to run the same iterations.
    static std::set<std::string> started;
    if (!started.contains(shared->name)) {
      if (stopping()) {
        state.SkipWithError(
            (std::string(kNotRunPrefix) + "the run stopped (" + stop_reason() + ")").c_str());
        return;
      }
      started.insert(shared->name);
    }
    progress_benchmark_starts(shared->name);
    try {
      body(state, *shared);
    } catch (const OutOfDeviceMemory& e) {
      skip(state, e.what());
    } catch (const ApiError& e) {
      if (is_out_of_memory(e)) {
        if (oom_reset()) oom_reset()();
        skip(state, std::string("out of memory: ") + e.what());
      } else {
        fail(state, e.what());
      }
    } catch (const std::exception& e) {
      fail(state, e.what());
    }
  });
  b->UseManualTime()->Unit(time_unit());
}

double run_samples(benchmark::State& state, const Plan& plan,
                   const std::function<std::optional<double>(int)>& sample, SampleStats* stats) {
  std::vector<double> kept;
  SampleStats st;
  bool failed = false;
  // A sample's time, or nothing after a failure (the benchmark is failed here for a non-time).
  auto take = [&](int k) -> std::optional<double> {
    const std::optional<double> t = sample(k);
    if (!t) return std::nullopt;  // the sample failed the benchmark
    if (!(*t > 0) || !std::isfinite(*t)) {
      fail(state, "a sample took " + std::to_string(*t) + " s per operation: not a time");
      return std::nullopt;
    }
    return t;
  };
  // After a failure the loop asks KeepRunningBatch once more, which then ends the run as Google
  // Benchmark expects (it checks that a body returns only once the loop said to stop).
  while (state.KeepRunningBatch(plan.samples)) {
    kept.clear();
    const int min_samples = plan.min_samples > 0 ? plan.min_samples : plan.samples;
    while (!failed && !stop_sampling(kept, min_samples, plan.samples, g_policy.max_noise)) {
      const int k = static_cast<int>(kept.size());
      std::optional<double> t = take(k);
      for (int retries = 0; t && g_throttle_probe;) {
        const std::optional<ThrottleProbe> probe = g_throttle_probe();
        const bool throttled = probe && is_throttled(*probe, g_throttle_policy.threshold);
        const ThrottleAction action =
            throttle_action(throttled, retries, g_throttle_waited_s, g_throttle_policy);
        if (action == ThrottleAction::kKeep) break;
        if (action == ThrottleAction::kKeepThrottled) {
          ++st.throttled_kept;
          ++g_throttled_kept_total;
          if (g_throttle_warned.insert(plan.name).second) {
            std::fprintf(stderr,
                         "%s: WARNING: the GPU stayed throttled (SM clock %.0f MHz of %.0f MHz, "
                         "reasons %s) after %d retries: sample kept\n",
                         plan.name.c_str(), probe->sm_clock_mhz, probe->reference_clock_mhz,
                         describe_throttle_reasons(probe->reasons).c_str(), retries);
          }
          break;
        }
        // Discarded: wait for the clocks to recover and take it again.
        std::this_thread::sleep_for(
            std::chrono::duration<double>(g_throttle_policy.recovery_delay_s));
        g_throttle_waited_s += g_throttle_policy.recovery_delay_s;
        ++retries;
        ++st.throttle_retries;
        ++g_throttle_retries_total;
        t = take(k);
      }
      if (!t) {
        failed = true;
      } else {
        kept.push_back(*t);
      }
    }
    if (!failed && !kept.empty()) {
      // Google Benchmark divides the manual time by the batch (plan.samples): with fewer samples
      // kept, the batch's time is their mean times the batch.
      double sum = 0;
      for (double t : kept) sum += t;
      state.SetIterationTime(sum / static_cast<double>(kept.size()) * plan.samples);
    }
  }
  if (failed || kept.empty()) return 0;
  st.samples = static_cast<int>(kept.size());
  st.noise = relative_noise(kept);
  if (stats != nullptr) *stats = st;
  double sum = 0;
  for (double t : kept) sum += t;
  return sum / static_cast<double>(kept.size());
}

double print_estimate(std::FILE* out, const std::vector<Plan>& list, const BenchmarkFilter& filter,
                      const NamedConstants& constants, int repetitions, int devices) {
  double total = 0;
  std::size_t n = 0;
  for (const Plan& p : list) {
    if (!filter.selects(p.name + "/manual_time")) continue;
    const BenchmarkEstimate e =
        estimate_benchmark(p, constants.model.constants, repetitions, constants.source);
    if (out != nullptr) std::fprintf(out, "%s\n", estimate_line(p, repetitions, e).c_str());
    total += e.total_s();
    ++n;
  }
  if (n > 0) total += kBinaryStartS;
  if (devices > 1) {
    if (out != nullptr) {
      std::fprintf(out, "devices: %d runs of %zu benchmarks, %.1f s each\n", devices, n, total);
    }
    n *= static_cast<std::size_t>(devices);
    total *= devices;
  }
  if (out != nullptr) std::fprintf(out, "%s\n", estimate_total_line(n, total).c_str());
  return total;
}

namespace {

// --devices: runs this binary (/proc/self/exe) once per device, one after the other, with
// --device=N and its own results file, then prints the summary. `argv` is the command line as
// given; `out` the --benchmark_out value ("" for none: the children then write to a temporary
// folder, removed after the summary).
int run_per_device(const std::vector<std::string>& argv, const std::vector<int>& devices,
                   const std::string& out, bool print_gpu, const MainSpec& spec) {
  std::string tmp_dir;
  if (out.empty()) {
    const char* t = std::getenv("TMPDIR");
    std::string templ =
        std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/batchcost-devices-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      std::fprintf(stderr, "%s: --devices: cannot create a temporary folder in %s: %s\n",
                   spec.program.c_str(), t != nullptr ? t : "/tmp", std::strerror(errno));
      return kExitUsage;
    }
    tmp_dir = templ;
  }
  std::vector<int> statuses;
  std::vector<std::pair<int, std::map<std::string, double>>> times;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const int d = devices[i];
    const std::string path =
        out.empty() ? tmp_dir + "/device" + std::to_string(d) + ".json" : device_out_path(out, d);
    std::vector<std::string> args{argv[0], "--device=" + std::to_string(d),
                                  "--benchmark_out=" + path};
    for (std::size_t j = 1; j < argv.size(); ++j) {
      if (std::string_view(argv[j]).starts_with("--devices=") ||
          std::string_view(argv[j]).starts_with("--benchmark_out="))
        continue;
      args.push_back(argv[j]);
    }
    std::fprintf(stderr, "%s: device %d (%zu of %zu)%s%s\n", spec.program.c_str(), d, i + 1,
                 devices.size(), out.empty() ? "" : ", results in ",
                 out.empty() ? "" : path.c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      execv("/proc/self/exe", cargs.data());
      std::fprintf(stderr, "%s: cannot run /proc/self/exe: %s\n", spec.program.c_str(),
                   std::strerror(errno));
      _exit(kExitUsage);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
      std::fprintf(stderr, "%s: --devices: cannot run device %d: %s\n", spec.program.c_str(), d,
                   std::strerror(errno));
      statuses.push_back(kExitUsage);
      continue;
    }
    statuses.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    std::map<std::string, double> t;
    std::ifstream in(path, std::ios::binary);
    if (in) {
      try {
        t = benchmark_times_s(nlohmann::json::parse(in));
      } catch (const std::exception& e) {  // not JSON, or not a results file
        std::fprintf(stderr, "%s: --devices: %s: %s\n", spec.program.c_str(), path.c_str(),
                     e.what());
      }
    }
    times.emplace_back(d, std::move(t));
    if (!tmp_dir.empty()) std::remove(path.c_str());
  }
  if (!tmp_dir.empty()) ::rmdir(tmp_dir.c_str());
  const int worst = worst_exit_status(statuses);
  if (!print_gpu) {  // --print_gpu measures nothing: the runs printed the names
    for (const std::string& line : device_summary(times)) {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
  if (worst != kExitOk) {
    std::string list;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      if (statuses[i] != kExitOk) {
        list.append(list.empty() ? "" : ", ").append("device ").append(std::to_string(devices[i]));
        list.append(" exit ").append(std::to_string(statuses[i]));
      }
    }
    std::fprintf(stderr, "%s: --devices: %s\n", spec.program.c_str(), list.c_str());
  }
  return worst;
}

// --devices against the machine, where "all" or a list must be checked: without a GPU this fails
// as a single-device run does (NoDevice, exit 77, one line). Fills `devices` for "all"; returns
// the exit status where the run stops here.
std::optional<int> count_devices(const Options& opts, const MainSpec& spec,
                                 std::vector<int>& devices) {
  const bool estimating = !opts.estimate.empty();
  try {
    if (!spec.device_count) throw NoDevice("this binary cannot count its devices");
    const int count = spec.device_count();
    if (opts.devices_all) {
      devices.clear();
      for (int d = 0; d < count; ++d) devices.push_back(d);
    }
    for (int d : devices) {
      if (d >= count) {
        throw NoDevice("--devices lists device " + std::to_string(d) + " but only " +
                       std::to_string(count) + " device(s) are visible");
      }
    }
    if (devices.empty()) throw NoDevice("the CUDA runtime sees no device");
  } catch (const NoDevice& e) {
    if (estimating) {
      std::fprintf(stderr,
                   "%s: --estimate with --devices=all counts the devices, and %s: list "
                   "them instead (--devices=0,1,...)\n",
                   spec.program.c_str(), e.what());
      return kExitUsage;
    }
    std::fprintf(stderr, "%s: no usable CUDA GPU: %s\n", spec.program.c_str(), e.what());
    return kExitNoGpu;
  }
  return std::nullopt;
}

// --estimate: every selected benchmark's plan and cost with the named constants, priced in full
// before anything is printed (a missing constant leaves no partial listing); `runs` the devices.
int run_estimate(const Options& opts, const MainSpec& spec, const BenchmarkFilter& filter,
                 int runs) {
  try {
    const NamedConstants constants = load_constants(opts.estimate);
    (void)print_estimate(nullptr, plans(), filter, constants, opts.policy.repetitions, runs);
    if (spec.primary) {
      (void)print_estimate(stdout, plans(), filter, constants, opts.policy.repetitions, runs);
    }
  } catch (const std::invalid_argument& e) {
    if (spec.primary) std::fprintf(stderr, "%s: --estimate: %s\n", spec.program.c_str(), e.what());
    return kExitUsage;
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "%s: cannot write the estimate: %s\n", spec.program.c_str(),
                 std::strerror(errno));
    return kExitUsage;
  }
  return kExitOk;
}

// The progress line's estimates: each selected benchmark's, with the stated constants.
void plan_progress(const Options& opts, const MainSpec& spec, const BenchmarkFilter& filter,
                   const NamedConstants& stated_constants,
                   std::chrono::steady_clock::time_point wall_start) {
  g_progress.enabled = opts.progress && spec.primary;
  g_progress.start = wall_start;
  for (const Plan& p : plans()) {
    if (!filter.selects(p.name + "/manual_time")) continue;
    const double e = estimate_benchmark(p, stated_constants.model.constants,
                                        opts.policy.repetitions, stated_constants.source)
                         .total_s();
    g_progress.estimate_s[p.name] = e;
    g_progress.total_estimate_s += e;
  }
}

// The end of the context: the environment's warnings, what a stop left not run, the throttle
// retries; every warning printed once.
void add_stop_and_warnings(nlohmann::json& end, const MainSpec& spec, const EnvironmentCheck& env,
                           const std::string& stopped_by,
                           const std::vector<std::string>& selected) {
  for (const std::string& w : env.warnings) {
    if (!end.contains("warnings")) end["warnings"] = nlohmann::json::array();
    end["warnings"].push_back(w);
  }
  if (!stopped_by.empty()) {
    end["incomplete"] = true;
    end["stopped_by"] = stopped_by;
    end["not_run"] = selected;
  }
  if (g_throttle_retries_total > 0 || g_throttled_kept_total > 0) {
    end["throttle_retries"] = g_throttle_retries_total;
    end["throttled_samples_kept"] = g_throttled_kept_total;
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "%d sample(s) were taken again after the GPU throttled (%.2f s of recovery "
                  "delay), %d kept although throttled",
                  g_throttle_retries_total, g_throttle_waited_s, g_throttled_kept_total);
    if (!end.contains("warnings")) end["warnings"] = nlohmann::json::array();
    end["warnings"].push_back(buf);
  }
  if (end.contains("warnings") && spec.primary) {
    for (const auto& w : end["warnings"]) {
      std::fprintf(stderr, "%s: WARNING: %s\n", spec.program.c_str(), w.get<std::string>().c_str());
    }
  }
}

// The record of the run: its estimate beside its wall time, and the sampling and throttle
// policies it ran under.
void add_run_record(nlohmann::json& end, const Options& opts, const MainSpec& spec,
                    double estimate_s, const std::string& stated,
                    std::chrono::steady_clock::time_point wall_start) {
  end["estimate_s"] = round_significant(estimate_s, 4);
  end["estimate_constants"] = stated;
  end["wall_time_s"] = round_significant(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count(), 4);
  end["samples_policy"] = {{"repetitions", opts.policy.repetitions},
                           {"min_samples", opts.policy.min_samples},
                           {"max_samples", opts.policy.max_samples}};
  if (opts.policy.samples) end["samples_policy"]["samples"] = *opts.policy.samples;
  if (opts.policy.max_noise) {
    end["samples_policy"]["max_noise_pct"] = round_significant(*opts.policy.max_noise * 100, 6);
  }
  if (spec.per_gpu) {
    end["throttle_policy"] = {
        {"threshold_pct", round_significant(opts.throttle.threshold * 100, 6)},
        {"recovery_delay_s", opts.throttle.recovery_delay_s},
        {"max_retries_per_sample", opts.throttle.max_retries_per_sample},
        {"max_wait_s", opts.throttle.max_wait_s}};
  }
}

// The measurement: the environment checked, the GPU opened, every selected benchmark run and its
// results file written (checkpointed as it goes), then the exit status.
int run_benchmarks(const Options& opts, const MainSpec& spec, const BenchmarkFilter& filter,
                   const std::string& final_out, const std::string& partial_out,
                   benchmark::BenchmarkReporter* display,
                   std::chrono::steady_clock::time_point wall_start,
                   const std::function<void()>& cleanup) {
  // The environment that changes numbers: recorded, and refused where it makes them wrong.
  const EnvironmentCheck env = check_environment(environ);
  if (!env.refusal.empty()) {
    if (spec.primary) std::fprintf(stderr, "%s: %s\n", spec.program.c_str(), env.refusal.c_str());
    cleanup();
    return kExitUsage;
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
      std::printf("%s\n", gpu_slug_of(start, "unknown-gpu").c_str());
    }
    if (spec.shutdown) spec.shutdown();
    cleanup();
    return kExitOk;
  }
  if (plans().empty()) {
    if (spec.primary) {
      std::fprintf(stderr, "%s: nothing to run: %s\n", spec.program.c_str(),
                   spec.nothing_to_run.c_str());
    }
    if (spec.shutdown) spec.shutdown();
    cleanup();
    return kExitNoGpu;
  }
  start["environment"] = env.recorded;
  for (const auto& [k, v] : start.items()) {
    benchmark::AddCustomContext(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  // The estimate of this run with the closest shipped GPU (its calibration, stated where it has
  // none), for the record beside the wall time.
  const std::string stated = closest_stated(gpu_slug_of(start, ""));
  const NamedConstants stated_constants = load_constants(stated);
  const double estimate_s =
      print_estimate(nullptr, plans(), filter, stated_constants, opts.policy.repetitions);
  plan_progress(opts, spec, filter, stated_constants, wall_start);

  // The benchmarks this run means to run: what a stop leaves in the context's not_run.
  std::vector<std::string> selected;
  for (const Plan& p : plans()) {
    if (filter.selects(p.name + "/manual_time")) selected.push_back(p.name);
  }
  ResultsReporter results;
  auto last_checkpoint = std::chrono::steady_clock::now();
  bool checkpoint_warned = false;
  results.after_runs = [&] {  // a valid file of what finished, at most once a second
    const auto now = std::chrono::steady_clock::now();
    if (final_out.empty() || now - last_checkpoint < std::chrono::seconds(1)) return;
    last_checkpoint = now;
    const std::string reason = stop_reason();
    const nlohmann::json progress = {{"incomplete", true},
                                     {"stopped_by", reason.empty() ? "unfinished" : reason},
                                     {"not_run", selected}};
    try {
      finalize_text(results.json(), partial_out, final_out, start, progress);
    } catch (const std::exception& e) {  // the end writes it again; say so once
      if (!checkpoint_warned && spec.primary) {
        std::fprintf(stderr, "%s: WARNING: checkpoint of %s not written: %s\n",
                     spec.program.c_str(), final_out.c_str(), e.what());
      }
      checkpoint_warned = true;
    }
  };
  size_t ran = final_out.empty() ? benchmark::RunSpecifiedBenchmarks(display)
                                 : benchmark::RunSpecifiedBenchmarks(display, &results);
  nlohmann::json end = spec.finish ? spec.finish() : nlohmann::json::object();
  const std::string stopped_by = stop_reason();
  add_stop_and_warnings(end, spec, env, stopped_by, selected);
  benchmark::Shutdown();
  if (spec.shutdown) spec.shutdown();
  add_run_record(end, opts, spec, estimate_s, stated, wall_start);

  if (ran == 0) {
    if (spec.primary) {
      std::fprintf(stderr, "%s: no benchmark matched --benchmark_filter\n", spec.program.c_str());
    }
    cleanup();
    return kExitUsage;
  }
  std::size_t not_run = 0;
  if (!final_out.empty()) {
    try {
      not_run = finalize_text(results.json(), partial_out, final_out, start, end);
      cleanup();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", spec.program.c_str(), e.what());
      cleanup();
      return kExitUsage;
    }
  }
  if (!stopped_by.empty() && spec.primary) {
    std::fprintf(stderr, "%s: stopped (%s): %zu of %zu benchmarks not run%s\n",
                 spec.program.c_str(), stopped_by.c_str(),
                 final_out.empty() ? selected.size() : not_run, selected.size(),
                 final_out.empty() ? ""
                                   : ("; " + final_out + " holds the rest, marked incomplete")
                                         .c_str());
  }
  if (failures() > 0) {
    if (spec.primary) {
      std::fprintf(stderr, "%s: %d benchmark(s) failed their check or hit an error (see above)\n",
                   spec.program.c_str(), failures());
    }
    return kExitCheckFailed;
  }
  if (g_stop_signal != 0) return 128 + g_stop_signal;
  if (!stopped_by.empty()) return kExitIncomplete;
  return kExitOk;
}

}  // namespace

int run_main(int argc, char** argv, const MainSpec& spec) {
  const auto wall_start = std::chrono::steady_clock::now();
  std::vector<std::string> args(argv, argv + argc);
  Options opts;
  try {
    opts = take_harness_flags(args);
  } catch (const std::invalid_argument& e) {
    if (spec.primary) std::fprintf(stderr, "%s: %s (see --help)\n", spec.program.c_str(), e.what());
    return kExitUsage;
  }
  if (!spec.per_gpu && !opts.per_gpu_flags.empty()) {
    if (spec.primary) {
      std::fprintf(stderr,
                   "%s: %s is for the per-GPU binaries: every rank here must take the "
                   "same samples on its own device (see --help)\n",
                   spec.program.c_str(), opts.per_gpu_flags.front().c_str());
    }
    return kExitUsage;
  }
  g_policy = opts.policy;
  g_throttle_policy = opts.throttle;
  if (opts.deadline_s) {
    g_deadline = wall_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(*opts.deadline_s));
  }
  if (spec.per_gpu) g_throttle_probe = spec.throttle_probe;
  const bool estimating = !opts.estimate.empty();
  const bool per_device = opts.devices_all || !opts.devices.empty();
  const bool listing = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true";
  });
  std::vector<int> devices = opts.devices;
  if (per_device && !opts.help && !listing && (!estimating || opts.devices_all)) {
    if (std::optional<int> status = count_devices(opts, spec, devices)) return *status;
  }
  if (opts.help && spec.primary) std::fputs(harness_help(spec.program).c_str(), stdout);
  if (!spec.primary) {  // the primary alone writes the results file
    std::erase_if(args, [](const std::string& a) {
      return a.starts_with("--benchmark_out=") || a.starts_with("--benchmark_out_format=");
    });
  }
  SilentReporter silent;
  benchmark::BenchmarkReporter* display = spec.primary ? nullptr : &silent;

  // Google Benchmark writes to <out>.<pid>.partial; the harness renames it into place at the end.
  std::string final_out, partial_out;
  for (auto& a : args) {
    if (a.starts_with("--benchmark_out=")) {
      final_out = a.substr(16);
      partial_out = final_out + "." + std::to_string(getpid()) + ".partial";
      a = "--benchmark_out=" + partial_out;
    }
  }
  if (!final_out.empty() && !opts.help && !estimating) {
    std::FILE* probe = std::fopen(partial_out.c_str(), "w");
    if (probe == nullptr) {
      std::fprintf(stderr, "%s: cannot write the results file %s: %s\n", spec.program.c_str(),
                   final_out.c_str(), std::strerror(errno));
      return kExitUsage;
    }
    std::fclose(probe);
  }
  if (per_device) {  // the runs per device write their own files; the folder is writable
    std::remove(partial_out.c_str());
    partial_out.clear();
  } else if (!opts.help && !estimating && !listing) {
    install_stop_handlers();  // a stop writes what finished (finalize_text), never nothing
  }
  auto cleanup = [&] {
    if (!partial_out.empty() && !estimating) std::remove(partial_out.c_str());
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
  const BenchmarkFilter filter(benchmark::GetBenchmarkFilter());

  if (estimating) {
    return run_estimate(opts, spec, filter, per_device ? static_cast<int>(devices.size()) : 1);
  }

  if (listing) {
    // Nothing registered (a one-GPU box has no collective): say why, not Google Benchmark's
    // "Failed to match any benchmarks"; an empty list is still a listing (exit 0).
    if (plans().empty()) {
      if (spec.primary) {
        std::fprintf(stderr, "%s: nothing to list: %s\n", spec.program.c_str(),
                     spec.nothing_to_run.c_str());
      }
    } else {
      benchmark::RunSpecifiedBenchmarks(display);
    }
    cleanup();
    return kExitOk;
  }

  if (per_device && !opts.help) {
    return run_per_device(std::vector<std::string>(argv, argv + argc), devices, final_out,
                          opts.print_gpu, spec);
  }

  return run_benchmarks(opts, spec, filter, final_out, partial_out, display, wall_start, cleanup);
}

}  // namespace batchcost
