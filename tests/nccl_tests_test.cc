// The nccl-tests reader on real published logs (tests/data/nccl-tests/, each naming its source in
// its first line), on the -J JSON layout, and on broken input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/collective_ops.h"
#include "model/nccl_tests.h"

namespace batchcost {
namespace {

namespace coll = batchcost::collective;

std::string fixture(const std::string& name) {
  const char* root = std::getenv("BATCHCOST_SOURCE_DIR");
  return std::string(root ? root : ".") + "/tests/data/nccl-tests/" + name;
}

// The sample of `size` bytes, out-of-place or in-place; fails the test when absent.
const Sample& find(const NcclTestsLog& log, std::size_t size, bool in_place) {
  const std::string name = "/bytes:" + std::to_string(size) + "/inplace:" + (in_place ? "1" : "0");
  for (const auto& s : log.samples) {
    if (s.name.find(name + "/") != std::string::npos) return s;
  }
  ADD_FAILURE() << "no sample " << name;
  static const Sample none;
  return none;
}

// What every sample of a log must satisfy.
void expect_consistent(const NcclTestsLog& log, const std::string& dtype) {
  const coll::Op op = coll::parse_op(log.op);
  for (const auto& s : log.samples) {
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.family, "collective");
    EXPECT_EQ(s.ranks, log.ranks);
    EXPECT_EQ(s.source, log.source);
    EXPECT_EQ(s.work.collectives, 1);
    EXPECT_GT(s.time_s, 0);
    const auto size = std::stoull(s.name.substr(s.name.find("bytes:") + 6));
    EXPECT_DOUBLE_EQ(s.work.net_bytes, coll::bus_bandwidth_factor(op, log.ranks) * size);
    EXPECT_EQ(s.labels.at("op"), log.op);
    EXPECT_EQ(s.labels.at("dtype"), dtype);
    EXPECT_EQ(s.labels.at("source"), "nccl-tests");
    EXPECT_EQ(s.labels.at("inplace"), s.name.find("inplace:1") != std::string::npos ? "1" : "0");
  }
}

TEST(NcclTestsReader, SingleNodeAllReduce8Gpus) {
  const auto log = read_nccl_tests(fixture("all_reduce_h100_8gpu.txt"));
  EXPECT_EQ(log.op, "all_reduce");  // from the file's name: the log has no command line
  EXPECT_EQ(log.ranks, 8);          // from the device lines
  EXPECT_EQ(log.samples.size(), 12u);
  EXPECT_TRUE(log.skipped.empty());
  expect_consistent(log, "fp32");
  EXPECT_DOUBLE_EQ(find(log, 134217728, false).time_s, 613.3e-6);
  EXPECT_DOUBLE_EQ(find(log, 134217728, true).time_s, 614.3e-6);
  EXPECT_DOUBLE_EQ(find(log, 4294967296, false).time_s, 15870e-6);
  EXPECT_DOUBLE_EQ(find(log, 4294967296, true).time_s, 15773e-6);
  EXPECT_DOUBLE_EQ(find(log, 1073741824, false).work.net_bytes, 1.75 * 1073741824);
  EXPECT_EQ(find(log, 1073741824, false).labels.at("redop"), "sum");
  EXPECT_EQ(log.samples.front().name,
            "collective/all_reduce/ranks:8/dtype:fp32/redop:sum/bytes:134217728/inplace:0/"
            "nccl-tests:" +
                fixture("all_reduce_h100_8gpu.txt"));
  EXPECT_EQ(log.samples.front().labels.at("inplace"), "0");
  EXPECT_EQ(log.samples[1].labels.at("inplace"), "1");
}

TEST(NcclTestsReader, TwoNodesWithSrunLabelsAndUncheckedResults) {
  const auto log = read_nccl_tests(fixture("all_reduce_h100_16gpu_srun_label.txt"));
  EXPECT_EQ(log.op, "all_reduce");
  EXPECT_EQ(log.ranks, 16);
  EXPECT_EQ(log.samples.size(), 22u);  // #wrong N/A (-c 0): unchecked, kept
  EXPECT_TRUE(log.skipped.empty());
  expect_consistent(log, "fp32");
  EXPECT_DOUBLE_EQ(find(log, 8388608, false).time_s, 215.3e-6);
  EXPECT_DOUBLE_EQ(find(log, 8388608, true).time_s, 180.0e-6);
  EXPECT_DOUBLE_EQ(find(log, 8589934592, true).time_s, 103538e-6);
  EXPECT_DOUBLE_EQ(find(log, 8589934592, false).work.net_bytes, 1.875 * 8589934592);
}

TEST(NcclTestsReader, TwoNodesWithMpirunCommandLine) {
  const auto log = read_nccl_tests(fixture("all_reduce_h100_16gpu_mpirun.txt"));
  EXPECT_EQ(log.op, "all_reduce");  // from the command line's all_reduce_perf
  EXPECT_EQ(log.ranks, 16);
  EXPECT_EQ(log.samples.size(), 62u);  // 8 B .. 8 GiB, both sides
  expect_consistent(log, "fp32");
  EXPECT_DOUBLE_EQ(find(log, 8, false).time_s, 135.8e-6);
  EXPECT_DOUBLE_EQ(find(log, 8, false).work.net_bytes, 15.0);  // 2 * 15/16 * 8
  EXPECT_DOUBLE_EQ(find(log, 2147483648, false).time_s, 12646e-6);
  EXPECT_DOUBLE_EQ(find(log, 8589934592, true).time_s, 47743e-6);
}

TEST(NcclTestsReader, AllGatherRanksSolvedFromBusbwOverAlgbw) {
  const auto log = read_nccl_tests(fixture("all_gather_bf16_2gpu.txt"));
  EXPECT_EQ(log.op, "all_gather");
  EXPECT_EQ(log.ranks, 2);  // busbw / algbw = (n-1)/n = 1/2
  EXPECT_EQ(log.samples.size(), 14u);
  expect_consistent(log, "bf16");
  EXPECT_DOUBLE_EQ(find(log, 16777216, false).time_s, 108.8e-6);
  EXPECT_DOUBLE_EQ(find(log, 16777216, true).time_s, 98.19e-6);
  EXPECT_DOUBLE_EQ(find(log, 117440512, true).time_s, 418.7e-6);
  EXPECT_DOUBLE_EQ(find(log, 16777216, false).work.net_bytes, 8388608);
  EXPECT_EQ(find(log, 16777216, false).labels.count("redop"), 0u);  // all_gather has none
}

TEST(NcclTestsReader, JsonOutput) {
  const auto log = read_nccl_tests(fixture("all_reduce_8gpu_constructed.json"));
  EXPECT_EQ(log.op, "all_reduce");    // args[0]
  EXPECT_EQ(log.ranks, 8);            // 1 process * 1 thread * 8 GPUs
  EXPECT_EQ(log.samples.size(), 5u);  // the third row has no out-of-place side
  expect_consistent(log, "fp32");
  EXPECT_DOUBLE_EQ(find(log, 134217728, false).time_s, 613.3e-6);
  EXPECT_DOUBLE_EQ(find(log, 536870912, true).time_s, 2181.4e-6);
  EXPECT_EQ(log.samples.back().name,
            "collective/all_reduce/ranks:8/dtype:fp32/redop:sum/bytes:536870912/inplace:1/"
            "nccl-tests:" +
                fixture("all_reduce_8gpu_constructed.json"));
}

// A made-up log, built from the first row of the single-node fixture.
const std::string kHeader =
    "# nThread 1 nGpus 8 minBytes 134217728 maxBytes 4294967296 step: 2(factor)\n"
    "# Collective test starting: all_reduce_perf\n"
    "#       size         count      type   redop    root     time   algbw   busbw #wrong     "
    "time   algbw   busbw #wrong\n";
const std::string kRow =
    "   134217728      33554432     float     sum      -1    613.3  218.85  382.99      0    "
    "614.3  218.48  382.34      0\n";

TEST(NcclTestsReader, WrongResultsAreSkippedAndListed) {
  std::string text = kHeader + kRow;
  text +=
      "   268435456      67108864     float     sum      -1   1139.2  235.63  412.35      3   "
      "1134.8  236.56  413.97      0\n";
  const auto log = parse_nccl_tests(text, "wrong.log", {.op = "", .ranks = 8});
  EXPECT_EQ(log.samples.size(), 3u);
  ASSERT_EQ(log.skipped.size(), 1u);
  EXPECT_EQ(log.skipped[0],
            "wrong.log:5: all_reduce 268435456 B out-of-place: 3 wrong, not fitted");
  EXPECT_DOUBLE_EQ(find(log, 268435456, true).time_s, 1134.8e-6);
}

TEST(NcclTestsReader, NcclInfoLinesNAAndOutOfPlaceOnlyRows) {
  std::string text = kHeader;
  text += "node005:295203:295210 [0] NCCL INFO comm 0x5639 rank 0 nranks 8 - Init COMPLETE\n";
  text += "[1,0]<stdout>:" + kRow;
  text += "   268435456      67108864     float     sum      -1   1139.2  235.63  412.35      0\n";
  text +=
      "   536870912     134217728     float     sum      -1      N/A     N/A     N/A    N/A   "
      "2181.4  246.11  430.69      0\n";
  text += "# Out of bounds values : 0 OK\n# Avg bus bandwidth    : 439.369\n\n";
  const auto log = parse_nccl_tests(text, "mixed.log");
  EXPECT_EQ(log.ranks, 8);  // solved: 382.99 / 218.85 = 1.75 = 2 * 7/8
  EXPECT_EQ(log.samples.size(), 4u);
}

// Each broken input names the file and, where it has one, the line.
void expect_read_error(const std::string& text, const std::string& what_contains, int line) {
  try {
    parse_nccl_tests(text, "broken.log", {.op = "", .ranks = 8});
    ADD_FAILURE() << "no ReadError; expected '" << what_contains << "'";
  } catch (const ReadError& e) {
    EXPECT_EQ(e.file(), "broken.log");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(what_contains), std::string::npos) << e.what();
  }
}

