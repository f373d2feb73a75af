// The kernels of the GEMM and MoE checks behind host-callable launchers: see gemm_reference.h,
// which includes this. C++17 (nvcc compiles the .cu as C++17), so no project header that needs
// C++20 is included here.
#pragma once

#include <cuda_runtime_api.h>
#include <library_types.h>

#include <cstddef>
#include <cstdint>

namespace batchcost {

// Bytes per element of the types the checks read: 1 (CUDA_R_8F_E4M3), 2 (CUDA_R_16BF,
// CUDA_R_16F), 4 (CUDA_R_32F); throws std::invalid_argument for any other.
int type_bytes(cudaDataType_t type);

// Fills `count` elements of `type` at p with seeded uniform values in [-scale, scale): element i
// depends only on (seed, i), so a buffer is the same whatever the launch configuration.
void fill_uniform(void* p, cudaDataType_t type, std::size_t count, std::uint64_t seed, float scale,
                  cudaStream_t stream);

// dst row r = src row src_row[r] (row_bytes each), or zeros where src_row[r] < 0; src_row is a
// device array of dst_rows int32 indices. The MoE benchmark groups tokens by expert with it.
void gather_rows(void* dst, const void* src, const std::int32_t* src_row, std::int64_t dst_rows,
                 std::size_t row_bytes, cudaStream_t stream);

// One GEMM Y = X · Wᵀ as the check sees it, row-major (see the file header). Element (r, kk)
// of X is x[r·ldx + kk]; element (j, kk) of a weight is w[w_offset + j·ldw + kk]; element
// (r, j) of Y is y[r·ldy + j].
struct CheckedGemm {
  const void* x = nullptr;
  cudaDataType_t x_type = CUDA_R_32F;
  std::int64_t ldx = 0;
  const void* w = nullptr;
  cudaDataType_t w_type = CUDA_R_32F;
  std::int64_t ldw = 0;
  const void* y = nullptr;
  cudaDataType_t y_type = CUDA_R_32F;
  std::int64_t ldy = 0;
  std::int64_t n = 0;  // output columns checked: j in [0, n)
  std::int64_t k = 0;  // reduction length
};

// One sampled output row: the row of X it reads, the element offset of its weight matrix (an
// expert's), and the row of Y that holds the result.
struct SampledRow {
  std::int64_t x_row = 0;
  std::int64_t w_offset = 0;
  std::int64_t y_row = 0;
};

// ‖Y − ref‖ / ‖ref‖ over the sampled rows and every column (the reference in double). Returns
// NaN when Y holds a NaN or an infinity, so `!(error <= tolerance)` fails it. Synchronizes
// `stream`. Costs rows·n·k multiply-adds in double on the GPU.
double sampled_relative_error(const CheckedGemm& gemm, const SampledRow* rows, std::size_t count,
                              cudaStream_t stream);

}  // namespace batchcost
