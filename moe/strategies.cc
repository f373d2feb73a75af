// The GPU strategies of an MoE layer's expert FFN: see strategies.h.
#include "moe/strategies.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "kernels/check.h"
#include "harness/gpu.h"

namespace batchcost {
namespace {

const float kOne = 1.0f;
const float kZero = 0.0f;

int as_int(std::int64_t v, const char* what) {
  if (v < 0 || v > std::numeric_limits<int>::max()) {
    throw std::invalid_argument(std::string(what) + " = " + std::to_string(v) +
                                " does not fit a cuBLAS int");
  }
  return static_cast<int>(v);
}

cudaDataType_t moe_type(GemmDtype dtype) {
  if (dtype != GemmDtype::bf16 && dtype != GemmDtype::fp16) {
    throw std::invalid_argument("MoE strategies run bf16 or fp16, not " +
                                std::string(dtype_label(dtype)));
  }
  return input_type(dtype);
}

const void* at(const void* base, std::int64_t elements, int elem_bytes) {
  return static_cast<const char*>(base) + elements * elem_bytes;
}
void* at(void* base, std::int64_t elements, int elem_bytes) {
  return static_cast<char*>(base) + elements * elem_bytes;
}

void check_layer(const MoeLayer& l) {
  check_moe_config(l.config);
  const auto e = static_cast<std::size_t>(l.config.experts);
  if (l.counts.size() != e || l.offsets.size() != e + 1 || l.offsets[0] != 0) {
    throw std::invalid_argument("MoeLayer: counts/offsets do not match " + l.config.name);
  }
  for (std::size_t i = 0; i < e; ++i) {
    if (l.counts[i] < 0 || l.offsets[i + 1] != l.offsets[i] + l.counts[i]) {
      throw std::invalid_argument("MoeLayer: offsets are not the prefix sums of the counts");
    }
  }
}

// Y = X · Wᵀ, row-major (see gemm_reference.h): cuBLAS computes Yᵀ[N, M] = op_T(W)[N, K] ·
// Xᵀ[K, M] with W as the column-major K×N matrix of leading dimension ldw.
void gemm_tn(cublasHandle_t h, cudaDataType_t type, std::int64_t m, std::int64_t n, std::int64_t k,
             const void* w, std::int64_t ldw, const void* x, std::int64_t ldx, void* y,
             std::int64_t ldy) {
  CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, as_int(n, "N"), as_int(m, "M"),
                            as_int(k, "K"), &kOne, w, type, as_int(ldw, "ldw"), x, type,
                            as_int(ldx, "ldx"), &kZero, y, type, as_int(ldy, "ldy"),
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void poison(void* p, std::size_t bytes, cudaStream_t s) {
  // 0xFF bytes are NaN in bf16 and fp16.
  if (bytes > 0) CUDA_CHECK(cudaMemsetAsync(p, 0xFF, bytes, s));
}

// The shared base of the expert strategies: the layer, and the check's view of it where each
// grouped position p lives in row row_of(p) of y1 and y2.
class ExpertRunner : public MoeRunner {
 public:
  ExpertRunner(const MoeLayer& layer, cublasHandle_t h, cudaStream_t s)
      : l_(layer), h_(h), s_(s), type_(moe_type(layer.dtype)), eb_(type_bytes(type_)) {
    check_layer(l_);
  }

  void poison_outputs() override {
    const auto rows = static_cast<std::size_t>(l_.offsets.back());
    poison(y1(), rows * static_cast<std::size_t>(2 * l_.config.intermediate * eb_), s_);
    poison(y2(), rows * static_cast<std::size_t>(l_.config.hidden * eb_), s_);
  }

  std::vector<CheckedProjection> projections(std::int64_t max_rows) const override {
    const std::int64_t H = l_.config.hidden, I = l_.config.intermediate;
    CheckedProjection up{
        "gate_up", {l_.x, type_, H, l_.w1, type_, H, y1(), type_, 2 * I, 2 * I, H}, {}};
    CheckedProjection down{"down", {y1(), type_, 2 * I, l_.w2, type_, I, y2(), type_, H, H, I}, {}};
    for (std::int64_t p : sample_rows(l_.offsets.back(), max_rows)) {
      const auto e = static_cast<std::int64_t>(
          std::upper_bound(l_.offsets.begin(), l_.offsets.end(), p) - l_.offsets.begin() - 1);
      const std::int64_t r = row_of(p, e);
      up.rows.push_back({p, e * 2 * I * H, r});
      down.rows.push_back({r, e * H * I, r});
    }
    return {up, down};
  }

 protected:
  virtual void* y1() const { return l_.y1; }
  virtual void* y2() const { return l_.y2; }
  virtual std::int64_t row_of(std::int64_t p, std::int64_t /*expert*/) const { return p; }

  // The two GEMMs of expert e, from the grouped buffers.
  void expert_gemms(int e) const {
    const std::int64_t H = l_.config.hidden, I = l_.config.intermediate;
    const std::int64_t c = l_.counts[static_cast<std::size_t>(e)];
    const std::int64_t off = l_.offsets[static_cast<std::size_t>(e)];
    gemm_tn(h_, type_, c, 2 * I, H, at(l_.w1, e * 2 * I * H, eb_), H, at(l_.x, off * H, eb_), H,
            at(l_.y1, off * 2 * I, eb_), 2 * I);
    gemm_tn(h_, type_, c, H, I, at(l_.w2, e * H * I, eb_), I, at(l_.y1, off * 2 * I, eb_), 2 * I,
            at(l_.y2, off * H, eb_), H);
  }

  MoeLayer l_;
  cublasHandle_t h_;
  cudaStream_t s_;
  cudaDataType_t type_;
  int eb_;  // bytes per element
};

class PerExpertLoop : public ExpertRunner {
 public:
  using ExpertRunner::ExpertRunner;
  void run() override {
    for (int e = 0; e < l_.config.experts; ++e) {
      if (l_.counts[static_cast<std::size_t>(e)] > 0) expert_gemms(e);
    }
  }
};

// The loop captured once; the shapes are frozen in the graph, so a different routing needs a
// new capture (the benchmark captures once per (config, B, routing)).
class PerExpertGraph : public ExpertRunner {
 public:
  PerExpertGraph(const MoeLayer& layer, cublasHandle_t h, cudaStream_t s)
      : ExpertRunner(layer, h, s), workspace_(kCaptureWorkspaceBytes) {
    // NOTES: cuBLAS calls are capturable on a stream in global/thread-local capture mode, but
    // without a user workspace cuBLAS captures its workspace as stream-ordered allocations:
    // memory alloc and free nodes around the GEMMs, which an engine's graph does not have (the
    // cuBLAS guide, "CUDA Graphs Support", says to set one). So the capture uses this runner's
    // own workspace, which its graph keeps using at every replay (replays run on one stream, and
    // nothing else uses it); cublasSetStream then puts the handle back on its default workspace.
    CUBLAS_CHECK(cublasSetWorkspace(h_, workspace_.get(), workspace_.bytes()));
    // Every shape runs once eagerly first: cuBLAS's first call of a shape may choose and load a
    // kernel (lazy module loading), which must not happen inside a capture.
    try {
      for (int e = 0; e < l_.config.experts; ++e) {
        if (l_.counts[static_cast<std::size_t>(e)] > 0) expert_gemms(e);
      }
      CUDA_CHECK(cudaStreamSynchronize(s_));
    } catch (...) {
      CUBLAS_CHECK_NOTHROW(cublasSetStream(h_, s_));
      throw;
    }
    CUDA_CHECK(cudaStreamBeginCapture(s_, cudaStreamCaptureModeThreadLocal));
    try {
      for (int e = 0; e < l_.config.experts; ++e) {
        if (l_.counts[static_cast<std::size_t>(e)] > 0) expert_gemms(e);
      }
    } catch (...) {
      cudaGraph_t broken = nullptr;
      (void)cudaStreamEndCapture(s_, &broken);
      if (broken != nullptr) (void)cudaGraphDestroy(broken);
      CUBLAS_CHECK_NOTHROW(cublasSetStream(h_, s_));
      throw;
    }
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(s_, &graph);
    CUBLAS_CHECK(cublasSetStream(h_, s_));  // also resets the handle to its default workspace
    CUDA_CHECK(ended);
    std::size_t nodes = 0;
    cudaError_t e = cudaGraphGetNodes(graph, nullptr, &nodes);
    if (e == cudaSuccess) e = cudaGraphInstantiate(&exec_, graph, 0);
    CUDA_CHECK_NOTHROW(cudaGraphDestroy(graph));
    CUDA_CHECK(e);
    nodes_ = static_cast<std::int64_t>(nodes);
  }
  ~PerExpertGraph() override {
    if (exec_ != nullptr) CUDA_CHECK_NOTHROW(cudaGraphExecDestroy(exec_));
  }
  PerExpertGraph(const PerExpertGraph&) = delete;
  PerExpertGraph& operator=(const PerExpertGraph&) = delete;
  void run() override { CUDA_CHECK(cudaGraphLaunch(exec_, s_)); }
  std::int64_t graph_nodes() const override { return nodes_; }

 private:
  // The workspace cuBLAS recommends for Hopper (cublasSetWorkspace); smaller GPUs use less.
  static constexpr std::size_t kCaptureWorkspaceBytes = std::size_t{32} << 20;
  DeviceBuffer workspace_;
  cudaGraphExec_t exec_ = nullptr;
  std::int64_t nodes_ = 0;
};

// cublasGemmGroupedBatchedEx: one group per active expert (group_size 1), the per-group shapes
// in host arrays, the matrices in device arrays of device pointers.
class Grouped : public ExpertRunner {
 public:
  Grouped(const MoeLayer& layer, cublasHandle_t h, cudaStream_t s) : ExpertRunner(layer, h, s) {
    const std::int64_t H = l_.config.hidden, I = l_.config.intermediate;
    // Six device arrays of one pointer per active expert, side by side: A, B, C of gate+up,
    // then of down (the pointers' constness means nothing to the device).
    std::vector<int> active;
    for (int e = 0; e < l_.config.experts; ++e) {
      if (l_.counts[static_cast<std::size_t>(e)] > 0) active.push_back(e);
    }
    groups_ = static_cast<int>(active.size());
    const std::size_t n = active.size();
    std::vector<const void*> table(6 * n);
    for (std::size_t g = 0; g < n; ++g) {
      const int e = active[g];
      const std::int64_t off = l_.offsets[static_cast<std::size_t>(e)];
      table[g] = at(l_.w1, e * 2 * I * H, eb_);
      table[n + g] = at(l_.x, off * H, eb_);
      table[2 * n + g] = at(l_.y1, off * 2 * I, eb_);
      table[3 * n + g] = at(l_.w2, e * H * I, eb_);
      table[4 * n + g] = at(l_.y1, off * 2 * I, eb_);
      table[5 * n + g] = at(l_.y2, off * H, eb_);
    }
    pointers_ = DeviceBuffer(std::max<std::size_t>(table.size(), 1) * sizeof(void*));
    CUDA_CHECK(cudaMemcpyAsync(pointers_.get(), table.data(), table.size() * sizeof(void*),
                               cudaMemcpyHostToDevice, s_));
    CUDA_CHECK(cudaStreamSynchronize(s_));  // `table` goes out of scope
    set_shapes(l_.counts);
  }

  // The per-group host arrays from per-expert counts (the same set of active experts as at
  // construction: the device pointer arrays were built for it).
  void set_shapes(const std::vector<std::int64_t>& counts) {
    const std::int64_t H = l_.config.hidden, I = l_.config.intermediate;
    m_.clear();
    for (std::int64_t c : counts) {
      if (c > 0) m_.push_back(as_int(c, "tokens of an expert"));
    }
    if (static_cast<int>(m_.size()) != groups_) {
      throw std::runtime_error("grouped: " + std::to_string(m_.size()) +
                               " active experts in the counts, the pointer arrays have " +
                               std::to_string(groups_));
    }
    const auto g = static_cast<std::size_t>(groups_);
    transa_.assign(g, CUBLAS_OP_T);
    transb_.assign(g, CUBLAS_OP_N);
    n_up_.assign(g, as_int(2 * I, "2I"));
    k_up_.assign(g, as_int(H, "H"));
    n_down_.assign(g, as_int(H, "H"));
    k_down_.assign(g, as_int(I, "I"));
    ld_h_.assign(g, as_int(H, "H"));
    ld_2i_.assign(g, as_int(2 * I, "2I"));
    ld_i_.assign(g, as_int(I, "I"));
    alpha_.assign(g, 1.0f);
    beta_.assign(g, 0.0f);
    size_.assign(g, 1);
  }

  void run() override {
    if (groups_ == 0) return;
    const auto n = static_cast<std::size_t>(groups_);
    const void* const* d = pointers_.get<const void*>();
    auto out = [&](std::size_t i) { return pointers_.get<void*>() + i * n; };
    // Column-major view (see gemm_tn): cuBLAS m = N (output features), n = the expert's tokens.
    // gate+up: A = W1_e (K×N, ld H, transposed), B = X rows (ld H), C = Y1 rows (ld 2I).
    CUBLAS_CHECK(cublasGemmGroupedBatchedEx(
        h_, transa_.data(), transb_.data(), n_up_.data(), m_.data(), k_up_.data(), alpha_.data(), d,
        type_, ld_h_.data(), d + n, type_, ld_h_.data(), beta_.data(), out(2), type_, ld_2i_.data(),
        groups_, size_.data(), CUBLAS_COMPUTE_32F));
    // down: A = W2_e (ld I, transposed), B = Y1 rows' first I columns (ld 2I), C = Y2 (ld H).
    CUBLAS_CHECK(cublasGemmGroupedBatchedEx(
        h_, transa_.data(), transb_.data(), n_down_.data(), m_.data(), k_down_.data(),
        alpha_.data(), d + 3 * n, type_, ld_i_.data(), d + 4 * n, type_, ld_2i_.data(),
        beta_.data(), out(5), type_, ld_h_.data(), groups_, size_.data(), CUBLAS_COMPUTE_32F));
  }

 private:
  DeviceBuffer pointers_;  // six device arrays of `groups_` pointers: A, B, C of each projection
  int groups_ = 0;
  std::vector<cublasOperation_t> transa_, transb_;
  std::vector<int> m_, n_up_, k_up_, n_down_, k_down_, ld_h_, ld_2i_, ld_i_, size_;
  std::vector<float> alpha_, beta_;
};

// cublasGemmStridedBatchedEx over all E experts at M = the largest count: the grouped tokens
// are copied (once, untimed) into a zero-padded [E][M_max][H] input, and the outputs are
// [E][M_max][2I] and [E][M_max][H].
class PaddedBatched : public ExpertRunner {
 public:
  PaddedBatched(const MoeLayer& layer, cublasHandle_t h, cudaStream_t s)
      : ExpertRunner(layer, h, s) {
    const std::int64_t E = l_.config.experts, H = l_.config.hidden, I = l_.config.intermediate;
    max_ = *std::max_element(l_.counts.begin(), l_.counts.end());
    const auto rows = static_cast<std::size_t>(E * max_);
    const std::size_t eb = static_cast<std::size_t>(eb_);
    const std::size_t bytes = rows * eb * static_cast<std::size_t>(H + 2 * I + H);
    // The padded buffers, named as the skip reason when they do not fit.
    std::size_t free = 0, total = 0;
    CUDA_CHECK(cudaMemGetInfo(&free, &total));
    if (bytes + (std::size_t{512} << 20) > free) {
      throw OutOfDeviceMemory("padded_batched needs " + format_bytes(static_cast<double>(bytes)) +
                              " for " + std::to_string(E) + " experts padded to " +
                              std::to_string(max_) + " tokens; " +
                              format_bytes(static_cast<double>(free)) + " free");
    }
    xp_ = DeviceBuffer(rows * eb * static_cast<std::size_t>(H));
    y1p_ = DeviceBuffer(rows * eb * static_cast<std::size_t>(2 * I));
    y2p_ = DeviceBuffer(rows * eb * static_cast<std::size_t>(H));
    if (rows == 0) return;
    std::vector<std::int32_t> src(rows, -1);
    for (std::int64_t e = 0; e < E; ++e) {
      for (std::int64_t j = 0; j < l_.counts[static_cast<std::size_t>(e)]; ++j) {
        src[static_cast<std::size_t>(e * max_ + j)] =
            static_cast<std::int32_t>(l_.offsets[static_cast<std::size_t>(e)] + j);
      }
    }
    DeviceBuffer index(rows * sizeof(std::int32_t));
    CUDA_CHECK(cudaMemcpyAsync(index.get(), src.data(), rows * sizeof(std::int32_t),
                               cudaMemcpyHostToDevice, s_));
    gather_rows(xp_.get(), l_.x, index.get<std::int32_t>(), static_cast<std::int64_t>(rows),
                eb * static_cast<std::size_t>(H), s_);
    CUDA_CHECK(cudaStreamSynchronize(s_));
  }

  void run() override {
    if (max_ == 0) return;
    const std::int64_t E = l_.config.experts, H = l_.config.hidden, I = l_.config.intermediate;
    const int m = as_int(max_, "max tokens per expert");
    // gate+up, per expert e: Y1p[e] (M×2I) = Xp[e] (M×H) · W1[e]ᵀ; strides in elements.
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        h_, CUBLAS_OP_T, CUBLAS_OP_N, as_int(2 * I, "2I"), m, as_int(H, "H"), &kOne, l_.w1, type_,
        as_int(H, "H"), 2 * I * H, xp_.get(), type_, as_int(H, "H"), max_ * H, &kZero, y1p_.get(),
        type_, as_int(2 * I, "2I"), max_ * 2 * I, as_int(E, "E"), CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));
    // down: Y2p[e] (M×H) = Y1p[e][:, :I] (ld 2I) · W2[e]ᵀ.
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        h_, CUBLAS_OP_T, CUBLAS_OP_N, as_int(H, "H"), m, as_int(I, "I"), &kOne, l_.w2, type_,
        as_int(I, "I"), H * I, y1p_.get(), type_, as_int(2 * I, "2I"), max_ * 2 * I, &kZero,
        y2p_.get(), type_, as_int(H, "H"), max_ * H, as_int(E, "E"), CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));
  }

  void poison_outputs() override {
    poison(y1p_.get(), y1p_.bytes(), s_);
    poison(y2p_.get(), y2p_.bytes(), s_);
  }

 protected:
  void* y1() const override { return y1p_.get(); }
  void* y2() const override { return y2p_.get(); }
  std::int64_t row_of(std::int64_t p, std::int64_t e) const override {
    return e * max_ + (p - l_.offsets[static_cast<std::size_t>(e)]);
  }

 private:
  std::int64_t max_ = 0;
  DeviceBuffer xp_, y1p_, y2p_;
};

