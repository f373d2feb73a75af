// bench/launch: the latency component of the cost model: what a kernel launch, a graph node and
// a host synchronize cost, whatever the work. All timed as the host observes them (timing=host):
//
//   launch/null_kernel_back_to_back     1000 empty kernels, then one synchronize: launch throughput
//   launch/null_kernel_round_trip       launch + cudaStreamSynchronize, one at a time
//   launch/graph_replay/nodes:N         a CUDA graph of N empty kernels, replayed back to back
//   launch/cublas_gemm_16x16x16         the smallest cuBLAS GEMM, back to back
//   launch/event_record                 cudaEventRecord (informational: not modelled)
//   launch/sync_idle_stream             cudaStreamSynchronize with nothing queued (informational)
//
// Each declares its events per operation (launches, graph_nodes, syncs), counting a batch's
// closing synchronize as 1/ops of a sync, so the fitter can separate the three latencies: the
// graph sweep over N gives the per-node cost, the round trip the sync. The two informational
// ones declare nothing: they are API call costs, not events of the model.
//
//   batchcost-launch --benchmark_out=results/<gpu>/launch.json
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bench/check.h"
#include "bench/gpu.h"
#include "kernels/kernels.h"

namespace batchcost {
namespace {

constexpr int kBackToBack = 1000;
constexpr int kRoundTrips = 100;

void sync_stream() { CUDA_CHECK(cudaStreamSynchronize(Gpu::get().stream())); }

void null_kernel_back_to_back(benchmark::State& state) {
  cudaStream_t s = Gpu::get().stream();
  measure_host(
      state, [s](std::int64_t) { kernels::launch_null(s); }, kBackToBack, sync_stream,
      Work{.launches = 1, .syncs = 1.0 / kBackToBack}, {});
}

void null_kernel_round_trip(benchmark::State& state) {
  cudaStream_t s = Gpu::get().stream();
  measure_host(
      state,
      [s](std::int64_t) {
        kernels::launch_null(s);
        CUDA_CHECK(cudaStreamSynchronize(s));
      },
      kRoundTrips, [] {}, Work{.launches = 1, .syncs = 1}, {});
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

void graph_replay(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  cudaStream_t s = Gpu::get().stream();
  NullGraph graph(nodes, s);
  if (graph.nodes() != nodes) {
    return fail(state, "captured graph has " + std::to_string(graph.nodes()) + " nodes, expected " +
                           std::to_string(nodes));
  }
  // Enough replays per sample that the closing synchronize is a small part of it.
  const int ops = std::max(10, 10000 / nodes);
  measure_host(
      state, [&](std::int64_t) { CUDA_CHECK(cudaGraphLaunch(graph.exec(), s)); }, ops, sync_stream,
      Work{.launches = 1, .graph_nodes = static_cast<double>(nodes), .syncs = 1.0 / ops}, {});
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

void cublas_gemm_smallest(benchmark::State& state) {
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
  // One kernel per call for this shape (no split-K at 16x16x16), so launches = 1.
  measure_host(
      state, [&](std::int64_t) { gemm(); }, kBackToBack, sync_stream,
      Work{.flops = 2.0 * n * n * n, .bytes = 3.0 * n * n * 2, .launches = 1,
           .syncs = 1.0 / kBackToBack},
      {{"dtype", "bf16"}});
}

void event_record(benchmark::State& state) {
  cudaStream_t s = Gpu::get().stream();
  cudaEvent_t ev = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  measure_host(
      state, [&](std::int64_t) { CUDA_CHECK(cudaEventRecord(ev, s)); }, kBackToBack, sync_stream,
      Work{}, {});
  CUDA_CHECK_NOTHROW(cudaEventDestroy(ev));
}

void sync_idle_stream(benchmark::State& state) {
  sync_stream();
  measure_host(state, [](std::int64_t) { sync_stream(); }, kBackToBack, [] {}, Work{}, {});
}

void register_launch(const Options&) {
  add("launch/null_kernel_back_to_back", null_kernel_back_to_back);
  add("launch/null_kernel_round_trip", null_kernel_round_trip);
  add("launch/graph_replay", graph_replay)->ArgName("nodes")->Arg(1)->Arg(10)->Arg(100)->Arg(1000);
  add("launch/cublas_gemm_16x16x16", cublas_gemm_smallest);
  add("launch/event_record", event_record);
  add("launch/sync_idle_stream", sync_idle_stream);
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  return batchcost::run_gpu_main(argc, argv, "batchcost-launch", batchcost::register_launch);
}
