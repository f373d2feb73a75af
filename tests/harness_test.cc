// The host half of the benchmark harness: flags, sweeps, rotation, batching, throttle reasons,
// GPU names, check bookkeeping, error messages, and the output step.
#include "harness/harness.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "kernels/api_error.h"
#include "kernels/pattern.h"
#include "tests/scratch.h"

namespace batchcost {
namespace {

std::vector<std::string> args_of(std::initializer_list<std::string> a) {
  std::vector<std::string> v{"prog"};
  v.insert(v.end(), a);
  return v;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(HarnessFlags, DefaultsAreAddedAndOwnFlagsRemoved) {
  auto args = args_of({"--quick", "--device=1", "--cache=hot", "--benchmark_filter=copy"});
  Options o = take_harness_flags(args);
  EXPECT_TRUE(o.quick);
  EXPECT_EQ(o.device, 1);
  EXPECT_EQ(o.cache, CachePolicy::kHot);
  EXPECT_TRUE(contains(args, "--benchmark_filter=copy"));
  EXPECT_TRUE(contains(args, "--benchmark_repetitions=2"));
  EXPECT_EQ(o.policy.repetitions, 2);
  EXPECT_EQ(o.policy.max_samples, 5);
  // One Google Benchmark iteration per repetition: the plan's samples run inside it.
  EXPECT_EQ(std::count_if(args.begin(), args.end(),
                          [](const std::string& a) { return a.rfind("--benchmark_min_time=", 0) == 0; }),
            1);
  EXPECT_FALSE(contains(args, "--quick"));
  EXPECT_FALSE(contains(args, "--device=1"));
}

TEST(HarnessFlags, UserChoicesWinOverDefaults) {
  auto args = args_of({"--benchmark_repetitions=7", "--benchmark_out=r.json"});
  Options o = take_harness_flags(args);
  EXPECT_FALSE(o.quick);
  EXPECT_EQ(o.cache, CachePolicy::kCold);
  EXPECT_TRUE(contains(args, "--benchmark_repetitions=7"));
  EXPECT_FALSE(contains(args, "--benchmark_repetitions=5"));
  EXPECT_EQ(o.policy.repetitions, 7);
  EXPECT_TRUE(contains(args, "--benchmark_out_format=json"));
}

TEST(HarnessFlags, SamplesRepetitionsAndEstimate) {
  auto args = args_of({"--samples=4", "--repetitions=3", "--estimate=h100"});
  Options o = take_harness_flags(args);
  EXPECT_EQ(o.policy.samples, 4);
  EXPECT_EQ(o.policy.repetitions, 3);
  EXPECT_EQ(o.estimate, "h100");
  EXPECT_TRUE(contains(args, "--benchmark_repetitions=3"));
  EXPECT_FALSE(contains(args, "--samples=4"));
  auto same = args_of({"--repetitions=3", "--benchmark_repetitions=3"});
  EXPECT_EQ(take_harness_flags(same).policy.repetitions, 3);
  auto differ = args_of({"--repetitions=3", "--benchmark_repetitions=4"});
  EXPECT_THROW(take_harness_flags(differ), std::invalid_argument);
}

TEST(HarnessFlags, GoogleBenchmarkFlagsAreCheckedBeforeAnythingRuns) {
  namespace fs = std::filesystem;
  const batchcost::testing::Scratch dir("harness_flags");
  for (const std::string& bad : std::vector<std::string>{
           "--benchmark_format=xml", "--benchmark_time_unit=fs", "--benchmark_min_time=0.5",
        "--benchmark_min_warmup_time=1", "--benchmark_repetitions=0", "--benchmark_filter=(",
        "--benchmark_out=" + dir.string(), "--benchmark_out=" + (dir / "no/such/x.json").string(),
        std::string("--samples=0"), std::string("--samples=x"), std::string("--repetitions=-2"),
        std::string("--estimate=")}) {
    auto args = args_of({bad});
    EXPECT_THROW(take_harness_flags(args), std::invalid_argument) << bad;
  }
  for (const std::string& good :
       std::vector<std::string>{"--benchmark_format=csv", "--benchmark_time_unit=ms",
                                "--benchmark_out=" + (dir / "ok.json").string()}) {
    auto args = args_of({good});
    EXPECT_NO_THROW(take_harness_flags(args)) << good;
  }
  EXPECT_TRUE(fs::is_empty(dir));  // checking creates nothing
  fs::remove_all(dir);
}

TEST(HarnessFlags, BadValuesAreRejectedByName) {
  for (const char* bad : {"--device=x", "--device=", "--device=-1", "--cache=warm", "--cache",
                          "--device", "--benchmark_out_format=csv", "--benchmark_out="}) {
    auto args = args_of({bad});
    EXPECT_THROW(take_harness_flags(args), std::invalid_argument) << bad;
  }
  auto args = args_of({"--cache=warm"});
  try {
    take_harness_flags(args);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'warm'"), std::string::npos);
  }
}

TEST(HarnessFlags, TimeUnitIsNanosecondsUnlessChosen) {
  auto plain = args_of({"--benchmark_filter=copy"});
  (void)take_harness_flags(plain);
  EXPECT_EQ(time_unit(), benchmark::kNanosecond);
  const std::pair<const char*, benchmark::TimeUnit> units[] = {{"us", benchmark::kMicrosecond},
                                                               {"ms", benchmark::kMillisecond},
                                                               {"s", benchmark::kSecond},
                                                               {"ns", benchmark::kNanosecond}};
  for (const auto& [text, unit] : units) {
    auto args = args_of({"--benchmark_time_unit=" + std::string(text)});
    (void)take_harness_flags(args);
    EXPECT_EQ(time_unit(), unit) << text;
    // The harness applies it (add()); a Google Benchmark without the flag never sees it.
    EXPECT_FALSE(contains(args, "--benchmark_time_unit=" + std::string(text))) << text;
    EXPECT_EQ(parse_time_unit(text), unit);
  }
  for (const char* bad : {"fs", "", "US", "µs"}) {
    EXPECT_THROW(parse_time_unit(bad), std::invalid_argument) << bad;
  }
  auto reset = args_of({});
  (void)take_harness_flags(reset);
  EXPECT_EQ(time_unit(), benchmark::kNanosecond);  // each parse starts from the default
}

TEST(HarnessFlags, NvbenchHabits) {
  auto args =
      args_of({"--devices=0,3,1", "--max-noise=0.5", "--min-samples=4", "--max-samples=40",
               "--throttle-threshold=80", "--throttle-recovery-delay=0.2", "--progress=off"});
  Options o = take_harness_flags(args);
  EXPECT_EQ(o.devices, (std::vector<int>{0, 3, 1}));
  EXPECT_FALSE(o.devices_all);
  ASSERT_TRUE(o.policy.max_noise.has_value());
  EXPECT_DOUBLE_EQ(*o.policy.max_noise, 0.005);
  EXPECT_EQ(o.policy.min_samples, 4);
  EXPECT_EQ(o.policy.max_samples, 40);
  EXPECT_DOUBLE_EQ(o.throttle.threshold, 0.8);
  EXPECT_DOUBLE_EQ(o.throttle.recovery_delay_s, 0.2);
  EXPECT_FALSE(o.progress);
  EXPECT_EQ(o.per_gpu_flags,
            (std::vector<std::string>{"--devices", "--max-noise", "--throttle-threshold",
                                      "--throttle-recovery-delay"}));
  for (const char* flag : {"--devices", "--max-noise", "--min-samples", "--throttle-threshold"}) {
    EXPECT_FALSE(std::any_of(args.begin(), args.end(),
                             [&](const std::string& a) { return a.rfind(flag, 0) == 0; }))
        << flag << " reached Google Benchmark";
  }
  // NVBench's defaults, and the fixed plan unless --max-noise is given.
  auto none = args_of({});
  Options d = take_harness_flags(none);
  EXPECT_FALSE(d.policy.max_noise.has_value());
  EXPECT_DOUBLE_EQ(d.throttle.threshold, 0.75);
  EXPECT_DOUBLE_EQ(d.throttle.recovery_delay_s, 0.05);
  EXPECT_TRUE(d.progress);
  EXPECT_TRUE(d.devices.empty());
  EXPECT_TRUE(d.per_gpu_flags.empty());
  auto all = args_of({"--devices=all", "--throttle-threshold=0"});
  Options a = take_harness_flags(all);
  EXPECT_TRUE(a.devices_all);
  EXPECT_DOUBLE_EQ(a.throttle.threshold, 0);
  // One bound moves the profile's other one rather than crossing it.
  auto high_min = args_of({"--quick", "--min-samples=8"});
  Options h = take_harness_flags(high_min);
  EXPECT_EQ(h.policy.min_samples, 8);
  EXPECT_EQ(h.policy.max_samples, 8);
  auto low_max = args_of({"--max-samples=2"});
  Options l = take_harness_flags(low_max);
  EXPECT_EQ(l.policy.min_samples, 2);
  EXPECT_EQ(l.policy.max_samples, 2);
}

TEST(HarnessFlags, NvbenchSpellingsWithASpace) {
  auto args = args_of({"--devices", "0,1", "--max-noise", "5", "--repetitions", "7", "--quick"});
  Options o = take_harness_flags(args);
  EXPECT_EQ(o.devices, (std::vector<int>{0, 1}));
  ASSERT_TRUE(o.policy.max_noise.has_value());
  EXPECT_DOUBLE_EQ(*o.policy.max_noise, 0.05);
  EXPECT_EQ(o.policy.repetitions, 7);
  EXPECT_TRUE(o.quick);
  auto d = args_of({"-d", "2"});
  EXPECT_EQ(take_harness_flags(d).devices, (std::vector<int>{2}));
  // A flag followed by another flag still needs its value.
  auto missing = args_of({"--devices", "--quick"});
  EXPECT_THROW(take_harness_flags(missing), std::invalid_argument);
  // NVBench's flags that mean nothing here are refused naming what does it.
  for (const auto& [flag, names] :
       {std::pair{"--min-time=0.5", "--samples=N"}, std::pair{"--timeout", "--deadline=SECONDS"}}) {
    auto bad = args_of({flag});
    try {
      take_harness_flags(bad);
      ADD_FAILURE() << flag << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    }
  }
}

TEST(HarnessFlags, NvbenchHabitsRefuseBadValues) {
  for (const char* bad : {"--devices=",
                          "--devices=1,,2",
                          "--devices=a",
                          "--devices=0,0",
                          "--devices=-1",
                          "--devices",
                          "--max-noise=0",
                          "--max-noise=-1",
                          "--max-noise=x",
                          "--max-noise=nan",
                          "--max-noise=101",
                          "--max-noise",
                          "--min-samples=0",
                          "--max-samples=1001",
                          "--throttle-threshold=101",
                          "--throttle-threshold=-5",
                          "--throttle-recovery-delay=11",
                          "--throttle-recovery-delay=1s",
                          "--progress=maybe",
                          "--progress"}) {
    auto args = args_of({bad});
    EXPECT_THROW(take_harness_flags(args), std::invalid_argument) << bad;
  }
  for (std::initializer_list<std::string> bad :
       {std::initializer_list<std::string>{"--min-samples=9", "--max-samples=3"},
        {"--samples=4", "--max-noise=1"},
        {"--samples=4", "--min-samples=2"},
        {"--device=1", "--devices=0,1"}}) {
    auto args = args_of(bad);
    EXPECT_THROW(take_harness_flags(args), std::invalid_argument) << *bad.begin();
  }
}

TEST(HarnessThrottleProbe, ClockBelowThresholdOrSlowdownReasonIsThrottled) {
  const ThrottleProbe ok{.sm_clock_mhz = 1700, .reasons = 0x4, .reference_clock_mhz = 1980};
  EXPECT_FALSE(is_throttled(ok, 0.75));  // the power cap at full load is not a slowdown
  const ThrottleProbe slow{.sm_clock_mhz = 1400, .reasons = 0, .reference_clock_mhz = 1980};
  EXPECT_TRUE(is_throttled(slow, 0.75));  // 1400 < 0.75 x 1980 = 1485
  EXPECT_FALSE(is_throttled(slow, 0.70));
  EXPECT_FALSE(is_throttled(slow, 0));  // 0: detection off
  const ThrottleProbe thermal{.sm_clock_mhz = 1900, .reasons = 0x40, .reference_clock_mhz = 1980};
  EXPECT_TRUE(is_throttled(thermal, 0.75));
  EXPECT_FALSE(is_throttled(thermal, 0));
  // A clock or a reference NVML did not give decides nothing.
  EXPECT_FALSE(is_throttled({.sm_clock_mhz = 0, .reasons = 0, .reference_clock_mhz = 1980}, 0.75));
  EXPECT_FALSE(is_throttled({.sm_clock_mhz = 500, .reasons = 0, .reference_clock_mhz = 0}, 0.75));
}

TEST(HarnessThrottleProbe, RetriesAreBoundedPerSampleAndPerRun) {
  ThrottlePolicy p;  // 3 retries a sample, 0.05 s each, 10 s a run
  EXPECT_EQ(throttle_action(false, 0, 0, p), ThrottleAction::kKeep);
  EXPECT_EQ(throttle_action(false, 3, 100, p), ThrottleAction::kKeep);
  EXPECT_EQ(throttle_action(true, 0, 0, p), ThrottleAction::kRetry);
  EXPECT_EQ(throttle_action(true, 2, 0, p), ThrottleAction::kRetry);
  EXPECT_EQ(throttle_action(true, 3, 0, p), ThrottleAction::kKeepThrottled);
  EXPECT_EQ(throttle_action(true, 0, 9.95, p), ThrottleAction::kRetry);
  EXPECT_EQ(throttle_action(true, 0, 9.96, p), ThrottleAction::kKeepThrottled);
  // A fake probe that is throttled for the first 4 readings: the sample loop as run_samples runs
  // it keeps the third retry's result as throttled, then the next sample is clean.
  int readings = 0;
  auto probe = [&] { return readings++ < 4; };
  double waited = 0;
  std::vector<ThrottleAction> actions;
  for (int sample = 0; sample < 2; ++sample) {
    for (int retries = 0;; ++retries) {
      const ThrottleAction a = throttle_action(probe(), retries, waited, p);
      actions.push_back(a);
      if (a != ThrottleAction::kRetry) break;
      waited += p.recovery_delay_s;
    }
  }
  EXPECT_EQ(actions, (std::vector<ThrottleAction>{
                         ThrottleAction::kRetry, ThrottleAction::kRetry, ThrottleAction::kRetry,
                         ThrottleAction::kKeepThrottled, ThrottleAction::kKeep}));
  EXPECT_NEAR(waited, 0.15, 1e-12);
}

TEST(HarnessSampling, CountersOfARepetition) {
  const auto c = sampling_counters(
      {.samples = 7, .noise = 0.0123456, .throttle_retries = 0, .throttled_kept = 0});
  EXPECT_EQ(c.at("samples"), 7);
  EXPECT_DOUBLE_EQ(c.at("noise_pct"), 1.235);
  EXPECT_FALSE(c.count("throttle_retries"));
  const auto t = sampling_counters(
      {.samples = 1, .noise = std::nullopt, .throttle_retries = 3, .throttled_kept = 1});
  EXPECT_FALSE(t.count("noise_pct"));
  EXPECT_EQ(t.at("throttle_retries"), 3);
  EXPECT_EQ(t.at("throttled_samples"), 1);
}

TEST(HarnessProgress, LineAndEta) {
  // The first benchmark: nothing measured yet, the estimate as it is.
  EXPECT_EQ(progress_line(1, 12, "memory/copy", 1.5, kBinaryStartS, 45.2),
            "[1/12] memory/copy  elapsed 1.5 s  ETA 45 s");
  // The run so far took twice its estimate: so will the rest.
  EXPECT_EQ(progress_line(5, 12, "gemm/m:128", 24.6, 12.3, 30),
            "[5/12] gemm/m:128  elapsed 24.6 s  ETA 60 s");
  EXPECT_EQ(progress_line(12, 12, "x", 10, 20, 1), "[12/12] x  elapsed 10.0 s  ETA 0 s");
}

TEST(HarnessDevices, TimesFromAResultsFile) {
  const nlohmann::json doc = nlohmann::json::parse(R"({"benchmarks": [
    {"name": "a/manual_time", "run_name": "a/manual_time", "run_type": "iteration",
     "repetition_index": 0, "real_time": 2.0, "time_unit": "us"},
    {"name": "a/manual_time", "run_name": "a/manual_time", "run_type": "iteration",
     "repetition_index": 1, "real_time": 4.0, "time_unit": "us"},
    {"name": "a/manual_time", "run_name": "a/manual_time", "run_type": "iteration",
     "repetition_index": 2, "real_time": 3.0, "time_unit": "us"},
    {"name": "a/manual_time_mean", "run_name": "a/manual_time", "run_type": "aggregate",
     "real_time": 3.0, "time_unit": "us"},
    {"name": "b/manual_time", "run_name": "b/manual_time", "run_type": "iteration",
     "real_time": 1500, "time_unit": "ns"},
    {"name": "c/manual_time", "run_name": "c/manual_time", "run_type": "iteration",
     "error_occurred": true, "error_message": "skipped: too big", "real_time": 0,
     "time_unit": "us"}]})");
  const auto t = benchmark_times_s(doc);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_DOUBLE_EQ(t.at("a/manual_time"), 3e-6);  // the median of 2, 4, 3
  EXPECT_DOUBLE_EQ(t.at("b/manual_time"), 1.5e-6);
  EXPECT_TRUE(benchmark_times_s(nlohmann::json::object()).empty());
}

TEST(HarnessDevices, SummaryNamesTheSlowest) {
  const std::vector<std::pair<int, std::map<std::string, double>>> times{
      {0, {{"a", 1.0}, {"b", 2.0}, {"c", 3.0}}},
      {1, {{"a", 1.1}, {"b", 2.4}, {"c", 3.3}}},
      {2, {{"a", 0.9}, {"b", 2.0}}},  // fastest at a; b ties device 0
  };
  const std::vector<std::string> lines = device_summary(times);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0],
            "devices: median over benchmarks of each device's time relative to the fastest "
            "device (3 benchmarks)");
  // Device 0 against the fastest: a 1/0.9, b 1, c 1 -> median 1.
  EXPECT_EQ(lines[1], "  device 0  1.000  (3 benchmarks)");
  // Device 1: a 1.1/0.9, b 2.4/2, c 3.3/3 -> 1.222, 1.2, 1.1 -> median 1.2.
  EXPECT_EQ(lines[2], "  device 1  1.200  (3 benchmarks)  <- slowest");
  EXPECT_EQ(lines[3], "  device 2  1.000  (2 benchmarks)");
  EXPECT_EQ(lines[4], "slowest: device 1, 20.0% slower than the fastest (median)");
  // A device without results is listed as such and never named the slowest.
  const auto missing = device_summary({{0, {{"a", 1.0}}}, {3, {}}});
  EXPECT_EQ(missing[2], "  device 3  no results");
  EXPECT_EQ(missing.back(), "slowest: device 0, 0.0% slower than the fastest (median)");
  // One device: nothing to compare.
  EXPECT_EQ(device_summary({{4, {{"a", 1.0}}}}).size(), 2u);
}