TEST(NcclTestsReader, BrokenInputNamesFileAndLine) {
  expect_read_error(
      kHeader + "   134217728      33554432     float     sum      -1    613.3  218.85\n",
      "broken.log:4: truncated result row", 4);
  expect_read_error(kHeader + kRow +
                        "   268435456      67108864     float     sum      -1   1139.x  "
                        "235.63  412.35      0   1134.8  236.56  413.97      0\n",
                    "broken.log:5: out-of-place time '1139.x' is not a positive number", 5);
  expect_read_error(kHeader +
                        "   13421772x      33554432     float     sum      -1    613.3  "
                        "218.85  382.99      0    614.3  218.48  382.34      0\n",
                    "size '13421772x' is not a byte count", 4);
  expect_read_error("# Collective test starting: gather_perf\n" + kRow,
                    "broken.log:1: unknown op: 'gather_perf'", 1);
  // A table of redop none and root -1 with size = count * n * element: all_gather or
  // all_to_all, which only a name tells apart.
  try {
    parse_nccl_tests(
        "    16777216       4194304  bfloat16    none      -1    108.8  154.20   77.10      0\n",
        "broken.log");
    ADD_FAILURE() << "no ReadError";
  } catch (const ReadError& e) {
    EXPECT_NE(std::string(e.what()).find("fits all_gather, all_to_all alike; name it"),
              std::string::npos)
        << e.what();
  }
  expect_read_error("", "broken.log: empty file", 0);
  expect_read_error("  \n\n", "empty file", 0);
  expect_read_error(kHeader + "# Out of bounds values : 0 OK\n", "no nccl-tests result rows", 0);
  // busbw / algbw = 1.75 is all_reduce on 8 ranks, not on 4.
  try {
    parse_nccl_tests(kHeader + kRow, "ranks.log", {.op = "", .ranks = 4});
    ADD_FAILURE() << "no ReadError";
  } catch (const ReadError& e) {
    EXPECT_EQ(e.line(), 4);
    EXPECT_NE(std::string(e.what()).find("contradicts all_reduce on 4 ranks"), std::string::npos)
        << e.what();
  }
  expect_read_error("{\"args\": [\"./all_reduce_perf\"],\n \"results\": [\n {\"size\": 8,}]}",
                    "broken.log:3: not valid JSON", 3);
  expect_read_error("{\"args\": [\"./all_reduce_perf\"], \"results\": [{\"type\": \"float\"}]}",
                    "broken.log: results[0].size: missing", 0);
  expect_read_error("{\"args\": [\"./gather_perf\"], \"results\": []}",
                    "args[0]: unknown op: 'gather_perf'", 0);
}

