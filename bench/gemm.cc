// bench/gemm: the arithmetic component P[dtype] of the cost model. cuBLASLt GEMMs
// Y[M, N] = X[M, K] · W[N, K]ᵀ (row-major activations, weights [out, in]; cuBLASLt computes the
// column-major Yᵀ = op_T(W) · Xᵀ, "TN", see kernels/gemm_reference.h) in bf16, fp16, tf32, fp32
// (fp32 accumulation for all) and fp8 e4m3 (bf16 output, sm_89+; skipped with the reason on
// older GPUs), over
//   square   M = N = K = 128 … 16384;
//   layers   the layer shapes of DeepSeek-V3 and Llama-3-70B (core/gemm_shapes.h) at M = tokens
//            = 1 … 16384, the decode and prefill range.
//
// Why cuBLASLt for every dtype: fp8 exists only there, and one API (heuristic-chosen algorithm,
// a 32 MiB workspace as cuBLAS itself uses on Hopper) keeps the dtypes comparable. Why TN: fp8
// tensor cores on Ada and Hopper need A transposed (and K, lda multiples of 16, which every shape
// here has), and it is the layout engines store weights in.
//
// Cache: weights, inputs and outputs rotate through sets spanning 4× L2 (`cache=cold`), one set
// when the weights alone exceed it; --cache=hot keeps one set. Work (gemm_shapes.h): flops =
// 2MNK, bytes = the fewest HBM bytes, launches = 1.
// Check: once per (shape, dtype), against a double-accumulated reference of up to 128 sampled
// output rows and all columns, within gemm_tolerance(dtype) (kernels/gemm_reference.h).
//
// What each profile registers (names gemm/<shape>/<dtype>/m:M/n:N/k:K):
//   default  square 128 … 16384 (8 sizes) in all 5 dtypes; the 6 layer shapes at all 15 M in
//            bf16 and fp8_e4m3, and at 8 M (1, 4, 16, … 16384) in fp16, tf32, fp32: 364
//            benchmarks, a few minutes on an H100 (the fp32 16384³ GEMMs dominate);
//   --quick  square 128, 512, 2048, 8192, 16384 in all 5 dtypes; the layer shapes at 8 M in bf16.
//
//   batchcost-gemm --benchmark_out=results/<gpu>/gemm.json
#include <cublasLt.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/check.h"
#include "core/gemm_shapes.h"
#include "harness/gpu.h"
#include "kernels/gemm_reference.h"