TEST(HarnessDevices, WorstStatusAndFileNames) {
  EXPECT_EQ(worst_exit_status({}), 0);
  EXPECT_EQ(worst_exit_status({0, 0}), 0);
  EXPECT_EQ(worst_exit_status({0, 77, 0}), 77);
  EXPECT_EQ(worst_exit_status({77, 1, 0}), 1);
  EXPECT_EQ(worst_exit_status({1, 2, 77}), 2);
  EXPECT_EQ(worst_exit_status({2, 139, 0}), 139);  // a crash is worst
  EXPECT_EQ(device_out_path("results/h100.json", 3), "results/h100.device3.json");
  EXPECT_EQ(device_out_path("out", 0), "out.device0.json");
  EXPECT_EQ(device_out_path(".json", 1), ".json.device1.json");
}

TEST(HarnessSweep, PowersOfTwoInclusive) {
  EXPECT_EQ(pow2_sweep(4096, 65536, false),
            (std::vector<std::int64_t>{4096, 8192, 16384, 32768, 65536}));
  EXPECT_EQ(pow2_sweep(1, 1, false), (std::vector<std::int64_t>{1}));
  auto full = pow2_sweep(std::int64_t{4} << 10, std::int64_t{4} << 30, false);
  EXPECT_EQ(full.size(), 21u);
  EXPECT_EQ(full.back(), std::int64_t{4} << 30);
}