TEST(NcclTestsReader, RanksThatCannotBeToldAreAnError) {
  const std::string no_devices =  // busbw = algbw: any n fits
      "# Collective test starting: broadcast_perf\n"
      "   134217728      33554432     float    none       0    613.3  218.85  218.85      0\n";
  try {
    parse_nccl_tests(no_devices, "bcast.log");
    ADD_FAILURE() << "no ReadError";
  } catch (const ReadError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot tell the number of ranks"), std::string::npos)
        << e.what();
  }
}

TEST(NcclTestsReader, MissingFileIsAnError) {
  try {
    read_nccl_tests(fixture("no_such_file.txt"));
    ADD_FAILURE() << "no ReadError";
  } catch (const ReadError& e) {
    EXPECT_EQ(e.line(), 0);
    EXPECT_NE(std::string(e.what()).find("no_such_file.txt: cannot open"), std::string::npos)
        << e.what();
  }
}

// ---- issue 12: the op from the table, names unique per op / ranks / dtype / source ----------

// The single-node fixture's rows without its name, command line or device lines.
std::string table_only() {
  return "#       size         count      type   redop    root     time   algbw   busbw #wrong     "
         "time   algbw   busbw #wrong\n"
         "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            "
         "(us)  (GB/s)  (GB/s)\n" +
         kRow;
}