namespace batchcost {
namespace {

constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;
constexpr std::uint64_t kSeed = 0x6e6d6d5eedull;
constexpr std::int64_t kCheckRows = 128;  // sampled output rows: a check stays under a second
constexpr std::size_t kAlign = 256;       // every buffer of a set starts 256-byte aligned

// No algorithm or no support for a dtype here: a skip, not a failure.
struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

cublasLtHandle_t lt_handle() {
  // One handle for the process. It is not destroyed: cublasLtDestroy at static destruction
  // would run after the CUDA context is gone.
  static cublasLtHandle_t handle = [] {
    cublasLtHandle_t h = nullptr;
    CUBLAS_CHECK(cublasLtCreate(&h));
    return h;
  }();
  return handle;
}

std::size_t aligned(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

// The cuBLASLt descriptors and the heuristic's algorithm of one (shape, dtype).
class LtGemm {
 public:
  LtGemm(const GemmShape& s, GemmDtype dtype, const float* unit_scale) {
    // A throw (Unsupported: a skip, the benchmark's other repetitions throw again) runs no
    // destructor: release what was created here first.
    try {
      create(s, dtype, unit_scale);
    } catch (...) {
      destroy();
      throw;
    }
  }
  ~LtGemm() { destroy(); }
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  // Y = X · Wᵀ (beta = 0: C is not read).
  void run(const void* w, const void* x, void* y, void* workspace, cudaStream_t stream) const {
    const float alpha = 1.0f, beta = 0.0f;
    CUBLAS_CHECK(cublasLtMatmul(lt_handle(), desc_, &alpha, w, a_, x, b_, &beta, y, d_, y, d_,
                                &algo_.algo, workspace, kWorkspaceBytes, stream));
  }

 private:
  void create(const GemmShape& s, GemmDtype dtype, const float* unit_scale) {
    const cudaDataType_t in = input_type(dtype), out = output_type(dtype);
    // NOTES: tf32 is fp32 storage with tensor-core math that rounds inputs to 10 mantissa bits;
    // fp32 is CUBLAS_COMPUTE_32F proper (no tensor cores).
    const cublasComputeType_t compute =
        dtype == GemmDtype::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc_, compute, CUDA_R_32F));
    const cublasOperation_t transa = CUBLAS_OP_T, transb = CUBLAS_OP_N;
    CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof transa));
    CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof transb));
    if (dtype == GemmDtype::fp8_e4m3) {
      // Per-tensor dequantization scales of A and B (1: the random inputs need none). D is
      // bf16, so it has no scale.
      CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER,
                                                  &unit_scale, sizeof unit_scale));
      CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER,
                                                  &unit_scale, sizeof unit_scale));
      // NOTES: fast accumulation (partial sums kept in the tensor cores' reduced precision,
      // promoted to fp32 less often) is how inference engines run fp8 GEMMs (TensorRT-LLM,
      // vLLM); without it cuBLASLt picks slower, more precise kernels.
      const std::int8_t fast_accum = 1;
      CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_FAST_ACCUM,
                                                  &fast_accum, sizeof fast_accum));
    }
    const auto m = static_cast<std::uint64_t>(s.m), n = static_cast<std::uint64_t>(s.n),
               k = static_cast<std::uint64_t>(s.k);
    // Column-major: A = W as K×N (ld K, transposed to N×K), B = X as K×M (ld K), C = D = Y as
    // N×M (ld N). C has D's type (fp8 inputs with bf16 output: C is bf16 too).
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&a_, in, k, n, s.k));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&b_, in, k, m, s.k));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d_, out, n, m, s.n));
    cublasLtMatmulPreference_t pref = nullptr;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const std::uint64_t workspace = kWorkspaceBytes;
    cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace);
    int found = 0;
    if (st == CUBLAS_STATUS_SUCCESS) {
      st = cublasLtMatmulAlgoGetHeuristic(lt_handle(), desc_, a_, b_, d_, d_, pref, 1, &algo_,
                                          &found);
    }
    CUBLAS_CHECK_NOTHROW(cublasLtMatmulPreferenceDestroy(pref));
    if (st == CUBLAS_STATUS_NOT_SUPPORTED || (st == CUBLAS_STATUS_SUCCESS && found == 0)) {
      throw Unsupported("cuBLASLt has no algorithm for " + std::string(dtype_label(dtype)) +
                        " M=" + std::to_string(s.m) + " N=" + std::to_string(s.n) +
                        " K=" + std::to_string(s.k) + " on this GPU");
    }
    CUBLAS_CHECK(st);
  }
  void destroy() noexcept {
    if (a_ != nullptr) CUBLAS_CHECK_NOTHROW(cublasLtMatrixLayoutDestroy(a_));
    if (b_ != nullptr) CUBLAS_CHECK_NOTHROW(cublasLtMatrixLayoutDestroy(b_));
    if (d_ != nullptr) CUBLAS_CHECK_NOTHROW(cublasLtMatrixLayoutDestroy(d_));
    if (desc_ != nullptr) CUBLAS_CHECK_NOTHROW(cublasLtMatmulDescDestroy(desc_));
    a_ = b_ = d_ = nullptr;
    desc_ = nullptr;
  }

  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, d_ = nullptr;
  cublasLtMatmulHeuristicResult_t algo_{};
};

