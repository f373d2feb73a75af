// The host choices of the GEMM and MoE checks: see gemm_reference.h.
#include "kernels/gemm_reference.h"

#include <stdexcept>
#include <string>

namespace batchcost {

cudaDataType_t input_type(GemmDtype dtype) {
  switch (dtype) {
    case GemmDtype::bf16:
      return CUDA_R_16BF;
    case GemmDtype::fp16:
      return CUDA_R_16F;
    case GemmDtype::tf32:
    case GemmDtype::fp32:
      return CUDA_R_32F;
    case GemmDtype::fp8_e4m3:
      return CUDA_R_8F_E4M3;
  }
  throw std::invalid_argument("input_type: not a GemmDtype");
}

cudaDataType_t output_type(GemmDtype dtype) {
  return dtype == GemmDtype::fp8_e4m3 ? CUDA_R_16BF : input_type(dtype);
}

int type_bytes(cudaDataType_t type) {
  switch (type) {
    case CUDA_R_8F_E4M3:
      return 1;
    case CUDA_R_16BF:
    case CUDA_R_16F:
      return 2;
    case CUDA_R_32F:
      return 4;
    default:
      throw std::invalid_argument("type_bytes: unsupported cudaDataType " +
                                  std::to_string(static_cast<int>(type)));
  }
}

double gemm_tolerance(GemmDtype dtype) {
  switch (dtype) {
    case GemmDtype::fp32:
      return 1e-4;
    case GemmDtype::tf32:
      return 5e-3;
    case GemmDtype::fp16:
      return 2e-3;
    case GemmDtype::bf16:
    case GemmDtype::fp8_e4m3:
      return 1e-2;
  }
  throw std::invalid_argument("gemm_tolerance: not a GemmDtype");
}

std::vector<std::int64_t> sample_rows(std::int64_t rows, std::int64_t max_rows) {
  if (rows < 0 || max_rows < 2) {
    throw std::invalid_argument("sample_rows: need rows >= 0 and max_rows >= 2; got " +
                                std::to_string(rows) + ", " + std::to_string(max_rows));
  }
  std::vector<std::int64_t> out;
  if (rows <= max_rows) {
    for (std::int64_t r = 0; r < rows; ++r) out.push_back(r);
    return out;
  }
  // max_rows points from 0 to rows - 1 inclusive, evenly spaced (strictly increasing because
  // rows > max_rows).
  for (std::int64_t s = 0; s < max_rows; ++s) out.push_back(s * (rows - 1) / (max_rows - 1));
  return out;
}

}  // namespace batchcost
