// GPU tests of the project's kernels: exact results on odd sizes, unaligned starts and tails,
// bytes outside the range untouched; the null kernel, graph and spin paths. Each test skips,
// saying why, where there is no usable GPU.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "kernels/check.h"
#include "tests/gpu_test.h"
#include "kernels/kernels.h"
#include "kernels/pattern.h"

namespace batchcost {
namespace {

class GpuKernels : public GpuTest {
 protected:


  // A device buffer of `n` bytes, `guard` bytes of 0xEE on each side of the tested range.
  struct Guarded {
    std::uint8_t* base = nullptr;
    std::size_t total = 0;
    ~Guarded() { CUDA_CHECK_NOTHROW(cudaFree(base)); }
  };
  static constexpr std::size_t kGuard = 64;

  std::vector<std::uint8_t> download(const std::uint8_t* p, std::size_t n) {
    std::vector<std::uint8_t> out(n);
    CUDA_CHECK(cudaMemcpyAsync(out.data(), p, n, cudaMemcpyDeviceToHost, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    return out;
  }
  void alloc(Guarded& g, std::size_t n) {
    g.total = n + 2 * kGuard + 32;
    CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&g.base), g.total));
    CUDA_CHECK(cudaMemsetAsync(g.base, 0xEE, g.total, stream_));
  }
  // The bytes before `offset` and after `offset + n` still hold the guard value.
  void expect_guards_intact(Guarded& g, std::size_t offset, std::size_t n) {
    auto all = download(g.base, g.total);
    for (std::size_t i = 0; i < offset; ++i) ASSERT_EQ(all[i], 0xEE) << "byte before the range, " << i;
    for (std::size_t i = offset + n; i < g.total; ++i) ASSERT_EQ(all[i], 0xEE) << "byte after the range, " << i;
  }

};

// Sizes around the 16-byte vector width and the unrolled body, and odd ones.
const std::size_t kSizes[] = {1, 3, 15, 16, 17, 63, 64, 65, 255, 4097, (1u << 20) + 7};

TEST_F(GpuKernels, CopyIsExactForOddSizesAndOffsets) {
  for (std::size_t n : kSizes) {
    for (std::size_t src_off : {0u, 1u, 5u, 16u}) {
      for (std::size_t dst_off : {0u, 1u, 7u}) {
        Guarded src, dst;
        alloc(src, n);
        alloc(dst, n);
        std::uint8_t* s = src.base + kGuard + src_off;
        std::uint8_t* d = dst.base + kGuard + dst_off;
        kernels::launch_fill_pattern(s, n, 11, stream_);
        kernels::launch_copy(d, s, n, stream_);
        auto got = download(d, n);
        for (std::size_t i = 0; i < n; ++i) {
          ASSERT_EQ(got[i], pattern_byte(i, 11))
              << "n=" << n << " src_off=" << src_off << " dst_off=" << dst_off << " byte " << i;
        }
        expect_guards_intact(dst, kGuard + dst_off, n);
      }
    }
  }
}

TEST_F(GpuKernels, ReadSumsEveryByteOnce) {
  for (std::size_t n : kSizes) {
    for (std::size_t off : {0u, 3u, 9u}) {
      Guarded buf;
      alloc(buf, n);
      std::uint8_t* p = buf.base + kGuard + off;
      kernels::launch_fill_pattern(p, n, 3, stream_);
      unsigned long long* sum = nullptr;
      CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&sum), sizeof *sum));
      CUDA_CHECK(cudaMemsetAsync(sum, 0, sizeof *sum, stream_));
      kernels::launch_read(p, n, sum, stream_);
      unsigned long long got = 0;
      CUDA_CHECK(cudaMemcpyAsync(&got, sum, sizeof got, cudaMemcpyDeviceToHost, stream_));
      CUDA_CHECK(cudaStreamSynchronize(stream_));
      CUDA_CHECK(cudaFree(sum));
      unsigned long long expected = 0;
      for (std::size_t i = 0; i < n; ++i) expected += pattern_byte(i, 3);
      EXPECT_EQ(got, expected) << "n=" << n << " offset=" << off;
    }
  }
}

