// Golden test of the JSON a benchmark binary writes, through the real harness (golden_bench):
// names, labels, counters and rates, aggregates, context keys, error entries, exit statuses,
// and that failures leave no partial file. Set BATCHCOST_UPDATE_GOLDEN=1 to rewrite the golden
// file after an intended change, then review the diff.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/version.h"
#include "tests/scratch.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int run(const std::string& args) {
  std::string cmd = std::string(GOLDEN_BENCH_PATH) + " " + args + " >/dev/null 2>&1";
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Drops what differs from run to run and machine to machine: the host's context, iteration
// counts and CPU time. The GPU time is fixed by the demo, so real_time stays.
json normalize(json j) {
  for (const char* k : {"date", "host_name", "executable", "num_cpus", "mhz_per_cpu",
                        "cpu_scaling_enabled", "caches", "load_avg", "library_build_type",
                        "wall_time_s", "batchcost",  // the commit and build type vary
                        "environment"}) {  // the machine's CUDA_*, NCCL_*, ... variables
    j["context"].erase(k);
  }
  for (auto& b : j["benchmarks"]) {
    b.erase("iterations");
    b.erase("cpu_time");
  }
  return j;
}

// Equal up to 1e-9 relative difference in numbers (means of fixed times are not bit-exact).
::testing::AssertionResult same(const json& a, const json& b, const std::string& where) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    if (std::fabs(x - y) <= 1e-9 * std::max(std::fabs(x), std::fabs(y))) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << where << ": " << x << " != " << y;
  }
  if (a.type() != b.type()) return ::testing::AssertionFailure() << where << ": type differs";
  if (a.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k)) return ::testing::AssertionFailure() << where << "." << k << " missing";
      if (auto r = same(v, b[k], where + "." + k); !r) return r;
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) return ::testing::AssertionFailure() << where << "." << k << " unexpected";
    }
    return ::testing::AssertionSuccess();
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return ::testing::AssertionFailure() << where << ": sizes differ";
    for (size_t i = 0; i < a.size(); ++i) {
      if (auto r = same(a[i], b[i], where + "[" + std::to_string(i) + "]"); !r) return r;
    }
    return ::testing::AssertionSuccess();
  }
  return a == b ? ::testing::AssertionSuccess()
                : ::testing::AssertionFailure() << where << ": " << a << " != " << b;
}

class GoldenBench : public ::testing::Test {
 protected:
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    return out;
  }
  batchcost::testing::Scratch scratch_{"golden"};
  fs::path dir_ = scratch_.path();
};

