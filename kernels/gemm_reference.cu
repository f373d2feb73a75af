// The kernels of the GEMM and MoE checks: see gemm_reference.h.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "kernels/reference_kernels.h"

namespace batchcost {
namespace {

constexpr int kThreads = 256;

__device__ float load_as_float(const void* p, cudaDataType_t type, std::int64_t i) {
  switch (type) {
    case CUDA_R_16BF:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case CUDA_R_16F:
      return __half2float(static_cast<const __half*>(p)[i]);
    case CUDA_R_8F_E4M3:
      return static_cast<float>(static_cast<const __nv_fp8_e4m3*>(p)[i]);
    default:  // CUDA_R_32F (the host checks the type before launching)
      return static_cast<const float*>(p)[i];
  }
}

__device__ void store_from_float(void* p, cudaDataType_t type, std::size_t i, float v) {
  switch (type) {
    case CUDA_R_16BF:
      static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16(v);
      break;
    case CUDA_R_16F:
      static_cast<__half*>(p)[i] = __float2half(v);
      break;
    case CUDA_R_8F_E4M3:
      static_cast<__nv_fp8_e4m3*>(p)[i] = __nv_fp8_e4m3(v);
      break;
    default:
      static_cast<float*>(p)[i] = v;
  }
}

// splitmix64: a well-mixed 64-bit hash of (seed, index).
__device__ std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

__global__ void fill_uniform_kernel(void* p, cudaDataType_t type, std::size_t count,
                                    std::uint64_t seed, float scale) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    // 24 random bits -> [0, 1) exactly representable in float, then [-scale, scale).
    const float u = static_cast<float>(mix(seed ^ mix(i)) >> 40) * (1.0f / 16777216.0f);
    store_from_float(p, type, i, scale * (2.0f * u - 1.0f));
  }
}

// One block per destination row; 4-byte words where the row allows it (every row of the
// benchmarks is a multiple of 4 bytes), bytes otherwise.
__global__ void gather_rows_kernel(void* dst, const void* src, const std::int32_t* src_row,
                                   std::size_t row_bytes) {
  const std::int64_t r = blockIdx.x;
  const std::int32_t from = src_row[r];
  auto* d = static_cast<unsigned char*>(dst) + r * row_bytes;
  const auto* s =
      static_cast<const unsigned char*>(src) + static_cast<std::int64_t>(from) * row_bytes;
  if (row_bytes % 4 == 0) {
    auto* d4 = reinterpret_cast<std::uint32_t*>(d);
    const auto* s4 = reinterpret_cast<const std::uint32_t*>(s);
    for (std::size_t i = threadIdx.x; i < row_bytes / 4; i += blockDim.x) {
      d4[i] = from < 0 ? 0u : s4[i];
    }
  } else {
    for (std::size_t i = threadIdx.x; i < row_bytes; i += blockDim.x) {
      d[i] = from < 0 ? static_cast<unsigned char>(0) : s[i];
    }
  }
}

// The reference: a block computes kRows sampled rows × kCols columns, staging X and W tiles of
// kTileK in shared memory (both read along k, which is contiguous for X rows and for W[N, K]
// rows, so the loads are coalesced). kCols + 1 padding keeps the W tile free of bank conflicts.
constexpr int kRows = 8;
constexpr int kCols = 32;
constexpr int kTileK = 32;

__global__ void reference_rows_kernel(CheckedGemm g, const SampledRow* rows, std::int64_t nrows,
                                      double* ref) {
  __shared__ float xs[kRows][kTileK];
  __shared__ float ws[kCols][kTileK + 1];
  const int tx = static_cast<int>(threadIdx.x % kCols);  // column within the tile / k lane
  const int ty = static_cast<int>(threadIdx.x / kCols);  // row within the tile
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.y) * kRows + ty;
  const std::int64_t j0 = static_cast<std::int64_t>(blockIdx.x) * kCols;
  // Rows are laid out so that a block's rows share one weight matrix (see
  // sampled_relative_error), and their count is a multiple of kRows: every row is valid.
  const std::int64_t w_offset = rows[static_cast<std::int64_t>(blockIdx.y) * kRows].w_offset;
  const std::int64_t x_base = rows[i].x_row * g.ldx;
  double acc = 0;
  for (std::int64_t k0 = 0; k0 < g.k; k0 += kTileK) {
    const std::int64_t kk = k0 + tx;
    xs[ty][tx] = kk < g.k ? load_as_float(g.x, g.x_type, x_base + kk) : 0.0f;
    // Each of the kRows thread rows loads kCols / kRows weight rows of the tile.
    for (int c = ty; c < kCols; c += kRows) {
      const std::int64_t j = j0 + c;
      ws[c][tx] =
          (j < g.n && kk < g.k) ? load_as_float(g.w, g.w_type, w_offset + j * g.ldw + kk) : 0.0f;
    }
    __syncthreads();
    for (int t = 0; t < kTileK; ++t) {
      acc += static_cast<double>(xs[ty][t]) * static_cast<double>(ws[tx][t]);
    }
    __syncthreads();
  }
  const std::int64_t j = j0 + tx;
  if (i < nrows && j < g.n) ref[i * g.n + j] = acc;
}

