// The checks of the GEMM and MoE benchmarks: seeded random inputs made on the device, a row
// gather, and a reference GEMM on sampled output rows with the relative error of a result
// against it. Host-callable launchers (the kernels are in gemm_reference.cu), plus the pure
// choices behind a check (tolerances, which rows to sample), which are host code and tested on
// any machine.
//
// Layout convention, shared by bench/gemm and moe/: row-major activations X[M, K] and outputs
// Y[M, N]; weights W[N, K] (out × in, as inference engines store a linear layer), so
// Y = X · Wᵀ. cuBLAS is column-major: it sees X as the K×M matrix Xᵀ, W as the K×N matrix Wᵀ,
// and computes Yᵀ = (Wᵀ)ᵀ · Xᵀ = op_T(W') · X' with transa = T, transb = N ("TN", the layout
// fp8 tensor cores require on Hopper and Ada, used for every dtype so that one layout is
// measured).
//
// The reference reads the same low-precision inputs as the GEMM under test, converts each to
// float (exact for fp8, fp16, bf16 and fp32) and accumulates products in double, so it is exact
// to far below every tolerance: the error it measures is the GEMM's own (its accumulation order,
// tf32 rounding of the inputs, and the rounding of the output).
#pragma once

#include <cuda_runtime_api.h>
#include <library_types.h>

#include <cstdint>
#include <span>
#include <vector>

#include "core/gemm_shapes.h"
#include "kernels/reference_kernels.h"

namespace batchcost {

// The storage type of a dtype's inputs and of its output (fp8_e4m3 writes bf16, tf32 stores
// fp32; see gemm_shapes.h).
cudaDataType_t input_type(GemmDtype dtype);
cudaDataType_t output_type(GemmDtype dtype);

// The largest relative Frobenius error ‖C − ref‖ / ‖ref‖ a GEMM of `dtype` may have against the
// exact product of its (already low-precision) inputs. Inputs are uniform in [-1, 1), so the
// products have random signs and errors grow like sqrt(K), not K.
//   fp32      1e-4  fp32 accumulation: rounding errors of about 2^-24 · sqrt(K) relative to the
//                   result's norm (1e-5 at K = 28672); 1e-4 leaves room for split-K orders and
//                   still fails any wrong index, transpose or stride by orders of magnitude.
//   tf32      5e-3  inputs rounded to 10 mantissa bits (unit roundoff 2^-11 = 4.9e-4): the
//                   relative error of the sum is about that; 10× margin.
//   fp16      2e-3  inputs exact; only the fp16 output rounding (2^-11, rms about 2.8e-4).
//   bf16      1e-2  inputs exact; the bf16 output rounding (2^-8 = 3.9e-3, rms about 2.3e-3).
//   fp8_e4m3  1e-2  inputs are the fp8 values the reference reads too; bf16 output: as bf16.
double gemm_tolerance(GemmDtype dtype);

// Up to `max_rows` row indices of [0, rows), evenly spread, always including the first and the
// last row (all rows when rows <= max_rows). Requires rows >= 0, max_rows >= 2.
std::vector<std::int64_t> sample_rows(std::int64_t rows, std::int64_t max_rows);

inline double sampled_relative_error(const CheckedGemm& gemm, std::span<const SampledRow> rows,
                                     cudaStream_t stream) {
  return sampled_relative_error(gemm, rows.data(), rows.size(), stream);
}

}  // namespace batchcost
