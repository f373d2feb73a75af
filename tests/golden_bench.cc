// A tiny benchmark binary that runs through the real harness (run_main: flags, counters, labels,
// context, the atomic JSON output) without a GPU: its "device" is a fixed context and its times
// are fixed. golden_test.cc runs it and compares its JSON with tests/data/golden/.
#include <stdexcept>

#include "bench/harness.h"

namespace batchcost {
namespace {

// 1 ns per byte: a rate of exactly 1e9 B/s per declared byte.
void fixed(benchmark::State& state) {
  const double bytes = static_cast<double>(state.range(0));
  const double seconds = bytes * 1e-9;
  for (auto _ : state) state.SetIterationTime(seconds);
  record(state, Work{.flops = 2 * bytes, .bytes = bytes, .launches = 1},
         {{"cache", "cold"}, {"timing", "device"}, {"dtype", "fp32"}}, seconds,
         {{"ops_per_sample", 4}});
}

void failing_check(benchmark::State& state) {
  std::string verdict = check_once("demo/failing", [] { return std::string("7 of 64 bytes differ"); });
  if (!verdict.empty()) return fail(state, verdict);
  for (auto _ : state) state.SetIterationTime(1e-6);
}

void too_big(benchmark::State&) { throw OutOfDeviceMemory("demo buffer needs 8 GiB, 1 GiB free"); }

void throws(benchmark::State&) { throw std::runtime_error("CUDA error cudaErrorIllegalAddress"); }

void register_demo(const Options&) {
  add("demo/fixed", fixed)->ArgName("bytes")->Arg(4096)->Arg(1 << 20);
  add("demo/failing_check", failing_check);
  add("demo/too_big", too_big);
  add("demo/throws", throws);
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
