// A tiny benchmark binary that runs through the real harness (run_main: flags, counters, labels,
// context, the atomic JSON output) without a GPU: its "device" is a fixed context and its times
// are fixed. golden_test.cc runs it and compares its JSON with tests/data/golden/.
#include <stdexcept>

#include "harness/harness.h"

namespace batchcost {
namespace {

// 1 ns per byte: a rate of exactly 1e9 B/s per declared byte.
void fixed(benchmark::State& state, const Plan& plan, double bytes) {
  const double seconds = bytes * 1e-9;
  run_samples(state, plan, [&](int) { return seconds; });
  record(state, plan.work, {{"cache", "cold"}, {"timing", "device"}, {"dtype", "fp32"}}, seconds,
         {{"ops_per_sample", plan.batch}, {"sm_clock_mhz", 0}});
}

// A counter that is 0 in every repetition, set past record() (which leaves zeros out): Google
// Benchmark 1.7 writes NaN for its cv, which the harness must turn into valid JSON.
void zero_counter(benchmark::State& state, const Plan& plan) {
  run_samples(state, plan, [](int k) { return 2e-6 + 1e-8 * k; });
  record(state, plan.work, {{"timing", "device"}}, 2e-6);
  state.counters["always_zero"] = 0;
}

void failing_check(benchmark::State& state, const Plan& plan) {
  std::string verdict = check_once("demo/failing", [] { return std::string("7 of 64 bytes differ"); });
  if (!verdict.empty()) return fail(state, verdict);
  run_samples(state, plan, [](int) { return 1e-6; });
}

// A sample that fails in the middle of a repetition (a time-out the retry did not cure) fails
// that benchmark alone; a zero time is not a time.
void fails_mid_run(benchmark::State& state, const Plan& plan) {
  run_samples(state, plan, [&](int k) -> std::optional<double> {
    if (k < 2) return 1e-6;
    fail(state, "the blocking kernel timed out twice");
    return std::nullopt;
  });
}

void zero_time(benchmark::State& state, const Plan& plan) {
  run_samples(state, plan, [](int) { return 0.0; });
}

void too_big(benchmark::State&, const Plan&) {
  throw OutOfDeviceMemory("demo buffer needs 8 GiB, 1 GiB free");
}

void throws(benchmark::State&, const Plan&) {
  throw std::runtime_error("CUDA error cudaErrorIllegalAddress");
}

void register_demo(const Options&) {
  for (double bytes : {4096.0, 1048576.0}) {
    add("demo/fixed/bytes:" + std::to_string(static_cast<long>(bytes)),
        Plan{.work = Work{.flops = 2 * bytes, .bytes = bytes, .kernels = 1},
             .labels = {{"dtype", "fp32"}},
             .setup_bytes = bytes},
        [bytes](benchmark::State& st, const Plan& p) { fixed(st, p, bytes); });
  }
  const Plan small{.work = Work{.bytes = 4096, .kernels = 1}};
  add("demo/zero_counter", small, zero_counter);
  add("demo/failing_check", small, failing_check);
  add("demo/too_big", small, too_big);
  add("demo/fails_mid_run", small, fails_mid_run);
  add("demo/zero_time", small, zero_time);
  add("demo/throws", small, throws);
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  batchcost::MainSpec spec;
  spec.program = "golden_bench";
  spec.register_benchmarks = batchcost::register_demo;
  spec.start = [](const batchcost::Options& o) {
    return nlohmann::json{{"gpu_name", "Demo GPU"}, {"sm_count", 4}, {"l2_bytes", 1 << 20},
                          {"batchcost_profile", o.quick ? "quick" : "default"}};
  };
  spec.finish = [] {
    return nlohmann::json{{"sm_clock_mhz_end", 1000}, {"warnings", nlohmann::json::array()}};
  };
  return batchcost::run_main(argc, argv, spec);
}