TEST_F(GoldenBench, JsonMatchesTheGoldenFile) {
  fs::path out = dir_ / "demo.json";
  // The failing check makes the exit status 1, after the results are written.
  ASSERT_EQ(run("--benchmark_out=" + out.string() + " --benchmark_repetitions=2"), 1);
  EXPECT_EQ(files(), std::vector<std::string>{"demo.json"});  // no partial or temporary file
  std::ifstream in(out);
  json got = normalize(json::parse(in));

  fs::path golden = fs::path(BATCHCOST_SOURCE_DIR) / "tests/data/golden/golden_bench.json";
  if (std::getenv("BATCHCOST_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden) << got.dump(2) << "\n";
    GTEST_SKIP() << "rewrote " << golden;
  }
  std::ifstream gin(golden);
  ASSERT_TRUE(gin) << "missing " << golden;
  EXPECT_TRUE(same(got, json::parse(gin), "$"));
}

TEST_F(GoldenBench, CountersAndRatesFollowTheContract) {
  fs::path out = dir_ / "r.json";
  ASSERT_EQ(run("--benchmark_out=" + out.string() +
                " --benchmark_filter=demo/fixed --benchmark_repetitions=1"),
            0);
  std::ifstream in(out);
  json j = json::parse(in);
  ASSERT_EQ(j["benchmarks"].size(), 2u);
  const json& b = j["benchmarks"][1];
  EXPECT_EQ(b["name"], "demo/fixed/bytes:1048576/manual_time");
  EXPECT_EQ(b["label"], "cache=cold dtype=fp32 timing=device");
  EXPECT_EQ(b["time_unit"], "ns");  // the default: compare.py prints whole numbers of it
  EXPECT_NEAR(b["real_time"].get<double>(), 1048576.0, 1e-6);
  EXPECT_EQ(b["bytes"], 1048576.0);
  EXPECT_EQ(b["flops"], 2 * 1048576.0);
  EXPECT_EQ(b["kernels"], 1.0);
  // A fixed, stated number of samples: the plan's, and no iteration count in the name.
  EXPECT_EQ(b["iterations"], 10);
  EXPECT_FALSE(b.contains("net_bytes"));  // zero counters are absent
  EXPECT_NEAR(b["bytes_per_s"].get<double>(), 1e9, 1e-3);
  EXPECT_NEAR(b["flops_per_s"].get<double>(), 2e9, 1e-3);
  // Typed context from the harness's start and finish.
  EXPECT_EQ(j["context"]["sm_count"], 4);
  EXPECT_EQ(j["context"]["gpu_name"], "Demo GPU");
  EXPECT_EQ(j["context"]["sm_clock_mhz_end"], 1000);
  EXPECT_EQ(j["context"]["batchcost_profile"], "default");
  // Which batchcost wrote it (core/version.h).
  EXPECT_EQ(j["context"]["batchcost"], json(batchcost::version_json()));
}

TEST_F(GoldenBench, TheTimeUnitIsChosenByFlag) {
  fs::path out = dir_ / "u.json";
  for (const auto& [unit, scale] : {std::pair{"us", 1e-3}, {"ms", 1e-6}, {"s", 1e-9}}) {
    ASSERT_EQ(run("--benchmark_out=" + out.string() + " --benchmark_time_unit=" + unit +
                  " --benchmark_filter=fixed/bytes:4096/ --benchmark_repetitions=1"),
              0);
    std::ifstream in(out);
    json j = json::parse(in);
    ASSERT_EQ(j["benchmarks"].size(), 1u);
    EXPECT_EQ(j["benchmarks"][0]["time_unit"], unit);
    EXPECT_NEAR(j["benchmarks"][0]["real_time"].get<double>(), 4096 * scale, 1e-12) << unit;
  }
}

TEST_F(GoldenBench, SkipsAreNotFailuresButErrorsAre) {
  fs::path out = dir_ / "s.json";
  EXPECT_EQ(run("--benchmark_out=" + out.string() + " --benchmark_filter='too_big|fixed'"), 0);
  std::ifstream in(out);
  json j = json::parse(in);
  // A skip is no zero-time result: it is in the context, once, with its repetitions.
  for (const auto& b : j["benchmarks"]) {
    EXPECT_NE(b["name"].get<std::string>().rfind("demo/too_big", 0), 0u) << b["name"];
    EXPECT_FALSE(b.contains("error_occurred")) << b["name"];
  }
  EXPECT_EQ(j["context"]["skipped"],
            json::parse(R"([{"name": "demo/too_big/manual_time", "repetitions": 5,
                             "reason": "demo buffer needs 8 GiB, 1 GiB free"}])"));
  EXPECT_EQ(run("--benchmark_out=" + out.string() + " --benchmark_filter=throws"), 1);
  // A failure in the middle of the samples, and a zero time, fail that benchmark alone: the
  // sweep goes on to the next, and the file is written.
  EXPECT_EQ(run("--benchmark_out=" + out.string() +
                " --benchmark_filter='fails_mid_run|zero_time|fixed/bytes:4096/'"),
            1);
  std::ifstream again(out);
  json k = json::parse(again);
  std::map<std::string, std::string> errors;
  for (const auto& b : k["benchmarks"]) {
    errors[b["name"]] = b.value("error_message", std::string());
  }
  EXPECT_EQ(errors["demo/fails_mid_run/manual_time"], "the blocking kernel timed out twice");
  EXPECT_NE(errors["demo/zero_time/manual_time"].find("not a time"), std::string::npos);
  EXPECT_EQ(errors["demo/fixed/bytes:4096/manual_time"], "");
}