TEST_F(GpuKernels, WriteFillsExactlyTheRange) {
  for (std::size_t n : kSizes) {
    for (std::size_t off : {0u, 1u, 15u}) {
      Guarded buf;
      alloc(buf, n);
      kernels::launch_write(buf.base + kGuard + off, n, 0x5A, stream_);
      auto got = download(buf.base + kGuard + off, n);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], 0x5A) << "n=" << n << " byte " << i;
      expect_guards_intact(buf, kGuard + off, n);
    }
  }
}

TEST_F(GpuKernels, CheckKernelsCountMismatches) {
  const std::size_t n = 1000;
  Guarded buf;
  alloc(buf, n);
  std::uint8_t* p = buf.base + kGuard;
  kernels::launch_fill_pattern(p, n, 5, stream_);
  CUDA_CHECK(cudaMemsetAsync(p + 10, static_cast<std::uint8_t>(~pattern_byte(10, 5)), 1, stream_));
  unsigned long long* count = nullptr;
  CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&count), sizeof *count));
  CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof *count, stream_));
  kernels::launch_count_pattern_mismatches(p, n, 5, count, stream_);
  unsigned long long bad = 0;
  CUDA_CHECK(cudaMemcpyAsync(&bad, count, sizeof bad, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  EXPECT_EQ(bad, 1u);
  CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof *count, stream_));
  kernels::launch_count_value_mismatches(p, n, pattern_byte(0, 5), count, stream_);
  CUDA_CHECK(cudaMemcpyAsync(&bad, count, sizeof bad, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  EXPECT_GT(bad, n / 2);
  CUDA_CHECK(cudaFree(count));
}

TEST_F(GpuKernels, NullKernelAndGraphReplayRun) {
  kernels::launch_null(stream_);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < 10; ++i) kernels::launch_null(stream_);
  cudaGraph_t graph = nullptr;
  CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  std::size_t nodes = 0;
  CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &nodes));
  EXPECT_EQ(nodes, 10u);
  cudaGraphExec_t exec = nullptr;
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  for (int i = 0; i < 3; ++i) CUDA_CHECK(cudaGraphLaunch(exec, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  CUDA_CHECK(cudaGraphExecDestroy(exec));
  CUDA_CHECK(cudaGraphDestroy(graph));
}

TEST_F(GpuKernels, SpinAndBlockingKernelsTakeTheirTime) {
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  CUDA_CHECK(cudaEventRecord(a, stream_));
  kernels::launch_spin(200'000, stream_);  // 200 µs
  CUDA_CHECK(cudaEventRecord(b, stream_));
  CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  EXPECT_GE(ms, 0.2f);
  EXPECT_LT(ms, 5.0f);

  // The blocking kernel holds the stream until released, and times out when never released.
  int* flags = nullptr;
  CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&flags), 2 * sizeof(int), cudaHostAllocMapped));
  flags[0] = 0;
  flags[1] = 0;
  kernels::launch_blocking(flags, flags + 1, 1'000'000, stream_);  // never released: 1 ms
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  EXPECT_EQ(flags[1], 1);
  flags[1] = 0;
  kernels::launch_blocking(flags, flags + 1, 5'000'000'000ull, stream_);
  EXPECT_EQ(cudaStreamQuery(stream_), cudaErrorNotReady);
  reinterpret_cast<volatile int*>(flags)[0] = 1;
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  EXPECT_EQ(flags[1], 0);
  CUDA_CHECK(cudaFreeHost(flags));
  CUDA_CHECK(cudaEventDestroy(a));
  CUDA_CHECK(cudaEventDestroy(b));
}

TEST_F(GpuKernels, CudaCheckThrowsWithTheCallNamed) {
  try {
    CUDA_CHECK(cudaSetDevice(1 << 20));
    FAIL() << "no exception";
  } catch (const ApiError& e) {
    EXPECT_NE(std::string(e.what()).find("cudaSetDevice(1 << 20)"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cudaErrorInvalidDevice"), std::string::npos);
  }
}

}  // namespace
}  // namespace batchcost
