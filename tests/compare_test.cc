// Unit tests of `batchcost compare`'s pure parts (model/compare.h) and of `batchcost export`'s
// CSV (model/export.h): the U test against scipy's values, the verdicts ("?" where it cannot be
// told), numeric name order, selection, hardware warnings, and T_net compared at reference sizes
// rather than regimes paired by index.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "model/compare.h"
#include "model/export.h"
#include "model/results.h"

namespace batchcost {
namespace {

// Values of scipy.stats.mannwhitneyu(a, b, alternative="two-sided").pvalue (method "auto").
TEST(MannWhitney, ExactValuesMatchScipy) {
  EXPECT_NEAR(mann_whitney_p({1, 2, 3}, {4, 5, 6}), 0.1, 1e-12);             // 2 / C(6, 3)
  EXPECT_NEAR(mann_whitney_p({1, 2, 3, 4}, {5, 6, 7, 8}), 2.0 / 70, 1e-12);  // 0.0286
  EXPECT_NEAR(mann_whitney_p({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}), 2.0 / 252, 1e-12);
  EXPECT_NEAR(mann_whitney_p({1, 3, 5}, {2, 4, 6}), 0.7, 1e-12);
  EXPECT_NEAR(mann_whitney_p({6, 7, 8, 9, 10}, {1, 2, 3, 4, 5}), 2.0 / 252, 1e-12);  // symmetric
  EXPECT_DOUBLE_EQ(mann_whitney_p({1, 2}, {1.5}), 1.0);
}

TEST(MannWhitney, AsymptoticWithoutAndWithTies) {
  // 9 against 9, separated: normal approximation with continuity, z = 40 / sqrt(128.25).
  std::vector<double> a, b;
  for (int i = 0; i < 9; ++i) {
    a.push_back(i);
    b.push_back(10 + i);
  }
  EXPECT_NEAR(mann_whitney_p(a, b), std::erfc(40 / std::sqrt(128.25) / std::sqrt(2.0)), 1e-12);
  EXPECT_NEAR(mann_whitney_p(a, b), 4.12e-4, 1e-5);
  // Ties use the tie-corrected variance: all equal gives p = 1.
  EXPECT_DOUBLE_EQ(mann_whitney_p({2, 2, 2}, {2, 2, 2}), 1.0);
  // {1, 2, 2} against {2, 3, 3}: U = max(1, 8), σ² = 9/12 · (7 - 30/30) = 4.5.
  EXPECT_NEAR(mann_whitney_p({1, 2, 2}, {2, 3, 3}),
              std::erfc((8 - 4.5 - 0.5) / std::sqrt(4.5) / std::sqrt(2.0)), 1e-12);
}

// The repetitions recommendation rests on these: with 3 per side no difference can reach
// p < 0.05; 4 per side can (0.029), 5 per side leaves room for two inverted pairs.
TEST(MannWhitney, SmallestPossiblePValue) {
  EXPECT_NEAR(mann_whitney_min_p(3, 3), 0.1, 1e-12);
  EXPECT_GT(mann_whitney_min_p(2, 5), 0.05);
  EXPECT_LT(mann_whitney_min_p(4, 4), 0.05);
  EXPECT_NEAR(mann_whitney_min_p(3, 5), 2.0 / 56, 1e-12);
  EXPECT_NEAR(mann_whitney_p({1, 2, 3, 4, 6}, {5, 7, 8, 9, 10}), 4.0 / 252, 1e-12);  // U = 1
  EXPECT_NEAR(mann_whitney_p({1, 2, 4, 5, 7}, {3, 6, 8, 9, 10}), 2 * 12.0 / 252, 1e-12);
}

TEST(NaturalOrder, NumbersCompareAsNumbers) {
  std::vector<std::string> names = {"a/bytes:1073741824/x", "a/bytes:128/x", "a/bytes:1048576/x",
                                    "a/bytes:1024/x"};
  std::sort(names.begin(), names.end(), natural_less);
  EXPECT_EQ(names, (std::vector<std::string>{"a/bytes:128/x", "a/bytes:1024/x", "a/bytes:1048576/x",
                                             "a/bytes:1073741824/x"}));
  EXPECT_TRUE(natural_less("gemm/m:512/n:4096", "gemm/m:1024/n:64"));
  EXPECT_TRUE(natural_less("x/2", "x/10"));
  EXPECT_FALSE(natural_less("x/10", "x/2"));
  EXPECT_TRUE(natural_less("x/1/hot", "x/1/manual"));
  EXPECT_FALSE(natural_less("same", "same"));
}

Sample sample(const std::string& name, std::vector<double> times_us, double cv = -1) {
  Sample s;
  s.name = name;
  s.family = family_of(name);
  for (double& t : times_us) t *= 1e-6;
  std::vector<double> sorted = times_us;
  std::sort(sorted.begin(), sorted.end());
  s.time_s = sorted[sorted.size() / 2];
  s.repetitions = static_cast<int>(times_us.size());
  if (times_us.size() > 1) s.repetition_times_s = times_us;
  s.cv = cv >= 0 ? cv : times_us.size() > 1 ? 0.01 : 0;
  s.work.bytes = 1;
  return s;
}

const BenchmarkDiff& row(const Comparison& c, const std::string& name) {
  for (const BenchmarkDiff& d : c.benchmarks) {
    if (d.name == name) return d;
  }
  throw std::runtime_error("no row " + name);
}

TEST(CompareSamples, VerdictsComeFromTheRepetitions) {
  std::vector<Sample> b = {sample("m/once", {2.0}), sample("m/three", {2.0, 2.01, 2.02}),
                           sample("m/slower", {2.50, 2.51, 2.49, 2.52, 2.48}),
                           sample("m/same", {3.10, 3.05, 3.12, 3.08, 3.11}),
                           sample("m/aggregates", {5.0}, 0.002)};
  std::vector<Sample> c = {sample("m/once", {2.002}), sample("m/three", {3.0, 3.01, 3.02}),
                           sample("m/slower", {2.63, 2.64, 2.62, 2.65, 2.61}),
                           sample("m/same", {3.09, 3.11, 3.06, 3.12, 3.07}),
                           sample("m/aggregates", {5.5}, 0.002)};
  b.back().repetitions = c.back().repetitions = 5;  // aggregates only: a cv, no times
  Comparison cmp;
  compare_samples(b, c, cmp);
  // Measured once: 1.001 is not "slower", it cannot be told.
  EXPECT_EQ(row(cmp, "m/once").verdict, "?");
  EXPECT_FALSE(row(cmp, "m/once").noise);
  EXPECT_FALSE(row(cmp, "m/once").p_value);
  // Three against three: 50% slower with no overlap, still p = 0.1.
  EXPECT_EQ(row(cmp, "m/three").verdict, "?");
  EXPECT_NEAR(*row(cmp, "m/three").p_value, 0.1, 1e-12);
  EXPECT_EQ(row(cmp, "m/slower").verdict, "slower");
  EXPECT_NEAR(*row(cmp, "m/slower").p_value, 2.0 / 252, 1e-12);
  EXPECT_EQ(row(cmp, "m/same").verdict, "same");
  EXPECT_EQ(row(cmp, "m/aggregates").verdict, "slower");  // 10% against a ±0.3% noise band
  EXPECT_EQ(cmp.families.at("m").verdicts.at("?"), 2);

  nlohmann::ordered_json j = comparison_json(cmp);
  for (const auto& r : j["benchmarks"]) {
    if (r["name"] == "m/once") {
      EXPECT_TRUE(r["noise"].is_null());
      EXPECT_TRUE(r["p_value"].is_null());
      EXPECT_TRUE(r["verdict"].is_null());
      EXPECT_EQ(r["why_unknown"], "noise unknown (one repetition)");
    }
  }
  std::string table = comparison_report(cmp);
  EXPECT_NE(table.find("? 1 with too few repetitions"), std::string::npos) << table;
}

TEST(CompareSamples, ThresholdCallsSmallSignificantDifferencesSame) {
  std::vector<Sample> b = {sample("m/x", {720.0, 720.4, 720.2, 720.6, 720.3})};
  std::vector<Sample> c = {sample("m/x", {718.0, 718.4, 718.2, 718.6, 718.3})};
  Comparison plain;
  compare_samples(b, c, plain);
  EXPECT_EQ(plain.benchmarks[0].verdict, "faster");
  Comparison with;
  with.options.threshold = 0.01;
  compare_samples(b, c, with);
  EXPECT_EQ(with.benchmarks[0].verdict, "same");
}

TEST(CompareSamples, SortsParametersNumerically) {
  std::vector<Sample> s = {sample("m/bytes:1073741824", {1}), sample("m/bytes:128", {1}),
                           sample("m/bytes:1048576", {1}), sample("m/bytes:1024", {1}),
                           sample("a/x", {1})};
  Comparison cmp;
  compare_samples(s, s, cmp);
  std::vector<std::string> names;
  for (const auto& d : cmp.benchmarks) names.push_back(d.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a/x", "m/bytes:128", "m/bytes:1024",
                                             "m/bytes:1048576", "m/bytes:1073741824"}));
}

