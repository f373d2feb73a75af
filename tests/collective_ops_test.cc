// The table of collectives and the size sweep: factors, net_bytes, shapes and the data check for
// every op and 1..64 ranks, checked against nccl-tests' definitions written out independently.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/collective_ops.h"
#include "core/collective_sizes.h"

namespace batchcost::collective {
namespace {

// nccl-tests' factors (doc/PERFORMANCE.md), written out again rather than called.
double reference_factor(Op op, int n) {
  switch (op) {
    case Op::all_reduce:
      return 2.0 * (n - 1) / n;
    case Op::all_gather:
    case Op::reduce_scatter:
    case Op::all_to_all:
      return static_cast<double>(n - 1) / n;
    default:
      return 1.0;
  }
}

TEST(CollectiveOps, NamesRoundTrip) {
  for (Op op : kAllOps) {
    EXPECT_EQ(parse_op(op_name(op)), op);
    EXPECT_EQ(op_from_nccl_tests_binary(nccl_tests_binary(op)), op);
    EXPECT_EQ(op_from_nccl_tests_binary(std::string(nccl_tests_binary(op)) + "_mpi"), op);
  }
  EXPECT_EQ(nccl_tests_binary(Op::all_to_all), "alltoall_perf");
  EXPECT_EQ(nccl_tests_binary(Op::send_recv), "sendrecv_perf");
  EXPECT_EQ(op_from_nccl_tests_binary("gather_perf"), std::nullopt);
  EXPECT_EQ(op_from_nccl_tests_binary("_mpi"), std::nullopt);
  EXPECT_THROW(parse_op("allreduce"), std::invalid_argument);
  for (Dtype d : kAllDtypes) EXPECT_EQ(parse_dtype(dtype_name(d)), d);
  EXPECT_EQ(dtype_size_bytes(Dtype::fp32), 4u);
  EXPECT_EQ(dtype_size_bytes(Dtype::bf16), 2u);
  EXPECT_THROW(parse_dtype("float"), std::invalid_argument);
}

TEST(CollectiveOps, BusBandwidthFactorAndNetBytesForEveryOpAndRanks1To64) {
  const std::size_t size = 1 << 20;
  for (Op op : kAllOps) {
    for (int n = 1; n <= 64; ++n) {
      SCOPED_TRACE(std::string(op_name(op)) + " n=" + std::to_string(n));
      EXPECT_DOUBLE_EQ(bus_bandwidth_factor(op, n), reference_factor(op, n));
      EXPECT_DOUBLE_EQ(net_bytes(op, n, size), reference_factor(op, n) * size);
      EXPECT_DOUBLE_EQ(busbw_bytes_per_s(op, n, size, 1e-3),
                       algbw_bytes_per_s(size, 1e-3) * reference_factor(op, n));
    }
  }
  // Spot values: a ring all-reduce on 8 GPUs receives 7/4 of the buffer.
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(Op::all_reduce, 8), 1.75);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(Op::all_gather, 1), 0.0);
  EXPECT_DOUBLE_EQ(net_bytes(Op::reduce_scatter, 4, 4096), 3072.0);
  EXPECT_THROW(bus_bandwidth_factor(Op::all_reduce, 0), std::invalid_argument);
  EXPECT_THROW(net_bytes(Op::broadcast, -1, 8), std::invalid_argument);
}