// The buffers of one benchmark, kept across its repetitions (Google Benchmark calls the body
// several times per benchmark; filling gigabytes each time would dominate the run).
struct Fixture {
  std::string key;
  std::int64_t sets = 1;
  std::size_t w_bytes = 0, x_bytes = 0, y_bytes = 0;
  DeviceBuffer arena;  // sets × (W, X, Y), each aligned
  DeviceBuffer workspace;
  DeviceBuffer unit_scale;
  std::unique_ptr<LtGemm> gemm;

  std::size_t set_bytes() const { return w_bytes + x_bytes + y_bytes; }
  char* set(std::int64_t i) const { return arena.get<char>() + (i % sets) * set_bytes(); }
  void* w(std::int64_t i) const { return set(i); }
  void* x(std::int64_t i) const { return set(i) + w_bytes; }
  void* y(std::int64_t i) const { return set(i) + w_bytes + x_bytes; }
};

// The current benchmark's buffers. Never freed at exit: a static destructor would call cudaFree
// after the CUDA runtime has shut down; the process's exit releases the memory.
Fixture* g_fixture = nullptr;

Fixture& fixture_for(const std::string& key, const GemmShape& s, GemmDtype dtype) {
  if (g_fixture != nullptr && g_fixture->key == key) return *g_fixture;
  delete g_fixture;  // free the previous benchmark's buffers first
  g_fixture = nullptr;
  Gpu& g = Gpu::get();
  cudaStream_t stream = g.stream();
  auto f = std::make_unique<Fixture>();
  f->key = key;
  const auto in = static_cast<std::size_t>(input_bytes(dtype));
  const auto out = static_cast<std::size_t>(output_bytes(dtype));
  const auto m = static_cast<std::size_t>(s.m), n = static_cast<std::size_t>(s.n),
             k = static_cast<std::size_t>(s.k);
  f->w_bytes = aligned(n * k * in);
  f->x_bytes = aligned(m * k * in);
  f->y_bytes = aligned(m * n * out);
  f->sets =
      rotation_sets(static_cast<std::int64_t>(f->set_bytes()), g.l2_bytes(), g.options().cache);
  const std::size_t total = static_cast<std::size_t>(f->sets) * f->set_bytes();
  g.require_free(total + kWorkspaceBytes, "GEMM " + key);
  f->arena = DeviceBuffer(total);
  f->workspace = DeviceBuffer(kWorkspaceBytes);
  f->unit_scale = DeviceBuffer(sizeof(float));
  const float one = 1.0f;
  CUDA_CHECK(
      cudaMemcpyAsync(f->unit_scale.get(), &one, sizeof one, cudaMemcpyHostToDevice, stream));
  for (std::int64_t i = 0; i < f->sets; ++i) {
    const auto seed = kSeed + 2 * static_cast<std::uint64_t>(i);
    fill_uniform(f->w(i), input_type(dtype), n * k, seed, 1.0f, stream);
    fill_uniform(f->x(i), input_type(dtype), m * k, seed + 1, 1.0f, stream);
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));  // `one` goes out of scope
  f->gemm = std::make_unique<LtGemm>(s, dtype, f->unit_scale.get<float>());
  g_fixture = f.release();
  return *g_fixture;
}

std::string check(const Fixture& f, const GemmShape& s, GemmDtype dtype) {
  cudaStream_t stream = Gpu::get().stream();
  CUDA_CHECK(cudaMemsetAsync(f.y(0), 0xFF, f.y_bytes, stream));  // NaN in every output type
  f.gemm->run(f.w(0), f.x(0), f.y(0), f.workspace.get(), stream);
  const CheckedGemm g{f.x(0),
                      input_type(dtype),
                      s.k,
                      f.w(0),
                      input_type(dtype),
                      s.k,
                      f.y(0),
                      output_type(dtype),
                      s.n,
                      s.n,
                      s.k};
  std::vector<SampledRow> rows;
  for (std::int64_t r : sample_rows(s.m, kCheckRows)) rows.push_back({r, 0, r});
  const double err = sampled_relative_error(g, rows, stream);
  const double tol = gemm_tolerance(dtype);
  if (err <= tol) return "";
  return "relative error " + std::to_string(err) + " over " + std::to_string(rows.size()) +
         " sampled rows, tolerance " + std::to_string(tol);
}

