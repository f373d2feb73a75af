// Issue 12 (and 11's nccl-tests items) end to end: what a fit may claim. A diverging fit is
// refused (exit 3, nothing written, unless --force) with Ceres silent; logs of one op on 8 and 16
// GPUs fit together, from a pipe or a FIFO too, whatever their names; regimes keep their size
// ranges (model.json, regime_range_ok), are stable on noisy logs and found in near-linear time;
// a latency no small sample shows is marked unidentified; an unknown cache= is refused.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/model_file.h"
#include "core/regimes.h"
#include "model/fit.h"
#include "model/results.h"
#include "tests/cli_golden.h"
#include "tests/scratch.h"

namespace batchcost {
namespace {

namespace fs = std::filesystem;
using testing::fixture_dir;
using testing::read;
using testing::run_in;

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Memory samples whose marginal rate (2 GB in 0.2 ms: 10 TB/s) is far above any sample's rate:
// the fit wants a W no sample shows, the shape of the published GEMM set that wrote W = 7 TB/s.
std::string diverging_results() {
  std::string out = R"({"context": {"gpu_name": "test"}, "benchmarks": [)";
  const double gb[] = {1, 2, 4}, ms[] = {1.0, 1.2, 1.4};
  for (int i = 0; i < 3; ++i) {
    const std::string name = "memory/copy/bytes:" + std::to_string(i);
    out += std::string(i ? "," : "") + R"({"name": ")" + name + R"(", "run_name": ")" + name +
           R"(", "run_type": "iteration", "repetitions": 1, "repetition_index": 0, "threads": 1,)" +
           R"( "iterations": 10, "real_time": )" + std::to_string(ms[i]) +
           R"(, "cpu_time": 1, "time_unit": "ms", "label": "cache=cold timing=device", "bytes": )" +
           std::to_string(gb[i] * 1e9) + R"(, "kernels": 1})";
  }
  return out + "]}";
}

TEST(FitTrust, ARateBeyondEverySampleIsRefusedAndCeresIsSilent) {
  const testing::Scratch dir("fit_trust_refuse");
  write(dir / "results.json", diverging_results());
  const std::string err = (dir / "stderr.txt").string();
  auto run = run_in(dir, BATCHCOST_EXE, "fit results.json --out model.json", err);
  EXPECT_EQ(run.status, 3) << run.out;
  EXPECT_FALSE(fs::exists(dir / "model.json"));
  const std::string stderr_text = read(err);
  EXPECT_NE(stderr_text.find("fit refused: W = "), std::string::npos) << stderr_text;
  EXPECT_NE(stderr_text.find("is at its bound"), std::string::npos) << stderr_text;
  EXPECT_EQ(stderr_text.find("ResidualBlock"), std::string::npos) << stderr_text;
  EXPECT_EQ(stderr_text.find("Logging before InitGoogleLogging"), std::string::npos);
  // --force writes it, the refusal still said.
  run = run_in(dir, BATCHCOST_EXE, "fit results.json --out model.json --force", err);
  EXPECT_EQ(run.status, 0);
  EXPECT_TRUE(fs::exists(dir / "model.json"));
  EXPECT_NE(read(err).find("warning: W = "), std::string::npos);
  // And the bound held: W at most 1.05 x the highest latency-corrected rate (4 GB / 0.7 ms).
  FitResult r = fit(read_inputs({(dir / "results.json").string()}).samples);
  ASSERT_TRUE(r.constants.hbm_bytes_per_s);
  EXPECT_LE(r.constants.hbm_bytes_per_s->value, 1.05 * 4e9 / 0.7e-3 * 1.0001);
  EXPECT_FALSE(r.refusals.empty());
}

TEST(FitTrust, LogsOfOneOpOnSeveralRankCountsAndDtypesFitTogether) {
  // Was: "contradictory duplicates" (names without ranks or dtype).
  const fs::path logs = fixture_dir("nccl-tests");
  auto run = run_in(logs, BATCHCOST_EXE,
                    "fit all_reduce_h100_8gpu.txt all_reduce_h100_16gpu_mpirun.txt "
                    "all_reduce_h100_16gpu_srun_label.txt all_gather_bf16_2gpu.txt --json");
  ASSERT_EQ(run.status, 0) << run.out;
  auto doc = nlohmann::json::parse(run.out);
  EXPECT_TRUE(doc["constants"]["network"]["all_reduce"].contains("8"));
  EXPECT_TRUE(doc["constants"]["network"]["all_reduce"].contains("16"));
  EXPECT_TRUE(doc["constants"]["network"]["all_gather"].contains("2"));
}

