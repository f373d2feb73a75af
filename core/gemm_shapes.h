// GEMM shapes and their work, host C++ only (no CUDA): the dtypes the GEMM benchmark sweeps,
// their storage sizes, the shape sweeps of issue 3 (square 128 → 16384; the layer shapes of
// DeepSeek-V3 and Llama-3-70B at M = 1 … 16384 tokens), and the work of one GEMM.
//
// Convention (C[M,N] = A[M,K] · B[K,N], M = tokens, K = input features, N = output features):
//   flops    = 2·M·N·K
//   bytes    = (M·K + K·N)·input_bytes + M·N·output_bytes   (each input read once, the output
//              written once: the fewest HBM bytes; beta = 0, so C is not read)
//   kernels  = 1 per cuBLAS / cuBLASLt call, run back to back in a device-timed batch (a split-K
//              reduction kernel that the library may add is not counted: the fit absorbs it into
//              the per-kernel latency). A host-timed caller declares launches instead.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/contract.h"
#include "core/dtype.h"

namespace batchcost {

// The GEMM dtypes. Accumulation is fp32 for all of them.
//   bf16, fp16: 2-byte inputs and output.
//   tf32:       tensor-core math on fp32 storage: 4-byte inputs and output.
//   fp32:       4-byte inputs and output, fp32 math.
//   fp8_e4m3:   1-byte inputs, bf16 output (cuBLASLt's usual fp8 configuration; fp8 output would
//               need a scale for D that the benchmark has no reason to pick).
// The GEMMs sweep every compute type of core/dtype.h.
using GemmDtype = Dtype;
inline constexpr std::array<GemmDtype, 5> kGemmDtypes = kComputeDtypes;

// The `dtype=` label value (DESIGN.md): "bf16", "fp16", "tf32", "fp32", "fp8_e4m3".
std::string_view dtype_label(GemmDtype dtype);
// Inverse of dtype_label; throws std::invalid_argument naming the text otherwise.
GemmDtype parse_gemm_dtype(std::string_view label);
int input_bytes(GemmDtype dtype);
int output_bytes(GemmDtype dtype);
// Whether the GPU of compute capability `major·10 + minor` (80 = A100, 89 = L40S, 90 = H100) has
// tensor-core support for the dtype: bf16 and tf32 need sm_80, fp8 e4m3 needs sm_89; fp16 and
// fp32 run everywhere the project builds for (sm_70+).
bool gemm_dtype_supported(GemmDtype dtype, int compute_capability);

struct GemmShape {
  std::string name;    // "square" or a layer name such as "dsv3_expert_gate_up"
  std::int64_t m = 0;  // rows of A and C: tokens
  std::int64_t n = 0;  // columns of B and C: output features
  std::int64_t k = 0;  // reduction: input features

  bool operator==(const GemmShape&) const = default;
};

// The work of one GEMM (see the file header). m may be 0 (cuBLAS returns without launching
// anything: empty Work); n and k must be positive. Throws std::invalid_argument otherwise.
Work gemm_work(std::int64_t m, std::int64_t n, std::int64_t k, GemmDtype dtype);
Work gemm_work(const GemmShape& shape, GemmDtype dtype);

// Powers of two from `first` to `last` inclusive (both powers of two, first <= last). `quick`
// keeps every other one (first, 4·first, 16·first, …) and always `last`, so the ends of a sweep
// are measured in both modes. Throws std::invalid_argument otherwise.
std::vector<std::int64_t> power_of_two_sweep(std::int64_t first, std::int64_t last, bool quick);

inline constexpr std::int64_t kMaxTokens = 16384;
// Tokens M = 1, 2, 4, … 16384: batch-1 decode up to a long prefill chunk.
std::vector<std::int64_t> token_sweep(bool quick);

// Square GEMMs M = N = K = 128 … 16384, named "square".
std::vector<GemmShape> square_sweep(bool quick);
// The real layer shapes with m = 0 (the token count is the sweep's):
//   DeepSeek-V3 (hidden 7168): dsv3_expert_gate_up 7168→4096 (gate+up of one routed expert,
//   2·2048), dsv3_expert_down 2048→7168, dsv3_dense_ffn_up 7168→18432 (the first three dense
//   layers); Llama-3-70B (hidden 8192): llama3_70b_ffn_up 8192→28672, llama3_70b_ffn_down
//   28672→8192, llama3_70b_attn_qkv 8192→10240 (64 query heads + 2·8 KV heads of 128).
// "a→b" is K = a, N = b.
std::vector<GemmShape> layer_shapes();
// Every layer shape at every M of token_sweep(quick), shape-major.
std::vector<GemmShape> layer_sweep(bool quick);

}  // namespace batchcost
