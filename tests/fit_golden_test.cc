// Golden tests of the command line: `batchcost fit`, `validate` and `compare` on the small
// checked-in results under tests/data/fit/ (two GPUs, one results file each), compared byte for
// byte with the expected tables and JSON beside them.
//
// After an intended change of the output, regenerate the expected files and review the diff:
//   BATCHCOST_UPDATE_GOLDEN=1 ctest --preset host -R Golden
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/cli_golden.h"
#include "tests/scratch.h"

namespace {

namespace fs = std::filesystem;

using batchcost::testing::read;
using batchcost::testing::Result;

fs::path data_dir() { return batchcost::testing::fixture_dir("fit"); }

// Runs batchcost in tests/data/fit with `args`, so that the paths it prints are relative.
Result batchcost(const std::string& args, const std::string& stderr_to = "/dev/null") {
  return batchcost::testing::run_in(data_dir(), BATCHCOST_EXE, args, stderr_to);
}

void expect_golden(const std::string& args, const std::string& expected_file) {
  batchcost::testing::expect_golden(data_dir(), BATCHCOST_EXE, args, expected_file);
}

TEST(Golden, FitTable) { expect_golden("fit h100", "fit_h100.txt"); }
TEST(Golden, FitJsonIsTheModel) { expect_golden("fit h100 --json", "h100/model.json"); }
TEST(Golden, FitJsonOfTheOtherGpu) { expect_golden("fit h200 --json", "h200/model.json"); }
TEST(Golden, FitWithMoreValidationFamilies) {
  expect_golden("fit h200/results.json --validate launch", "fit_h200_validate_launch.txt");
}
TEST(Golden, ValidateTable) { expect_golden("validate h100", "validate_h100.txt"); }
// A folder with the moe family (the figures' fixture): the MoE crossover, measured / predicted.
TEST(Golden, ValidateMoeCrossover) {
  expect_golden("validate ../plot/h100", "validate_plot_h100_moe.txt");
}
TEST(Golden, ValidateJsonWithAModel) {
  expect_golden("validate h200 --model h100/model.json --json", "validate_h200_with_h100.json");
}
TEST(Golden, CompareResults) { expect_golden("compare h100 h200", "compare_h100_h200.txt"); }
TEST(Golden, CompareResultsJson) {
  expect_golden("compare h100/results.json h200/results.json --json", "compare_h100_h200.json");
}
TEST(Golden, CompareModels) {
  expect_golden("compare h100/model.json h200/model.json", "compare_models.txt");
}

TEST(Golden, WritesModelJsonAtomicallyAndNothingOnError) {
  const batchcost::testing::Scratch tmp("fit_golden");
  fs::path out = tmp / "model.json";
  Result ok = batchcost("fit h100 --out '" + out.string() + "'");
  EXPECT_EQ(ok.status, 0);
  EXPECT_EQ(batchcost::testing::without_build_identity(read(out)),
            read(data_dir() / "h100" / "model.json"));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  fs::remove(out);

  fs::path err = tmp / "stderr.txt";
  Result bad = batchcost("fit h100 zero_time.json --out '" + out.string() + "'", err.string());
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(read(err), "batchcost: zero_time.json: benchmark 'launch/a' (entry 0): time is zero\n");
  EXPECT_FALSE(fs::exists(out));
}

TEST(Golden, UsageErrorsExitWithStatus2) {
  EXPECT_EQ(batchcost("").status, 2);
  EXPECT_EQ(batchcost("fit").status, 2);
  EXPECT_EQ(batchcost("compare h100").status, 2);
  EXPECT_EQ(batchcost("fit no_such_folder").status, 2);
}

}  // namespace