TEST(HarnessSweep, QuickKeepsEveryFourthAndTheEnds) {
  auto quick = pow2_sweep(std::int64_t{4} << 10, std::int64_t{4} << 30, true);
  EXPECT_EQ(quick, (std::vector<std::int64_t>{4096, 65536, 1 << 20, 16 << 20, 256 << 20,
                                              std::int64_t{4} << 30}));
  EXPECT_EQ(pow2_sweep(1, 32, true), (std::vector<std::int64_t>{1, 16, 32}));
}

TEST(HarnessSweep, BadRangesThrow) {
  EXPECT_THROW(pow2_sweep(0, 8, false), std::invalid_argument);
  EXPECT_THROW(pow2_sweep(16, 8, false), std::invalid_argument);
  EXPECT_THROW(pow2_sweep(-4, 8, true), std::invalid_argument);
}

TEST(HarnessSweep, HugeUpperBoundDoesNotOverflow) {
  auto v = pow2_sweep(1, INT64_MAX, false);
  EXPECT_EQ(v.size(), 63u);
  EXPECT_EQ(v.back(), std::int64_t{1} << 62);
}

TEST(HarnessFormat, Bytes) {
  EXPECT_EQ(format_bytes(4096), "4 KiB");
  EXPECT_EQ(format_bytes(1.5 * (1 << 20)), "1.5 MiB");
  EXPECT_EQ(format_bytes(std::int64_t{4} << 30), "4 GiB");
  EXPECT_EQ(format_bytes(100), "100 B");
}

