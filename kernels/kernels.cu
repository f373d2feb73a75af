// The project's own kernels: null, copy, read, write, blocking and spin, and the check kernels.
// See kernels.h for what each does.
//
// Napkin math for the memory kernels on an H100 SXM (3.35 TB/s HBM3, 132 SMs): to keep ~3 TB/s
// in flight at ~600 ns of DRAM latency, about 2 MB must be outstanding, 15 KB per SM. Four
// independent 16-byte loads per thread (kUnroll) across 2048 resident threads per SM give
// 128 KB per SM: comfortably enough, which is why a grid of a few blocks per SM suffices.
#include <cstdint>

#include "kernels/check.h"
#include "kernels/kernels.h"
#include "kernels/pattern.h"

namespace batchcost::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kUnroll = 4;  // independent 16-byte loads in flight per thread

// How the bytes of [p, p + n) split into a byte-wise head up to 16-byte alignment, an aligned
// body of 16-byte vectors, and a byte-wise tail.
struct Split {
  std::size_t head, vectors, tail;
};

__host__ __device__ Split split16(const void* p, std::size_t n) {
  std::size_t misalign = reinterpret_cast<std::uintptr_t>(p) & 15u;
  std::size_t head = misalign == 0 ? 0 : 16 - misalign;
  if (head > n) head = n;
  std::size_t vectors = (n - head) / 16;
  return {head, vectors, n - head - vectors * 16};
}

__device__ std::size_t thread_index() {
  return static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ std::size_t thread_count() { return static_cast<std::size_t>(gridDim.x) * blockDim.x; }

// Byte sum of a 16-byte vector: __vsadu4(x, 0) adds the four bytes of x in one instruction.
__device__ unsigned vector_byte_sum(uint4 v) {
  return __vsadu4(v.x, 0u) + __vsadu4(v.y, 0u) + __vsadu4(v.z, 0u) + __vsadu4(v.w, 0u);
}

// Adds a per-thread value into *out with one atomic per block: a warp shuffle reduction, then
// the block's warps through shared memory. One atomic per warp would put ~8,000 same-address
// atomics at the end of a full-grid read on an H100 (132 SMs x 8 blocks x 8 warps), serialised
// in L2 and long enough (microseconds) to bias the bandwidth of mid-sized reads.
// Every thread of the block must call it (it synchronises the block).
__device__ unsigned long long warp_sum(unsigned long long value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xffffffffu, value, offset);
  return value;
}

__device__ void block_add(unsigned long long value, unsigned long long* out) {
  __shared__ unsigned long long warp_totals[kThreads / 32];
  value = warp_sum(value);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_totals[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < kThreads / 32 ? warp_totals[lane] : 0;
    value = warp_sum(value);
    if (lane == 0 && value != 0) atomicAdd(out, value);
  }
}

__global__ void null_kernel() {}

__global__ void copy_kernel(std::uint8_t* __restrict__ dst, const std::uint8_t* __restrict__ src,
                            std::size_t n) {
  const std::size_t tid = thread_index(), stride = thread_count();
  const Split s = split16(dst, n);
  if (s.head == split16(src, n).head) {
    for (std::size_t i = tid; i < s.head; i += stride) dst[i] = src[i];
    const uint4* vsrc = reinterpret_cast<const uint4*>(src + s.head);
    uint4* vdst = reinterpret_cast<uint4*>(dst + s.head);
    std::size_t i = tid;
    for (; i + (kUnroll - 1) * stride < s.vectors; i += kUnroll * stride) {
      uint4 v[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) v[u] = vsrc[i + u * stride];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) vdst[i + u * stride] = v[u];
    }
    for (; i < s.vectors; i += stride) vdst[i] = vsrc[i];
    const std::size_t tail_start = s.head + s.vectors * 16;
    for (std::size_t j = tail_start + tid; j < n; j += stride) dst[j] = src[j];
  } else {
    // Differently aligned buffers cannot share 16-byte vectors: correct, not fast.
    for (std::size_t j = tid; j < n; j += stride) dst[j] = src[j];
  }
}

