// The nccl-tests reader on real published logs (tests/data/nccl-tests/, each naming its source in
// its first line), on the -J JSON layout, and on broken input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "collectives/ops.h"
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
  const std::string name = "collective/" + log.op + "/bytes:" + std::to_string(size) +
                           "/inplace:" + (in_place ? "1" : "0") + "/nccl-tests";
  for (const auto& s : log.samples) {
    if (s.name == name) return s;
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
  EXPECT_EQ(log.samples.front().name, "collective/all_reduce/bytes:134217728/inplace:0/nccl-tests");
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
  EXPECT_EQ(log.samples.back().name, "collective/all_reduce/bytes:536870912/inplace:1/nccl-tests");
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
                    "size '13421772x' is not a number", 4);
  expect_read_error("# Collective test starting: gather_perf\n" + kRow,
                    "broken.log:1: unknown op: 'gather_perf'", 1);
  expect_read_error(kRow, "unknown op", 0);
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
  const std::string no_devices =
      "# Collective test starting: broadcast_perf\n" + kRow;  // busbw = algbw: any n fits
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

TEST(NcclTestsReader, DtypeNames) {
  EXPECT_EQ(dtype_from_nccl_tests_type("float"), "fp32");
  EXPECT_EQ(dtype_from_nccl_tests_type("bfloat16"), "bf16");
  EXPECT_EQ(dtype_from_nccl_tests_type("half"), "fp16");
  EXPECT_EQ(dtype_from_nccl_tests_type("int8"), "int8");
}

}  // namespace
}  // namespace batchcost