class Dense : public MoeRunner {
 public:
  Dense(const DenseLayer& layer, cublasHandle_t h, cudaStream_t s)
      : l_(layer), h_(h), s_(s), type_(moe_type(layer.dtype)), eb_(type_bytes(type_)) {
    check_moe_config(l_.config);
  }
  void run() override {
    if (l_.tokens == 0) return;
    const std::int64_t H = l_.config.hidden, W = l_.config.top_k * l_.config.intermediate;
    gemm_tn(h_, type_, l_.tokens, 2 * W, H, l_.w1, H, l_.x, H, l_.y1, 2 * W);
    gemm_tn(h_, type_, l_.tokens, H, W, l_.w2, W, l_.y1, 2 * W, l_.y2, H);
  }
  void poison_outputs() override {
    const std::int64_t H = l_.config.hidden, W = l_.config.top_k * l_.config.intermediate;
    poison(l_.y1, static_cast<std::size_t>(l_.tokens * 2 * W * eb_), s_);
    poison(l_.y2, static_cast<std::size_t>(l_.tokens * H * eb_), s_);
  }
  std::vector<CheckedProjection> projections(std::int64_t max_rows) const override {
    const std::int64_t H = l_.config.hidden, W = l_.config.top_k * l_.config.intermediate;
    CheckedProjection up{
        "gate_up", {l_.x, type_, H, l_.w1, type_, H, l_.y1, type_, 2 * W, 2 * W, H}, {}};
    CheckedProjection down{
        "down", {l_.y1, type_, 2 * W, l_.w2, type_, W, l_.y2, type_, H, H, W}, {}};
    for (std::int64_t t : sample_rows(l_.tokens, max_rows)) {
      up.rows.push_back({t, 0, t});
      down.rows.push_back({t, 0, t});
    }
    return {up, down};
  }

