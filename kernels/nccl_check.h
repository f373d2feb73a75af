// NCCL_CHECK: like CUDA_CHECK (check.h), for NCCL calls. Only where NCCL is built in.
#pragma once

#include <nccl.h>

#include <cstdio>

#include "kernels/api_error.h"

namespace batchcost::detail {

inline const char* nccl_result_name(ncclResult_t r) {
  switch (r) {
    case ncclSuccess: return "ncclSuccess";
    case ncclUnhandledCudaError: return "ncclUnhandledCudaError";
    case ncclSystemError: return "ncclSystemError";
    case ncclInternalError: return "ncclInternalError";
    case ncclInvalidArgument: return "ncclInvalidArgument";
    case ncclInvalidUsage: return "ncclInvalidUsage";
    case ncclRemoteError: return "ncclRemoteError";
    case ncclInProgress: return "ncclInProgress";
    default: return "ncclResult(unknown)";
  }
}

[[noreturn]] inline void throw_nccl(ncclResult_t r, const char* call, const char* file, int line) {
  throw ApiError("NCCL", call, file, line, nccl_result_name(r), ncclGetErrorString(r),
                 static_cast<int>(r));
}

inline void print_nccl(ncclResult_t r, const char* call, const char* file, int line) {
  std::fprintf(stderr, "batchcost: %s\n",
               ApiError::format("NCCL", call, file, line, nccl_result_name(r), ncclGetErrorString(r))
                   .c_str());
}

}  // namespace batchcost::detail

#define NCCL_CHECK(call)                                                            \
  do {                                                                              \
    ncclResult_t batchcost_r_ = (call);                                             \
    if (batchcost_r_ != ncclSuccess)                                                \
      ::batchcost::detail::throw_nccl(batchcost_r_, #call, __FILE__, __LINE__);     \
  } while (0)

#define NCCL_CHECK_NOTHROW(call)                                                    \
  do {                                                                              \
    ncclResult_t batchcost_r_ = (call);                                             \
    if (batchcost_r_ != ncclSuccess)                                                \
      ::batchcost::detail::print_nccl(batchcost_r_, #call, __FILE__, __LINE__);     \
  } while (0)
