// Host tests of the collective benchmark's pure parts: the check values the kernels compute
// (against ops.h, the definition), the flags and the benchmark list, and the nccl-tests-like
// table (a golden string).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "collectives/bench_options.h"
#include "core/collective_values.h"
#include "collectives/report.h"

namespace batchcost::collective {
namespace {

TEST(CheckValues, MatchOpsForEveryOpRedopRankAndIndex) {
  for (Op op : kAllOps) {
    for (RedOp redop : kAllRedOps) {
      for (int n : {1, 2, 3, 4, 5, 7, 8, 16, 255, 256, 1024}) {
        const std::size_t count = 7;
        Shape shape = shape_for_count(op, n, count, 4);
        shape.redop = redop;
        const std::size_t recv_elems = shape.recv_bytes / 4, send_elems = shape.send_bytes / 4;
        for (int rank : {0, 1, n / 2, n - 1}) {
          if (rank >= n) continue;
          for (std::size_t i = 0; i < send_elems && i < 600; ++i) {
            ASSERT_EQ(values::input_at(op, redop, n, rank, i), input_value(op, redop, n, rank, i))
                << op_name(op) << " n=" << n << " rank=" << rank << " i=" << i;
          }
          for (int root : {0, n - 1}) {
            for (std::size_t i = 0; i < recv_elems && i < 600; ++i) {
              float got = 0;
              const bool defined = values::expected_at(op, redop, n, rank, root, count, i, &got);
              const auto want = expected_value(shape, rank, i, root);
              ASSERT_EQ(defined, want.has_value()) << op_name(op) << " n=" << n << " rank=" << rank;
              if (defined) {
                ASSERT_EQ(got, *want)
                    << op_name(op) << " n=" << n << " rank=" << rank << " i=" << i;
              }
            }
          }
        }
      }
    }
  }
}

TEST(CheckValues, PoisonIsNeverAnExpectedValueAndIsExactInBf16) {
  for (Op op : kAllOps) {
    for (RedOp redop : kAllRedOps) {
      for (int n : {1, 2, 3, 8, 300}) {
        for (std::size_t i = 0; i < 300; ++i) {
          float v = 0;
          if (values::expected_at(op, redop, n, 0, 0, 300, i, &v)) {
            ASSERT_NE(v, static_cast<float>(values::kPoison));
          }
        }
      }
    }
  }
  // bf16 keeps 8 significant bits: 1000 = 0b1111101000 has 7 between its highest and lowest 1.
  EXPECT_EQ(values::kPoison % 8, 0);
  EXPECT_LE(-values::kPoison / 8, 255);
}

TEST(CheckValues, ActiveStrideBoundsTheTermsPerIndex) {
  EXPECT_EQ(values::active_stride(256, 256), 1);
  EXPECT_EQ(values::active_stride(257, 256), 2);
  EXPECT_EQ(values::active_stride(1024, 256), 4);
  EXPECT_EQ(values::active_stride(64, 64), 1);
  EXPECT_EQ(values::active_stride(1000, 64), 16);
  for (int n : {5, 257, 1000, 1024}) {
    for (std::size_t i = 0; i < 40; ++i) {
      int terms = 0;
      for (int r = 0; r < n; ++r) terms += values::active(n, 64, static_cast<std::size_t>(r), i);
      EXPECT_LE(terms, 64) << n;
      EXPECT_GE(terms, 1) << n;
    }
  }
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
  EXPECT_EQ(o.exact_ranks, 4);
  EXPECT_FALSE(o.max_ranks_given);
  EXPECT_EQ(registered_rank_counts(o), (std::vector<int>{4}));  // exactly 4, not 2 and 4
  std::vector<std::string> eq{"prog", "-g=2"};
  EXPECT_EQ(take_collective_flags(eq, false).exact_ranks, 2);
  std::vector<std::string> sweep{"prog", "--max_ranks=8"};
  EXPECT_EQ(registered_rank_counts(take_collective_flags(sweep, false)),
            (std::vector<int>{2, 4, 8}));
  std::vector<std::string> one{"prog", "--ngpus", "1"};
  EXPECT_TRUE(registered_rank_counts(take_collective_flags(one, false)).empty());
  std::vector<std::string> both{"prog", "-g", "4", "--max_ranks=8"};
  EXPECT_THROW(take_collective_flags(both, false), std::invalid_argument);
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

// Every nccl-tests flag, short and long, as `-x V` and `-x=V`.
TEST(BenchOptions, NcclTestsFlagsInBothForms) {
  for (const auto& form : std::vector<std::vector<std::string>>{
           {"prog",     "-g",
            "4",        "-b",
            "1K",       "-e",
            "1M",       "-f",
            "4",        "-n",
            "20",       "-w",
            "3",        "-c",
            "0",        "-d",
            "bfloat16", "-o",
            "max",      "-a",
            "3",        "--benchmark_filter=x"},
           {"prog", "-g=4", "-b=1K", "-e=1M", "-f=4", "-n=20", "-w=3", "-c=0", "-d=bfloat16",
            "-o=max", "-a=3", "--benchmark_filter=x"},
           {"prog",     "--ngpus",
            "4",        "--minbytes",
            "1K",       "--maxbytes",
            "1M",       "--stepfactor",
            "4",        "--iters",
            "20",       "--warmup_iters",
            "3",        "--check",
            "0",        "--datatype",
            "bfloat16", "--op",
            "max",      "--average",
            "3",        "--benchmark_filter=x"},
           {"prog", "--ngpus=4", "--minbytes=1K", "--maxbytes=1M", "--stepfactor=4", "--iters=20",
            "--warmup_iters=3", "--check=0", "--datatype=bf16", "--op=max", "--average=3",
            "--benchmark_filter=x"}}) {
    std::vector<std::string> args = form;
    const BenchOptions o = take_collective_flags(args, false);
    EXPECT_EQ(args, (std::vector<std::string>{"prog", "--benchmark_filter=x"})) << form[1];
    EXPECT_EQ(o.exact_ranks, 4);
    EXPECT_EQ(o.sweep.min_bytes, 1024u);
    EXPECT_EQ(o.sweep.max_bytes, 1u << 20);
    EXPECT_EQ(o.sweep.step_factor, 4u);
    EXPECT_EQ(o.iters, 20);
    EXPECT_EQ(o.warmup_ops, 3);
    EXPECT_FALSE(o.check);
    EXPECT_EQ(o.dtypes, (std::vector<Dtype>{Dtype::bf16}));
    EXPECT_EQ(o.redops, (std::vector<RedOp>{RedOp::max}));
    EXPECT_EQ(o.time_over_ranks, TimeOverRanks::max);
  }
  // Defaults as nccl-tests: sum, check on, the average over ranks.
  std::vector<std::string> none{"prog"};
  const BenchOptions d = take_collective_flags(none, false);
  EXPECT_EQ(d.redops, (std::vector<RedOp>{RedOp::sum}));
  EXPECT_TRUE(d.check);
  EXPECT_EQ(d.time_over_ranks, TimeOverRanks::avg);
  EXPECT_EQ(d.iters, 0);
  EXPECT_EQ(d.warmup_ops, kDefaultWarmupOps);
  // "all" for -d and -o; float is fp32; the -a values.
  std::vector<std::string> all{"prog", "-d", "all", "-o", "all", "-a", "0"};
  const BenchOptions a = take_collective_flags(all, false);
  EXPECT_EQ(a.dtypes.size(), 2u);
  EXPECT_EQ(a.redops.size(), 5u);
  EXPECT_EQ(a.time_over_ranks, TimeOverRanks::rank0);
  std::vector<std::string> flt{"prog", "-d", "float", "-a", "2"};
  const BenchOptions f = take_collective_flags(flt, false);
  EXPECT_EQ(f.dtypes, (std::vector<Dtype>{Dtype::fp32}));
  EXPECT_EQ(f.time_over_ranks, TimeOverRanks::min);
  // -n up to 64 eager, up to 1024 with --graph (given before or after).
  std::vector<std::string> n64{"prog", "-n", "64"};
  EXPECT_EQ(take_collective_flags(n64, false).iters, 64);
  std::vector<std::string> graph{"prog", "-n", "1024", "--graph"};
  EXPECT_EQ(take_collective_flags(graph, false).iters, 1024);
}

// Each bad value is refused with a message naming the flag (and, for -d and -o, what is
// supported).
TEST(BenchOptions, NcclTestsFlagsBadValues) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-g", "0"}, "-g needs a positive integer, got '0'"},
      {{"-g"}, "-g needs a value"},
      {{"-b", "x"}, "-b: not a byte count: 'x'"},
      {{"-e=1T"}, "-e: not a byte count"},
      {{"-b", "2K", "-e", "1K"}, "is larger than the largest"},
      {{"-f", "3"}, "-f needs a power of two >= 2, got '3'"},
      {{"-f", "1"}, "-f needs an integer >= 2, got '1'"},
      {{"-n", "0"}, "-n needs a positive integer"},
      {{"-n", "65"}, "-n 65: a sample holds at most 64 eager collectives"},
      {{"-n", "1025", "--graph"}, "1024 with --graph"},
      {{"-w", "-1"}, "-w needs a value"},
      {{"-w", "x"}, "-w needs an integer >= 0, got 'x'"},
      {{"-c", "2"}, "-c takes 0 (no data check) or 1"},
      {{"-d", "half"}, "-d: unsupported datatype 'half' (supported: float, bfloat16, all"},
      {{"--datatype=int8"}, "--datatype: unsupported datatype 'int8'"},
      {{"-o", "mulsum"},
       "-o: unknown reduction operator 'mulsum' (expected sum, prod, max, min or "
       "avg)"},
      {{"-a", "4"}, "-a takes 0 (rank 0), 1 (average), 2 (minimum) or 3"},
      {{"--iters"}, "--iters needs a value: --iters V or --iters=V"},
      // nccl-tests' flags without an equivalent here: refused with what to use instead.
      {{"-G", "10"}, "-G (nccl-tests' -G, --cudagraph) is not supported: --graph captures"},
      {{"--output_file=x.json"},
       "--output_file (nccl-tests' -J, --output_file) is not "
       "supported: --benchmark_out=FILE"},
      {{"-t", "2"}, "-t (nccl-tests' -t, --nthreads) is not supported"},
      {{"-r=1"}, "the root of broadcast and reduce is rank 0"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args{"prog"};
    args.insert(args.end(), flags.begin(), flags.end());
    try {
      take_collective_flags(args, false);
      ADD_FAILURE() << flags[0] << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
          << flags[0] << ": " << e.what();
    }
  }
}

TEST(BenchOptions, RedopNamesOnlyForReducingOpsAndNotForSum) {
  BenchOptions o;
  o.ops = {Op::all_reduce, Op::all_gather};
  o.dtypes = {Dtype::fp32};
  o.redops = {RedOp::sum, RedOp::max};
  o.sweep.min_bytes = 64;
  o.sweep.max_bytes = 64;
  std::vector<std::string> names;
  for (const auto& s : collective_specs(o, {2})) names.push_back(s.name());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "collective/all_reduce/fp32/ranks:2/bytes:64/inplace:0",
                       "collective/all_reduce/fp32/ranks:2/bytes:64/inplace:1",
                       "collective/all_reduce/fp32/redop:max/ranks:2/bytes:64/inplace:0",
                       "collective/all_reduce/fp32/redop:max/ranks:2/bytes:64/inplace:1",
                       "collective/all_gather/fp32/ranks:2/bytes:64/inplace:0",
                       "collective/all_gather/fp32/ranks:2/bytes:64/inplace:1"}));
}