TEST(CollectiveOps, AlgbwIsSizeOverTime) {
  EXPECT_DOUBLE_EQ(algbw_bytes_per_s(1'000'000'000, 0.5), 2e9);
  EXPECT_DOUBLE_EQ(algbw_bytes_per_s(1'000'000'000, 0.5) / kBytesPerGB, 2.0);
  EXPECT_THROW(algbw_bytes_per_s(8, 0), std::invalid_argument);
  EXPECT_THROW(algbw_bytes_per_s(8, std::numeric_limits<double>::infinity()),
               std::invalid_argument);
  EXPECT_THROW(algbw_bytes_per_s(8, std::numeric_limits<double>::quiet_NaN()),
               std::invalid_argument);
}

TEST(CollectiveOps, ShapesFollowNcclTestsSizeConvention) {
  for (int n = 1; n <= 64; ++n) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const std::size_t e = 2, count = 1000;
    const std::size_t chunk = count * e, whole = count * e * n;
    const struct {
      Op op;
      std::size_t send, recv, size;
    } want[] = {{Op::all_reduce, chunk, chunk, chunk},     {Op::all_gather, chunk, whole, whole},
                {Op::reduce_scatter, whole, chunk, whole}, {Op::all_to_all, whole, whole, whole},
                {Op::broadcast, chunk, chunk, chunk},      {Op::reduce, chunk, chunk, chunk},
                {Op::send_recv, chunk, chunk, chunk}};
    for (const auto& w : want) {
      SCOPED_TRACE(std::string(op_name(w.op)));
      auto s = shape_for_count(w.op, n, count, e);
      EXPECT_EQ(s.send_bytes, w.send);
      EXPECT_EQ(s.recv_bytes, w.recv);
      EXPECT_EQ(s.size_bytes, w.size);
    }
    // shape_for_size inverts shape_for_count.
    for (Op op : kAllOps) {
      auto s = shape_for_count(op, n, count, e);
      auto back = shape_for_size(op, n, s.size_bytes, e);
      EXPECT_EQ(back.count, count);
      EXPECT_EQ(back.send_bytes, s.send_bytes);
      EXPECT_EQ(back.recv_bytes, s.recv_bytes);
      EXPECT_EQ(memory_bytes_per_rank(s), s.send_bytes + 2 * s.recv_bytes);
    }
  }
  // nccl-tests' own example (NVIDIA/nccl#1435): all_gather of 16777216 B bfloat16 on 2 GPUs
  // shows count 4194304, the per-rank count.
  EXPECT_EQ(shape_for_size(Op::all_gather, 2, 16777216, 2).count, 4194304u);
}

TEST(CollectiveOps, ShapesRejectBadInput) {
  EXPECT_THROW(shape_for_size(Op::all_reduce, 0, 8, 4), std::invalid_argument);
  EXPECT_THROW(shape_for_size(Op::all_reduce, 2, 8, 0), std::invalid_argument);
  EXPECT_THROW(shape_for_size(Op::all_reduce, 2, 6, 4), std::invalid_argument);
  EXPECT_THROW(shape_for_size(Op::all_gather, 3, 16, 4), std::invalid_argument);  // 16 % 12
  EXPECT_NO_THROW(shape_for_size(Op::all_gather, 3, 24, 4));
  EXPECT_NO_THROW(shape_for_size(Op::broadcast, 3, 16, 4));  // no split across ranks
  EXPECT_THROW(shape_for_count(Op::all_to_all, 2, std::numeric_limits<std::size_t>::max() / 4, 4),
               std::invalid_argument);
  try {
    shape_for_size(Op::reduce_scatter, 3, 16, 4);
    FAIL() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("reduce_scatter of 16 bytes on 3 ranks"),
              std::string::npos)
        << e.what();
  }
}

TEST(CollectiveOps, InPlaceOffsets) {
  auto ag = shape_for_count(Op::all_gather, 4, 10, 4);
  EXPECT_EQ(in_place_offset_bytes(ag, 0), 0u);
  EXPECT_EQ(in_place_offset_bytes(ag, 3), 120u);
  auto rs = shape_for_count(Op::reduce_scatter, 4, 10, 4);
  EXPECT_EQ(in_place_offset_bytes(rs, 2), 80u);
  EXPECT_EQ(in_place_offset_bytes(shape_for_count(Op::all_reduce, 4, 10, 4), 3), 0u);
  EXPECT_THROW(in_place_offset_bytes(ag, 4), std::invalid_argument);
  EXPECT_THROW(in_place_offset_bytes(ag, -1), std::invalid_argument);
  EXPECT_FALSE(in_place_checkable(Op::all_to_all));
  EXPECT_FALSE(in_place_checkable(Op::send_recv));
  EXPECT_TRUE(in_place_checkable(Op::all_gather));
}

// The redop applied in double, independently of check_values.h.
double apply(RedOp redop, double a, double b) {
  switch (redop) {
    case RedOp::sum:
    case RedOp::avg:
      return a + b;
    case RedOp::prod:
      return a * b;
    case RedOp::max:
      return std::max(a, b);
    case RedOp::min:
      return std::min(a, b);
  }
  return 0;
}

// True where v is exactly a bf16 value: at most 8 significant bits, exponent in bf16's range.
bool exact_in_bf16(double v) {
  if (v == 0) return true;
  int exp = 0;
  const double m = std::frexp(std::abs(v), &exp);  // v = m * 2^exp, m in [0.5, 1)
  const double scaled = std::ldexp(m, 8);
  return scaled == std::floor(scaled) && exp <= 128 && exp >= -125;
}

// Simulates each op on the host from the per-rank inputs and compares with expected_value, for
// every redop, every rank count 1..64 and a small count, with every root for the rooted ops.
TEST(CollectiveOps, ExpectedValuesMatchAHostSimulation) {
  const std::size_t count = 7;
  for (Op op : kAllOps) {
    for (RedOp redop : kAllRedOps) {
      if (!reduces(op) && redop != RedOp::sum) continue;
      for (int n = 1; n <= 64; ++n) {
        if (!check_inexact_reason(op, redop, n).empty()) continue;  // avg on 3, 5, 6, ... ranks
        SCOPED_TRACE(std::string(op_name(op)) + " " + std::string(redop_name(redop)) +
                     " n=" + std::to_string(n));
        Shape s = shape_for_count(op, n, count, 4);
        s.redop = redop;
        const std::size_t send_count = s.send_bytes / 4, recv_count = s.recv_bytes / 4;
        auto in = [&](int r, std::size_t i) { return input_value(op, redop, n, r, i); };
        auto reduce_all = [&](std::size_t i) {
          double acc = in(0, i);
          for (int r = 1; r < n; ++r) acc = apply(redop, acc, in(r, i));
          return redop == RedOp::avg ? acc / n : acc;
        };
        const int roots = has_root(op) ? n : 1;
        for (int root = 0; root < roots; root += (roots > 8 ? 7 : 1)) {
          for (int r = 0; r < n; ++r) {
            for (std::size_t i = 0; i < recv_count; ++i) {
              std::optional<double> want;
              switch (op) {
                case Op::all_reduce:
                  want = reduce_all(i);
                  break;
                case Op::reduce_scatter:
                  want = reduce_all(r * count + i);
                  break;
                case Op::reduce:
                  if (r == root) want = reduce_all(i);
                  break;
                case Op::all_gather:
                  want = in(static_cast<int>(i / count), i % count);
                  break;
                case Op::broadcast:
                  want = in(root, i);
                  break;
                case Op::all_to_all:
                  want = in(static_cast<int>(i / count), r * count + i % count);
                  break;
                case Op::send_recv:
                  want = in((r + n - 1) % n, i);
                  break;
              }
              ASSERT_EQ(expected_value(s, r, i, root), want) << "rank " << r << " index " << i;
            }
          }
        }
        EXPECT_LE(send_count, count * n);
        EXPECT_THROW(expected_value(s, n, 0), std::invalid_argument);
        EXPECT_THROW(expected_value(s, 0, recv_count), std::invalid_argument);
      }
    }
  }
  const Shape b = shape_for_count(Op::broadcast, 4, 3, 4);
  EXPECT_THROW(expected_value(b, 0, 0, 4), std::invalid_argument);
  EXPECT_THROW(input_value(Op::all_reduce, RedOp::sum, 4, 4, 0), std::invalid_argument);
  EXPECT_THROW(input_value(Op::all_reduce, RedOp::sum, 0, 0, 0), std::invalid_argument);
}

// The check is only exact if every input, every partial result NCCL may form and the final
// result are bf16 values (fp32 then holds them too). NCCL's ring starts at any rank and its tree
// combines contiguous blocks: every contiguous run of ranks (cyclically) is checked, up to 1024
// ranks, for every redop.
TEST(CollectiveOps, EveryPartialResultIsExactInBf16UpTo1024Ranks) {
  for (RedOp redop : kAllRedOps) {
    for (int n : {2, 3, 8, 64, 255, 256, 257, 384, 512, 1000, 1024}) {
      if (!check_inexact_reason(Op::all_reduce, redop, n).empty()) continue;
      SCOPED_TRACE(std::string(redop_name(redop)) + " n=" + std::to_string(n));
      for (std::size_t i = 0; i < 24; ++i) {
        for (int start : {0, 1, n / 2, n - 1}) {
          double acc = input_value(Op::all_reduce, redop, n, start, i);
          if (redop == RedOp::avg) acc /= n;  // NCCL pre-multiplies every input by 1/n
          ASSERT_TRUE(exact_in_bf16(acc)) << acc;
          for (int k = 1; k < n; ++k) {
            double v = input_value(Op::all_reduce, redop, n, (start + k) % n, i);
            if (redop == RedOp::avg) v /= n;
            acc = apply(redop, acc, v);
            ASSERT_TRUE(exact_in_bf16(acc)) << "index " << i << " after " << k << ": " << acc;
          }
        }
        const Shape s = [&] {
          Shape x = shape_for_count(Op::all_reduce, n, 24, 2);
          x.redop = redop;
          return x;
        }();
        ASSERT_TRUE(exact_in_bf16(*expected_value(s, 0, i)));
      }
    }
  }
  // avg is exact on power-of-two rank counts only; the other redops and ops at any count.
  EXPECT_EQ(check_inexact_reason(Op::all_reduce, RedOp::avg, 8), "");
  EXPECT_NE(check_inexact_reason(Op::reduce, RedOp::avg, 6).find("1/6"), std::string::npos);
  EXPECT_EQ(check_inexact_reason(Op::all_gather, RedOp::avg, 6), "");
  EXPECT_EQ(check_inexact_reason(Op::all_reduce, RedOp::prod, 6), "");
}

// Inputs are what the comments of ops.h say, so that the poison value and exactness hold.
TEST(CollectiveOps, CheckValuesAreSmallIntegers) {
  for (Op op : kAllOps) {
    for (RedOp redop : kAllRedOps) {
      for (int n : {2, 300, 1024}) {
        for (int r = 0; r < n; r += 7) {
          for (std::size_t i = 0; i < 600; i += 7) {
            const double v = input_value(op, redop, n, r, i);
            EXPECT_EQ(v, static_cast<int>(v));
            if (!reduces(op)) {
              EXPECT_LE(std::abs(v), 125.0);
            } else if (redop == RedOp::prod) {
              EXPECT_TRUE(v == 1 || v == 2) << v;
            } else if (redop == RedOp::min || redop == RedOp::max) {
              EXPECT_TRUE(v >= -128 && v <= 127) << v;
            } else {
              EXPECT_TRUE(v == 0 || v == 1) << v;
            }
          }
        }
      }
    }
  }
  // Two ranks that are closer than 251 never send the same value at the same index.
  for (int r = 1; r < 251; ++r) {
    EXPECT_NE(input_value(Op::all_gather, RedOp::sum, 300, 0, 5),
              input_value(Op::all_gather, RedOp::sum, 300, r, 5))
        << r;
  }
}

TEST(CollectiveOps, RedOpNamesAreNcclTests) {
  std::vector<std::string> names;
  for (RedOp r : kAllRedOps) {
    names.emplace_back(redop_name(r));
    EXPECT_EQ(parse_redop(redop_name(r)), r);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"sum", "prod", "max", "min", "avg"}));
  try {
    parse_redop("mulsum");
    FAIL() << "mulsum is not supported";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sum, prod, max, min or avg"), std::string::npos);
  }
}