TEST(HarnessRotation, ColdSpansSeveralL2HotUsesOne) {
  const std::int64_t l2 = 50 << 20;
  EXPECT_EQ(rotation_sets(4096, l2, CachePolicy::kCold), kColdFactor * l2 / 4096);
  EXPECT_EQ(rotation_sets(64 << 20, l2, CachePolicy::kCold), 4);  // ceil(200 / 64)
  EXPECT_EQ(rotation_sets(std::int64_t{1} << 30, l2, CachePolicy::kCold), 1);
  EXPECT_EQ(rotation_sets(4096, l2, CachePolicy::kHot), 1);
  for (std::int64_t bytes : {1, 4096, 3 << 20, 64 << 20}) {
    auto sets = rotation_sets(bytes, l2, CachePolicy::kCold);
    EXPECT_GE(sets * bytes, kColdFactor * l2) << bytes;  // spans the L2 kColdFactor times
    EXPECT_LT((sets - 1) * bytes, kColdFactor * l2) << bytes;  // and no more than needed
  }
  EXPECT_THROW(rotation_sets(0, l2, CachePolicy::kCold), std::invalid_argument);
}

TEST(HarnessCpuList, ParsesLinuxCpuLists) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("5"), (std::vector<int>{5}));
  for (const char* bad : {"", "a", "3-1", "1,1", "0-", "1,", "-2"}) {
    EXPECT_THROW(parse_cpu_list(bad), std::invalid_argument) << bad;
  }
}

