// One check macro per API family: CUDA_CHECK (runtime) and CUBLAS_CHECK here, NCCL_CHECK in
// nccl_check.h. Each names the call, file:line, the error's name and text, and throws
// batchcost::ApiError, so tests can assert on failures. The *_NOTHROW variants print the same
// message to stderr instead, for destructors.
#pragma once

// cublas_v2.h, not cublas_api.h: CUDA 12's cublas_api.h refuses to be included on its own.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdio>

#include "kernels/api_error.h"

namespace batchcost::detail {

[[noreturn]] inline void throw_cuda(cudaError_t e, const char* call, const char* file, int line) {
  throw ApiError("CUDA", call, file, line, cudaGetErrorName(e), cudaGetErrorString(e),
                 static_cast<int>(e));
}

[[noreturn]] inline void throw_cublas(cublasStatus_t s, const char* call, const char* file,
                                      int line) {
  throw ApiError("cuBLAS", call, file, line, cublasGetStatusName(s), cublasGetStatusString(s),
                 static_cast<int>(s));
}

inline void print_cuda(cudaError_t e, const char* call, const char* file, int line) {
  std::fprintf(stderr, "batchcost: %s\n",
               ApiError::format("CUDA", call, file, line, cudaGetErrorName(e), cudaGetErrorString(e))
                   .c_str());
}

inline void print_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  std::fprintf(stderr, "batchcost: %s\n",
               ApiError::format("cuBLAS", call, file, line, cublasGetStatusName(s),
                                cublasGetStatusString(s))
                   .c_str());
}

}  // namespace batchcost::detail

#define CUDA_CHECK(call)                                                            \
  do {                                                                              \
    cudaError_t batchcost_e_ = (call);                                              \
    if (batchcost_e_ != cudaSuccess)                                                \
      ::batchcost::detail::throw_cuda(batchcost_e_, #call, __FILE__, __LINE__);     \
  } while (0)

#define CUDA_CHECK_NOTHROW(call)                                                    \
  do {                                                                              \
    cudaError_t batchcost_e_ = (call);                                              \
    if (batchcost_e_ != cudaSuccess)                                                \
      ::batchcost::detail::print_cuda(batchcost_e_, #call, __FILE__, __LINE__);     \
  } while (0)

// After a kernel launch: the launch's own error (bad configuration, no device).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#define CUBLAS_CHECK(call)                                                          \
  do {                                                                              \
    cublasStatus_t batchcost_s_ = (call);                                           \
    if (batchcost_s_ != CUBLAS_STATUS_SUCCESS)                                      \
      ::batchcost::detail::throw_cublas(batchcost_s_, #call, __FILE__, __LINE__);   \
  } while (0)

#define CUBLAS_CHECK_NOTHROW(call)                                                  \
  do {                                                                              \
    cublasStatus_t batchcost_s_ = (call);                                           \
    if (batchcost_s_ != CUBLAS_STATUS_SUCCESS)                                      \
      ::batchcost::detail::print_cublas(batchcost_s_, #call, __FILE__, __LINE__);   \
  } while (0)