TEST(CompareSamples, FilterAndFamilySelect) {
  std::vector<Sample> s = {sample("memory/copy/bytes:128", {1}),
                           sample("memory/read/bytes:128", {1}), sample("gemm/bf16/m:128", {1})};
  CompareOptions o;
  o.filter = "copy|gemm";
  EXPECT_EQ(select_samples(s, o).size(), 2u);
  o.families = {"gemm"};
  ASSERT_EQ(select_samples(s, o).size(), 1u);
  EXPECT_EQ(select_samples(s, o)[0].name, "gemm/bf16/m:128");
  o.filter = "";
  o.families = {"memory"};
  EXPECT_EQ(select_samples(s, o).size(), 2u);
}

TEST(Hardware, DifferencesNameWhatDiffers) {
  nlohmann::json a = {{"gpu_name", "H100"},
                      {"driver_version", "580.1"},
                      {"nccl_version", "2.27"},
                      {"sm_clock_mhz_max", 1980},
                      {"date", "x"}};
  nlohmann::json b = {{"gpu_name", "H100"},
                      {"driver_version", "575.5"},
                      {"nccl_version", "2.28"},
                      {"sm_clock_mhz_max", 1755},
                      {"date", "y"}};
  std::vector<std::string> d = hardware_differences(a, b);
  EXPECT_EQ(d, (std::vector<std::string>{"driver: driver_version '580.1' vs '575.5'",
                                         "clocks: sm_clock_mhz_max '1980' vs '1755'",
                                         "libraries: nccl_version '2.27' vs '2.28'"}));
  EXPECT_FALSE(different_gpu(a, b));
  b["gpu_name"] = "H200";
  EXPECT_TRUE(different_gpu(a, b));
  // A key absent from a side cannot be told: no warning.
  EXPECT_TRUE(hardware_differences(a, nlohmann::json::object()).empty());
  // Collectives timed as the average over ranks against the maximum (nccl-tests' -a 1 vs -a 3).
  nlohmann::json avg = {{"collective_time_over_ranks", "avg"}};
  nlohmann::json max = {{"collective_time_over_ranks", "max"}};
  EXPECT_EQ(hardware_differences(avg, max),
            (std::vector<std::string>{"method: collective_time_over_ranks 'avg' vs 'max'"}));
  EXPECT_TRUE(hardware_differences(avg, avg).empty());
}

