// The project's own CUDA kernels, behind host-callable launchers (so that benchmark files are
// plain C++). Memory kernels move 16 bytes per access on the aligned body and handle any size
// and any start address: a byte-wise head up to 16-byte alignment and a byte-wise tail.
//
// Grids are sized from the SM count (a few resident blocks per SM, grid-stride loops), not from
// the problem size: enough warps to saturate HBM without launching millions of blocks.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace batchcost::kernels {

// An empty kernel, <<<1, 1>>>: what a launch costs when the kernel does nothing.
void launch_null(cudaStream_t stream);

// dst[0, n) = src[0, n). The fast path needs src and dst equally aligned modulo 16 (any buffer
// from cudaMalloc, at equal offsets); other pairs are copied correctly, byte by byte.
void launch_copy(void* dst, const void* src, std::size_t n, cudaStream_t stream);

// *sum += the sum of the bytes src[0, n) (as unsigned values): a read-only pass whose result
// depends on every byte, so the compiler cannot drop a load.
void launch_read(const void* src, std::size_t n, unsigned long long* sum, cudaStream_t stream);

// dst[0, n) = value.
void launch_write(void* dst, std::size_t n, std::uint8_t value, cudaStream_t stream);

// Holds `stream` until the host sets *release to non-zero (a host-mapped flag), or until
// timeout_ns have passed, in which case *timed_out is set to 1. The harness queues a batch of
// work behind it so the GPU runs the batch back to back, without host launch gaps.
void launch_blocking(const volatile int* release, int* timed_out, std::uint64_t timeout_ns,
                     cudaStream_t stream);

// Spins one thread for `ns` nanoseconds of the GPU's global timer: a kernel of known duration.
void launch_spin(std::uint64_t ns, cudaStream_t stream);

// Checks (not timed): fill with pattern_byte(i, seed); count bytes that differ from the pattern
// or from a value (*count += mismatches); a naive one-byte-per-thread reference of launch_read.
void launch_fill_pattern(void* dst, std::size_t n, std::uint32_t seed, cudaStream_t stream);
void launch_count_pattern_mismatches(const void* p, std::size_t n, std::uint32_t seed,
                                     unsigned long long* count, cudaStream_t stream);
void launch_count_value_mismatches(const void* p, std::size_t n, std::uint8_t value,
                                   unsigned long long* count, cudaStream_t stream);
void launch_reference_byte_sum(const void* src, std::size_t n, unsigned long long* sum,
                               cudaStream_t stream);

}  // namespace batchcost::kernels
