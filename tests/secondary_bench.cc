// A benchmark binary as an MPI rank other than 0 runs it (MainSpec::primary = false), without MPI
// or a GPU: it runs its benchmarks, one of which fails its check, but must print nothing and
// write no results file; its exit status is still 1. expect_silent.sh runs it.
#include "harness/harness.h"

namespace batchcost {
namespace {

void fixed(benchmark::State& state, const Plan& plan) {
  run_samples(state, plan, [](int) { return 1e-6; });
  record(state, plan.work, {{"timing", "device"}}, 1e-6);
}

void failing_check(benchmark::State& state, const Plan& plan) {
  std::string verdict = check_once("secondary/failing", [] { return std::string("3 wrong"); });
  if (!verdict.empty()) return fail(state, verdict);
  run_samples(state, plan, [](int) { return 1e-6; });
}

void register_secondary(const Options&) {
  add("secondary/fixed", Plan{.work = Work{.bytes = 1000, .kernels = 1}}, fixed);
  add("secondary/failing_check", Plan{.work = Work{.bytes = 1000, .kernels = 1}}, failing_check);
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  batchcost::MainSpec spec;
  spec.program = "secondary_bench";
  spec.register_benchmarks = batchcost::register_secondary;
  spec.start = [](const batchcost::Options&) { return nlohmann::json{{"gpu_name", "Demo GPU"}}; };
  spec.finish = [] {
    return nlohmann::json{{"warnings", nlohmann::json::array({"a warning only rank 0 prints"})}};
  };
  spec.primary = false;
  return batchcost::run_main(argc, argv, spec);
}