Regime regime(double latency_s, double bytes_per_s) {
  return {{latency_s, latency_s * 0.99, latency_s * 1.01},
          {bytes_per_s, bytes_per_s * 0.99, bytes_per_s * 1.01}};
}

// Two fits of one network with different regime counts: regimes by index would give a 28×
// "bandwidth ratio"; T_net at the same sizes agrees.
TEST(CompareConstants, AConstantEitherFitDidNotIdentifyGetsNoRatio) {
  Constants b, c;
  b.hbm_bytes_per_s = Estimate{3e12, 2.9e12, 3.1e12};
  c.hbm_bytes_per_s = Estimate{4.8e12, 4.6e12, 5e12};
  b.latency_s["sync"] = Estimate{1e-5, 9e-6, 1.1e-5};
  c.latency_s["sync"] = Estimate{5.4, 1e-6, 1e3};
  const nlohmann::json ids = {{"W", {{"status", "identified"}}},
                              {"λ[sync]", {{"status", "unidentified"}, {"why", "no sample"}}},
                              {"P[bf16]", {{"status", "bounded"}}}};
  const std::map<std::string, std::string> weak = unidentified_constants(ids);
  EXPECT_EQ(weak, (std::map<std::string, std::string>{{"λ[sync]", "unidentified: no sample"},
                                                      {"P[bf16]", "bounded"}}));
  Comparison cmp;
  compare_constants(b, c, cmp, {}, weak);
  const std::string report = comparison_report(cmp);
  EXPECT_NE(report.find("λ[sync]: candidate unidentified: no sample"), std::string::npos) << report;
  const nlohmann::ordered_json j = comparison_json(cmp);
  for (const auto& row : j["constants"]) {
    if (row["name"] == "W") {
      EXPECT_NEAR(row["ratio"].get<double>(), 1.6, 1e-9);
    } else {
      EXPECT_FALSE(row.contains("ratio")) << row.dump();
      EXPECT_FALSE(row.contains("overlap")) << row.dump();
      EXPECT_TRUE(row.contains("not_identified")) << row.dump();
    }
  }
}