TEST(FitTrust, ALogIsReadOnceFromAPipeOrAFifoWhateverItsName) {
  const testing::Scratch dir("fit_trust_pipe");
  const std::string log = (fixture_dir("nccl-tests") / "all_reduce_h100_8gpu.txt").string();
  // A pipe: was reported empty (read twice).
  auto run = run_in(dir, "/bin/sh",
                    "-c \"cat '" + log + "' | '" + BATCHCOST_EXE + "' fit /dev/stdin --json\"");
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("\"all_reduce\""), std::string::npos);
  // A FIFO: was a hang. timeout guards the test, not the program.
  ASSERT_EQ(mkfifo((dir / "nccl.log").c_str(), 0600), 0);
  run = run_in(dir, "/bin/sh",
               "-c \"(cat '" + log + "' > nccl.log &) ; timeout 60 '" + BATCHCOST_EXE +
                   "' fit nccl.log --json\"");
  EXPECT_EQ(run.status, 0) << run.out;
  // A log named nccl.log whose table is all it has, with the op and ranks said by the user.
  std::string text = read(log);
  std::string rows;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.find('#') == std::string::npos) rows += line + "\n";
  }
  write(dir / "plain.log", rows);
  run = run_in(dir, BATCHCOST_EXE, "fit plain.log --json");  // op and ranks from the table
  EXPECT_EQ(run.status, 0) << run.out;
  run = run_in(dir, BATCHCOST_EXE, "fit plain.log:op=all_reduce,ranks=8 --json");
  EXPECT_EQ(run.status, 0) << run.out;
  run = run_in(dir, BATCHCOST_EXE, "fit plain.log:op=all_reduce,ranks=4 --json");
  EXPECT_EQ(run.status, 2);  // busbw/algbw contradicts 4 ranks
  run = run_in(dir, BATCHCOST_EXE, "fit --help");
  EXPECT_NE(run.out.find("LOG:op=all_reduce,ranks=16"), std::string::npos) << run.out;
}

TEST(FitTrust, RegimesKeepTheirSizeRangeInModelJson) {
  Inputs in =
      read_inputs({(fixture_dir("nccl-tests") / "all_reduce_h100_16gpu_mpirun.txt").string()});
  FitResult r = fit(in.samples);
  const std::vector<Regime>& regimes = r.constants.network.at({"all_reduce", 16});
  int n = 0;
  for (const Regime& g : regimes) {
    EXPECT_GT(g.n, 0);
    EXPECT_LE(g.bytes_min, g.bytes_max);
    n += g.n;
  }
  EXPECT_EQ(n, static_cast<int>(in.samples.size()));
  ModelFile m;
  m.constants = r.constants;
  m.identification = identification_json(r.identification);
  const auto doc = nlohmann::json::parse(model_to_json(m).dump());
  EXPECT_TRUE(doc["constants"]["network"]["all_reduce"]["16"][0].contains("bytes_range"));
  EXPECT_TRUE(doc.contains("identification"));
  const ModelFile back = model_from_json(doc, "model.json");
  const std::vector<Regime>& b = back.constants.network.at({"all_reduce", 16});
  ASSERT_EQ(b.size(), regimes.size());
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(b[i].n, regimes[i].n);
    EXPECT_NEAR(b[i].bytes_max / regimes[i].bytes_max, 1, 1e-5);
  }
  // The check predict uses: inside the range (x4 either side) or not.
  const Regime& first = b.front();
  EXPECT_TRUE(regime_range_ok(first, first.bytes_min));
  EXPECT_TRUE(regime_range_ok(first, first.bytes_min / 3.9));
  EXPECT_FALSE(regime_range_ok(first, first.bytes_min / 4.1));
  EXPECT_FALSE(regime_range_ok(b.back(), b.back().bytes_max * 5));
  EXPECT_TRUE(regime_range_ok(Regime{}, 1e12));  // no stored range: nothing to say
  // A 16 KiB decode all-reduce against a fit that starts at 128 MiB is outside (issue 12).
  Regime large{{2.5e-5, 0, 0}, {4.7e11, 0, 0}, 134217728.0 * 1.75, 4294967296.0 * 1.75, 6};
  EXPECT_FALSE(regime_range_ok(std::vector<Regime>{large}, 16384 * 1.75));
}

// Two regimes (NCCL's LL and Simple protocols), one time per size, log-normal noise.
std::vector<std::pair<double, double>> noisy_two_regimes(uint64_t seed, double noise) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0, 1);
  std::vector<std::pair<double, double>> pts;
  for (int i = 3; i <= 33; ++i) {
    double x = std::pow(2.0, i);
    double t = std::min(12e-6 + x / 2e10, 60e-6 + x / 3.6e11);
    pts.push_back({x, t * std::exp(noise * z(rng))});
  }
  return pts;
}