__global__ void read_kernel(const std::uint8_t* __restrict__ src, std::size_t n,
                            unsigned long long* sum) {
  const std::size_t tid = thread_index(), stride = thread_count();
  const Split s = split16(src, n);
  unsigned long long acc = 0;
  for (std::size_t i = tid; i < s.head; i += stride) acc += src[i];
  const uint4* vsrc = reinterpret_cast<const uint4*>(src + s.head);
  std::size_t i = tid;
  for (; i + (kUnroll - 1) * stride < s.vectors; i += kUnroll * stride) {
    uint4 v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) v[u] = vsrc[i + u * stride];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) acc += vector_byte_sum(v[u]);
  }
  for (; i < s.vectors; i += stride) acc += vector_byte_sum(vsrc[i]);
  for (std::size_t j = s.head + s.vectors * 16 + tid; j < n; j += stride) acc += src[j];
  block_add(acc, sum);
}

__global__ void write_kernel(std::uint8_t* __restrict__ dst, std::size_t n, std::uint8_t value) {
  const std::size_t tid = thread_index(), stride = thread_count();
  const Split s = split16(dst, n);
  for (std::size_t i = tid; i < s.head; i += stride) dst[i] = value;
  const unsigned word = 0x01010101u * value;
  const uint4 v = make_uint4(word, word, word, word);
  uint4* vdst = reinterpret_cast<uint4*>(dst + s.head);
  for (std::size_t i = tid; i < s.vectors; i += stride) vdst[i] = v;
  for (std::size_t j = s.head + s.vectors * 16 + tid; j < n; j += stride) dst[j] = value;
}

__device__ std::uint64_t global_timer_ns() {
  std::uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void blocking_kernel(const volatile int* release, int* timed_out,
                                std::uint64_t timeout_ns) {
  const std::uint64_t start = global_timer_ns();
  while (*release == 0) {
    if (global_timer_ns() - start > timeout_ns) {
      *timed_out = 1;
      break;
    }
  }
}

__global__ void spin_kernel(std::uint64_t ns) {
  const std::uint64_t start = global_timer_ns();
  while (global_timer_ns() - start < ns) {
  }
}

__global__ void fill_pattern_kernel(std::uint8_t* dst, std::size_t n, std::uint32_t seed) {
  for (std::size_t i = thread_index(); i < n; i += thread_count()) dst[i] = pattern_byte(i, seed);
}

__global__ void count_pattern_mismatches_kernel(const std::uint8_t* p, std::size_t n,
                                                std::uint32_t seed, unsigned long long* count) {
  unsigned long long bad = 0;
  for (std::size_t i = thread_index(); i < n; i += thread_count()) bad += p[i] != pattern_byte(i, seed);
  block_add(bad, count);
}

__global__ void count_value_mismatches_kernel(const std::uint8_t* p, std::size_t n,
                                              std::uint8_t value, unsigned long long* count) {
  unsigned long long bad = 0;
  for (std::size_t i = thread_index(); i < n; i += thread_count()) bad += p[i] != value;
  block_add(bad, count);
}

// The reference for read_kernel: scalar loads, no vectors, no head/tail logic to get wrong.
__global__ void reference_byte_sum_kernel(const std::uint8_t* p, std::size_t n,
                                          unsigned long long* sum) {
  unsigned long long acc = 0;
  for (std::size_t i = thread_index(); i < n; i += thread_count()) acc += p[i];
  if (acc != 0) atomicAdd(sum, acc);  // one atomic per thread: nothing shared with read_kernel
}

// Blocks for a grid-stride kernel over `threads_wanted` threads of work: no more than are
// resident at once on the current device (its SM count times the kernel's occupancy), no more
// than the work needs. The resident count is cached per kernel and device: cudaGetDevice is
// cheap, but the occupancy query costs about a microsecond, which a 2 µs copy cannot afford.
template <auto Kernel>
unsigned blocks_for(std::size_t threads_wanted) {
  thread_local int cached_device = -1;
  thread_local std::size_t resident = 0;
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  if (device != cached_device) {
    int sms = 0, per_sm = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, Kernel, kThreads, 0));
    resident = static_cast<std::size_t>(sms) * static_cast<std::size_t>(per_sm > 0 ? per_sm : 1);
    cached_device = device;
  }
  std::size_t needed = (threads_wanted + kThreads - 1) / kThreads;
  if (needed == 0) needed = 1;
  return static_cast<unsigned>(needed < resident ? needed : resident);
}

}  // namespace