void gemm(benchmark::State& state, const Plan& plan, const GemmShape& s, GemmDtype dtype,
          const std::string& key) {
  const Gpu& g = Gpu::get();
  const int cc = g.props().major * 10 + g.props().minor;
  if (!gemm_dtype_supported(dtype, cc)) {
    return skip(state, std::string(dtype_label(dtype)) + " needs a newer GPU than compute " +
                           "capability " + std::to_string(g.props().major) + "." +
                           std::to_string(g.props().minor));
  }
  Fixture* f = nullptr;
  try {
    f = &fixture_for(key, s, dtype);
  } catch (const Unsupported& e) {
    return skip(state, e.what());
  }
  const std::string verdict = check_once(key, [&] { return check(*f, s, dtype); });
  if (!verdict.empty()) return fail(state, key + ": " + verdict);
  measure_device(
      state, plan,
      [f](cudaStream_t stream, std::int64_t i) {
        f->gemm->run(f->w(i), f->x(i), f->y(i), f->workspace.get(), stream);
      },
      std::nullopt, {{"rotation_sets", static_cast<double>(f->sets)}});
}

// The reference GPU's L2 (H100 / H200: 50 MiB), which sizes the cold rotation in the plan.
constexpr std::int64_t kPlanL2Bytes = std::int64_t{50} << 20;
// The check's reference accumulates in double with a plain kernel: priced for the estimate as
// fp32 FLOPs at a tenth of the fp32 peak.
constexpr double kCheckSlowdown = 10;

Plan gemm_plan(const GemmShape& s, GemmDtype dtype, CachePolicy cache) {
  const Work w = gemm_work(s, dtype);
  const double set_bytes = w.bytes;
  const auto sets = static_cast<double>(
      rotation_sets(static_cast<std::int64_t>(set_bytes), kPlanL2Bytes, cache));
  const double rows = static_cast<double>(std::min(s.m, kCheckRows));
  Plan p{.work = w,
         .labels = {{"dtype", std::string(dtype_label(dtype))},
                    {"cache", std::string(to_string(cache))},
                    {"shape", s.name},
                    {"api", "cublaslt"}},
         .setup_s = 1e-3,  // descriptors and the heuristic's algorithm choice
         .setup_bytes = sets * set_bytes,
         .check_work = Work{.flops = kCheckSlowdown * 2 * rows * static_cast<double>(s.n) *
                                     static_cast<double>(s.k),
                            .kernels = 2}};
  if (dtype == GemmDtype::fp8_e4m3) p.labels.emplace("fast_accum", std::string("1"));
  return p;
}

void register_gemm(const Options& opts) {
  auto add_shapes = [&opts](const std::vector<GemmShape>& shapes, GemmDtype dtype) {
    for (const GemmShape& s : shapes) {
      const std::string key = s.name + "/" + std::string(dtype_label(dtype)) +
                              "/m:" + std::to_string(s.m) + "/n:" + std::to_string(s.n) +
                              "/k:" + std::to_string(s.k);
      add("gemm/" + key, gemm_plan(s, dtype, opts.cache),
          [s, dtype, key](benchmark::State& st, const Plan& p) { gemm(st, p, s, dtype, key); });
    }
  };
  for (GemmDtype d : kGemmDtypes) add_shapes(square_sweep(opts.quick), d);
  if (opts.quick) {
    add_shapes(layer_sweep(true), GemmDtype::bf16);
    return;
  }
  add_shapes(layer_sweep(false), GemmDtype::bf16);
  add_shapes(layer_sweep(false), GemmDtype::fp8_e4m3);
  for (GemmDtype d : {GemmDtype::fp16, GemmDtype::tf32, GemmDtype::fp32}) {
    add_shapes(layer_sweep(true), d);
  }
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  return batchcost::run_gpu_main(argc, argv, "batchcost-gemm", batchcost::register_gemm);
}
