// The host half of the benchmark harness: everything that needs neither CUDA nor a GPU, so that
// it builds everywhere and is tested on its own.
//
// - the command line every benchmark binary shares (--quick, --device, --cache, --print_gpu,
//   --estimate, --samples, --repetitions, --min-samples, --max-samples, --progress, plus Google
//   Benchmark's own flags, checked before anything is created) and its defaults (repetitions,
//   one Google Benchmark iteration per repetition, JSON output);
// - NVBench's habits on the per-GPU binaries: --devices (one run per device, re-executing the
//   binary, then a summary naming the slowest), --max-noise (noise-based stopping within a
//   repetition, bounded by --max-samples, which the estimate prices), and throttle detection with
//   a pause and a bounded retry (--throttle-threshold, --throttle-recovery-delay);
// - a progress line per benchmark on stderr, its ETA from the plan's estimate;
// - the registry of planned benchmarks (plan.h): each registered with its work and sampling
//   plan, so that --estimate prices the run without a GPU;
// - size sweeps, the L2 rotation policy, names and labels;
// - turning declared work and measured time into counters and rates;
// - the output file: Google Benchmark's JSON, kept in memory; the harness adds the GPU's state
//   to its context and writes it atomically after each benchmark (a checkpoint, marked
//   incomplete, at most once a second) and at the end, so a run stopped by --deadline, SIGINT,
//   SIGTERM or SIGHUP keeps every benchmark it finished (context: incomplete, stopped_by,
//   not_run), a SIGKILLed one what finished up to its last checkpoint, and none leaves truncated
//   JSON behind;
// - one-check-per-shape bookkeeping and the exit status (a failed check fails the binary).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/contract.h"
#include "core/format.h"  // format_bytes, for messages
#include "harness/plan.h"