TEST(CompareNetwork, ReferenceSizesNotRegimeIndices) {
  Constants one, three;
  const NetKey key{"all_reduce", 8};
  one.network[key] = {regime(20e-6, 3.5e11)};
  three.network[key] = {regime(8e-6, 1.25e10), regime(12e-6, 1e11), regime(20e-6, 3.5e11)};
  NetRanges wide = {{key, {8.0, 1073741824.0}}}, large = {{key, {65536.0, 1073741824.0}}};
  Comparison cmp;
  compare_network(one, large, three, wide, cmp);
  ASSERT_EQ(cmp.network.size(), 1u);
  const NetworkDiff& d = cmp.network[0];
  // Only sizes inside both ranges: 8 B is outside the baseline's.
  ASSERT_EQ(d.sizes.size(), 5u);
  EXPECT_EQ(d.sizes.front().bytes, 65536.0);
  EXPECT_EQ(d.sizes.back().bytes, 1073741824.0);
  for (const NetworkSizeDiff& s : d.sizes) {
    const double ratio = s.candidate.value / s.baseline.value;
    EXPECT_GT(ratio, 0.45) << s.bytes;
    EXPECT_LT(ratio, 1.01) << s.bytes;
    EXPECT_LE(s.baseline.low, s.baseline.value);
    EXPECT_GE(s.baseline.high, s.baseline.value);
  }
  EXPECT_NEAR(d.sizes.back().candidate.value / d.sizes.back().baseline.value, 1.0, 1e-3);
  std::string table = comparison_report(cmp);
  EXPECT_NE(table.find("64 KiB - 1 GiB"), std::string::npos) << table;
  EXPECT_EQ(table.find("#1"), std::string::npos) << table;

  Comparison apart;
  compare_network(one, {{key, {8.0, 4096.0}}}, three, {{key, {1e6, 1e9}}}, apart);
  EXPECT_TRUE(apart.network[0].sizes.empty());
  EXPECT_NE(apart.network[0].note.find("do not overlap"), std::string::npos);

  Comparison missing;
  compare_network(one, {}, Constants{}, {}, missing);
  EXPECT_EQ(missing.network[0].note, "only in baseline");
}

TEST(CompareNetwork, RangesFromSamplesAndModels) {
  Sample s = sample("collective/all_reduce/ranks:8/bytes:1024", {10});
  s.labels = {{"op", "all_reduce"}};
  s.ranks = 8;
  s.work = Work{};
  s.work.net_bytes = 2048;
  s.work.collectives = 2;
  Sample big = s;
  big.work.net_bytes = 2e9;
  NetRanges r = net_ranges_of_samples({s, big}, FitOptions{});
  ASSERT_EQ(r.count({"all_reduce", 8}), 1u);
  EXPECT_EQ(r.at({"all_reduce", 8}), (std::pair<double, double>{1024, 1e9}));

  nlohmann::json model = nlohmann::json::parse(R"({"constants": {"network": {"all_reduce": {
    "8": [{"latency_s": 1e-5, "bytes_per_s": 1e11, "bytes_range": [8, 65536]},
          {"latency_s": 2e-5, "bytes_per_s": 3e11, "bytes_range": [65536, 1e9]}],
    "16": [{"latency_s": 1e-5, "bytes_per_s": 1e11}]}}}})");
  NetRanges m = net_ranges_of_model(model);
  EXPECT_EQ(m.at({"all_reduce", 8}), (std::pair<double, double>{8, 1e9}));
  EXPECT_EQ(m.count({"all_reduce", 16}), 0u);  // not stored: does not restrict
}