 private:
  DenseLayer l_;
  cublasHandle_t h_;
  cudaStream_t s_;
  cudaDataType_t type_;
  int eb_;
};

}  // namespace

std::optional<std::string> strategy_unavailable(MoeStrategy strategy) {
  if (strategy == MoeStrategy::lt_grouped) {
    // NOTES: checked against cublasLt.h of CUDA 13.0 (cuBLAS 13.1.0): cublasLtMatmul takes one
    // matrix layout per operand; CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT with
    // CUBLASLT_BATCH_MODE_STRIDED or CUBLASLT_BATCH_MODE_POINTER_ARRAY batches problems of one
    // shape. There is no per-problem (grouped) shape, which the expert GEMMs need.
    return "cuBLASLt " + std::to_string(CUBLAS_VER_MAJOR) + "." + std::to_string(CUBLAS_VER_MINOR) +
           " has no grouped GEMM (cublasLt.h batches one shape per call: strided or pointer-array "
           "batch mode only)";
  }
#if CUBLAS_VERSION < 120500
  if (strategy == MoeStrategy::grouped) {
    return "cublasGemmGroupedBatchedEx needs cuBLAS >= 12.5";
  }
#endif
  return std::nullopt;
}

std::unique_ptr<MoeRunner> make_expert_runner(MoeStrategy strategy, const MoeLayer& layer,
                                              cublasHandle_t handle, cudaStream_t stream) {
  if (auto why = strategy_unavailable(strategy)) throw StrategyUnavailable(*why);
  switch (strategy) {
    case MoeStrategy::per_expert_loop:
      return std::make_unique<PerExpertLoop>(layer, handle, stream);
    case MoeStrategy::per_expert_graph:
      return std::make_unique<PerExpertGraph>(layer, handle, stream);
    case MoeStrategy::grouped:
      return std::make_unique<Grouped>(layer, handle, stream);
    case MoeStrategy::padded_batched:
      return std::make_unique<PaddedBatched>(layer, handle, stream);
    case MoeStrategy::dense_equivalent:
      throw std::invalid_argument("make_expert_runner: dense_equivalent has its own layer");
    case MoeStrategy::lt_grouped:
      break;
  }
  throw StrategyUnavailable(std::string(strategy_label(strategy)) + " is not implemented");
}