namespace batchcost {

// Exit statuses of every benchmark binary.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;  // a data check or a benchmark failed
inline constexpr int kExitUsage = 2;        // bad flag, unwritable output
inline constexpr int kExitIncomplete = 3;   // stopped at --deadline: the results file holds what
                                            // finished, its context marked incomplete
inline constexpr int kExitNoGpu = 77;       // no usable GPU (77: "skipped" to ctest and automake)
// Stopped by SIGINT, SIGTERM or SIGHUP: 128 + the signal, after writing the results file as for
// --deadline.

enum class CachePolicy { kCold, kHot };
std::string_view to_string(CachePolicy c);

// Throttle detection after each sample (NVBench's --throttle-threshold and
// --throttle-recovery-delay, with its defaults): a sample taken while the SM clock was below
// `threshold` of the device's default (maximum) clock, or while NVML named a slowdown reason
// (is_slowdown), is discarded and taken again after `recovery_delay_s`, at most
// max_retries_per_sample times, and while the run has waited less than max_wait_s in all; after
// that it is kept, counted and warned about. threshold 0 disables detection.
struct ThrottlePolicy {
  double threshold = 0.75;
  double recovery_delay_s = 0.05;
  int max_retries_per_sample = 3;
  double max_wait_s = 10;  // per binary run: what throttling may add to it at most
};

// The harness's own flags (removed from argv before Google Benchmark sees it).
struct Options {
  bool quick = false;               // --quick: coarse sweeps, short runs, for smoke tests
  int device = 0;                   // --device=N: the CUDA device to measure
  CachePolicy cache = CachePolicy::kCold;  // --cache=cold|hot, for benchmarks that offer both
  bool print_gpu = false;           // --print_gpu: print the GPU's short name (results/<gpu>) and exit
  bool help = false;
  std::string estimate;            // --estimate=h100|h200|FILE: price the run, run nothing
  std::optional<int> samples;      // --samples=N: N samples per repetition for every benchmark
  int repetitions = 0;             // --repetitions=N or --benchmark_repetitions=N (0: profile's)
  SamplingPolicy policy;           // from the above, --max-noise, --min-samples, --max-samples
  // --devices=LIST|all: run the binary once per device (run_main re-executes itself with
  // --device=N); `devices` lists them, devices_all says "all" was given. Per-GPU binaries only.
  std::vector<int> devices;
  bool devices_all = false;
  ThrottlePolicy throttle;  // --throttle-threshold=PCT, --throttle-recovery-delay=S
  bool progress = true;     // --progress=on|off: the "[k/N] name  elapsed  ETA" line on stderr
  // --deadline=SECONDS: wall seconds from the binary's start after which no benchmark starts;
  // the results file then holds what finished, marked incomplete (exit kExitIncomplete).
  std::optional<double> deadline_s;
  // The per-GPU-only flags given (--devices, --max-noise, --throttle-*): refused by a binary
  // whose MainSpec::per_gpu is false (the collectives, whose ranks must stay in step).
  std::vector<std::string> per_gpu_flags;
};

// Parses and removes the harness's flags from args (args[0] is the program) and checks Google
// Benchmark's (an unknown --benchmark_format or --benchmark_time_unit, a --benchmark_out that is
// a folder or cannot be created, --benchmark_min_time, which the fixed sample counts replace).
// --benchmark_time_unit (ns, the default, us, ms or s) is taken out and sets time_unit(), the
// unit add() registers every benchmark with, whatever the Google Benchmark version.
// Also applies the defaults: --benchmark_repetitions (5, or 2 with --quick), one Google
// Benchmark iteration per repetition (each runs the plan's samples, plan.h), and
// --benchmark_out_format=json when --benchmark_out is given. Throws std::invalid_argument naming
// a bad flag or value.
Options take_harness_flags(std::vector<std::string>& args);
std::string harness_help(std::string_view program);

// "ns", "us", "ms", "s" as Google Benchmark's unit; throws std::invalid_argument otherwise.
benchmark::TimeUnit parse_time_unit(std::string_view unit);
// The unit of this run's times in the JSON and the console (the last take_harness_flags's).
// Nanoseconds by default: compare.py prints times as whole numbers of the unit, and the
// shortest operations here take 1-3 µs.
benchmark::TimeUnit time_unit();

// Powers of two from lo to hi inclusive (both > 0, lo <= hi); with `quick`, every fourth power
// of two plus hi. Throws std::invalid_argument for a bad range.
std::vector<std::int64_t> pow2_sweep(std::int64_t lo, std::int64_t hi, bool quick);

// How many copies of a working set of `bytes_per_set` bytes a cold-cache benchmark rotates
// through so that each copy has left the L2 (of l2_bytes) before it is used again: enough for
// the copies to span kColdFactor times the L2, at least 1; 1 for a hot cache.
inline constexpr std::int64_t kColdFactor = 4;
std::int64_t rotation_sets(std::int64_t bytes_per_set, std::int64_t l2_bytes, CachePolicy cache);

// Sets the benchmark's label and counters: each non-zero work counter per iteration, the
// derived rates (flops_per_s, bytes_per_s, net_bytes_per_s) from the mean time per iteration,
// and any extra counters. `seconds_per_iteration` is the measured mean. A counter whose value
// is 0 is never recorded (Google Benchmark < 1.8.4 writes NaN as its cv when it is 0 in every
// repetition): absent means 0.
void record(benchmark::State& state, const Work& work, const Labels& labels,
            double seconds_per_iteration, const std::map<std::string, double>& extra = {});

// Fails the benchmark (SkipWithError) and remembers the failure: the binary exits with
// kExitCheckFailed at the end, after writing its results.
void fail(benchmark::State& state, const std::string& message);
// Skips a benchmark that cannot run here (a size that does not fit in memory, a dtype the GPU
// lacks). Not a failure: the console shows it as an error whose message starts with kSkipPrefix,
// and finalize_output moves it out of the JSON's "benchmarks" into the context's "skipped".
inline constexpr std::string_view kSkipPrefix = "skipped: ";
// The error message of a benchmark not run (or cut off) because the run was told to stop:
// finalize_output lists it in the context's "not_run", never as a result, a failure or a skip.
inline constexpr std::string_view kNotRunPrefix = "not run: ";

// Why the run stopped early: "" (it did not), "deadline", "SIGINT", "SIGTERM", "SIGHUP".
std::string stop_reason();
// Asks the run to stop as a signal would (tests; the signal handler sets the same flag).
void request_stop(int signal_number);
void skip(benchmark::State& state, const std::string& reason);
int failures();

// Runs `check` the first time `shape` is seen in this process and remembers its verdict: an
// empty string means pass, anything else is the mismatch to report. Every later call with the
// same shape returns the remembered verdict (repetitions re-run a benchmark; the check need not).
std::string check_once(const std::string& shape, const std::function<std::string()>& check);

// Runs once per benchmark name in this process: true the first time (warm up then; the
// repetitions that follow re-enter the body and skip it).
bool first_call(const std::string& benchmark_name);

// Describes the NVML throttle ("clocks event") reason bits in a human-readable way, and says
// which of them mean the GPU slowed down (thermal, hardware slowdown, power brake), as opposed to
// benign states (idle, application clocks setting) and sw_power_cap, the normal state of a GPU
// at full load (the clock then sits where the power limit puts it; a drop shows in the clocks).
std::string describe_throttle_reasons(std::uint64_t mask);
bool is_slowdown(std::uint64_t mask);

// Warnings for the end of a run, from the SM clocks sampled while the GPU was busy (MHz) and the
// union of throttle reasons seen: a clock that fell more than 5% below the highest sample (naming
// the power cap where it was seen), a slowdown reason.
std::vector<std::string> clock_warnings(const std::vector<double>& sm_clock_mhz_samples,
                                        std::uint64_t throttle_reasons_seen);

// One reading after a sample: the SM clock (MHz) and NVML's throttle reason bits while the
// sample ran (0: not known), and the clock the threshold is a fraction of (the device's default
// maximum, cudaDevAttrClockRate, as NVBench uses).
struct ThrottleProbe {
  double sm_clock_mhz = 0;
  std::uint64_t reasons = 0;
  double reference_clock_mhz = 0;
};
// Throttled: detection on (threshold > 0) and either a slowdown reason or a known clock below
// threshold x the known reference clock.
bool is_throttled(const ThrottleProbe& probe, double threshold);
enum class ThrottleAction { kKeep, kRetry, kKeepThrottled };
// What to do with a sample: keep it when not throttled; retry while this sample has had fewer
// than max_retries_per_sample retries and one more recovery delay keeps the run's wait
// (`waited_s`) within max_wait_s; otherwise keep it as throttled.
ThrottleAction throttle_action(bool throttled, int retries_of_sample, double waited_s,
                               const ThrottlePolicy& policy);

// What run_samples did in one repetition.
struct SampleStats {
  int samples = 0;                // kept
  std::optional<double> noise{};  // relative_noise() of the kept times
  int throttle_retries = 0;       // samples discarded as throttled and taken again
  int throttled_kept = 0;         // kept although throttled (retries or the run's wait spent)
};
// The counters a benchmark records from them: samples, noise_pct (where known), and
// throttle_retries and throttled_samples (absent when 0).
std::map<std::string, double> sampling_counters(const SampleStats& stats);

// "[3/12] gemm/m:128  elapsed 12.3 s  ETA 45 s": the progress line printed as benchmark k of n
// starts. The ETA is the estimate of what is left (this benchmark included) scaled by how the run
// so far compares with its estimate (elapsed_s over estimated_done_s) once estimated_done_s
// exceeds kBinaryStartS (a benchmark has finished), else unscaled.
std::string progress_line(std::size_t k, std::size_t n, std::string_view name, double elapsed_s,
                          double estimated_done_s, double estimated_left_s);

// --devices: the per-benchmark times (seconds, the median of a benchmark's repetitions) in a
// results file, errors and skips left out; and the summary printed after a run on several
// devices: each device's median over benchmarks of its time relative to the fastest device for
// that benchmark, the slowest named. `times` holds (device, times) in the order run.
std::map<std::string, double> benchmark_times_s(const nlohmann::json& results);
std::vector<std::string> device_summary(
    const std::vector<std::pair<int, std::map<std::string, double>>>& times);
// The exit status of a run over several devices from theirs: a crash (> 128) or other unknown
// status first, then usage (2), failure (1), no GPU (77), ok (0).
int worst_exit_status(const std::vector<int>& statuses);
// The results file of device `device` for --benchmark_out=`out`: "r.json" -> "r.device3.json".
std::string device_out_path(const std::string& out, int device);

// A short lowercase name for a GPU, for results/<gpu>/: "NVIDIA H100 80GB HBM3" -> "h100-sxm",
// "NVIDIA H100 PCIe" -> "h100-pcie", "NVIDIA H200" -> "h200", otherwise the name lowercased
// without the vendor, non-alphanumerics as '-'.
std::string gpu_slug(std::string_view gpu_name);

// Context formatting: a CUDA device UUID's 16 bytes as "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
// (the form nvidia-smi and NVML use), and a CUDA version number (13000) as "13.0".
std::string format_gpu_uuid(const unsigned char (&bytes)[16]);
std::string format_cuda_version(int version);

// Linux's CPU list format ("0-3,8,10-11", as /sys/bus/pci/devices/*/local_cpulist): the CPUs in
// increasing order. Throws std::invalid_argument for a malformed list.
std::vector<int> parse_cpu_list(std::string_view text);

// Bare NaN, -NaN, Infinity and -Infinity tokens (outside strings), which Google Benchmark writes
// for a non-finite value and JSON does not allow, replaced by null.
std::string non_finite_to_null(std::string_view json_text);

// What a binary plugs into run_main.
struct MainSpec {
  std::string program;  // "batchcost-memory"
  // Registers the benchmarks (benchmark::RegisterBenchmark). Must not touch the GPU: listing
  // (--benchmark_list_tests) works on a machine without one.
  std::function<void(const Options&)> register_benchmarks;
  // Opens the device and returns the context at the start of the run (typed values). Throws
  // NoDevice when there is no usable GPU.
  std::function<nlohmann::json(const Options&)> start;
  // The context at the end of the run, and warnings about the run.
  std::function<nlohmann::json()> finish;
  // Called after the end context is read, before exit (release the device).
  std::function<void()> shutdown;
  // Why a binary registered nothing (a one-GPU machine has no collective to run): printed, exit
  // kExitNoGpu, before anything is written.
  std::string nothing_to_run = "no benchmark was registered";
  // False on the MPI ranks other than 0: they run every benchmark in step with rank 0 but print
  // nothing (no console report, no messages, no --help) and write no results file; their exit
  // status is the same as on a primary.
  bool primary = true;
  // A binary that measures one GPU (run_gpu_main): accepts --devices, --max-noise and the
  // throttle flags. False for the collectives, whose ranks must take the same samples in step.
  bool per_gpu = false;
  // --devices=all: the number of visible devices; throws NoDevice where there is none.
  std::function<int()> device_count;
  // After each sample of a per-GPU binary: the reading throttle detection decides on (empty:
  // nothing known, the sample is kept).
  std::function<std::optional<ThrottleProbe>()> throttle_probe;
};

// Thrown by MainSpec::start when the machine has no usable GPU: the binary prints the message
// on one line and exits with kExitNoGpu.
struct NoDevice : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int run_main(int argc, char** argv, const MainSpec& spec);

// Thrown where a benchmark's buffers do not fit in the GPU's free memory: add() turns it into a
// skip, and the rest of the sweep goes on.
struct OutOfDeviceMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The body of a benchmark: its state and its resolved plan (batch and samples set).
using Body = std::function<void(benchmark::State&, const Plan&)>;

// Registers a benchmark `name` with its plan (resolved against the reference constants and the
// profile's sampling policy) and manual time in time_unit(). An exception from its body fails
// that benchmark (fail()) instead of ending the process; OutOfDeviceMemory, or an out-of-memory
// error of CUDA or cuBLAS (in a check as anywhere), skips it.
void add(const std::string& name, Plan plan, Body body);
// Runs the samples of one repetition in one KeepRunningBatch of plan.samples: `sample(k)` returns
// sample k's time per operation in seconds, or nothing after failing the benchmark itself. A time
// that is not positive and finite fails the benchmark. With --max-noise the repetition stops as
// stop_sampling() says (from plan.min_samples on); the manual time is set so that Google
// Benchmark's real_time is the mean of the samples kept. In a per-GPU binary each sample is
// followed by the throttle probe (MainSpec::throttle_probe) and throttle_action(): a throttled
// sample is taken again with the same k after the recovery delay. Returns the mean time per
// operation, 0 after a failure; fills *stats where given.
double run_samples(benchmark::State& state, const Plan& plan,
                   const std::function<std::optional<double>(int)>& sample,
                   SampleStats* stats = nullptr);

// Called after an out-of-memory error is turned into a skip, to clear the runtime's last error
// (run_gpu_main sets it: cudaGetLastError), so that the next benchmark does not report it.
void set_out_of_memory_reset(std::function<void()> reset);

// The plans registered so far, in order.
const std::vector<Plan>& registered_plans();
// The sampling policy of this run (set by run_main before registration).
const SamplingPolicy& sampling();

// The estimate of the benchmarks `filter` selects, with `constants`: one line each, then
// "estimate: N benchmarks, T s" (kBinaryStartS included when N > 0). Returns T.
// With devices > 1 (--devices), the listing is of one device's run, followed by
// "devices: D runs of N benchmarks, T s each" and a total of D x N benchmarks, D x T s.
double print_estimate(std::FILE* out, const std::vector<Plan>& plans, const BenchmarkFilter& filter,
                      const NamedConstants& constants, int repetitions, int devices = 1);

// The harness's output step, exposed for tests: merges `start` and `end` into the context of
// the Google Benchmark JSON at `partial_path` and writes the result atomically to `final_path`
// (a temporary file in the same folder, then rename), removing `partial_path`. Non-finite values
// are dropped first (non_finite_to_null, then a counter that is null is left out and an
// aggregate whose time is null is dropped). Skipped entries (an error whose message starts with
// kSkipPrefix) leave "benchmarks" for the context's "skipped": [{"name", "reason",
// "repetitions"}], one per benchmark and reason, so that no reader of Google Benchmark JSON
// (compare.py) takes them for results of time 0; failures stay errors. Throws
// std::runtime_error naming the file when the partial output is missing or not valid JSON.
// The same from the JSON text itself (the checkpoints and the end of a run write from memory).
// Where the merged context has "incomplete", its "not_run" becomes the names (plan names: no
// "/manual_time") of every benchmark without a kept result, those the end listed and those cut
// off (an error starting with kNotRunPrefix, which never stays in "benchmarks").
// Returns the number of names in "not_run" (0 for a complete run).
std::size_t finalize_text(const std::string& text, const std::string& partial_path,
                          const std::string& final_path, const nlohmann::json& start,
                          const nlohmann::json& end);
// A run's name as a plan name: Google Benchmark's "/manual_time" or "/real_time" suffix removed.
std::string plan_name_of(std::string run_name);
void finalize_output(const std::string& partial_path, const std::string& final_path,
                     const nlohmann::json& start, const nlohmann::json& end);

}  // namespace batchcost
