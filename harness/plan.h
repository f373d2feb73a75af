// The sampling plan of a benchmark and the estimate of what a run costs, host C++ only (no CUDA),
// so that `--estimate` prices a calibration on a machine without a GPU and the math is tested on
// its own.
//
// Every benchmark is registered with a Plan: the work of one operation (the contract's Work),
// its labels, how it is timed, and how many operations a sample batches and how many samples a
// repetition takes. The device time a run spends on a benchmark is then known before it starts:
//
//   repetitions × samples × batch × t_op            (the timed part)
//   + warm-up, once per benchmark: one eager op and one batch
//   + set-up, once per benchmark: buffers filled, the data check, host set-up (graph capture)
//
// where t_op is the cost model's prediction (core/cost_model.h predict()) with given constants.
// A batch and a sample count left 0 at registration are chosen from the *reference* constants
// (the stated H200 constants, compiled in): a batch lasts about target_sample_s, a repetition
// about target_repetition_s, within [min_samples, max_samples]. The plan does not depend on the
// GPU it runs on, so a quick run and a default run of the same benchmark, and an estimate and a
// run, agree on it.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/cost_model.h"
#include "core/model_file.h"
#include "core/stated.h"

namespace batchcost {

enum class Timing { kDevice, kHost };
std::string_view to_string(Timing timing);

struct Plan {
  std::string name{};  // the benchmark's name as registered (set by the harness's add())
  Work work{};         // per operation
  Labels labels{};     // dtype=, op=, cache=, ...; the harness adds timing=
  int ranks = 0;  // collectives and host-device copies: the ranks the network term is priced at
  Timing timing = Timing::kDevice;
  int batch = 0;        // operations per sample; 0: chosen (plan_batch)
  int max_batch = 256;  // device timing: launches queued behind the blocking kernel, at most
  double target_sample_s = 200e-6;  // a batch lasts about this long
  int samples = 0;                  // samples per repetition; 0: chosen (plan_samples)
  // Once per benchmark, for the estimate: host-side set-up (plan or graph creation, capture),
  // bytes written at set-up (fills, poison), and the data check's work (priced like an op).
  double setup_s = 0;
  double setup_bytes = 0;
  Work check_work{};
  // How the estimate prices an operation whose declared work prices nothing (the host cost of
  // cudaEventRecord declares no work, but still takes time).
  std::optional<Work> priced_as{};
  // Device timing of an op that may synchronize with the host inside its call (a library call
  // with host arguments): if a held batch times out twice, the op is timed without the blocking
  // kernel (label held=0) instead of failing. `hold_key` names the call, so that the first
  // benchmark to find out spares the others the timeout.
  bool may_synchronize = false;
  std::string hold_key{};
  // Known at registration to be a skip here (a strategy the installed library lacks): the
  // estimate counts only its bookkeeping.
  bool skips = false;
  // Noise-based stopping (--max-noise): a repetition may stop after min_samples once its noise
  // is low enough; `samples` is then the most it takes, and what the estimate prices. Set by
  // resolve_plan (equal to `samples` without --max-noise).
  int min_samples = 0;
};

// The sampling policy of a profile, from the harness flags.
struct SamplingPolicy {
  int repetitions = 5;
  int min_samples = 3;
  int max_samples = 10;
  double target_repetition_s = 2e-3;  // a repetition's timed part lasts about this long
  std::optional<int> samples{};       // --samples=N: exactly N for every benchmark
  // --max-noise=PCT as a fraction: a repetition takes at least min_samples and stops as soon as
  // relative_noise() of its sample times is at most this, or at max_samples. Unset: the fixed
  // plan (plan_samples).
  std::optional<double> max_noise{};
};
// Defaults: 5 repetitions, 3..10 samples of a repetition of about 2 ms; --quick: 2 repetitions,
// 2..5 samples of about 1 ms. `samples` and `repetitions` (0: the profile's) override them.
SamplingPolicy sampling_policy(bool quick, std::optional<int> samples, int repetitions);

// The sample the cost model prices for one operation of a plan (family from the name, timing
// label added).
Sample plan_sample(const Plan& plan);

// Predicted seconds of one operation with `constants`. A network constant missing at the plan's
// rank count is taken from the nearest rank count of the same op (the estimate must price a
// 16-rank MPI run from constants stated up to 8); any other missing constant throws
// std::invalid_argument naming it and `constants_source`.
double op_seconds(const Constants& constants, const Plan& plan, std::string_view constants_source);

// Operations per sample: enough for a sample to last target_s, at most max_batch, at least 1 (a
// non-positive or non-finite op time gives max_batch).
int plan_batch(double op_s, double target_s, int max_batch);
// Samples per repetition: enough for a repetition to last the policy's target, within its
// bounds; exactly policy.samples where given.
int plan_samples(double sample_s, const SamplingPolicy& policy);

// Fills a plan's batch and samples where they are 0, from the reference constants, and its
// min_samples. With policy.max_noise, samples is policy.max_samples (the worst case, which the
// estimate prices) and min_samples policy.min_samples, unless the plan fixed its samples.
void resolve_plan(Plan& plan, const Constants& reference, const SamplingPolicy& policy);

// NVBench's noise (its --max-noise, "percent relative standard deviation"): the sample standard
// deviation (n - 1) of `times` over their mean, as a fraction. Empty with fewer than 2 times or a
// mean that is not positive.
std::optional<double> relative_noise(const std::vector<double>& times);
// The stopping rule of a repetition that has taken `times` so far: stop at max_samples; with
// max_noise, stop earlier once at least min_samples (and at least 2) are taken and their noise
// is at most max_noise. Without max_noise: stop at max_samples only.
bool stop_sampling(const std::vector<double>& times, int min_samples, int max_samples,
                   std::optional<double> max_noise);

// Fixed costs the estimate adds (seconds): per sample (launching the blocking kernel, recording
// and waiting for the events, reading the clock), per device-timed op the host's enqueue
// (λ[launch] per kernel, paid before the held batch runs), per benchmark (Google Benchmark's
// bookkeeping, allocations), and per binary (CUDA context, library handles) when it runs at least
// one benchmark.
inline constexpr double kSampleOverheadS = 30e-6;
// Per sample: the SM clock and throttle reasons read through NVML while the batch runs (two
// calls; a planning figure for a driver round trip each, not a measurement).
inline constexpr double kClockReadS = 40e-6;
inline constexpr double kBenchmarkOverheadS = 3e-3;
inline constexpr double kBinaryStartS = 2.0;

struct BenchmarkEstimate {
  double op_s = 0;      // one operation
  double timed_s = 0;   // repetitions × samples × (batch × op + overhead), host: samples + 1
  double warmup_s = 0;  // once
  double setup_s = 0;   // once: set-up, check, overhead
  double total_s() const { return timed_s + warmup_s + setup_s; }
};
// The estimate of a resolved plan (batch and samples set) over `repetitions`.
BenchmarkEstimate estimate_benchmark(const Plan& plan, const Constants& constants, int repetitions,
                                     std::string_view constants_source);

// Google Benchmark's --benchmark_filter as it selects a benchmark: a regular expression (POSIX
// extended) searched in the full name (ours end in "/manual_time"); "" or "all" selects all, a
// leading '-' negates. Throws std::invalid_argument for a malformed expression.
class BenchmarkFilter {
 public:
  explicit BenchmarkFilter(std::string spec);
  bool selects(std::string_view full_name) const;

 private:
  std::regex re_;
  bool negative_ = false;
};

// The constants --estimate prices with: by name (core/stated.h: "h100", "h200") the shipped
// calibration's identified constants and the stated ones for the rest (shipped_constants), or
// any other text read as a model.json file through the hardened reader. Throws
// std::invalid_argument naming the file and what is wrong with it.
NamedConstants load_constants(std::string_view name_or_file);

// One line of --estimate's listing, and its last line ("estimate: N benchmarks, T s").
std::string estimate_line(const Plan& plan, int repetitions, const BenchmarkEstimate& e);
std::string estimate_total_line(std::size_t benchmarks, double seconds);

}  // namespace batchcost
