// The collective benchmark's check kernels, behind host-callable launchers: fill a rank's input
// with input_at, poison a receive buffer, count the elements that differ from expected_at
// (check_values.h). Not timed. Values are exact in fp32 and bf16 (check_values.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "core/collective_ops.h"

namespace batchcost::collective {

// dst[i] = input_at(op, redop, ranks, rank, first_index + i) for i in [0, n).
void launch_fill_input(void* dst, Dtype dtype, std::size_t n, Op op, RedOp redop, int ranks,
                       int rank, std::size_t first_index, cudaStream_t stream);

// dst[i] = value for i in [0, n).
void launch_fill_value(void* dst, Dtype dtype, std::size_t n, int value, cudaStream_t stream);

// *wrong += the number of i in [0, n) where p[i] != expected_at(op, redop, ranks, rank, root,
// count, i); elements the op leaves undefined are not counted. *wrong must be device memory.
void launch_count_wrong(const void* p, Dtype dtype, std::size_t n, Op op, RedOp redop, int ranks,
                        int rank, int root, std::size_t count, unsigned long long* wrong,
                        cudaStream_t stream);

}  // namespace batchcost::collective
