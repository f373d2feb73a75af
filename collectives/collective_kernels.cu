// The collective benchmark's check kernels (see collective_kernels.h). Grid-stride loops over a
// grid of a fixed size: a check of 1 GiB runs once per shape, its speed does not matter much.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/check.h"
#include "core/collective_values.h"
#include "collectives/collective_kernels.h"

namespace batchcost::collective {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 1024;

int blocks_for(std::size_t n) {
  const std::size_t b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < kMaxBlocks ? (b == 0 ? 1 : b) : kMaxBlocks);
}

__device__ inline void store(float* p, std::size_t i, float v) { p[i] = v; }
__device__ inline void store(__nv_bfloat16* p, std::size_t i, float v) {
  p[i] = __float2bfloat16_rn(v);  // exact: every check value has <= 8 significant bits
}
__device__ inline float load(const float* p, std::size_t i) { return p[i]; }
__device__ inline float load(const __nv_bfloat16* p, std::size_t i) {
  return __bfloat162float(p[i]);
}

template <typename T>
__global__ void fill_input_kernel(T* dst, std::size_t n, Op op, RedOp redop, int ranks, int rank,
                                  std::size_t first) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    store(dst, i, values::input_at(op, redop, ranks, rank, first + i));
  }
}

template <typename T>
__global__ void fill_value_kernel(T* dst, std::size_t n, int value) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    store(dst, i, static_cast<float>(value));
  }
}

template <typename T>
__global__ void count_wrong_kernel(const T* p, std::size_t n, Op op, RedOp redop, int ranks,
                                   int rank, int root, std::size_t count,
                                   unsigned long long* wrong) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  unsigned long long mine = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    float expected = 0;
    if (values::expected_at(op, redop, ranks, rank, root, count, i, &expected)) {
      mine += load(p, i) != expected;
    }
  }
  // One atomic per warp.
  for (int offset = 16; offset > 0; offset /= 2)
    mine += __shfl_down_sync(0xffffffffu, mine, offset);
  if ((threadIdx.x & 31) == 0 && mine != 0) atomicAdd(wrong, mine);
}

}  // namespace

void launch_fill_input(void* dst, Dtype dtype, std::size_t n, Op op, RedOp redop, int ranks,
                       int rank, std::size_t first_index, cudaStream_t stream) {
  if (n == 0) return;
  if (dtype == Dtype::bf16) {
    fill_input_kernel<<<blocks_for(n), kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(dst), n,
                                                              op, redop, ranks, rank, first_index);
  } else {
    fill_input_kernel<<<blocks_for(n), kThreads, 0, stream>>>(static_cast<float*>(dst), n, op,
                                                              redop, ranks, rank, first_index);
  }
  CUDA_CHECK_LAUNCH();
}

void launch_fill_value(void* dst, Dtype dtype, std::size_t n, int value, cudaStream_t stream) {
  if (n == 0) return;
  if (dtype == Dtype::bf16) {
    fill_value_kernel<<<blocks_for(n), kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(dst), n,
                                                              value);
  } else {
    fill_value_kernel<<<blocks_for(n), kThreads, 0, stream>>>(static_cast<float*>(dst), n, value);
  }
  CUDA_CHECK_LAUNCH();
}

void launch_count_wrong(const void* p, Dtype dtype, std::size_t n, Op op, RedOp redop, int ranks,
                        int rank, int root, std::size_t count, unsigned long long* wrong,
                        cudaStream_t stream) {
  if (n == 0) return;
  if (dtype == Dtype::bf16) {
    count_wrong_kernel<<<blocks_for(n), kThreads, 0, stream>>>(
        static_cast<const __nv_bfloat16*>(p), n, op, redop, ranks, rank, root, count, wrong);
  } else {
    count_wrong_kernel<<<blocks_for(n), kThreads, 0, stream>>>(
        static_cast<const float*>(p), n, op, redop, ranks, rank, root, count, wrong);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace batchcost::collective