TEST(HarnessJson, NonFiniteTokensBecomeNullOutsideStrings) {
  EXPECT_EQ(non_finite_to_null(R"({"a": NaN, "b": -Infinity, "c": Infinity, "d": -NaN})"),
            R"({"a": null, "b": null, "c": null, "d": null})");
  // Inside strings (names, labels, messages) nothing changes, escapes included.
  const std::string s = R"({"name": "NaN/Infinity \"NaN\"", "x": 1.5})";
  EXPECT_EQ(non_finite_to_null(s), s);
}

// finalize_output on a partial Google Benchmark file with `text`, in a folder of its own; the
// file it writes, parsed.
nlohmann::json finalized(const std::string& folder, const std::string& text) {
  namespace fs = std::filesystem;
  const batchcost::testing::Scratch dir(folder);
  const fs::path partial = dir / "p.json", out = dir / "o.json";
  std::ofstream(partial) << text;
  finalize_output(partial.string(), out.string(), {}, {});
  std::ifstream in(out);
  return nlohmann::json::parse(in);
}

TEST(HarnessOutput, NonFiniteValuesAreDroppedNotWritten) {
  const nlohmann::json j = finalized("nonfinite", R"({"context": {}, "benchmarks": [
    {"name": "a", "run_type": "iteration", "real_time": 1.0, "zero": 0.0},
    {"name": "a", "run_type": "aggregate", "aggregate_name": "cv", "real_time": 0.1, "zero": NaN},
    {"name": "a", "run_type": "aggregate", "aggregate_name": "cv", "real_time": NaN}]})");
  ASSERT_EQ(j["benchmarks"].size(), 2u);
  EXPECT_FALSE(j["benchmarks"][1].contains("zero"));
  EXPECT_EQ(j["benchmarks"][0]["zero"], 0.0);
  EXPECT_EQ(j["context"]["non_finite_values_dropped"], 2);
}