TEST(FitTrust, RegimeCountIsStableOnNoisySingleRunLogs) {
  std::map<size_t, int> counts;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::vector<Line> lines = find_regimes(noisy_two_regimes(seed, 0.04));
    ++counts[lines.size()];
    // Whatever the count, the envelope misses no size by more than 25% (was: 60% at small sizes
    // where one line was kept).
    for (const auto& [x, t] : noisy_two_regimes(seed, 0.0)) {
      double best = 1e300;
      for (const Line& l : lines) best = std::min(best, l.latency_s + x / l.bytes_per_s);
      EXPECT_LT(std::fabs(best / t - 1), 0.25) << "seed " << seed << " bytes " << x;
    }
  }
  EXPECT_EQ(counts[2], 30) << "1: " << counts[1] << ", 3: " << counts[3] << ", 4: " << counts[4];
}

TEST(FitTrust, RegimeSearchIsNearLinear) {
  // 100,000 points of 100,000 distinct sizes: binned, a few milliseconds (was O(n^3) time and
  // O(n^2) memory: out of memory at 600,000).
  std::vector<std::pair<double, double>> pts;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> z(0, 0.03);
  for (int i = 0; i < 100000; ++i) {
    double x = std::pow(2.0, 3 + 30.0 * i / 99999);
    pts.push_back({x, std::min(12e-6 + x / 2e10, 60e-6 + x / 3.6e11) * std::exp(z(rng))});
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<Line> lines = find_regimes(pts);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(lines.size(), 2u);
  int n = 0;
  for (const Line& l : lines) n += l.n;
  EXPECT_EQ(n, 100000);
  std::printf("find_regimes on 100,000 points: %.3f s\n", s);
  EXPECT_LT(s, 5.0);  // loose: a shared CI machine
}

TEST(FitTrust, AFitOf100000CollectiveSamplesIsQuick) {
  std::vector<Sample> samples;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> z(0, 0.03);
  for (int i = 0; i < 100000; ++i) {
    Sample s;
    double x = std::round(std::pow(2.0, 3 + 30.0 * (i % 1000) / 999));
    s.source = "synthetic";
    s.name = "collective/all_reduce/ranks:8/n:" + std::to_string(i);
    s.family = "collective";
    s.work.net_bytes = x;
    s.work.collectives = 1;
    s.labels = {{"op", "all_reduce"}};
    s.ranks = 8;
    s.time_s = std::min(12e-6 + x / 2e10, 60e-6 + x / 3.6e11) * std::exp(z(rng));
    samples.push_back(std::move(s));
  }
  auto start = std::chrono::steady_clock::now();
  FitResult r = fit(samples);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("fit of 100,000 collective samples: %.2f s\n", s);
  EXPECT_EQ(r.quality.at("collective").n, 100000);
  EXPECT_LT(r.quality.at("collective").median_abs_rel_err, 0.05);
  EXPECT_TRUE(r.refusals.empty());
  EXPECT_LT(s, 20.0);  // loose: a shared CI machine; issue 12 asks under 5 s on a quiet one
}

TEST(FitTrust, ALatencyNoSmallSampleShowsIsUnidentified) {
  // Large GEMMs only: the kernel cost is under 1% of every time, so nothing identifies it,
  // whatever its interval says (was: "13.9 us [9.8, 19.6]" for a latency absorbing misfit).
  std::vector<Sample> samples;
  for (int m = 2048; m <= 16384; m += 1024) {
    Sample s;
    s.source = "synthetic";
    s.name = "gemm/bf16/m:" + std::to_string(m);
    s.family = "gemm";
    double d = m;
    s.work = {.flops = 2 * d * d * d, .bytes = 6 * d * d, .kernels = 1};
    s.labels = {{"dtype", "bf16"}, {"cache", "cold"}};
    s.time_s = (3e-6 + s.work.flops / 7e14) * (1 + 0.02 * std::sin(d));
    samples.push_back(s);
  }
  FitResult r = fit(samples);
  bool seen = false;
  for (const Identification& id : r.identification) {
    if (id.name == "λ[kernel]") {
      seen = true;
      EXPECT_NE(id.status, "identified") << id.why;
    }
    if (id.name == "P[bf16]") {
      EXPECT_EQ(id.status, "identified");
      EXPECT_GE(id.n, 2);
    }
  }
  EXPECT_TRUE(seen);
  EXPECT_NE(identification_table(r.identification).find("! λ[kernel]"), std::string::npos);
}

TEST(FitTrust, AnUnknownCacheValueIsAnError) {
  Sample s;
  s.source = "gemm.json";
  s.name = "gemm/bf16/m:64";
  s.family = "gemm";
  s.time_s = 1e-5;
  s.work = {.flops = 1e9, .kernels = 1};
  s.labels = {{"dtype", "bf16"}, {"cache", "hoot"}};
  try {
    fit({s});
    ADD_FAILURE() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("gemm.json: benchmark 'gemm/bf16/m:64': cache=hoot"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace batchcost
