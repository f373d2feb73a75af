// The GPU strategies of one MoE layer's expert FFN (core/moe_work.h names them and declares their
// work): each turns the same grouped tokens and the same per-expert weights into the gate+up
// output Y1 and the down output Y2 through a different way of dispatching cuBLAS GEMMs.
//
// Layout (row-major; weights [out, in] as inference engines store them, see
// kernels/gemm_reference.h for how that maps onto column-major cuBLAS, transa = T, transb = N):
//   w1  [E][2I][H]  expert e's gate+up weights, [N = 2I, K = H]
//   w2  [E][H][I]   expert e's down weights,    [N = H,  K = I]
//   x   [B·k][H]    the tokens grouped by expert: rows [offsets[e], offsets[e+1]) are expert e's
//   y1  [B·k][2I]   gate+up output
//   y2  [B·k][H]    down output; the down projection reads the first I columns of y1 (its gate
//                   half, leading dimension 2I): the SwiGLU is not run (core/moe_work.h)
// dense_equivalent has its own weights, w1 [2kI][H] and w2 [H][kI], over B token rows.
//
// A runner is built once per (layer, routing) outside timing (pointer arrays uploaded, graph
// captured, padded input gathered) and run() enqueues one layer on its stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/gemm_reference.h"
#include "core/moe_work.h"

namespace batchcost {

// Device pointers of one layer (expert strategies) at one batch.
struct MoeLayer {
  MoeConfig config;
  GemmDtype dtype = GemmDtype::bf16;  // bf16 or fp16 (fp32 accumulation)
  const void* w1 = nullptr;
  const void* w2 = nullptr;
  const void* x = nullptr;
  void* y1 = nullptr;
  void* y2 = nullptr;
  std::vector<std::int64_t> counts;   // size E, on the host
  std::vector<std::int64_t> offsets;  // size E + 1
};

// Device pointers of dense_equivalent at one batch of `tokens` rows.
struct DenseLayer {
  MoeConfig config;
  GemmDtype dtype = GemmDtype::bf16;
  std::int64_t tokens = 0;
  const void* w1 = nullptr;  // [2kI][H]
  const void* w2 = nullptr;  // [H][kI]
  const void* x = nullptr;   // [B][H]
  void* y1 = nullptr;        // [B][2kI]
  void* y2 = nullptr;        // [B][H]
};

// Thrown where a strategy cannot run with the installed library (lt_grouped without a cuBLASLt
// grouped GEMM): the benchmark reports a skip with the message.
struct StrategyUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Why `strategy` cannot run with the cuBLAS this was built against, or nothing. lt_grouped: the
// cuBLASLt of CUDA 13.0 (cuBLAS 13.1) has no grouped GEMM — cublasLt.h batches one shape per
// call only (CUBLASLT_BATCH_MODE_STRIDED or _POINTER_ARRAY); grouped: cuBLAS < 12.5. Decided
// from the headers, without a GPU: batchcost-moe registers no benchmark of such a strategy (and
// names it in the run's context, "not_registered").
std::optional<std::string> strategy_unavailable(MoeStrategy strategy);

// One projection of a runner as the check sees it: the GEMM and its sampled rows.
struct CheckedProjection {
  std::string name;  // "gate_up" or "down"
  CheckedGemm gemm;
  std::vector<SampledRow> rows;
};

class MoeRunner {
 public:
  virtual ~MoeRunner() = default;
  // Enqueues one layer on the runner's stream.
  virtual void run() = 0;
  // Fills every output the runner writes with NaN, so that a row it fails to write fails the
  // check.
  virtual void poison_outputs() = 0;
  // Both projections with up to `max_rows` sampled output rows each.
  virtual std::vector<CheckedProjection> projections(std::int64_t max_rows) const = 0;
  // Nodes of the captured graph (per_expert_graph: a kernel per GEMM, and any node cuBLAS adds
  // to one, a split-K reduction or a memset), 0 otherwise.
  virtual std::int64_t graph_nodes() const { return 0; }
};

// A runner for an expert strategy (not dense_equivalent) on `stream`; `handle` must be bound to
// `stream` (cublasSetStream) and is used by run(). Throws StrategyUnavailable (lt_grouped),
// OutOfDeviceMemory (padded buffers), std::invalid_argument (a bad layer).
std::unique_ptr<MoeRunner> make_expert_runner(MoeStrategy strategy, const MoeLayer& layer,
                                              cublasHandle_t handle, cudaStream_t stream);
std::unique_ptr<MoeRunner> make_dense_runner(const DenseLayer& layer, cublasHandle_t handle,
                                             cudaStream_t stream);

// The `grouped` strategy as an engine must run it when the router ran on the GPU: copy the E
// int32 counts device → host (pinned), wait, build the per-group shapes from them, and dispatch.
// The device pointer arrays were built from the same counts when the runner was made (in an
// engine a small kernel would write them from the offsets on the device, no host round trip).
class GroupedFromDeviceCounts {
 public:
  GroupedFromDeviceCounts(const MoeLayer& layer, cublasHandle_t handle, cudaStream_t stream);
  ~GroupedFromDeviceCounts();
  GroupedFromDeviceCounts(const GroupedFromDeviceCounts&) = delete;
  GroupedFromDeviceCounts& operator=(const GroupedFromDeviceCounts&) = delete;
  void run();  // D2H copy, cudaStreamSynchronize, two grouped GEMMs
  MoeRunner& runner() { return *runner_; }

 private:
  std::unique_ptr<MoeRunner> runner_;
  cudaStream_t stream_ = nullptr;
  std::int32_t* device_counts_ = nullptr;
  std::int32_t* host_counts_ = nullptr;  // pinned
  int experts_ = 0;
};

// Poisons, runs once, and compares every projection with the reference (sampled rows, double
// accumulation) against gemm_tolerance(dtype). Returns "" on a pass, else what differs.
std::string check_runner(MoeRunner& runner, GemmDtype dtype, std::int64_t max_rows,
                         cudaStream_t stream);

}  // namespace batchcost
