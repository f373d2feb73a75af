// Golden tests of `batchcost compare` and `batchcost export` on the synthetic runs of
// tests/data/compare/ (tests/make_compare_fixture.py: two default runs of one GPU with 5
// repetitions, a quick run with 3, a run measured once, aggregates-only entries, skipped and
// failed entries), and of `validate --model` with a model of another GPU (tests/data/fit/).
//
// After an intended change of the output, regenerate and review the diff:
//   BATCHCOST_UPDATE_GOLDEN=1 ctest --preset ci -R CompareGolden
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli_golden.h"
#include "tests/scratch.h"

namespace {

namespace fs = std::filesystem;
using batchcost::testing::fixture_dir;
using batchcost::testing::read;
using batchcost::testing::Result;

Result batchcost(const std::string& dir, const std::string& args, const fs::path& err) {
  return batchcost::testing::run_in(fixture_dir(dir), BATCHCOST_EXE, args, err.string());
}

void expect_golden(const std::string& args, const std::string& expected) {
  batchcost::testing::expect_golden(fixture_dir("compare"), BATCHCOST_EXE, args, expected);
}

TEST(CompareGolden, TwoDefaultRuns) {
  expect_golden("compare default_a.json default_b.json", "default_a_b.txt");
}
TEST(CompareGolden, QuickAgainstDefaultJson) {
  expect_golden("compare quick.json default_b.json --json", "quick_default_b.json");
}
TEST(CompareGolden, FilterAndThreshold) {
  expect_golden("compare default_a.json default_b.json --filter 'bytes:1[0-9]{3}' --threshold 0.01",
                "filter_threshold.txt");
}

TEST(CompareGolden, QuickAndDefaultCompareByNameWithUnknowns) {
  Result r = batchcost("compare", "compare quick.json default_b.json --json", "/dev/null");
  ASSERT_EQ(r.status, 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["benchmarks"].size(), 4u);  // the gemm entry is only in default_b
  for (const auto& b : j["benchmarks"]) {
    if (b["name"] == "memory/copy_kernel/bytes:128/manual_time") {
      EXPECT_TRUE(b["verdict"].is_null());
      EXPECT_TRUE(b["noise"].is_null());
      EXPECT_TRUE(b["p_value"].is_null());
    } else {
      EXPECT_EQ(b["repetitions"], nlohmann::json::array({3, 5}));
      EXPECT_TRUE(b["p_value"].is_number());
    }
  }
  EXPECT_EQ(j["warnings"],
            nlohmann::json::array({"driver: driver_version '575.57.08' vs '580.159.03'"}));
}

TEST(CompareGolden, WarnsOnStderrWhenTheSidesDiffer) {
  const batchcost::testing::Scratch tmp("compare");
  fs::path err = tmp / "warn.txt";
  Result r = batchcost("compare", "compare quick.json default_b.json", err);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(read(err),
            "warning: the two sides differ in driver: driver_version '575.57.08' vs "
            "'580.159.03'\n");
}

TEST(CompareGolden, FamilySelection) {
  Result r = batchcost("compare", "compare default_a.json default_b.json --family gemm --json",
                       "/dev/null");
  ASSERT_EQ(r.status, 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["benchmarks"].size(), 1u);
  EXPECT_EQ(j["benchmarks"][0]["family"], "gemm");
  EXPECT_EQ(j["benchmarks"][0]["verdict"], "faster");  // aggregates only: the cv's noise band
  EXPECT_TRUE(j["benchmarks"][0]["p_value"].is_null());
}

TEST(CompareGolden, UsageErrorsExit2) {
  const batchcost::testing::Scratch tmp("compare");
  fs::path err = tmp / "err.txt";
  Result bad = batchcost("compare", "compare default_a.json default_b.json --filter '('", err);
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.out, "");
  EXPECT_NE(read(err).find("--filter '(': not a regular expression"), std::string::npos);
  EXPECT_EQ(batchcost("compare", "compare default_a.json default_b.json --threshold 2", err).status,
            2);
  Result none = batchcost("compare", "compare default_a.json default_b.json --family nope", err);
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(read(err).find("select no benchmark"), std::string::npos) << read(err);
  Result models = batchcost("fit", "compare h100/model.json h200/model.json --family gemm", err);
  EXPECT_EQ(models.status, 2);
}

TEST(ValidateGolden, AModelOfAnotherGpuWarnsAndFitsNothing) {
  const batchcost::testing::Scratch tmp("compare");
  fs::path err = tmp / "validate.txt";
  Result r = batchcost("fit", "validate h200 --model h100/model.json", err);
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(read(err).find("warning: h100/model.json was fitted on another GPU"), std::string::npos)
      << read(err);
  EXPECT_NE(read(err).find("GPU: gpu_name 'NVIDIA H100 80GB HBM3' vs 'NVIDIA H200'"),
            std::string::npos);
  EXPECT_NE(r.out.find(": 0 fitted,"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("  fit  "), std::string::npos) << r.out;
  // The same GPU's model: no warning, rows are fit.
  Result same = batchcost("fit", "validate h100 --model h100/model.json", err);
  EXPECT_EQ(read(err), "");
  EXPECT_EQ(same.out.find(": 0 fitted,"), std::string::npos);
}

TEST(ExportGolden, WritesAtomicallyAndRefusesBadPaths) {
  const batchcost::testing::Scratch tmp("compare");
  fs::path csv = tmp / "out.csv";
  // Two runs of the same benchmarks: rows side by side, told apart by their source.
  Result ok = batchcost(
      "compare", "export default_a.json default_b.json --csv '" + csv.string() + "'", "/dev/null");
  EXPECT_EQ(ok.status, 0);
  EXPECT_EQ(ok.out, "wrote " + csv.string() + ": 10 samples, 38 rows (one per repetition)\n");
  // --medians: one row per sample, the time the fitter uses.
  ok = batchcost("compare",
                 "export default_a.json default_b.json --medians --csv '" + csv.string() + "'",
                 "/dev/null");
  EXPECT_EQ(ok.status, 0);
  EXPECT_EQ(ok.out,
            "wrote " + csv.string() + ": 10 samples, 10 rows (one per sample, its median)\n");
  ok = batchcost("compare", "export default_b.json --csv '" + csv.string() + "'", "/dev/null");
  ASSERT_EQ(ok.status, 0);
  EXPECT_EQ(ok.out, "wrote " + csv.string() + ": 5 samples, 17 rows (one per repetition)\n");
  EXPECT_EQ(read(csv), read(fixture_dir("compare") / "default_b.csv"));
  if (std::getenv("BATCHCOST_UPDATE_GOLDEN")) {
    fs::copy_file(csv, fixture_dir("compare") / "default_b.csv",
                  fs::copy_options::overwrite_existing);
  }
  fs::remove(csv);
  fs::path err = tmp / "export_err.txt";
  EXPECT_EQ(batchcost("compare", "export default_b.json --csv /no/such/dir/x.csv", err).status, 2);
  EXPECT_EQ(batchcost("compare", "export no_such.json --csv '" + csv.string() + "'", err).status,
            2);
  EXPECT_FALSE(fs::exists(csv));
  EXPECT_EQ(batchcost("compare", "export default_b.json", err).status, 2);  // --csv is required
  EXPECT_EQ(batchcost("fit", "export h100/model.json --csv '" + csv.string() + "'", err).status, 2);
  EXPECT_FALSE(fs::exists(csv));
}

}  // namespace
