// Tests of the GEMM check (kernels/gemm_reference.h): its pure choices (tolerances, sampled rows,
// storage types) on any machine; on a GPU, that the reference agrees with cuBLAS in the TN
// layout the benchmarks use, for every dtype cuBLAS runs without cuBLASLt, and that it fails a
// wrong (transposed) result. The GPU tests skip, saying why, where there is no GPU.
#include <cublas_v2.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "kernels/check.h"
#include "kernels/gemm_reference.h"
#include "tests/gpu_test.h"

namespace batchcost {
namespace {

TEST(GemmCheckPlan, TolerancesOrderedByPrecision) {
  EXPECT_LT(gemm_tolerance(GemmDtype::fp32), gemm_tolerance(GemmDtype::tf32));
  EXPECT_LT(gemm_tolerance(GemmDtype::fp16), gemm_tolerance(GemmDtype::bf16));
  EXPECT_LE(gemm_tolerance(GemmDtype::bf16), gemm_tolerance(GemmDtype::fp8_e4m3));
  for (GemmDtype d : kGemmDtypes) {
    EXPECT_GT(gemm_tolerance(d), 0);
    EXPECT_LT(gemm_tolerance(d), 0.1) << "a tolerance that loose would pass a wrong layout";
  }
}

TEST(GemmCheckPlan, SampleRowsKeepsEndsAndIsSortedAndDistinct) {
  EXPECT_EQ(sample_rows(0, 4), std::vector<std::int64_t>{});
  EXPECT_EQ(sample_rows(3, 4), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(sample_rows(5, 3), (std::vector<std::int64_t>{0, 2, 4}));
  const auto r = sample_rows(16384, 128);
  ASSERT_EQ(r.size(), 128u);
  EXPECT_EQ(r.front(), 0);
  EXPECT_EQ(r.back(), 16383);
  for (std::size_t i = 1; i < r.size(); ++i) EXPECT_LT(r[i - 1], r[i]);
  EXPECT_THROW(sample_rows(-1, 4), std::invalid_argument);
  EXPECT_THROW(sample_rows(10, 1), std::invalid_argument);
}

TEST(GemmCheckPlan, StorageTypes) {
  EXPECT_EQ(input_type(GemmDtype::fp8_e4m3), CUDA_R_8F_E4M3);
  EXPECT_EQ(output_type(GemmDtype::fp8_e4m3), CUDA_R_16BF);
  EXPECT_EQ(input_type(GemmDtype::tf32), CUDA_R_32F);
  for (GemmDtype d : kGemmDtypes) {
    EXPECT_EQ(type_bytes(input_type(d)), input_bytes(d));
    EXPECT_EQ(type_bytes(output_type(d)), output_bytes(d));
  }
  EXPECT_THROW(type_bytes(CUDA_R_64F), std::invalid_argument);
}

class GpuGemmCheck : public GpuTest {
 protected:
  void TearDown() override {
    for (void* p : buffers_) CUDA_CHECK_NOTHROW(cudaFree(p));
    GpuTest::TearDown();
  }

  void* alloc(std::size_t bytes) {
    void* p = nullptr;
    CUDA_CHECK(cudaMalloc(&p, bytes));
    buffers_.push_back(p);
    return p;
  }

  // Y[M, N] = X[M, K] · W[N, K]ᵀ through cublasGemmEx (TN), then the sampled error.
  double error_of(GemmDtype dtype, int m, int n, int k, bool transpose_wrongly = false) {
    const cudaDataType_t t = input_type(dtype);
    const auto eb = static_cast<std::size_t>(type_bytes(t));
    void* w = alloc(static_cast<std::size_t>(n) * k * eb);
    void* x = alloc(static_cast<std::size_t>(m) * k * eb);
    void* y = alloc(static_cast<std::size_t>(m) * n * eb);
    fill_uniform(w, t, static_cast<std::size_t>(n) * k, 1, 1.0f, stream_);
    fill_uniform(x, t, static_cast<std::size_t>(m) * k, 2, 1.0f, stream_);
    const float alpha = 1, beta = 0;
    const cublasComputeType_t compute =
        dtype == GemmDtype::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUBLAS_CHECK(cublasGemmEx(handle_, transpose_wrongly ? CUBLAS_OP_N : CUBLAS_OP_T, CUBLAS_OP_N,
                              n, m, k, &alpha, w, t, transpose_wrongly ? n : k, x, t, k, &beta, y,
                              t, n, compute, CUBLAS_GEMM_DEFAULT));
    const CheckedGemm g{x, t, k, w, t, k, y, t, n, n, k};
    std::vector<SampledRow> rows;
    for (std::int64_t r : sample_rows(m, 16)) rows.push_back({r, 0, r});
    return sampled_relative_error(g, rows, stream_);
  }

  std::vector<void*> buffers_;
};

TEST_F(GpuGemmCheck, ReferenceAgreesWithCublasWithinTolerance) {
  for (GemmDtype d : {GemmDtype::bf16, GemmDtype::fp16, GemmDtype::tf32, GemmDtype::fp32}) {
    for (auto [m, n, k] :
         {std::array{1, 64, 64}, std::array{37, 96, 160}, std::array{128, 256, 512}}) {
      const double err = error_of(d, m, n, k);
      EXPECT_LE(err, gemm_tolerance(d)) << dtype_label(d) << " " << m << "x" << n << "x" << k;
    }
  }
}

TEST_F(GpuGemmCheck, ReferenceFailsATransposedWeight) {
  // Square, so the wrong layout still runs: only the values differ.
  EXPECT_GT(error_of(GemmDtype::bf16, 64, 64, 64, /*transpose_wrongly=*/true), 0.1);
}

TEST_F(GpuGemmCheck, GatherRowsCopiesAndZeroes) {
  const int rows = 5, width = 3;
  std::vector<float> src(rows * width);
  for (int i = 0; i < rows * width; ++i) src[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const std::vector<std::int32_t> index = {4, -1, 0, 0};
  auto* d_src = static_cast<float*>(alloc(src.size() * sizeof(float)));
  auto* d_dst = static_cast<float*>(alloc(index.size() * width * sizeof(float)));
  auto* d_idx = static_cast<std::int32_t*>(alloc(index.size() * sizeof(std::int32_t)));
  CUDA_CHECK(cudaMemcpy(d_src, src.data(), src.size() * sizeof(float), cudaMemcpyHostToDevice));
  CUDA_CHECK(
      cudaMemcpy(d_idx, index.data(), index.size() * sizeof(std::int32_t), cudaMemcpyHostToDevice));
  gather_rows(d_dst, d_src, d_idx, static_cast<std::int64_t>(index.size()), width * sizeof(float),
              stream_);
  std::vector<float> dst(index.size() * width);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  CUDA_CHECK(cudaMemcpy(dst.data(), d_dst, dst.size() * sizeof(float), cudaMemcpyDeviceToHost));
  EXPECT_EQ(dst, (std::vector<float>{12, 13, 14, 0, 0, 0, 0, 1, 2, 0, 1, 2}));
}

}  // namespace
}  // namespace batchcost
