// bench/launch: the latency component of the cost model: what a kernel launch, a graph node and
// a host synchronize cost, whatever the work. All timed as the host observes them (timing=host):
//
//   launch/null_kernel_back_to_back     1000 empty kernels, then one synchronize: launch throughput
//   launch/null_kernel_device           empty kernels back to back on the device (timing=device,
//                                       behind the blocking kernel): the device's fixed cost per
//                                       kernel, `kernels` (no host launch in the time)
//   launch/null_kernel_round_trip       launch + cudaStreamSynchronize, one at a time
//   launch/graph_replay/nodes:N         a CUDA graph of N empty kernels, replayed back to back
//   launch/cublas_gemm_16x16x16         the smallest cuBLAS GEMM, back to back
//   launch/event_record                 cudaEventRecord (informational: not modelled)
//   launch/sync_idle_stream             cudaStreamSynchronize with nothing queued (informational)
//
// The host-timed ones declare their events per operation (launches, graph_nodes, syncs), counting a batch's
// closing synchronize as 1/ops of a sync, so the fitter can separate the three latencies: the
// graph sweep over N gives the per-node cost, the round trip the sync. The two informational
// ones declare nothing: they are API call costs, not events of the model.
//
//   batchcost-launch --benchmark_out=results/<gpu>/launch.json
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "harness/gpu.h"
#include "kernels/kernels.h"

namespace batchcost {
namespace {

constexpr int kBackToBack = 1000;
constexpr int kRoundTrips = 100;

void sync_stream() { CUDA_CHECK(cudaStreamSynchronize(Gpu::get().stream())); }

void null_kernel_back_to_back(benchmark::State& state, const Plan& plan) {
  cudaStream_t s = Gpu::get().stream();
  measure_host(state, plan, [s](std::int64_t) { kernels::launch_null(s); }, sync_stream);
}

void null_kernel_device(benchmark::State& state, const Plan& plan) {
  measure_device(state, plan, [](cudaStream_t s, std::int64_t) { kernels::launch_null(s); });
}

void null_kernel_round_trip(benchmark::State& state, const Plan& plan) {
  cudaStream_t s = Gpu::get().stream();
  measure_host(
      state, plan,
      [s](std::int64_t) {
        kernels::launch_null(s);
        CUDA_CHECK(cudaStreamSynchronize(s));
      },
      [] {});
}

// A graph of `nodes` empty kernels in a chain, captured from the stream.
class NullGraph {
 public:
  NullGraph(int nodes, cudaStream_t s) {
    CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < nodes; ++i) kernels::launch_null(s);
    cudaGraph_t graph = nullptr;
    CUDA_CHECK(cudaStreamEndCapture(s, &graph));
    std::size_t count = 0;
    CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &count));
    cudaError_t e = cudaGraphInstantiate(&exec_, graph, 0);
    CUDA_CHECK_NOTHROW(cudaGraphDestroy(graph));
    CUDA_CHECK(e);
    nodes_ = static_cast<int>(count);
  }
  ~NullGraph() { CUDA_CHECK_NOTHROW(cudaGraphExecDestroy(exec_)); }
  NullGraph(const NullGraph&) = delete;
  NullGraph& operator=(const NullGraph&) = delete;
  cudaGraphExec_t exec() const { return exec_; }
  int nodes() const { return nodes_; }

 private:
  cudaGraphExec_t exec_ = nullptr;
  int nodes_ = 0;
};

void graph_replay(benchmark::State& state, const Plan& plan, int nodes) {
  cudaStream_t s = Gpu::get().stream();
  NullGraph graph(nodes, s);
  if (graph.nodes() != nodes) {
    return fail(state, "captured graph has " + std::to_string(graph.nodes()) + " nodes, expected " +
                           std::to_string(nodes));
  }
  // Google Benchmark calls this once per repetition, so every repetition instantiates a new
  // graph, and a new graph's first launch uploads it; measure_host warms up only a benchmark's
  // first repetition. Each repetition's graph is launched once, untimed, before its samples.
  CUDA_CHECK(cudaGraphLaunch(graph.exec(), s));
  sync_stream();
  measure_host(
      state, plan, [&](std::int64_t) { CUDA_CHECK(cudaGraphLaunch(graph.exec(), s)); }, sync_stream);
}

// bf16 bits of a small integer (exact: bf16 keeps 8 significant bits).
std::uint16_t bf16_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return static_cast<std::uint16_t>(u >> 16);
}

