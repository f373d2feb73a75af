// Host tests of the collective benchmark's pure parts: the check values the kernels compute
// (against ops.h, the definition), the flags and the benchmark list, and the nccl-tests-like
// table (a golden string).
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "collectives/bench_options.h"
#include "collectives/check_values.h"
#include "collectives/report.h"

namespace batchcost::collective {
namespace {

TEST(CheckValues, MatchOpsForEveryOpRankAndIndex) {
  for (Op op : kAllOps) {
    for (int n : {1, 2, 3, 4, 5, 7, 8, 16, 255, 256}) {
      const std::size_t count = 7;
      const Shape shape = shape_for_count(op, n, count, 4);
      const std::size_t recv_elems = shape.recv_bytes / 4, send_elems = shape.send_bytes / 4;
      for (int rank : {0, 1, n / 2, n - 1}) {
        if (rank >= n) continue;
        for (std::size_t i = 0; i < send_elems && i < 600; ++i) {
          ASSERT_EQ(values::input_at(op, rank, i), input_value(op, rank, i))
              << op_name(op) << " n=" << n << " rank=" << rank << " i=" << i;
        }
        for (int root : {0, n - 1}) {
          for (std::size_t i = 0; i < recv_elems && i < 600; ++i) {
            int got = 0;
            const bool defined = values::expected_at(op, n, rank, root, count, i, &got);
            const auto want = expected_value(shape, rank, i, root);
            ASSERT_EQ(defined, want.has_value()) << op_name(op) << " n=" << n << " rank=" << rank;
            if (defined) {
              ASSERT_EQ(got, *want) << op_name(op) << " n=" << n << " rank=" << rank << " i=" << i;
            }
          }
        }
      }
    }
  }
}

TEST(CheckValues, PoisonIsNeverAnExpectedValueAndIsExactInBf16) {
  for (Op op : kAllOps) {
    for (int n : {1, 2, 3, 8}) {
      for (std::size_t i = 0; i < 300; ++i) {
        int v = 0;
        if (values::expected_at(op, n, 0, 0, 300, i, &v)) {
          ASSERT_NE(v, values::kPoison);
        }
      }
    }
  }
  // bf16 keeps 8 significant bits: 1000 = 0b1111101000 has 7 between its highest and lowest 1.
  EXPECT_EQ(values::kPoison % 8, 0);
  EXPECT_LE(-values::kPoison / 8, 255);
}

TEST(BenchOptions, DefaultsAndQuick) {
  std::vector<std::string> args{"prog", "--benchmark_filter=x"};
  BenchOptions o = take_collective_flags(args, false);
  EXPECT_EQ(args, (std::vector<std::string>{"prog", "--benchmark_filter=x"}));
  EXPECT_EQ(o.max_ranks, 8);
  EXPECT_FALSE(o.max_ranks_given);
  EXPECT_EQ(o.ops.size(), kAllOps.size());
  EXPECT_EQ(o.dtypes.size(), 2u);
  EXPECT_EQ(o.sweep.min_bytes, 8u);
  EXPECT_EQ(o.sweep.max_bytes, std::size_t{1} << 30);
  EXPECT_EQ(o.sweep.step_factor, 2u);
  EXPECT_FALSE(o.graph);
  std::vector<std::string> quick{"prog"};
  BenchOptions q = take_collective_flags(quick, true);
  EXPECT_EQ(q.sweep.max_bytes, kQuickMaxBytes);
  EXPECT_EQ(q.sweep.step_factor, kQuickStepFactor);
}

TEST(BenchOptions, ParsesAndRemovesItsFlags) {
  std::vector<std::string> args{"prog",
                                "--max_ranks=6",
                                "--ops=all_reduce,send_recv",
                                "--dtypes=bf16",
                                "--min_bytes=1K",
                                "--max_bytes=4M",
                                "--step_factor=4",
                                "--graph",
                                "--quick"};
  BenchOptions o = take_collective_flags(args, true);
  EXPECT_EQ(args, (std::vector<std::string>{"prog", "--quick"}));
  EXPECT_EQ(o.max_ranks, 6);
  EXPECT_TRUE(o.max_ranks_given);
  EXPECT_EQ(o.ops, (std::vector<Op>{Op::all_reduce, Op::send_recv}));
  EXPECT_EQ(o.dtypes, (std::vector<Dtype>{Dtype::bf16}));
  EXPECT_EQ(o.sweep.min_bytes, 1024u);
  EXPECT_EQ(o.sweep.max_bytes, 4u << 20);
  EXPECT_EQ(o.sweep.step_factor, 4u);  // given: --quick does not override it
  EXPECT_TRUE(o.graph);
}

TEST(BenchOptions, GpuCountAsNcclTestsSpellsIt) {
  std::vector<std::string> args{"prog", "-g", "4", "--quick"};
  BenchOptions o = take_collective_flags(args, true);
  EXPECT_EQ(args, (std::vector<std::string>{"prog", "--quick"}));
  EXPECT_EQ(o.max_ranks, 4);
  EXPECT_TRUE(o.max_ranks_given);
  std::vector<std::string> eq{"prog", "-g=2"};
  EXPECT_EQ(take_collective_flags(eq, false).max_ranks, 2);
  std::vector<std::string> missing{"prog", "-g"};
  EXPECT_THROW(take_collective_flags(missing, false), std::invalid_argument);
}

TEST(BenchOptions, RejectsBadValues) {
  for (const char* bad : {"--max_ranks=0", "--max_ranks=x", "--ops=allreduce",
                          "--ops=", "--dtypes=fp16", "--min_bytes=-1", "--max_bytes=1T",
                          "--step_factor=3", "--max_ranks", "--min_bytes=2K --max_bytes=1K"}) {
    std::vector<std::string> args{"prog"};
    std::string flag = bad;
    if (auto sp = flag.find(' '); sp != std::string::npos) {
      args.push_back(flag.substr(0, sp));
      args.push_back(flag.substr(sp + 1));
    } else {
      args.push_back(flag);
    }
    EXPECT_THROW(take_collective_flags(args, false), std::invalid_argument) << bad;
  }
}

TEST(BenchOptions, ParseBytes) {
  EXPECT_EQ(parse_bytes("8"), 8u);
  EXPECT_EQ(parse_bytes("4K"), 4096u);
  EXPECT_EQ(parse_bytes("16m"), 16u << 20);
  EXPECT_EQ(parse_bytes("1G"), std::size_t{1} << 30);
  EXPECT_THROW(parse_bytes(""), std::invalid_argument);
  EXPECT_THROW(parse_bytes("G"), std::invalid_argument);
  EXPECT_THROW(parse_bytes("1.5M"), std::invalid_argument);
}

TEST(BenchOptions, RankCounts) {
  EXPECT_EQ(rank_counts(1), (std::vector<int>{1}));
  EXPECT_EQ(rank_counts(2), (std::vector<int>{1, 2}));
  EXPECT_EQ(rank_counts(8), (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(rank_counts(6), (std::vector<int>{1, 2, 4, 6}));
  EXPECT_THROW(rank_counts(0), std::invalid_argument);
  // What the benchmark registers: never one rank.
  EXPECT_TRUE(multi_rank_counts(1).empty());
  EXPECT_EQ(multi_rank_counts(2), (std::vector<int>{2}));
  EXPECT_EQ(multi_rank_counts(8), (std::vector<int>{2, 4, 8}));
}

TEST(BenchOptions, SpecsNamesOrderAndInPlace) {
  BenchOptions o;
  o.ops = {Op::all_gather, Op::all_to_all};
  o.dtypes = {Dtype::fp32};
  o.sweep.min_bytes = 8;
  o.sweep.max_bytes = 64;
  const auto specs = collective_specs(o, {1, 2});
  // ranks outermost; all_to_all only out of place.
  ASSERT_FALSE(specs.empty());
  EXPECT_EQ(specs.front().name(), "collective/all_gather/fp32/ranks:1/bytes:8/inplace:0");
  EXPECT_EQ(specs[1].name(), "collective/all_gather/fp32/ranks:1/bytes:8/inplace:1");
  int last_ranks = 0;
  std::set<std::string> names;
  for (const auto& s : specs) {
    EXPECT_GE(s.ranks, last_ranks);
    last_ranks = s.ranks;
    if (s.op == Op::all_to_all) {
      EXPECT_FALSE(s.in_place);
    }
    EXPECT_EQ(s.size_bytes % (4 * static_cast<std::size_t>(s.ranks)), 0u) << s.name();
    EXPECT_TRUE(names.insert(s.name()).second) << "duplicate " << s.name();
  }
  o.graph = true;
  EXPECT_EQ(collective_specs(o, {2}).front().name(),
            "collective/all_gather/fp32/ranks:2/bytes:8/inplace:0/graph:1");
}

TEST(BenchOptions, DefaultListSize) {
  // 28 sizes (8 B .. 1 GiB) of 5 ops in and out of place and 2 ops out of place, 2 dtypes: the
  // sizes that do not divide by the ranks are rounded, and some meet (8 B at 8 ranks).
  BenchOptions o;
  const auto one = collective_specs(o, {1});
  EXPECT_EQ(one.size(), 28u * (5 * 2 + 2) * 2);
}

TEST(BenchOptions, FingerprintDependsOnEveryName) {
  BenchOptions o;
  o.sweep.max_bytes = 1024;
  const auto a = collective_specs(o, {1, 2});
  auto b = a;
  EXPECT_EQ(fingerprint(a), fingerprint(b));
  b.back().size_bytes *= 2;
  EXPECT_NE(fingerprint(a), fingerprint(b));
  b = a;
  std::swap(b[0], b[1]);
  EXPECT_NE(fingerprint(a), fingerprint(b));
}

TEST(BenchOptions, FlagsThatWouldDivergeMpiRanks) {
  using Args = std::vector<std::string>;
  EXPECT_EQ(flag_that_diverges_ranks(Args{"b", "--benchmark_filter=x", "--quick"}), "");
  EXPECT_EQ(flag_that_diverges_ranks(Args{"b", "--benchmark_enable_random_interleaving"}),
            "--benchmark_enable_random_interleaving");
  EXPECT_EQ(flag_that_diverges_ranks(Args{"b", "--benchmark_enable_random_interleaving=true"}),
            "--benchmark_enable_random_interleaving=true");
  EXPECT_EQ(flag_that_diverges_ranks(Args{"b", "--benchmark_enable_random_interleaving=false"}),
            "");
  EXPECT_EQ(flag_that_diverges_ranks(Args{"b", "--benchmark_min_warmup_time=0"}), "");
  EXPECT_EQ(flag_that_diverges_ranks(Args{"b", "--benchmark_min_warmup_time=0.5"}),
            "--benchmark_min_warmup_time=0.5");
  EXPECT_EQ(flag_that_diverges_ranks(Args{"b", "--benchmark_min_warmup_time=1s"}),
            "--benchmark_min_warmup_time=1s");
  // args[0] is the program, never a flag.
  EXPECT_EQ(flag_that_diverges_ranks(Args{"--benchmark_enable_random_interleaving"}), "");
}

TEST(Report, NcclVersionString) {
  EXPECT_EQ(nccl_version_string(22809), "2.28.9");
  EXPECT_EQ(nccl_version_string(21903), "2.19.3");
  EXPECT_EQ(nccl_version_string(2804), "2.8.4");
  EXPECT_EQ(nccl_version_string(0), "unknown");
}

TEST(Report, TableGolden) {
  std::vector<TableEntry> e;
  auto add = [&](Op op, int ranks, std::size_t size, std::size_t count, bool in_place, double t,
                 long long wrong) {
    e.push_back(TableEntry{op, Dtype::fp32, ranks, 0, false, size, count, in_place, t, wrong});
  };
  add(Op::all_reduce, 8, 1 << 20, 1 << 18, false, 100e-6, 0);
  add(Op::all_reduce, 8, 1 << 20, 1 << 18, true, 50e-6, 0);
  add(Op::all_reduce, 8, 8, 2, false, 12.345e-6, 0);
  add(Op::all_reduce, 8, 8, 2, false, 10e-6, 0);  // a repetition: the median is 11.17 µs
  add(Op::all_reduce, 8, 8, 2, false, 11.17e-6, 0);
  add(Op::all_to_all, 2, 1 << 30, 1 << 27, false, 20e-3, 0);
  add(Op::broadcast, 2, 64, 16, false, 0, 3);  // failed its check: not timed
  const std::string want =
      "#\n"
      "# all_reduce  fp32  ranks=8\n"
      "#                                                        out-of-place                       "
      "in-place                          \n"
      "#       size         count      type  redop  root      time   algbw   busbw  #wrong      "
      "time "
      "  algbw   busbw  #wrong\n"
      "#        (B)    (elements)                             (us)  (GB/s)  (GB/s)              "
      "(us) "
      " (GB/s)  (GB/s)        \n"
      "           8             2     float    sum    -1     11.17    0.00    0.00       0       "
      "N/A "
      "    N/A     N/A     N/A\n"
      "     1048576        262144     float    sum    -1     100.0   10.49   18.35       0     "
      "50.00   20.97   36.70       0\n"
      "#\n"
      "# all_to_all  fp32  ranks=2\n"
      "#                                                        out-of-place                       "
      "in-place                          \n"
      "#       size         count      type  redop  root      time   algbw   busbw  #wrong      "
      "time "
      "  algbw   busbw  #wrong\n"
      "#        (B)    (elements)                             (us)  (GB/s)  (GB/s)              "
      "(us) "
      " (GB/s)  (GB/s)        \n"
      "  1073741824     134217728     float   none    -1     20000   53.69   26.84       0       "
      "N/A "
      "    N/A     N/A     N/A\n"
      "#\n"
      "# broadcast  fp32  ranks=2\n"
      "#                                                        out-of-place                       "
      "in-place                          \n"
      "#       size         count      type  redop  root      time   algbw   busbw  #wrong      "
      "time "
      "  algbw   busbw  #wrong\n"
      "#        (B)    (elements)                             (us)  (GB/s)  (GB/s)              "
      "(us) "
      " (GB/s)  (GB/s)        \n"
      "          64            16     float   none     0         -       -       -       3       "
      "N/A "
      "    N/A     N/A     N/A\n";
  EXPECT_EQ(format_table(e), want) << format_table(e);
}

}  // namespace
}  // namespace batchcost::collective
