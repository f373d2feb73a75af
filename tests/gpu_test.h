// The GPU tests' fixture: device 0 with a stream and a cuBLAS handle; where there is no usable
// GPU, every test skips and says why (the CUDA runtime's own words).
#pragma once

#include <cublas_v2.h>
#include <gtest/gtest.h>

#include <string>

#include "kernels/check.h"

namespace batchcost {

// Why this machine has no usable GPU, or "" when it has one.
inline std::string no_gpu_reason() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    return std::string("no usable CUDA GPU: cudaGetDeviceCount: ") + cudaGetErrorName(e) + " (" +
           cudaGetErrorString(e) + ")";
  }
  if (count == 0) return "no usable CUDA GPU: the CUDA runtime sees no device";
  return "";
}

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = no_gpu_reason(); !why.empty()) GTEST_SKIP() << why;
    CUDA_CHECK(cudaSetDevice(0));
    CUDA_CHECK(cudaStreamCreate(&stream_));
    CUBLAS_CHECK(cublasCreate(&handle_));
    CUBLAS_CHECK(cublasSetStream(handle_, stream_));
  }
  void TearDown() override {
    if (handle_ != nullptr) CUBLAS_CHECK_NOTHROW(cublasDestroy(handle_));
    if (stream_ != nullptr) CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
  }

  cudaStream_t stream_ = nullptr;
  cublasHandle_t handle_ = nullptr;
};

}  // namespace batchcost
