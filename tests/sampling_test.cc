// NVBench's habits on a per-GPU binary, through the real harness without a GPU (sampling_bench):
// --devices (one run per device, the summary naming the slowest, exit 77 without a GPU, the
// estimate of N devices), --max-noise stopping and its counters, the throttle retry, the progress
// line, and their refusal by a binary that is not per-GPU (golden_bench).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "tests/scratch.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Result {
  int status = -1;
  std::string out, err;
};

// Runs `env BIN args` and returns its exit status, stdout and stderr.
Result run_bin(const std::string& bin, const std::string& args, const std::string& env = "") {
  const batchcost::testing::Scratch dir("sampling_io");  // its stdout and stderr
  const std::string out = (dir / "stdout").string(), err = (dir / "stderr").string();
  const std::string cmd =
      (env.empty() ? "" : "env " + env + " ") + bin + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Result r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

Result run(const std::string& args, const std::string& env = "") {
  return run_bin(SAMPLING_BENCH_PATH, args, env);
}

// The iteration entries of a benchmark in a results file.
std::vector<json> iterations(const json& doc, const std::string& name) {
  std::vector<json> out;
  for (const auto& b : doc["benchmarks"]) {
    if (b["run_name"] == name + "/manual_time" && b["run_type"] == "iteration") out.push_back(b);
  }
  return out;
}

double seconds(const json& b) {
  const std::map<std::string, double> unit{{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1}};
  return b["real_time"].get<double>() * unit.at(b["time_unit"].get<std::string>());
}

json read(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

class Sampling : public ::testing::Test {
 protected:
  std::string out(const std::string& name) const {
    return "--benchmark_out=" + (dir_ / name).string();
  }
  std::vector<std::string> files() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir_)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
  batchcost::testing::Scratch scratch_{"sampling"};
  fs::path dir_ = scratch_.path();
};

TEST_F(Sampling, WithoutMaxNoiseThePlanIsFixed) {
  const Result r = run(out("r.json") + " --benchmark_repetitions=2", "SAMPLING_BENCH_DEVICES=1");
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = read(dir_ / "r.json");
  for (const char* name : {"demo/steady", "demo/noisy"}) {
    for (const json& b : iterations(doc, name)) {
      EXPECT_EQ(b["samples"], 10) << name;  // tiny ops: the profile's maximum
      EXPECT_EQ(b["iterations"], 10) << name;
    }
  }
  EXPECT_FALSE(doc["context"]["samples_policy"].contains("max_noise_pct"));
}

TEST_F(Sampling, MaxNoiseStopsSteadyBenchmarksEarlyAndNoisyOnesAtTheMaximum) {
  const Result r = run(out("r.json") +
                           " --max-noise=1 --min-samples=3 --max-samples=8 "
                           "--benchmark_repetitions=2",
                       "SAMPLING_BENCH_DEVICES=1");
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = read(dir_ / "r.json");
  const auto steady = iterations(doc, "demo/steady");
  ASSERT_EQ(steady.size(), 2u);
  for (const json& b : steady) {
    EXPECT_EQ(b["samples"], 3);  // 1, 1.001, 1 µs: 0.06 % after the minimum of 3
    EXPECT_NEAR(b["noise_pct"].get<double>(), 0.0577, 1e-3);
    // real_time is the mean of the 3 samples kept, not their sum over the batch of 8.
    EXPECT_NEAR(seconds(b), (2e-6 + 1.001e-6) / 3, 1e-15);
  }
  const auto noisy = iterations(doc, "demo/noisy");
  ASSERT_EQ(noisy.size(), 2u);
  for (const json& b : noisy) {
    EXPECT_EQ(b["samples"], 8);  // never below 1 %: the maximum
    EXPECT_GT(b["noise_pct"].get<double>(), 40);
    EXPECT_NEAR(seconds(b), 2e-6, 1e-15);
  }
  EXPECT_EQ(doc["context"]["samples_policy"]["max_noise_pct"], 1);
  EXPECT_EQ(doc["context"]["samples_policy"]["max_samples"], 8);
}

TEST_F(Sampling, TheEstimatePricesTheMaximum) {
  const Result fixed = run("--estimate=h200");
  ASSERT_EQ(fixed.status, 0) << fixed.err;
  EXPECT_NE(fixed.out.find("demo/steady  samples 5x10 "), std::string::npos) << fixed.out;
  const Result noise = run("--estimate=h200 --max-noise=0.5 --max-samples=40");
  ASSERT_EQ(noise.status, 0) << noise.err;
  EXPECT_NE(noise.out.find("demo/steady  samples 5x40 "), std::string::npos) << noise.out;
}

TEST_F(Sampling, ThrottledSamplesAreTakenAgainThenKeptWithAWarning) {
  // Two throttled readings: two retries, no sample kept throttled.
  Result r = run(out("r.json") +
                     " --benchmark_filter=steady --benchmark_repetitions=1 "
                     "--throttle-recovery-delay=0",
                 "SAMPLING_BENCH_DEVICES=1 SAMPLING_BENCH_THROTTLED=2");
  ASSERT_EQ(r.status, 0) << r.err;
  json doc = read(dir_ / "r.json");
  json b = iterations(doc, "demo/steady").at(0);
  EXPECT_EQ(b["throttle_retries"], 2);
  EXPECT_FALSE(b.contains("throttled_samples"));
  EXPECT_EQ(b["samples"], 10);
  EXPECT_EQ(doc["context"]["throttle_retries"], 2);
  EXPECT_EQ(doc["context"]["throttle_policy"]["threshold_pct"], 75);
  // Always throttled: 3 retries a sample, then kept, and said once on stderr.
  r = run(out("r.json") +
              " --benchmark_filter=steady --benchmark_repetitions=1 "
              "--throttle-recovery-delay=0",
          "SAMPLING_BENCH_DEVICES=1 SAMPLING_BENCH_THROTTLED=1000");
  ASSERT_EQ(r.status, 0) << r.err;
  doc = read(dir_ / "r.json");
  b = iterations(doc, "demo/steady").at(0);
  EXPECT_EQ(b["throttle_retries"], 30);
  EXPECT_EQ(b["throttled_samples"], 10);
  EXPECT_NE(r.err.find("demo/steady: WARNING: the GPU stayed throttled (SM clock 600 MHz of "
                       "1000 MHz"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("10 kept although throttled"), std::string::npos) << r.err;
  // A threshold of 0 turns detection off; 50 % is below the fake's 60 %.
  for (const char* flag : {"--throttle-threshold=0", "--throttle-threshold=50"}) {
    r = run(out("r.json") + " --benchmark_filter=steady --benchmark_repetitions=1 " + flag,
            "SAMPLING_BENCH_DEVICES=1 SAMPLING_BENCH_THROTTLED=1000");
    ASSERT_EQ(r.status, 0) << r.err;
    b = iterations(read(dir_ / "r.json"), "demo/steady").at(0);
    EXPECT_FALSE(b.contains("throttle_retries")) << flag;
  }
}

// The progress lines of a stderr (Google Benchmark prints its context there too).
std::vector<std::string> progress_lines(const std::string& err) {
  static const std::regex line(R"(^\[[0-9]+/[0-9]+\] .*  elapsed [0-9]+\.[0-9] s  ETA [0-9]+ s$)");
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l[0] == '[') {
      EXPECT_TRUE(std::regex_match(l, line)) << l;
      out.push_back(l);
    }
  }
  return out;
}

