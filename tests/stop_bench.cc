// A benchmark binary without a GPU that takes wall time, for stopping a run through the real
// harness (run_main, run_samples, the results writer): SIGTERM, SIGINT, SIGHUP, --deadline and
// SIGKILL after a checkpoint. Copy-like benchmarks over sizes (memory/copy/bytes:N, declared
// work 2N bytes and one kernel, a fake device time of 3 µs + 2N / 3 TB/s), so that `batchcost
// fit` can fit what a stopped run leaves. Each sample sleeps STOP_BENCH_SAMPLE_MS (default 20)
// of wall time. tests/stop_test.sh runs it.
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "harness/harness.h"

namespace batchcost {
namespace {

int sample_ms() {
  const char* v = std::getenv("STOP_BENCH_SAMPLE_MS");
  return v != nullptr && *v != '\0' ? std::atoi(v) : 20;
}

void register_copies(const Options&) {
  for (std::int64_t n = 4096; n <= (std::int64_t{1} << 30); n *= 4) {
    const Plan plan{.work = Work{.bytes = 2.0 * static_cast<double>(n), .kernels = 1},
                    .labels = {{"cache", "cold"}},
                    .samples = 3};
    add("memory/copy/bytes:" + std::to_string(n), plan, [](benchmark::State& st, const Plan& p) {
      const double t = 3e-6 + p.work.bytes / 3e12;
      const double mean = run_samples(st, p, [&](int) -> std::optional<double> {
        std::this_thread::sleep_for(std::chrono::milliseconds(sample_ms()));
        return t;
      });
      if (!(mean > 0)) return;
      record(st, p.work, {{"cache", "cold"}, {"timing", "device"}}, mean);
    });
  }
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  batchcost::MainSpec spec;
  spec.program = "stop_bench";
  spec.per_gpu = true;
  spec.register_benchmarks = batchcost::register_copies;
  spec.start = [](const batchcost::Options&) {
    return nlohmann::json{{"gpu_name", "Demo GPU"}, {"gpu_uuid", "GPU-stop-bench"}};
  };
  return batchcost::run_main(argc, argv, spec);
}