TEST(HarnessOutput, SkipsLeaveTheBenchmarksForTheContextFailuresStay) {
  const nlohmann::json j = finalized("skips", R"J({"context": {}, "benchmarks": [
    {"name": "a", "run_type": "iteration", "real_time": 1.5, "time_unit": "ns"},
    {"name": "big", "run_type": "iteration", "repetition_index": 0, "real_time": 0,
     "error_occurred": true, "error_message": "skipped: needs 8 GiB, 1 GiB free"},
    {"name": "big", "run_type": "iteration", "repetition_index": 1, "real_time": 0,
     "error_occurred": true, "error_message": "skipped: needs 8 GiB, 1 GiB free"},
    {"name": "big", "run_type": "iteration", "repetition_index": 2, "real_time": 0,
     "error_occurred": true, "error_message": "skipped: out of memory: cudaMalloc"},
    {"name": "bad", "run_type": "iteration", "real_time": 0, "error_occurred": true,
     "error_message": "3 of 64 bytes differ (not skipped: a failure)"}]})J");
  ASSERT_EQ(j["benchmarks"].size(), 2u);
  EXPECT_EQ(j["benchmarks"][0]["name"], "a");
  EXPECT_EQ(j["benchmarks"][1]["name"], "bad");  // a failure stays an error entry
  EXPECT_EQ(j["benchmarks"][1]["error_occurred"], true);
  EXPECT_EQ(j["context"]["skipped"],
            nlohmann::json::parse(R"([
              {"name": "big", "reason": "needs 8 GiB, 1 GiB free", "repetitions": 2},
              {"name": "big", "reason": "out of memory: cudaMalloc", "repetitions": 1}])"));
}