TEST(SizeSweep, DefaultIsPowersOfTwoFrom8BytesTo1GiB) {
  auto sizes = size_sweep(Op::all_reduce, 8, 4);
  ASSERT_EQ(sizes.size(), 28u);  // 2^3 .. 2^30
  for (std::size_t k = 0; k < sizes.size(); ++k) EXPECT_EQ(sizes[k], std::size_t{8} << k);
}

TEST(SizeSweep, RoundsToWholeUnitsAndDropsDuplicates) {
  // all_gather on 3 ranks of fp32: 12-byte units. 8 -> 12 (one unit), 16 -> 12 (dropped), 32 -> 24.
  auto sizes = size_sweep(Op::all_gather, 3, 4, {.min_bytes = 8, .max_bytes = 64});
  EXPECT_EQ(sizes, (std::vector<std::size_t>{12, 24, 60}));
  // bf16 all_reduce: 2-byte units, every power of two from 2 up is whole.
  EXPECT_EQ(size_sweep(Op::all_reduce, 3, 2, {.min_bytes = 1, .max_bytes = 8}),
            (std::vector<std::size_t>{2, 4, 8}));
  // A unit larger than max leaves nothing.
  EXPECT_TRUE(size_sweep(Op::all_to_all, 64, 4, {.min_bytes = 8, .max_bytes = 128}).empty());
  for (Op op : kAllOps) {
    for (int n : {1, 3, 8, 64}) {
      for (auto s : size_sweep(op, n, 2)) EXPECT_NO_THROW(shape_for_size(op, n, s, 2));
    }
  }
}

