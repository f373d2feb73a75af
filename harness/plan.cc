// The sampling plan and the estimate (see plan.h).
#include "harness/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "core/input_file.h"
#include "model/results.h"

namespace batchcost {

std::string_view to_string(Timing timing) { return timing == Timing::kDevice ? "device" : "host"; }

SamplingPolicy sampling_policy(bool quick, std::optional<int> samples, int repetitions) {
  SamplingPolicy p;
  if (quick) {
    p.repetitions = 2;
    p.min_samples = 2;
    p.max_samples = 5;
    p.target_repetition_s = 1e-3;
  }
  if (repetitions > 0) p.repetitions = repetitions;
  p.samples = samples;
  return p;
}

Sample plan_sample(const Plan& plan) {
  Sample s;
  s.name = plan.name;
  s.family = family_of(plan.name);
  s.work = plan.work;
  s.labels = plan.labels;
  s.labels["timing"] = std::string(to_string(plan.timing));
  s.ranks = plan.ranks;
  return s;
}

namespace {

// The nearest rank count of `op` that `constants` have, or 0.
int nearest_ranks(const Constants& constants, const std::string& op, int ranks) {
  int best = 0;
  for (const auto& [key, regimes] : constants.network) {
    if (key.first != op || regimes.empty()) continue;
    if (best == 0 || std::abs(key.second - ranks) < std::abs(best - ranks)) best = key.second;
  }
  return best;
}

}  // namespace

double op_seconds(const Constants& constants, const Plan& plan, std::string_view source) {
  Sample s = plan_sample(plan);
  if (plan.priced_as && declares_nothing(plan.work)) s.work = *plan.priced_as;
  Prediction p = predict(constants, s);
  if (!p.missing.empty() && p.missing.rfind("network ", 0) == 0) {
    const NetKey key = net_key_of(s);
    if (int r = nearest_ranks(constants, key.first, key.second); r > 0) {
      s.ranks = r;
      p = predict(constants, s);
    }
  }
  if (!p.missing.empty()) {
    throw std::invalid_argument(std::string(source) + ": has no " + p.missing + ", which " +
                                plan.name + " needs");
  }
  return p.time_s;
}

int plan_batch(double op_s, double target_s, int max_batch) {
  if (max_batch < 1) max_batch = 1;
  if (!(op_s > 0) || !std::isfinite(op_s)) return max_batch;
  // The tiny shrink keeps 200e-6 / 2e-6 at 100, not 101, despite rounding in the division.
  const double n = std::ceil(target_s / op_s * (1 - 1e-12));
  if (!(n >= 1)) return 1;
  return n > max_batch ? max_batch : static_cast<int>(n);
}

int plan_samples(double sample_s, const SamplingPolicy& policy) {
  if (policy.samples) return *policy.samples;
  const int lo = std::max(1, policy.min_samples), hi = std::max(lo, policy.max_samples);
  if (!(sample_s > 0) || !std::isfinite(sample_s)) return hi;
  const double n = std::ceil(policy.target_repetition_s / sample_s * (1 - 1e-12));
  if (!(n >= lo)) return lo;
  return n > hi ? hi : static_cast<int>(n);
}

void resolve_plan(Plan& plan, const Constants& reference, const SamplingPolicy& policy) {
  const double op = op_seconds(reference, plan, "the reference constants (tools/stated/h200.json)");
  if (plan.batch <= 0) plan.batch = plan_batch(op, plan.target_sample_s, plan.max_batch);
  const bool fixed_at_registration = plan.samples > 0 && !policy.samples;
  if (plan.samples <= 0 || policy.samples) {
    plan.samples = plan_samples(op * plan.batch, policy);
  }
  plan.min_samples = plan.samples;
  if (policy.max_noise && !policy.samples && !fixed_at_registration) {
    plan.samples = std::max(1, policy.max_samples);
    plan.min_samples = std::clamp(policy.min_samples, 1, plan.samples);
  }
}

std::optional<double> relative_noise(const std::vector<double>& times) {
  if (times.size() < 2) return std::nullopt;
  double sum = 0;
  for (double t : times) sum += t;
  const double mean = sum / static_cast<double>(times.size());
  if (!(mean > 0) || !std::isfinite(mean)) return std::nullopt;
  double squares = 0;
  for (double t : times) squares += (t - mean) * (t - mean);
  return std::sqrt(squares / static_cast<double>(times.size() - 1)) / mean;
}

bool stop_sampling(const std::vector<double>& times, int min_samples, int max_samples,
                   std::optional<double> max_noise) {
  const int n = static_cast<int>(times.size());
  if (n >= max_samples) return true;
  if (!max_noise || n < std::max(2, min_samples)) return false;
  const std::optional<double> noise = relative_noise(times);
  return noise && *noise <= *max_noise;
}

BenchmarkEstimate estimate_benchmark(const Plan& plan, const Constants& constants, int repetitions,
                                     std::string_view source) {
  if (plan.batch < 1 || plan.samples < 1 || repetitions < 1) {
    throw std::invalid_argument(plan.name + ": the plan is not resolved (batch " +
                                std::to_string(plan.batch) + ", samples " +
                                std::to_string(plan.samples) + ")");
  }
  BenchmarkEstimate e;
  if (plan.skips) {
    e.setup_s = kBenchmarkOverheadS;
    return e;
  }
  e.op_s = op_seconds(constants, plan, source);
  const auto sync = constants.latency_s.find("sync");
  const double sync_s = sync == constants.latency_s.end() ? 0 : sync->second.value;
  const double sample_overhead = kSampleOverheadS + kClockReadS + sync_s;
  // A device-timed batch is enqueued while the blocking kernel holds the stream: the host's
  // launches (λ[launch] each) come before the device time, not under it. A host-timed op's
  // prediction holds its launches already.
  const auto launch = constants.latency_s.find("launch");
  const double enqueue_s = plan.timing == Timing::kDevice && launch != constants.latency_s.end()
                               ? std::max(plan.work.kernels, 1.0) * launch->second.value
                               : 0;
  // A host-timed benchmark runs one more, untimed batch per repetition (its clock reading).
  const int batches = plan.samples + (plan.timing == Timing::kHost ? 1 : 0);
  e.timed_s = static_cast<double>(repetitions) * batches *
              (plan.batch * (e.op_s + enqueue_s) + sample_overhead);
  // One eager op and one held batch, each waited for.
  e.warmup_s = (1.0 + plan.batch) * (e.op_s + enqueue_s) + 2 * sample_overhead;
  e.setup_s = kBenchmarkOverheadS + plan.setup_s;
  if (plan.setup_bytes > 0) {
    if (!constants.hbm_bytes_per_s) {
      throw std::invalid_argument(std::string(source) + ": has no W (hbm_bytes_per_s), which " +
                                  plan.name + "'s set-up needs");
    }
    e.setup_s += plan.setup_bytes / constants.hbm_bytes_per_s->value;
  }
  if (!declares_nothing(plan.check_work)) {
    Plan check = plan;
    check.work = plan.check_work;
    check.priced_as.reset();
    check.labels["dtype"] = "fp32";  // references accumulate in fp32 or double
    e.setup_s += op_seconds(constants, check, source);
  }
  return e;
}

BenchmarkFilter::BenchmarkFilter(std::string spec) {
  if (spec.empty() || spec == "all") spec = ".";
  if (spec[0] == '-') {
    negative_ = true;
    spec.erase(0, 1);
  }
  try {
    re_ = std::regex(spec, std::regex::extended);
  } catch (const std::regex_error& e) {
    throw std::invalid_argument("--benchmark_filter='" + spec + "' is not a valid regular " +
                                "expression: " + e.what());
  }
}

bool BenchmarkFilter::selects(std::string_view full_name) const {
  const bool found = std::regex_search(full_name.begin(), full_name.end(), re_);
  return found != negative_;
}

NamedConstants load_constants(std::string_view name_or_file) {
  try {
    // A shipped name: its calibration's identified constants, the stated ones for the rest.
    if (std::optional<ShippedConstants> sc = shipped_constants(name_or_file)) {
      NamedConstants out = sc->calibration.source.empty() ? sc->stated_file : sc->calibration;
      out.model.constants = sc->constants;
      out.model.hardware = sc->hardware;
      if (!sc->calibration.source.empty()) out.source += " + " + sc->stated_file.source;
      return out;
    }
    const std::string path(name_or_file);
    if (path.empty()) {
      throw std::invalid_argument("--estimate needs h100, h200 or a model.json file");
    }
    NamedConstants out;
    out.source = path;
    out.doc = parse_json_input(read_input_file(path), path);
    out.model = model_from_json(out.doc, out.source);
    return out;
  } catch (const InputError& e) {
    throw std::invalid_argument(std::string(e.what()) +
                                " (--estimate takes h100, h200 or a model.json file)");
  }
}

std::string estimate_line(const Plan& plan, int repetitions, const BenchmarkEstimate& e) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "  samples %dx%d batch %d  op %.4g us  %.3f s", repetitions,
                plan.samples, plan.batch, e.op_s * 1e6, e.total_s());
  return plan.name + buf;
}

std::string estimate_total_line(std::size_t benchmarks, double seconds) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "estimate: %zu benchmarks, %.1f s", benchmarks, seconds);
  return buf;
}

}  // namespace batchcost