TEST(NcclTestsReader, OpInferredFromTableWhateverTheFileName) {
  // Was: "allreduce" (no underscore) matched "reduce" and was refused; "nccl.log" was refused.
  for (const char* name : {"allreduce.log", "nccl.log", "results/reduce_me.txt"}) {
    const auto log = parse_nccl_tests(table_only(), name);
    EXPECT_EQ(log.op, "all_reduce") << name;  // redop sum, root -1, size = count * 4, ratio 1.75
    EXPECT_EQ(log.ranks, 8) << name;
  }
  // all_gather: redop none, root -1, size = count * element * 2: two ranks from the count.
  const auto ag = parse_nccl_tests(
      "    16777216       4194304  bfloat16    none      -1    108.8  154.20   77.10      0\n",
      "allgather-h100.log");
  EXPECT_EQ(ag.op, "all_gather");
  EXPECT_EQ(ag.ranks, 2);
  // broadcast: a root and no redop.
  const auto bc = parse_nccl_tests(
      "   134217728      33554432     float    none       0    613.3  218.85  218.85      0\n",
      "nccl.log", {.op = "", .ranks = 8});
  EXPECT_EQ(bc.op, "broadcast");
}

TEST(NcclTestsReader, TableContradictingTheNamedBinaryIsAnError) {
  expect_read_error("# Collective test starting: all_gather_perf\n" + kRow,
                    "names all_gather but its table", 1);
}

TEST(NcclTestsReader, UserNamedOpAndRanks) {
  const auto p = split_path_options("logs/nccl.log:op=all_reduce,ranks=16");
  EXPECT_TRUE(p.had_options);
  EXPECT_EQ(p.path, "logs/nccl.log");
  EXPECT_EQ(p.options.op, "all_reduce");
  EXPECT_EQ(p.options.ranks, 16);
  EXPECT_FALSE(split_path_options("plain.log").had_options);
  EXPECT_FALSE(split_path_options("dir:with:colons/x.log").had_options);
  EXPECT_THROW(split_path_options("x.log:op=gather"), ReadError);
  EXPECT_THROW(split_path_options("x.log:ranks=0"), ReadError);
  EXPECT_THROW(split_path_options("x.log:ranks=99999999999999999999"), ReadError);
  EXPECT_THROW(split_path_options("x.log:colour=red"), ReadError);
}

TEST(NcclTestsReader, NamesUniquePerRanksDtypeAndSource) {
  const auto a = parse_nccl_tests(table_only(), "a.log", {.op = "", .ranks = 8});
  std::string bf16 = table_only();
  bf16.replace(bf16.find("     float"), 10, "  bfloat16");
  bf16.replace(bf16.find("33554432"), 8, "67108864");
  const auto b = parse_nccl_tests(bf16, "b.log");
  EXPECT_NE(a.samples[0].name, b.samples[0].name);
  EXPECT_NE(a.samples[0].name.find("/ranks:8/dtype:fp32/"), std::string::npos) << a.samples[0].name;
  EXPECT_NE(b.samples[0].name.find("/dtype:bf16/"), std::string::npos) << b.samples[0].name;
  const auto c = parse_nccl_tests(table_only(), "c.log");
  EXPECT_NE(a.samples[0].name, c.samples[0].name);  // another file
  // A size repeated in one log gets a repetition number, not a duplicate name.
  const auto d = parse_nccl_tests(table_only() + kRow, "d.log");
  ASSERT_EQ(d.samples.size(), 4u);
  EXPECT_NE(d.samples[0].name, d.samples[2].name);
  EXPECT_NE(d.samples[2].name.find("/rep:2/"), std::string::npos) << d.samples[2].name;
}

// ---- issue 11: bad input never crashes, never passes silently ---------------------------------