TEST(HarnessRecord, RunsOncePerName) {
  EXPECT_TRUE(first_call("harness_test/a"));
  EXPECT_FALSE(first_call("harness_test/a"));
  EXPECT_TRUE(first_call("harness_test/b"));
}

TEST(HarnessThrottle, ReasonsAreNamedAndClassified) {
  EXPECT_EQ(describe_throttle_reasons(0), "none");
  EXPECT_EQ(describe_throttle_reasons(0x1), "gpu_idle");
  EXPECT_EQ(describe_throttle_reasons(0x4 | 0x40), "sw_power_cap,hw_thermal_slowdown");
  EXPECT_EQ(describe_throttle_reasons(0x1000), "0x1000");
  // NVML 13's board limit and reliability policies lower the clocks too.
  EXPECT_EQ(describe_throttle_reasons(0x200 | 0x400), "board_limit,reliability");
  // sw_power_cap is the normal state at full load: not a slowdown by itself.
  EXPECT_FALSE(is_slowdown(0x1 | 0x2 | 0x4 | 0x10 | 0x100));
  for (std::uint64_t bit : {0x8, 0x20, 0x40, 0x80, 0x200, 0x400}) {
    EXPECT_TRUE(is_slowdown(bit)) << bit;
  }
}

TEST(HarnessThrottle, WarningsForClockDropsAndSlowdowns) {
  EXPECT_TRUE(clock_warnings({1980, 1980, 1970}, 0x1).empty());
  EXPECT_TRUE(clock_warnings({}, 0).empty());
  auto w = clock_warnings({1980, 1755, 1980}, 0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("1755 MHz"), std::string::npos);
  EXPECT_NE(w[0].find("1980 MHz"), std::string::npos);
  w = clock_warnings({1980}, 0x40);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("hw_thermal_slowdown"), std::string::npos);
  // The power cap alone, clocks steady: no warning; with a clock drop, the warning names it.
  EXPECT_TRUE(clock_warnings({1980, 1975}, 0x4).empty());
  w = clock_warnings({1980, 1600}, 0x4);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("power cap"), std::string::npos);
}

TEST(HarnessGpuSlug, KnownAndGenericNames) {
  EXPECT_EQ(gpu_slug("NVIDIA H100 80GB HBM3"), "h100-sxm");
  EXPECT_EQ(gpu_slug("NVIDIA H100 PCIe"), "h100-pcie");
  EXPECT_EQ(gpu_slug("NVIDIA H100 NVL"), "h100-nvl");
  EXPECT_EQ(gpu_slug("NVIDIA H200"), "h200");
  EXPECT_EQ(gpu_slug("NVIDIA GH200 480GB"), "gh200");
  EXPECT_EQ(gpu_slug("NVIDIA A100-SXM4-80GB"), "a100-sxm");
  EXPECT_EQ(gpu_slug("NVIDIA L40S"), "l40s");
  EXPECT_EQ(gpu_slug("NVIDIA GeForce RTX 4090"), "geforce-rtx-4090");
  EXPECT_EQ(gpu_slug("  "), "unknown-gpu");
}

