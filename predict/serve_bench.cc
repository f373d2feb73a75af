// How fast `batchcost serve` simulates: 10^6 requests of Llama-3-70B on 8 GPUs (stated H100-like
// constants of tests/data/predict/) per policy, and on 64 GPUs (eight data-parallel groups, each a
// scheduler of its own) at eight times the load, one core. The goal is under 10 s each.
//
//   build/tools/batchcost-serve-bench [--benchmark_out=serve_bench.json]
//   BATCHCOST_SERVE_BENCH_REQUESTS=20000 (a smaller run, as the ctest does)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/model_file.h"
#include "predict/serve.h"
#include "predict/serve_costs.h"

namespace {

batchcost::StepCosts llama70b_costs(int gpus) {
  std::string path = std::string(BATCHCOST_SOURCE_DIR) + "/tests/data/predict/h100_stated.json";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  batchcost::Constants c =
      batchcost::model_from_json(nlohmann::json::parse(text.str()), path).constants;
  batchcost::PredictOptions o;
  o.deployment.tp = 8;
  o.deployment.gpus = gpus;
  batchcost::ServeCostOptions so;
  so.gpu_memory_bytes = 80e9;
  so.max_context = 4096;
  return batchcost::step_costs(
      batchcost::tabulate_serve_costs(c, batchcost::load_llm_config("llama-3-70b"), o, so));
}

std::int64_t requests() {
  const char* n = std::getenv("BATCHCOST_SERVE_BENCH_REQUESTS");
  return n ? std::atoll(n) : 1000000;
}

void serve(benchmark::State& state, const char* policy, int gpus) {
  batchcost::StepCosts costs = llama70b_costs(gpus);
  batchcost::Policy p = batchcost::parse_policy(policy);
  const std::int64_t n = requests();
  // 24 requests/s per 8 GPUs: near the deployment's saturation, so the running batch is large.
  auto req = batchcost::poisson_requests(24.0 * gpus / 8, n, batchcost::LengthDist{1024, 512},
                                         batchcost::LengthDist{256, 128}, 1);
  batchcost::ServeResult r;
  for (auto _ : state) {
    r = batchcost::simulate(costs, p, req);
    benchmark::DoNotOptimize(r);
  }
  state.counters["requests"] = static_cast<double>(r.requests);
  state.counters["steps"] = static_cast<double>(r.steps);
  state.counters["mean_batch"] = r.mean_batch;
  state.counters["requests_per_s"] =
      benchmark::Counter(static_cast<double>(r.requests), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(serve, continuous, "continuous", 8)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK_CAPTURE(serve, window_0_05, "window:0.05", 8)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK_CAPTURE(serve, continuous_dp8, "continuous", 64)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK_MAIN();