std::unique_ptr<MoeRunner> make_dense_runner(const DenseLayer& layer, cublasHandle_t handle,
                                             cudaStream_t stream) {
  return std::make_unique<Dense>(layer, handle, stream);
}

GroupedFromDeviceCounts::GroupedFromDeviceCounts(const MoeLayer& layer, cublasHandle_t handle,
                                                 cudaStream_t stream)
    : stream_(stream), experts_(layer.config.experts) {
  runner_ = make_expert_runner(MoeStrategy::grouped, layer, handle, stream);
  const std::size_t bytes = static_cast<std::size_t>(experts_) * sizeof(std::int32_t);
  CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&device_counts_), bytes));
  CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&host_counts_), bytes));
  std::vector<std::int32_t> c(layer.counts.begin(), layer.counts.end());
  CUDA_CHECK(cudaMemcpyAsync(device_counts_, c.data(), bytes, cudaMemcpyHostToDevice, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

GroupedFromDeviceCounts::~GroupedFromDeviceCounts() {
  if (device_counts_ != nullptr) CUDA_CHECK_NOTHROW(cudaFree(device_counts_));
  if (host_counts_ != nullptr) CUDA_CHECK_NOTHROW(cudaFreeHost(host_counts_));
}

void GroupedFromDeviceCounts::run() {
  const std::size_t bytes = static_cast<std::size_t>(experts_) * sizeof(std::int32_t);
  CUDA_CHECK(cudaMemcpyAsync(host_counts_, device_counts_, bytes, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  std::vector<std::int64_t> counts(host_counts_, host_counts_ + experts_);
  auto& grouped = static_cast<Grouped&>(*runner_);
  grouped.set_shapes(counts);
  grouped.run();
}

std::string check_runner(MoeRunner& runner, GemmDtype dtype, std::int64_t max_rows,
                         cudaStream_t stream) {
  runner.poison_outputs();
  runner.run();
  std::ostringstream bad;
  for (const CheckedProjection& p : runner.projections(max_rows)) {
    if (p.rows.empty()) continue;
    const double err = sampled_relative_error(p.gemm, p.rows, stream);
    const double tol = gemm_tolerance(dtype);
    if (!(err <= tol)) {
      bad << (bad.tellp() > 0 ? "; " : "") << p.name << ": relative error " << err << " over "
          << p.rows.size() << " sampled rows, tolerance " << tol;
    }
  }
  return bad.str();
}

}  // namespace batchcost
