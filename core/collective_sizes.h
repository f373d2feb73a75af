// The size sweep of the collective benchmark: sizes in nccl-tests' convention (core/collective_ops.h)
// from min_bytes to max_bytes by a power-of-two factor, each a whole number of elements (times
// ranks where the op splits its count across ranks), and none whose buffers exceed the memory
// the caller says one GPU has free. A pure function: the benchmark passes it cudaMemGetInfo's
// free bytes less a margin; the tests pass made-up numbers.
#pragma once

#include <cstddef>
#include <vector>

#include "core/collective_ops.h"

namespace batchcost::collective {

struct SweepOptions {
  std::size_t min_bytes = 8;        // nccl-tests' -b
  std::size_t max_bytes = 1 << 30;  // nccl-tests' -e: 1 GiB
  std::size_t step_factor = 2;      // nccl-tests' -f; a power of two >= 2
  // The most one rank may allocate (memory_bytes_per_rank: send, receive and check buffers).
  std::size_t memory_limit_bytes = static_cast<std::size_t>(-1);
};

// The `--quick` sweep: the same range with a step of 16, 8 sizes instead of 28 over 8 B..1 GiB.
inline constexpr std::size_t kQuickStepFactor = 16;

// Sizes in bytes (nccl-tests' size column), ascending and distinct. A size that is not a whole
// number of units (elem_bytes, times ranks where divides_by_ranks(op)) is rounded down to one,
// but never below one unit; sizes whose memory_bytes_per_rank exceeds memory_limit_bytes are
// left out. Throws std::invalid_argument for ranks < 1, elem_bytes == 0, min_bytes == 0,
// min_bytes > max_bytes, or a step_factor that is not a power of two >= 2.
std::vector<std::size_t> size_sweep(Op op, int ranks, std::size_t elem_bytes,
                                    const SweepOptions& options = {});

}  // namespace batchcost::collective