TEST_F(Sampling, ProgressLinePerBenchmarkOnStderr) {
  Result r = run(out("r.json") + " --benchmark_repetitions=2", "SAMPLING_BENCH_DEVICES=1");
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> p = progress_lines(r.err);
  ASSERT_EQ(p.size(), 2u) << r.err;  // once per benchmark, not per repetition
  EXPECT_EQ(p[0].rfind("[1/2] demo/steady  elapsed ", 0), 0u) << p[0];
  EXPECT_EQ(p[1].rfind("[2/2] demo/noisy  elapsed ", 0), 0u) << p[1];
  // The filter sets N; --progress=off prints none.
  r = run(out("r.json") + " --benchmark_filter=noisy", "SAMPLING_BENCH_DEVICES=1");
  p = progress_lines(r.err);
  ASSERT_EQ(p.size(), 1u) << r.err;
  EXPECT_EQ(p[0].rfind("[1/1] demo/noisy  elapsed ", 0), 0u) << p[0];
  r = run(out("r.json") + " --progress=off", "SAMPLING_BENCH_DEVICES=1");
  ASSERT_EQ(r.status, 0);
  EXPECT_TRUE(progress_lines(r.err).empty()) << r.err;
}

TEST_F(Sampling, DevicesRunsEachDeviceAndNamesTheSlowest) {
  const Result r = run(out("r.json") + " --devices=all --benchmark_repetitions=2 --progress=off",
                       "SAMPLING_BENCH_DEVICES=3 SAMPLING_BENCH_SLOW_DEVICE=1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(files(),
            (std::vector<std::string>{"r.device0.json", "r.device1.json", "r.device2.json"}));
  for (int d = 0; d < 3; ++d) {
    const json doc = read(dir_ / ("r.device" + std::to_string(d) + ".json"));
    EXPECT_EQ(doc["context"]["device"], d);
    const double t = seconds(iterations(doc, "demo/steady").at(0));
    EXPECT_NEAR(t, (d == 1 ? 1.25 : 1.0) * 1.0005e-6, 1e-15) << d;
  }
  EXPECT_NE(r.err.find("sampling_bench: device 1 (2 of 3), results in "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("  device 1  1.250  (2 benchmarks)  <- slowest\n"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("slowest: device 1, 25.0% slower than the fastest (median)\n"),
            std::string::npos)
      << r.err;
  // Each device's console report is on stdout, one after the other.
  std::size_t reports = 0;
  for (std::size_t at = r.out.find("demo/steady/manual_time"); at != std::string::npos;
       at = r.out.find("demo/steady/manual_time", at + 1)) {
    ++reports;
  }
  EXPECT_GE(reports, 3u) << r.out;
}

TEST_F(Sampling, DevicesListWithoutResultsFileAndItsStatus) {
  // No --benchmark_out: the runs write to a temporary folder, removed after the summary.
  Result r = run("--devices=2,0 --benchmark_filter=steady --benchmark_repetitions=1",
                 "SAMPLING_BENCH_DEVICES=3 SAMPLING_BENCH_SLOW_DEVICE=0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_LT(r.err.find("device 2 (1 of 2)"), r.err.find("device 0 (2 of 2)")) << r.err;
  EXPECT_NE(r.err.find("slowest: device 0, 25.0% slower"), std::string::npos) << r.err;
  EXPECT_TRUE(files().empty());
  // --print_gpu: each run prints its GPU's name; there is nothing to summarize.
  r = run("--devices=0,1 --print_gpu", "SAMPLING_BENCH_DEVICES=2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "unknown-gpu\nunknown-gpu\n");
  EXPECT_EQ(r.err.find("devices: median"), std::string::npos) << r.err;
}

TEST_F(Sampling, DevicesWithoutAGpuFailAsASingleRunDoes) {
  for (const char* devices : {"--devices=all", "--devices=0,1"}) {
    const Result r = run(out("r.json") + " " + devices);
    EXPECT_EQ(r.status, 77) << devices;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("sampling_bench: no usable CUDA GPU: ", 0), 0u) << r.err;
  }
  const Result single = run(out("r.json"));
  EXPECT_EQ(single.status, 77);
  EXPECT_EQ(lines(single.err), 1);
  // A device the machine lacks is found out before anything runs.
  const Result missing = run(out("r.json") + " --devices=0,5", "SAMPLING_BENCH_DEVICES=2");
  EXPECT_EQ(missing.status, 77);
  EXPECT_NE(missing.err.find("lists device 5 but only 2 device(s) are visible"), std::string::npos);
  EXPECT_EQ(lines(missing.err), 1) << missing.err;
  EXPECT_TRUE(files().empty());
}

TEST_F(Sampling, EstimatePricesEveryDevice) {
  const Result one = run("--estimate=h200");
  const Result two = run("--estimate=h200 --devices=0,1");
  ASSERT_EQ(two.status, 0) << two.err;
  auto last = [](const std::string& s) { return s.substr(s.rfind('\n', s.size() - 2) + 1); };
  EXPECT_EQ(last(one.out).rfind("estimate: 2 benchmarks, ", 0), 0u) << one.out;
  EXPECT_EQ(last(two.out).rfind("estimate: 4 benchmarks, ", 0), 0u) << two.out;
  const double t1 = std::stod(last(one.out).substr(24));
  const double t2 = std::stod(last(two.out).substr(24));
  // Both totals are printed to 0.1 s: t2 within ±0.05 and 2·t1 within ±0.1 of the exact sums.
  EXPECT_NEAR(t2, 2 * t1, 0.15 + 1e-9);
  EXPECT_NE(two.out.find("devices: 2 runs of 2 benchmarks, "), std::string::npos) << two.out;
  // "all" is counted: on a machine without a GPU it cannot be priced.
  const Result all = run("--estimate=h200 --devices=all");
  EXPECT_EQ(all.status, 2);
  EXPECT_NE(all.err.find("list them instead"), std::string::npos) << all.err;
  const Result counted = run("--estimate=h200 --devices=all", "SAMPLING_BENCH_DEVICES=8");
  EXPECT_EQ(last(counted.out).rfind("estimate: 16 benchmarks, ", 0), 0u) << counted.out;
}

TEST_F(Sampling, ABinaryThatIsNotPerGpuRefusesTheseFlags) {
  for (const char* flag : {"--devices=all", "--max-noise=1", "--throttle-threshold=80",
                           "--throttle-recovery-delay=1"}) {
    const Result r = run_bin(GOLDEN_BENCH_PATH, out("g.json") + " " + flag);
    EXPECT_EQ(r.status, 2) << flag;
    EXPECT_NE(r.err.find("is for the per-GPU binaries"), std::string::npos) << r.err;
  }
  // --min-samples and --max-samples bound a fixed plan, which every rank computes alike.
  EXPECT_EQ(run_bin(GOLDEN_BENCH_PATH, "--estimate=h200 --max-samples=4").status, 0);
  EXPECT_TRUE(files().empty());
}

}  // namespace