// -a: the local part, the combination of processes' parts, the final time.
TEST(TimeOverRanks, EachReductionAsNcclTests) {
  const std::vector<double> local{3e-6, 1e-6, 2e-6};
  EXPECT_EQ(time_over_ranks(TimeOverRanks::avg, local_rank_times(TimeOverRanks::avg, local, true)),
            2e-6);
  EXPECT_EQ(time_over_ranks(TimeOverRanks::min, local_rank_times(TimeOverRanks::min, local, true)),
            1e-6);
  EXPECT_EQ(time_over_ranks(TimeOverRanks::max, local_rank_times(TimeOverRanks::max, local, true)),
            3e-6);
  EXPECT_EQ(
      time_over_ranks(TimeOverRanks::rank0, local_rank_times(TimeOverRanks::rank0, local, true)),
      3e-6);
  // Two processes: {1, 3} and {8}: avg over 3 ranks is 4, not the mean of the means (5).
  const auto avg =
      combine_rank_times(TimeOverRanks::avg, local_rank_times(TimeOverRanks::avg, {1, 3}, true),
                         local_rank_times(TimeOverRanks::avg, {8}, false));
  EXPECT_EQ(time_over_ranks(TimeOverRanks::avg, avg), 4);
  const auto r0 =
      combine_rank_times(TimeOverRanks::rank0, local_rank_times(TimeOverRanks::rank0, {8}, false),
                         local_rank_times(TimeOverRanks::rank0, {1, 3}, true));
  EXPECT_EQ(time_over_ranks(TimeOverRanks::rank0, r0), 1);
  EXPECT_EQ(time_over_ranks(TimeOverRanks::max,
                            combine_rank_times(TimeOverRanks::max,
                                               local_rank_times(TimeOverRanks::max, {1, 3}, true),
                                               local_rank_times(TimeOverRanks::max, {8}, false))),
            8);
  EXPECT_EQ(time_over_ranks(TimeOverRanks::min,
                            combine_rank_times(TimeOverRanks::min,
                                               local_rank_times(TimeOverRanks::min, {1, 3}, true),
                                               local_rank_times(TimeOverRanks::min, {8}, false))),
            1);
  EXPECT_THROW(local_rank_times(TimeOverRanks::avg, {}, true), std::invalid_argument);
  EXPECT_THROW(local_rank_times(TimeOverRanks::avg, {1, 0}, true), std::invalid_argument);
  EXPECT_THROW(
      time_over_ranks(TimeOverRanks::rank0, local_rank_times(TimeOverRanks::rank0, {1}, false)),
      std::invalid_argument);
  EXPECT_EQ(time_over_ranks_name(TimeOverRanks::avg), "avg");
  EXPECT_EQ(time_over_ranks_name(TimeOverRanks::rank0), "rank0");
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

TableEntry entry(std::size_t size, bool in_place, double t, long long wrong = 0) {
  return TableEntry{Op::all_reduce, Dtype::fp32, 8, 0, false, size, size / 4, in_place, t, wrong};
}
RowKey key(std::size_t size) { return row_key(entry(size, false, 0)); }

const char* kHeader =
    "#\n"
    "# all_reduce  fp32  ranks=8\n"
    "#                                                        out-of-place                       "
    "in-place                          \n"
    "#       size         count      type  redop  root      time   algbw   busbw  #wrong      "
    "time   algbw   busbw  #wrong\n"
    "#        (B)    (elements)                             (us)  (GB/s)  (GB/s)              "
    "(us)  (GB/s)  (GB/s)        \n";

// A row appears once its last entry (both halves, every repetition) has arrived, the section
// header before the first row; the footer at the end as nccl-tests prints it.
TEST(Report, StreamsRowsAsTheyFinishThenTheFooter) {
  TableStream t;
  t.expect(key(1 << 20), 4);  // 2 halves x 2 repetitions
  t.expect(key(1 << 21), 4);
  EXPECT_EQ(t.add(entry(1 << 20, false, 100e-6)), "");
  EXPECT_EQ(t.add(entry(1 << 20, false, 100e-6)), "");
  EXPECT_EQ(t.add(entry(1 << 20, true, 50e-6)), "");
  const std::string first = t.add(entry(1 << 20, true, 50e-6));
  EXPECT_EQ(first, std::string(kHeader) +
                       "     1048576        262144     float    sum    -1     100.0   10.49   "
                       "18.35       0     50.00   20.97   36.70       0\n");
  EXPECT_EQ(t.add(entry(1 << 21, false, 100e-6)), "");
  EXPECT_EQ(t.add(entry(1 << 21, false, 100e-6)), "");
  EXPECT_EQ(t.add(entry(1 << 21, true, 100e-6, 3)), "");
  const std::string second = t.add(entry(1 << 21, true, 100e-6, 3));
  EXPECT_EQ(second.find('#'), std::string::npos) << "the same section: no second header";
  EXPECT_NE(second.find("     2097152"), std::string::npos) << second;
  // busbw 18.35, 36.70, 36.70, 36.70 GB/s: their mean; one half had wrong elements.
  EXPECT_EQ(t.out_of_bounds(), 1);
  const double mean = (18.35 + 3 * 36.70) / 4;
  EXPECT_NEAR(t.avg_busbw_gbps(), mean, 0.01);
  char avg[64];
  std::snprintf(avg, sizeof avg, "%g", t.avg_busbw_gbps());
  EXPECT_EQ(t.finish(), "# Out of bounds values : 1 FAILED\n# Avg bus bandwidth    : " +
                            std::string(avg) + "\n#\n");
  EXPECT_EQ(format_footer(0, 12.5),
            "# Out of bounds values : 0 OK\n"
            "# Avg bus bandwidth    : 12.5\n#\n");
}

// A row still short when a later row's entry arrives (its other half filtered out) is printed
// then, in order; skipped entries complete a row with N/A; finish() prints what is left.
TEST(Report, ShortRowsAndSkipsAndNewSections) {
  TableStream t;
  t.expect(key(64), 2);
  t.expect(key(128), 2);
  EXPECT_EQ(t.add(entry(64, false, 10e-6)), "");
  const std::string out = t.add(entry(128, false, 10e-6));
  EXPECT_NE(out.find(kHeader), std::string::npos);
  EXPECT_NE(out.find("          64            16"), std::string::npos) << out;
  EXPECT_EQ(out.find("         128"), std::string::npos) << "128 is not finished";
  TableEntry skipped = entry(128, true, 0, -1);
  skipped.skipped = true;
  const std::string row = t.add(skipped);
  EXPECT_NE(row.find("N/A     N/A     N/A     N/A"), std::string::npos) << row;
  // Another redop: a new section with its name in the header and the redop column.
  TableEntry mx = entry(64, false, 10e-6);
  mx.redop = RedOp::max;
  const std::string other = t.add(mx);
  EXPECT_NE(other.find("# all_reduce  fp32  max  ranks=8"), std::string::npos) << other;
  EXPECT_NE(other.find("    max    -1"), std::string::npos) << other;
  EXPECT_EQ(t.out_of_bounds(), 0);
  EXPECT_NE(t.finish().find("# Out of bounds values : 0 OK"), std::string::npos);
  // Nothing printed: no footer either.
  TableStream empty;
  EXPECT_EQ(empty.finish(), "");
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
