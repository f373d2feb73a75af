// GPU tests of the collective benchmark: every op's data check passes, in and out of place, in
// fp32 and bf16, with every redop for the reducing ops, on one rank and on every GPU present (up to
// 8); the check kernel counts every wrong element (a poisoned output, one flipped value). Each test
// skips, saying why, where there is no usable GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "harness/gpu.h"
#include "core/collective_values.h"
#include "collectives/collective_kernels.h"
#include "collectives/comms.h"
#include "tests/gpu_test.h"

namespace batchcost::collective {
namespace {

class GpuCollectives : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = no_gpu_reason(); !why.empty()) GTEST_SKIP() << why;
    CUDA_CHECK(cudaGetDeviceCount(&devices_));
  }
  int devices_ = 0;
};

// Buffers of every local rank for one shape, as the benchmark allocates them.
struct Buffers {
  std::vector<DeviceBuffer> send, recv;
  std::vector<RankBuffers> ptrs;
  Buffers(const Communicators& c, const Shape& shape, bool in_place) {
    for (const LocalRank& r : c.local()) {
      CUDA_CHECK(cudaSetDevice(r.device));
      send.emplace_back(in_place ? 0 : shape.send_bytes);
      recv.emplace_back(in_place ? std::max(shape.send_bytes, shape.recv_bytes) : shape.recv_bytes);
      ptrs.push_back(rank_buffers(shape, r.rank, in_place, send.back().get(), recv.back().get()));
    }
  }
};

TEST_F(GpuCollectives, EveryOpPassesItsDataCheck) {
  std::vector<int> rank_counts{1};
  if (std::min(devices_, 8) > 1) rank_counts.push_back(std::min(devices_, 8));
  for (int n : rank_counts) {
    auto comms = Communicators::all_in_process(n);
    for (Op op : kAllOps) {
      for (Dtype dtype : kAllDtypes) {
        // One element per peer, an odd count, and one past NCCL's small-message protocols.
        for (std::size_t count : {std::size_t{1}, std::size_t{1001}, std::size_t{1} << 20}) {
          for (RedOp redop : kAllRedOps) {
            if (!reduces(op) && redop != RedOp::sum) continue;
            if (!check_inexact_reason(op, redop, n).empty()) continue;
            Shape shape = shape_for_count(op, n, count, dtype_size_bytes(dtype));
            shape.redop = redop;
            for (bool in_place : {false, true}) {
              if (in_place && !in_place_checkable(op)) continue;
              Buffers b(*comms, shape, in_place);
              EXPECT_EQ(check_collective(*comms, shape, dtype, in_place, 0, b.ptrs), 0)
                  << op_name(op) << " " << redop_name(redop) << " " << dtype_name(dtype)
                  << " ranks=" << n << " count=" << count << " inplace=" << in_place;
            }
          }
        }
      }
    }
  }
}

TEST_F(GpuCollectives, RootOtherThanZero) {
  const int n = std::min(devices_, 8);
  auto comms = Communicators::all_in_process(n);
  for (Op op : {Op::broadcast, Op::reduce}) {
    const Shape shape = shape_for_count(op, n, 4097, 4);
    Buffers b(*comms, shape, false);
    EXPECT_EQ(check_collective(*comms, shape, Dtype::fp32, false, n - 1, b.ptrs), 0)
        << op_name(op) << " root=" << n - 1;
  }
}

TEST_F(GpuCollectives, CountWrongSeesEveryBadElement) {
  CUDA_CHECK(cudaSetDevice(0));
  cudaStream_t s = nullptr;
  CUDA_CHECK(cudaStreamCreate(&s));
  for (Dtype dtype : kAllDtypes) {
    const std::size_t n = 10007;
    DeviceBuffer buf(n * dtype_size_bytes(dtype));
    DeviceBuffer counter(sizeof(unsigned long long));
    auto* c = counter.get<unsigned long long>();
    auto count = [&](Op op) {
      CUDA_CHECK(cudaMemsetAsync(c, 0, sizeof *c, s));
      launch_count_wrong(buf.get(), dtype, n, op, RedOp::sum, 1, 0, 0, n, c, s);
      unsigned long long got = 0;
      CUDA_CHECK(cudaMemcpyAsync(&got, c, sizeof got, cudaMemcpyDeviceToHost, s));
      CUDA_CHECK(cudaStreamSynchronize(s));
      return got;
    };
    launch_fill_value(buf.get(), dtype, n, values::kPoison, s);
    EXPECT_EQ(count(Op::all_reduce), n) << dtype_name(dtype);
    // send_recv on one rank receives its own input: filled right, nothing is wrong...
    launch_fill_input(buf.get(), dtype, n, Op::send_recv, RedOp::sum, 1, 0, 0, s);
    EXPECT_EQ(count(Op::send_recv), 0u) << dtype_name(dtype);
    // ...until one element is off.
    launch_fill_value(static_cast<char*>(buf.get()) + 5 * dtype_size_bytes(dtype), dtype, 1,
                      static_cast<int>(values::input_at(Op::send_recv, RedOp::sum, 1, 0, 5)) + 1,
                      s);
    EXPECT_EQ(count(Op::send_recv), 1u) << dtype_name(dtype);
  }
  CUDA_CHECK(cudaStreamDestroy(s));
}

}  // namespace
}  // namespace batchcost::collective