__global__ void error_sums_kernel(CheckedGemm g, const SampledRow* rows, std::int64_t nrows,
                                  const double* ref, double* sums) {
  __shared__ double s_err[kThreads];
  __shared__ double s_ref[kThreads];
  double err2 = 0, ref2 = 0;
  const std::int64_t total = nrows * g.n;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t e = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += stride) {
    const std::int64_t i = e / g.n, j = e % g.n;
    const double r = ref[e];
    const double y = static_cast<double>(load_as_float(g.y, g.y_type, rows[i].y_row * g.ldy + j));
    err2 += (y - r) * (y - r);
    ref2 += r * r;
  }
  s_err[threadIdx.x] = err2;
  s_ref[threadIdx.x] = ref2;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      s_err[threadIdx.x] += s_err[threadIdx.x + half];
      s_ref[threadIdx.x] += s_ref[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    atomicAdd(&sums[0], s_err[0]);
    atomicAdd(&sums[1], s_ref[0]);
  }
}

void check_type(cudaDataType_t type) { (void)type_bytes(type); }

int grid_for(std::size_t work) {
  int device = 0, sms = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const std::size_t blocks = (work + kThreads - 1) / kThreads;
  return static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(blocks, 8u * sms)));
}

// Device scratch for one check, freed when the check returns.
struct Scratch {
  explicit Scratch(std::size_t bytes) { CUDA_CHECK(cudaMalloc(&p, bytes)); }
  ~Scratch() { CUDA_CHECK_NOTHROW(cudaFree(p)); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* p = nullptr;
};

}  // namespace

void fill_uniform(void* p, cudaDataType_t type, std::size_t count, std::uint64_t seed, float scale,
                  cudaStream_t stream) {
  check_type(type);
  if (count == 0) return;
  fill_uniform_kernel<<<grid_for(count), kThreads, 0, stream>>>(p, type, count, seed, scale);
  CUDA_CHECK_LAUNCH();
}

void gather_rows(void* dst, const void* src, const std::int32_t* src_row, std::int64_t dst_rows,
                 std::size_t row_bytes, cudaStream_t stream) {
  if (dst_rows <= 0) return;
  if (dst_rows > std::numeric_limits<int>::max()) {
    throw std::invalid_argument("gather_rows: " + std::to_string(dst_rows) + " rows");
  }
  gather_rows_kernel<<<static_cast<unsigned>(dst_rows), kThreads, 0, stream>>>(dst, src, src_row,
                                                                               row_bytes);
  CUDA_CHECK_LAUNCH();
}

double sampled_relative_error(const CheckedGemm& gemm, const SampledRow* rows, std::size_t count,
                              cudaStream_t stream) {
  check_type(gemm.x_type);
  check_type(gemm.w_type);
  check_type(gemm.y_type);
  if (gemm.n <= 0 || gemm.k <= 0 || count == 0) {
    throw std::invalid_argument("sampled_relative_error: need n > 0, k > 0 and rows");
  }
  // Rows are laid out so that each group of kRows consecutive rows shares one w_offset (the
  // weight tile of a block is shared by its rows): each run of equal offsets is padded to a
  // multiple of kRows with copies of its last row, whose duplicates count twice in the sums —
  // harmless for a relative error, and they are rare (one partial group per expert).
  std::vector<SampledRow> laid_out;
  for (std::size_t a = 0; a < count;) {
    std::size_t b = a;
    while (b < count && rows[b].w_offset == rows[a].w_offset) ++b;
    for (std::size_t r = a; r < b; ++r) laid_out.push_back(rows[r]);
    while (laid_out.size() % kRows != 0) laid_out.push_back(rows[b - 1]);
    a = b;
  }
  const auto nrows = static_cast<std::int64_t>(laid_out.size());
  Scratch table(laid_out.size() * sizeof(SampledRow));
  Scratch ref(static_cast<std::size_t>(nrows * gemm.n) * sizeof(double));
  Scratch sums(2 * sizeof(double));
  CUDA_CHECK(cudaMemcpyAsync(table.p, laid_out.data(), laid_out.size() * sizeof(SampledRow),
                             cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaMemsetAsync(sums.p, 0, 2 * sizeof(double), stream));
  const dim3 grid(static_cast<unsigned>((gemm.n + kCols - 1) / kCols),
                  static_cast<unsigned>(nrows / kRows));
  reference_rows_kernel<<<grid, kRows * kCols, 0, stream>>>(
      gemm, static_cast<const SampledRow*>(table.p), nrows, static_cast<double*>(ref.p));
  CUDA_CHECK_LAUNCH();
  error_sums_kernel<<<grid_for(static_cast<std::size_t>(nrows * gemm.n)), kThreads, 0, stream>>>(
      gemm, static_cast<const SampledRow*>(table.p), nrows, static_cast<const double*>(ref.p),
      static_cast<double*>(sums.p));
  CUDA_CHECK_LAUNCH();
  double host_sums[2] = {0, 0};
  CUDA_CHECK(cudaMemcpyAsync(host_sums, sums.p, sizeof host_sums, cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  if (!std::isfinite(host_sums[0]) || !std::isfinite(host_sums[1])) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (host_sums[1] == 0) return host_sums[0] == 0 ? 0 : std::numeric_limits<double>::infinity();
  return std::sqrt(host_sums[0] / host_sums[1]);
}

}  // namespace batchcost