TEST(SizeSweep, QuickStepAndMemoryCap) {
  auto quick = size_sweep(Op::all_reduce, 8, 4, {.step_factor = kQuickStepFactor});
  EXPECT_EQ(quick, (std::vector<std::size_t>{8, 128, 2048, 32768, 524288, 8388608, 134217728}));
  // all_reduce of S bytes needs 3 S per rank (send, receive, reference): 3 MiB fits 1 MiB.
  auto capped = size_sweep(Op::all_reduce, 8, 4, {.memory_limit_bytes = 3 << 20});
  EXPECT_EQ(capped.back(), std::size_t{1} << 20);
  // all_gather's output is n times its input: on 8 ranks 8 MiB of output needs 8.125 + 16 MiB.
  auto ag = size_sweep(Op::all_gather, 8, 4, {.memory_limit_bytes = 25 << 20});
  EXPECT_EQ(ag.back(), std::size_t{8} << 20);
  EXPECT_TRUE(size_sweep(Op::all_reduce, 8, 4, {.memory_limit_bytes = 10}).empty());
}

TEST(SizeSweep, RejectsBadOptions) {
  EXPECT_THROW(size_sweep(Op::all_reduce, 0, 4), std::invalid_argument);
  EXPECT_THROW(size_sweep(Op::all_reduce, 2, 0), std::invalid_argument);
  EXPECT_THROW(size_sweep(Op::all_reduce, 2, 4, {.min_bytes = 0}), std::invalid_argument);
  EXPECT_THROW(size_sweep(Op::all_reduce, 2, 4, {.min_bytes = 64, .max_bytes = 8}),
               std::invalid_argument);
  EXPECT_THROW(size_sweep(Op::all_reduce, 2, 4, {.step_factor = 3}), std::invalid_argument);
  EXPECT_THROW(size_sweep(Op::all_reduce, 2, 4, {.step_factor = 1}), std::invalid_argument);
  // max near the top of size_t does not overflow.
  auto big = size_sweep(
      Op::all_reduce, 2, 4,
      {.min_bytes = std::size_t{1} << 62, .max_bytes = std::numeric_limits<std::size_t>::max()});
  EXPECT_EQ(big, (std::vector<std::size_t>{std::size_t{1} << 62, std::size_t{1} << 63}));
}

}  // namespace
}  // namespace batchcost::collective

