// A per-GPU benchmark binary without a GPU, for NVBench's habits through the real harness
// (run_main, run_samples): a fake device count and a slow device for --devices, steady and
// noisy sample times for --max-noise, and a fake throttle probe for --throttle-*. Set by the
// environment, so that the parent of --devices passes them to the runs it starts:
//   SAMPLING_BENCH_DEVICES=N       N devices (unset: no GPU, start() throws NoDevice)
//   SAMPLING_BENCH_SLOW_DEVICE=D   device D's times are 1.25 times the others'
//   SAMPLING_BENCH_THROTTLED=N     the first N probes of a run read a throttled clock
// sampling_test.cc runs it.
#include <cstdlib>
#include <string>

#include "harness/harness.h"

namespace batchcost {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

int device_count() {
  const int n = env_int("SAMPLING_BENCH_DEVICES", 0);
  if (n <= 0) throw NoDevice("the demo has no device (SAMPLING_BENCH_DEVICES is not set)");
  return n;
}

double g_speed = 1;  // the measured device's time factor

void measure(benchmark::State& state, const Plan& plan, const std::function<double(int)>& t) {
  SampleStats stats;
  const double mean = run_samples(
      state, plan, [&](int k) { return t(k) * g_speed; }, &stats);
  if (!(mean > 0)) return;
  record(state, plan.work, {{"timing", "device"}}, mean, sampling_counters(stats));
}

void register_sampling(const Options& opts) {
  g_speed = opts.device == env_int("SAMPLING_BENCH_SLOW_DEVICE", -1) ? 1.25 : 1.0;
  const Plan plan{.work = Work{.bytes = 4096, .kernels = 1}};
  // Steady: 0.1 % apart, a noise of about 0.05 %.
  add("demo/steady", plan, [](benchmark::State& st, const Plan& p) {
    measure(st, p, [](int k) { return k % 2 == 0 ? 1e-6 : 1.001e-6; });
  });
  // Noisy: 1 and 3 µs by turns, a noise of about 50 %.
  add("demo/noisy", plan, [](benchmark::State& st, const Plan& p) {
    measure(st, p, [](int k) { return k % 2 == 0 ? 1e-6 : 3e-6; });
  });
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  batchcost::MainSpec spec;
  spec.program = "sampling_bench";
  spec.per_gpu = true;
  spec.register_benchmarks = batchcost::register_sampling;
  spec.device_count = batchcost::device_count;
  spec.start = [](const batchcost::Options& o) {
    const int n = batchcost::device_count();
    if (o.device >= n) {
      throw batchcost::NoDevice("--device=" + std::to_string(o.device) + " but only " +
                                std::to_string(n) + " device(s) are visible");
    }
    return nlohmann::json{{"gpu_name", "Demo GPU"}, {"device", o.device}};
  };
  spec.finish = [] { return nlohmann::json{{"warnings", nlohmann::json::array()}}; };
  spec.throttle_probe = []() -> std::optional<batchcost::ThrottleProbe> {
    static int probes = 0;
    const bool throttled = probes++ < batchcost::env_int("SAMPLING_BENCH_THROTTLED", 0);
    return batchcost::ThrottleProbe{throttled ? 600.0 : 1000.0, 0, 1000};
  };
  return batchcost::run_main(argc, argv, spec);
}