TEST(HarnessContext, UuidAndVersionFormats) {
  const unsigned char uuid[16] = {0x8a, 0x1b, 0x02, 0xff, 0x10, 0x20, 0x30, 0x40,
                                  0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0x0c};
  EXPECT_EQ(format_gpu_uuid(uuid), "GPU-8a1b02ff-1020-3040-5060-708090a0b00c");
  EXPECT_EQ(format_cuda_version(13000), "13.0");
  EXPECT_EQ(format_cuda_version(12090), "12.9");
  EXPECT_EQ(format_cuda_version(12040), "12.4");
}

TEST(HarnessChecks, EachShapeIsCheckedOnce) {
  int calls = 0;
  auto failing = [&] {
    ++calls;
    return std::string("3 bytes differ");
  };
  EXPECT_EQ(check_once("test/shape-a", failing), "3 bytes differ");
  EXPECT_EQ(check_once("test/shape-a", failing), "3 bytes differ");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(check_once("test/shape-b", [] { return std::string(); }), "");
}

TEST(ApiErrorMessage, NamesApiCallErrorAndPlace) {
  ApiError e("CUDA", "cudaMalloc(&p, n)", "/src/bench/memory.cc", 42, "cudaErrorMemoryAllocation",
             "out of memory", 2);
  EXPECT_STREQ(e.what(),
               "CUDA error cudaErrorMemoryAllocation (out of memory) in cudaMalloc(&p, n) at "
               "memory.cc:42");
  EXPECT_EQ(e.code(), 2);
  EXPECT_EQ(e.error_name(), "cudaErrorMemoryAllocation");
}

TEST(Pattern, DeterministicAndWellSpread) {
  std::set<int> seen;
  int equal_neighbours = 0, period_16_equal = 0;
  for (std::uint64_t i = 0; i < 65536; ++i) {
    seen.insert(pattern_byte(i, 7));
    equal_neighbours += pattern_byte(i, 7) == pattern_byte(i + 1, 7);
    period_16_equal += pattern_byte(i, 7) == pattern_byte(i + 16, 7);
  }
  EXPECT_EQ(seen.size(), 256u);
  // A shifted copy agrees on about 1/256 of the bytes, not more: shifts are detectable.
  EXPECT_LT(equal_neighbours, 65536 / 128);
  EXPECT_LT(period_16_equal, 65536 / 128);
  int seed_equal = 0;
  for (std::uint64_t i = 0; i < 4096; ++i) seed_equal += pattern_byte(i, 1) == pattern_byte(i, 2);
  EXPECT_LT(seed_equal, 4096 / 64);  // seeds give different data
}

class FinalizeOutput : public ::testing::Test {
 protected:
  std::string path(const char* name) const { return (dir_ / name).string(); }
  void write(const std::string& p, const std::string& text) const { std::ofstream(p) << text; }
  batchcost::testing::Scratch scratch_{"finalize"};
  std::filesystem::path dir_ = scratch_.path();
};

TEST_F(FinalizeOutput, MergesTypedContextAndRemovesThePartialFile) {
  write(path("r.json.partial"),
        R"({"context": {"date": "now", "sm_count": "132"}, "benchmarks": [{"name": "x"}]})");
  finalize_output(path("r.json.partial"), path("r.json"), {{"sm_count", 132}, {"gpu_name", "G"}},
                  {{"warnings", {"hot"}}});
  EXPECT_FALSE(std::filesystem::exists(path("r.json.partial")));
  std::ifstream in(path("r.json"));
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["context"]["date"], "now");
  EXPECT_EQ(j["context"]["sm_count"], 132);  // a number now, not the string "132"
  EXPECT_EQ(j["context"]["gpu_name"], "G");
  EXPECT_EQ(j["context"]["warnings"][0], "hot");
  EXPECT_EQ(j["benchmarks"][0]["name"], "x");
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename(), "r.json");  // no temporary left behind
  }
}

TEST_F(FinalizeOutput, TruncatedOrMissingOutputIsAnErrorAndWritesNothing) {
  write(path("t.partial"), R"({"context": {}, "benchmarks": [{"name": "x"})");
  try {
    finalize_output(path("t.partial"), path("t.json"), {}, {});
    FAIL() << "truncated JSON accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("t.partial is not valid JSON"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(path("t.json")));
  EXPECT_THROW(finalize_output(path("missing"), path("m.json"), {}, {}), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(path("m.json")));
  write(path("nob.partial"), R"({"context": {}})");
  EXPECT_THROW(finalize_output(path("nob.partial"), path("nob.json"), {}, {}), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(path("nob.json")));
}

}  // namespace
}  // namespace batchcost