namespace batchcost::collective {
namespace {

// The reduction check must see a rank left out of the reduction (or counted twice) at every rank
// count, not only at counts where a periodic pattern happens not to cancel: for sum and prod on
// up to 1024 ranks (sparse above 256 and 64 ranks: then fewer elements, but always some), and
// for min and max where the rank holds the unique extreme.
TEST(CollectiveCheck, ReductionsSeeEveryRank) {
  constexpr std::size_t kElements = 4096;
  for (RedOp redop : {RedOp::sum, RedOp::prod}) {
    for (int n : {1, 2, 3, 5, 8, 13, 64, 65, 256, 257, 1024}) {
      Shape shape = shape_for_count(Op::all_reduce, n, kElements, 4);
      shape.redop = redop;
      std::vector<double> result(kElements);
      for (std::size_t i = 0; i < kElements; ++i) result[i] = *expected_value(shape, 0, i);
      for (int missing = 0; missing < n; missing += (n > 64 ? 37 : 1)) {
        std::size_t differ = 0;
        for (std::size_t i = 0; i < kElements; ++i) {
          const double all = result[i];
          const double v = input_value(Op::all_reduce, redop, n, missing, i);
          const double without = redop == RedOp::sum ? all - v : all / v;
          differ += without != all;
        }
        const int stride = n <= 64 ? 1 : (n <= 256 && redop == RedOp::sum ? 1 : 16);
        EXPECT_GT(differ, kElements / 3 / static_cast<std::size_t>(stride))
            << redop_name(redop) << " n=" << n << ", rank " << missing << " left out";
      }
      if (redop == RedOp::sum && n <= 256) {
        std::size_t zeros = 0;
        for (std::size_t i = 0; i < kElements; ++i) zeros += *expected_value(shape, 0, i) == 0;
        EXPECT_LT(zeros, kElements * 3 / 4) << "n=" << n << ": an all-zero output would pass";
      }
    }
  }
  // min and max: on 8 ranks each rank is the unique extreme of some elements.
  for (RedOp redop : {RedOp::min, RedOp::max}) {
    const int n = 8;
    for (int r = 0; r < n; ++r) {
      std::size_t unique = 0;
      for (std::size_t i = 0; i < kElements; ++i) {
        const double mine = input_value(Op::all_reduce, redop, n, r, i);
        bool alone = true;
        for (int o = 0; o < n; ++o) {
          const double theirs = input_value(Op::all_reduce, redop, n, o, i);
          if (o != r && (redop == RedOp::min ? theirs <= mine : theirs >= mine)) alone = false;
        }
        unique += alone;
      }
      EXPECT_GT(unique, kElements / 16) << redop_name(redop) << " rank " << r;
    }
  }
}

}  // namespace
}  // namespace batchcost::collective