TEST_F(GoldenBench, UsageErrorsExitTwoAndWriteNothing) {
  EXPECT_EQ(run("--benchmark_out=" + (dir_ / "missing/x.json").string()), 2);
  // Google Benchmark would print its usage and exit 0 for these, leaving an empty file.
  EXPECT_EQ(run("--benchmark_format=xml --benchmark_out=" + (dir_ / "u.json").string()), 2);
  EXPECT_EQ(run("--benchmark_time_unit=fs --benchmark_out=" + (dir_ / "u.json").string()), 2);
  // A folder as the results file is found out before the run, not after it.
  fs::create_directories(dir_ / "folder.json");
  EXPECT_EQ(run("--benchmark_out=" + (dir_ / "folder.json").string()), 2);
  fs::remove(dir_ / "folder.json");
  EXPECT_EQ(run("--benchmark_min_time=0.5 --benchmark_out=" + (dir_ / "u.json").string()), 2);
  EXPECT_EQ(run("--samples=0 --benchmark_out=" + (dir_ / "u.json").string()), 2);
  EXPECT_EQ(run("--no_such_flag --benchmark_out=" + (dir_ / "u.json").string()), 2);
  EXPECT_EQ(run("--cache=lukewarm --benchmark_out=" + (dir_ / "u.json").string()), 2);
  EXPECT_EQ(run("--benchmark_filter=nothing_matches --benchmark_out=" + (dir_ / "u.json").string()),
            2);
  EXPECT_TRUE(files().empty());
}

// Runs the golden bench and returns its stdout.
std::string output_of(const std::string& args) {
  std::string cmd = std::string(GOLDEN_BENCH_PATH) + " " + args + " 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  if (p != nullptr) pclose(p);
  return out;
}

TEST_F(GoldenBench, EstimateListsThePlanAndEndsWithTheTotal) {
  const std::string out = output_of("--estimate=h200 --benchmark_out=" + (dir_ / "e.json").string());
  EXPECT_NE(out.find("demo/fixed/bytes:4096  samples 5x10 batch "), std::string::npos) << out;
  const std::string last = out.substr(out.rfind('\n', out.size() - 2) + 1);
  EXPECT_EQ(last.rfind("estimate: 8 benchmarks, ", 0), 0u) << last;
  EXPECT_EQ(last.substr(last.size() - 3), " s\n");
  // --quick and the filter are honoured; nothing is written.
  const std::string quick = output_of("--estimate=h100 --quick --benchmark_filter=fixed");
  EXPECT_NE(quick.find("samples 2x5"), std::string::npos) << quick;
  EXPECT_NE(quick.find("estimate: 2 benchmarks, "), std::string::npos) << quick;
  EXPECT_EQ(run("--estimate=h200"), 0);
  EXPECT_EQ(run("--estimate=" + (dir_ / "none.json").string()), 2);
  EXPECT_TRUE(files().empty());
}

TEST_F(GoldenBench, RunRecordsItsWallTimeAndEstimate) {
  fs::path out = dir_ / "w.json";
  ASSERT_EQ(run("--benchmark_out=" + out.string() + " --benchmark_filter=fixed"), 0);
  std::ifstream in(out);
  json j = json::parse(in);
  EXPECT_GT(j["context"]["wall_time_s"].get<double>(), 0);
  EXPECT_GT(j["context"]["estimate_s"].get<double>(), 0);
  EXPECT_EQ(j["context"]["estimate_constants"], "h200");
}

// Five repetitions of a counter that is 0 in every one: Google Benchmark 1.7 writes a bare NaN
// for its cv. The harness must still write valid JSON, and the fitter must read it.
TEST_F(GoldenBench, AZeroCounterOverFiveRepetitionsIsFitted) {
  fs::path out = dir_ / "zero.json";
  ASSERT_EQ(run("--benchmark_out=" + out.string() +
                " --benchmark_filter='fixed|zero_counter' --benchmark_repetitions=5"),
            0);
  std::ifstream in(out);
  json j = json::parse(in);  // throws on a bare NaN
  for (const auto& b : j["benchmarks"]) {
    if (b.contains("always_zero")) {
      EXPECT_TRUE(b["always_zero"].is_number()) << b["name"];
    }
  }
#ifdef BATCHCOST_EXE
  const std::string fit = std::string(BATCHCOST_EXE) + " fit " + out.string() + " --out " +
                          (dir_ / "model.json").string() + " >/dev/null 2>&1";
  const int status = std::system(fit.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << fit;
  EXPECT_TRUE(fs::exists(dir_ / "model.json"));
#endif
}

TEST_F(GoldenBench, ListingNeedsNoDevice) {
  EXPECT_EQ(run("--benchmark_list_tests"), 0);
  EXPECT_EQ(run("--benchmark_list_tests --quick --benchmark_out=" + (dir_ / "l.json").string()), 0);
  EXPECT_TRUE(files().empty());
}

}  // namespace