float bf16_value(std::uint16_t bits) {
  std::uint32_t u = static_cast<std::uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

void cublas_gemm_smallest(benchmark::State& state, const Plan& plan) {
  constexpr int n = 16;
  Gpu& g = Gpu::get();
  cudaStream_t s = g.stream();
  cublasHandle_t h = g.cublas();
  // A and B hold -1, 0, 1, so every C entry is an integer of magnitude <= 16: exact in bf16.
  std::vector<std::uint16_t> a(n * n), b(n * n), c(n * n);
  std::vector<float> af(n * n), bf(n * n);
  for (int i = 0; i < n * n; ++i) {
    af[i] = static_cast<float>(i % 3) - 1.0f;
    bf[i] = static_cast<float>((i * 7) % 3) - 1.0f;
    a[i] = bf16_bits(af[i]);
    b[i] = bf16_bits(bf[i]);
  }
  DeviceBuffer da(n * n * 2), db(n * n * 2), dc(n * n * 2);
  CUDA_CHECK(cudaMemcpyAsync(da.get(), a.data(), n * n * 2, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(db.get(), b.data(), n * n * 2, cudaMemcpyHostToDevice, s));
  const float alpha = 1, beta = 0;
  auto gemm = [&] {
    CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, da.get(), CUDA_R_16BF, n,
                              db.get(), CUDA_R_16BF, n, &beta, dc.get(), CUDA_R_16BF, n,
                              CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  };
  std::string verdict = check_once("cublas_gemm_16", [&] {
    gemm();
    CUDA_CHECK(cudaMemcpyAsync(c.data(), dc.get(), n * n * 2, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    int wrong = 0;
    for (int col = 0; col < n; ++col) {
      for (int row = 0; row < n; ++row) {  // column-major, as cuBLAS
        float ref = 0;
        for (int k = 0; k < n; ++k) ref += af[row + k * n] * bf[k + col * n];
        wrong += bf16_value(c[row + col * n]) != ref;
      }
    }
    return wrong == 0 ? std::string()
                      : "cuBLAS 16x16x16 bf16 GEMM: " + std::to_string(wrong) + " of 256 wrong";
  });
  if (!verdict.empty()) return fail(state, verdict);
  measure_host(state, plan, [&](std::int64_t) { gemm(); }, sync_stream);
}

void event_record(benchmark::State& state, const Plan& plan) {
  cudaStream_t s = Gpu::get().stream();
  cudaEvent_t ev = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  try {
    measure_host(
        state, plan, [&](std::int64_t) { CUDA_CHECK(cudaEventRecord(ev, s)); }, sync_stream);
  } catch (...) {
    CUDA_CHECK_NOTHROW(cudaEventDestroy(ev));
    throw;
  }
  CUDA_CHECK_NOTHROW(cudaEventDestroy(ev));
}

void sync_idle_stream(benchmark::State& state, const Plan& plan) {
  sync_stream();
  measure_host(state, plan, [](std::int64_t) { sync_stream(); }, [] {});
}

Plan host_plan(int batch, Work work) {
  return Plan{.work = work, .timing = Timing::kHost, .batch = batch};
}

void register_launch(const Options&) {
  const double b2b = kBackToBack;
  add("launch/null_kernel_back_to_back",
      host_plan(kBackToBack, Work{.launches = 1, .syncs = 1 / b2b}), null_kernel_back_to_back);
  add("launch/null_kernel_device", Plan{.work = Work{.kernels = 1}}, null_kernel_device);
  add("launch/null_kernel_round_trip", host_plan(kRoundTrips, Work{.launches = 1, .syncs = 1}),
      null_kernel_round_trip);
  for (int nodes : {1, 10, 100, 1000}) {
    // Enough replays per sample that the closing synchronize is a small part of it.
    const int ops = std::max(10, 10000 / nodes);
    Plan plan = host_plan(ops, Work{.launches = 1,
                                    .graph_nodes = static_cast<double>(nodes),
                                    .syncs = 1.0 / ops});
    plan.setup_s = 20e-6 * nodes;  // capture and instantiate
    add("launch/graph_replay/nodes:" + std::to_string(nodes), plan,
        [nodes](benchmark::State& st, const Plan& p) { graph_replay(st, p, nodes); });
  }
  // One kernel per call for this shape (no split-K at 16x16x16), so launches = 1.
  constexpr double n = 16;
  Plan gemm = host_plan(kBackToBack, Work{.flops = 2 * n * n * n,
                                          .bytes = 3 * n * n * 2,
                                          .launches = 1,
                                          .syncs = 1 / b2b});
  gemm.labels = {{"dtype", "bf16"}};
  add("launch/cublas_gemm_16x16x16", gemm, cublas_gemm_smallest);
  // Informational: they declare no work; the estimate prices them as a launch and a sync.
  Plan event = host_plan(kBackToBack, Work{});
  event.priced_as = Work{.launches = 1};
  add("launch/event_record", event, event_record);
  Plan idle = host_plan(kBackToBack, Work{});
  idle.priced_as = Work{.syncs = 1};
  add("launch/sync_idle_stream", idle, sync_idle_stream);
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  return batchcost::run_gpu_main(argc, argv, "batchcost-launch", batchcost::register_launch);
}