TEST(NcclTestsReader, LongLinesDoNotCrash) {
  // Was: std::regex's recursive executor overflowed the stack on a ~30,000-letter line.
  const std::string word(30000, 'a');
  const std::string comment = "# " + std::string(100000, 'x') + "\n";
  const auto log = parse_nccl_tests(comment + kHeader + kRow, "long.log", {.op = "", .ranks = 8});
  EXPECT_EQ(log.samples.size(), 2u);
  const auto log2 = parse_nccl_tests(word + "\n" + kHeader + kRow, "long.log");
  EXPECT_EQ(log2.samples.size(), 2u);
  const std::string perf = "run " + std::string(50000, 'a') + "_perf\n";
  expect_read_error(perf + kRow, "unknown op", 1);
}

TEST(NcclTestsReader, HugeRanksAreRefusedNotWrapped) {
  expect_read_error(
      "#  Rank 2147483647 Group  0 Pid 1 on node device  0 [0x18] NVIDIA H100\n" + kHeader + kRow,
      "rank 2147483647 is beyond the largest communicator", 1);
  expect_read_error(
      "#  Rank 99999999999999999999999 Group 0 Pid 1 on n device 0 [0] H100\n" + kHeader + kRow,
      "beyond the largest communicator", 1);
  const std::string json =
      R"({"args":["./all_reduce_perf"],"config":{"nthreads":65536,"ngpus":65536,)"
      R"("devices":[{"rank":0}]},"results":[]})";
  expect_read_error(json, "config: devices * nthreads * ngpus is beyond", 0);
  expect_read_error(
      kHeader +
          "   99999999999999999999999      33554432     float     sum      -1    613.3  "
          "218.85  382.99      0    614.3  218.48  382.34      0\n",
      "size '99999999999999999999999' is not a byte count", 4);
}

TEST(NcclTestsReader, UnitsRowIsHonouredOrRefused) {
  // Was: "(ms) (MB/s)" read as us and GB/s.
  const std::string header =
      "# Collective test starting: all_reduce_perf\n"
      "#       size         count      type   redop    root     time   algbw   busbw #wrong\n";
  const auto ms = parse_nccl_tests(
      header + "#        (B)    (elements)                               (ms)  (MB/s)  (MB/s)\n" +
          "   134217728      33554432     float     sum      -1   0.6133  218850  382988      0\n",
      "ms.log");
  ASSERT_EQ(ms.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(ms.samples[0].time_s, 613.3e-6);
  EXPECT_EQ(ms.ranks, 8);
  expect_read_error(
      header + "#        (B)    (elements)                               (ks)  (GB/s)  (GB/s)\n" +
          kRow,
      "unknown unit '(ks)'", 3);
  // No units row, but the times are milliseconds: algbw contradicts size / time.
  expect_read_error(
      header +
          "   134217728      33554432     float     sum      -1   0.6133  218.85  382.99      0\n",
      "algbw 218.85 GB/s contradicts size / time", 3);
}

TEST(NcclTestsReader, ExtraColumnsAreRefused) {
  expect_read_error(kHeader +
                        "   134217728      33554432     float     sum      -1    613.3  218.85  "
                        "382.99      0    614.3  218.48  382.34      0   999.9\n",
                    "1 field(s) beyond", 4);
}

TEST(NcclTestsReader, JsonNegativeBandwidthAndHugeNumbers) {
  const std::string head =
      R"({"args":["./all_reduce_perf"],"config":{"nthreads":1,"ngpus":8,"devices":[{"rank":0}]},)";
  expect_read_error(head + R"("results":[{"size":8,"count":2,"type":"float","redop":"sum",)"
                           R"("root":"   -1","out_of_place":{"time":10.0,"alg_bw":-1.0,)"
                           R"("bus_bw":-1.75,"nwrong":0}}]})",
                    "results[0].out_of_place.alg_bw: negative", 0);
  // Was: an uncaught out_of_range from nlohmann::json.
  expect_read_error(
      head + R"("results":[{"size":8,"type":"float","out_of_place":{"time":1e400}}]})",
      "not valid JSON", 0);
}

TEST(NcclTestsReader, DtypeNames) {
  EXPECT_EQ(dtype_from_nccl_tests_type("float"), "fp32");
  EXPECT_EQ(dtype_from_nccl_tests_type("bfloat16"), "bf16");
  EXPECT_EQ(dtype_from_nccl_tests_type("half"), "fp16");
  EXPECT_EQ(dtype_from_nccl_tests_type("int8"), "int8");
}

}  // namespace
}  // namespace batchcost