void launch_null(cudaStream_t stream) {
  null_kernel<<<1, 1, 0, stream>>>();
  CUDA_CHECK_LAUNCH();
}

void launch_copy(void* dst, const void* src, std::size_t n, cudaStream_t stream) {
  unsigned blocks = blocks_for<copy_kernel>(n / (16 * kUnroll) + 16);
  copy_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<std::uint8_t*>(dst),
                                               static_cast<const std::uint8_t*>(src), n);
  CUDA_CHECK_LAUNCH();
}

void launch_read(const void* src, std::size_t n, unsigned long long* sum, cudaStream_t stream) {
  unsigned blocks = blocks_for<read_kernel>(n / (16 * kUnroll) + 16);
  read_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<const std::uint8_t*>(src), n, sum);
  CUDA_CHECK_LAUNCH();
}

void launch_write(void* dst, std::size_t n, std::uint8_t value, cudaStream_t stream) {
  unsigned blocks = blocks_for<write_kernel>(n / 16 + 16);
  write_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<std::uint8_t*>(dst), n, value);
  CUDA_CHECK_LAUNCH();
}

void launch_blocking(const volatile int* release, int* timed_out, std::uint64_t timeout_ns,
                     cudaStream_t stream) {
  blocking_kernel<<<1, 1, 0, stream>>>(release, timed_out, timeout_ns);
  CUDA_CHECK_LAUNCH();
}

void launch_spin(std::uint64_t ns, cudaStream_t stream) {
  spin_kernel<<<1, 1, 0, stream>>>(ns);
  CUDA_CHECK_LAUNCH();
}

void launch_fill_pattern(void* dst, std::size_t n, std::uint32_t seed, cudaStream_t stream) {
  unsigned blocks = blocks_for<fill_pattern_kernel>(n);
  fill_pattern_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<std::uint8_t*>(dst), n, seed);
  CUDA_CHECK_LAUNCH();
}

void launch_count_pattern_mismatches(const void* p, std::size_t n, std::uint32_t seed,
                                     unsigned long long* count, cudaStream_t stream) {
  unsigned blocks = blocks_for<count_pattern_mismatches_kernel>(n);
  count_pattern_mismatches_kernel<<<blocks, kThreads, 0, stream>>>(
      static_cast<const std::uint8_t*>(p), n, seed, count);
  CUDA_CHECK_LAUNCH();
}

void launch_count_value_mismatches(const void* p, std::size_t n, std::uint8_t value,
                                   unsigned long long* count, cudaStream_t stream) {
  unsigned blocks = blocks_for<count_value_mismatches_kernel>(n);
  count_value_mismatches_kernel<<<blocks, kThreads, 0, stream>>>(
      static_cast<const std::uint8_t*>(p), n, value, count);
  CUDA_CHECK_LAUNCH();
}

void launch_reference_byte_sum(const void* src, std::size_t n, unsigned long long* sum,
                               cudaStream_t stream) {
  unsigned blocks = blocks_for<reference_byte_sum_kernel>(n);
  reference_byte_sum_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<const std::uint8_t*>(src),
                                                              n, sum);
  CUDA_CHECK_LAUNCH();
}

}  // namespace batchcost::kernels