TEST(Export, ParametersFromNames) {
  auto p = name_parameters("gemm/bf16/m:512/n:64/k:7168/manual_time");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], (std::pair<std::string, std::string>{"m", "512"}));
  EXPECT_EQ(p[2], (std::pair<std::string, std::string>{"k", "7168"}));
  EXPECT_TRUE(name_parameters("launch/sync/manual_time").empty());
  EXPECT_TRUE(name_parameters("x/:1/a:/").empty());
}

TEST(Export, QuotesFieldsThatNeedIt) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(Export, OneRowPerRepetitionOrWithMediansOnePerSample) {
  Sample a = sample("memory/copy/bytes:1024/manual_time", {2.0, 2.1, 2.2});
  a.source = "dir,with comma/r.json";
  a.labels = {{"cache", "cold"}};
  Sample g = sample("gemm/bf16/m:512/manual_time", {5.0});
  g.labels = {{"dtype", "bf16"}};
  g.work.flops = 2e9;
  auto lines_of = [](const std::string& csv) {
    std::vector<std::string> lines;
    for (size_t start = 0, end; (end = csv.find('\n', start)) != std::string::npos;
         start = end + 1) {
      lines.push_back(csv.substr(start, end - start));
    }
    return lines;
  };
  const std::map<std::string, std::string> gpus = {
      {"dir,with comma/r.json", "NVIDIA H100 80GB HBM3"}};
  // By default: a's three repetitions, and g's single run as its repetition 0.
  std::vector<std::string> lines = lines_of(export_csv({a, g}, gpus));
  ASSERT_EQ(lines.size(), 1u + 3u + 1u);
  EXPECT_EQ(export_rows({a, g}, ExportRows::kRepetitions), 4u);
  EXPECT_EQ(lines[0],
            "source,gpu_name,name,family,kind,repetition,repetitions,time_s,cv,ranks,flops,bytes,"
            "net_bytes,launches,kernels,graph_nodes,syncs,collectives,param_bytes,param_m,"
            "label_cache,label_dtype");
  EXPECT_EQ(lines[1],
            "\"dir,with comma/r.json\",NVIDIA H100 80GB HBM3,memory/copy/bytes:1024/manual_time,"
            "memory,repetition,0,3,"
            "2e-06,0.01,0,0,1,0,0,0,0,0,0,1024,,cold,");
  EXPECT_EQ(lines[3].substr(lines[3].find(",memory,") + 8, 13), "repetition,2,");
  EXPECT_EQ(lines[4],
            ",,gemm/bf16/m:512/manual_time,gemm,repetition,0,1,5e-06,,0,2000000000,1,0,0,0,0,0,0,"
            ",512,,bf16");
  // --medians: one row per sample, the time the fitter uses.
  lines = lines_of(export_csv({a, g}, gpus, ExportRows::kMedians));
  ASSERT_EQ(lines.size(), 1u + 2u);
  EXPECT_EQ(export_rows({a, g}, ExportRows::kMedians), 2u);
  EXPECT_EQ(lines[1].substr(lines[1].find(",memory,") + 8, 10), "median,,3,");
  EXPECT_EQ(lines[2],
            ",,gemm/bf16/m:512/manual_time,gemm,median,,1,5e-06,,0,2000000000,1,0,0,0,0,0,0,,512,"
            ",bf16");
}

TEST(Reader, KeepsRepetitionTimesAndSkipsSkippedRuns) {
  const std::string text = R"({"benchmarks": [
    {"name": "m/a", "run_name": "m/a", "run_type": "iteration", "repetitions": 2,
     "repetition_index": 0, "real_time": 2.0, "time_unit": "us", "bytes": 8},
    {"name": "m/a", "run_name": "m/a", "run_type": "iteration", "repetitions": 2,
     "repetition_index": 1, "real_time": 3.0, "time_unit": "us", "bytes": 8},
    {"name": "m/skip", "run_type": "iteration", "real_time": 0, "time_unit": "us",
     "skipped": true, "skip_message": "needs 8 GiB"}]})";
  ResultFile f = parse_google_benchmark(text, "r.json");
  ASSERT_EQ(f.samples.size(), 1u);
  EXPECT_EQ(f.skipped, 1);
  EXPECT_EQ(f.samples[0].repetition_times_s, (std::vector<double>{2e-6, 3e-6}));
}

}  // namespace
}  // namespace batchcost
