// The pure parts of `batchcost report` (model/report_md.h): which samples the held-out check
// leaves out, that the check predicts them from a fit without them, and where each constant
// came from.
#include "model/report_md.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace batchcost {
namespace {

// A memory copy of `bytes` at 3 TB/s behind a 2 µs kernel cost, from file `source`.
Sample copy(double bytes, const std::string& source = "memory.json") {
  Sample s;
  s.source = source;
  s.name = "memory/copy/bytes:" + std::to_string(static_cast<long long>(bytes));
  s.family = "memory";
  s.work.bytes = bytes;
  s.work.kernels = 1;
  s.time_s = 2e-6 + bytes / 3e12;
  return s;
}

// A bf16 GEMM of n³ at 700 TFLOP/s (memory-bound never: few bytes).
Sample gemm(double n) {
  Sample s;
  s.source = "gemm.json";
  s.name = "gemm/bf16/n:" + std::to_string(static_cast<int>(n));
  s.family = "gemm";
  s.labels["dtype"] = "bf16";
  s.work.flops = 2 * n * n * n;
  s.work.bytes = 6 * n * n;
  s.work.kernels = 1;
  s.time_s = 2e-6 + s.work.flops / 7e14;
  return s;
}

TEST(HeldOut, EveryThirdInteriorSampleOfEachSeries) {
  std::vector<Sample> samples;
  for (int i = 0; i < 7; ++i) samples.push_back(copy(1e6 * (1 << i)));  // times ascending
  samples.push_back(gemm(4096));
  samples.push_back(gemm(8192));  // a series of 2: nothing held out
  std::vector<Role> roles(samples.size(), Role::kFit);
  // Sorted by time: positions 1 and 4 of the memory series (never the first or the last).
  EXPECT_EQ(held_out_indices(samples, roles), (std::vector<size_t>{1, 4}));
  roles[1] = Role::kValidate;  // not fitted: not in a series
  EXPECT_EQ(held_out_indices(samples, roles), (std::vector<size_t>{2, 5}));
}

TEST(HeldOut, PredictsTheLeftOutSamplesFromTheRest) {
  std::vector<Sample> samples;
  for (int i = 0; i < 10; ++i) samples.push_back(copy(1e5 * (1 << i)));
  HeldOut h = held_out_check(samples, FitOptions{});
  ASSERT_EQ(h.rows.size(), 3u);
  for (const ValidationRow& r : h.rows) {
    EXPECT_EQ(r.role, "held out");
    EXPECT_TRUE(r.missing.empty()) << r.name << ": " << r.missing;
    EXPECT_NEAR(r.rel_err, 0, 1e-3) << r.name;  // noiseless: the rest determine W and λ
  }
}

TEST(HeldOut, SaysWhyWhenThereIsNothingToHoldOut) {
  HeldOut h = held_out_check({copy(1e6), copy(2e6)}, FitOptions{});
  EXPECT_TRUE(h.rows.empty());
  ASSERT_EQ(h.notes.size(), 1u);
  EXPECT_NE(h.notes[0].find("nothing to hold out"), std::string::npos);
}

TEST(Origins, EachConstantNamesTheFilesThatPriceIt) {
  Sample net;
  net.source = "all_reduce.log";
  net.name = "collective/all_reduce/bytes:1024";
  net.family = "collective";
  net.labels["op"] = "all_reduce";
  net.ranks = 8;
  net.work.net_bytes = 1024;
  net.time_s = 1e-5;
  Sample validated = copy(1e6, "moe.json");
  std::vector<Sample> samples = {copy(1e6), gemm(1024), net, validated};
  std::vector<Role> roles = {Role::kFit, Role::kFit, Role::kFit, Role::kValidate};
  auto o = constant_origins(samples, roles);
  EXPECT_EQ(o["W"], (std::set<std::string>{"gemm.json", "memory.json"}));  // not moe.json
  EXPECT_EQ(o["P[bf16]"], (std::set<std::string>{"gemm.json"}));
  EXPECT_EQ(o["λ[kernel]"], (std::set<std::string>{"gemm.json", "memory.json"}));
  EXPECT_EQ(o["all_reduce/8"], (std::set<std::string>{"all_reduce.log"}));
  EXPECT_FALSE(o.count("λ[launch]"));
  EXPECT_EQ(origin_key("all_reduce/8 #2 latency"), "all_reduce/8");
  EXPECT_EQ(origin_key("P[bf16]"), "P[bf16]");
}

}  // namespace
}  // namespace batchcost
