// Golden tests of `batchcost predict` on the stated constants of tests/data/predict/ (a fixture,
// not a measurement), compared byte for byte with the expected tables and JSON beside them, and
// its errors: a missing network constant is named with the ways to supply it, exit status 2.
//
// After an intended change of the output, regenerate the expected files and review the diff:
//   BATCHCOST_UPDATE_GOLDEN=1 ctest --preset host -R PredictGolden
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/cli_golden.h"

namespace {

namespace fs = std::filesystem;

using batchcost::testing::read;
using batchcost::testing::Result;

fs::path data_dir() { return batchcost::testing::fixture_dir("predict"); }

// Runs batchcost in tests/data/predict with `args`, so that the paths it prints are relative.
Result batchcost(const std::string& args, const std::string& stderr_to = "/dev/null") {
  return batchcost::testing::run_in(data_dir(), BATCHCOST_EXE, args, stderr_to);
}

void expect_golden(const std::string& args, const std::string& expected_file) {
  batchcost::testing::expect_golden(data_dir(), BATCHCOST_EXE, args, expected_file);
}

const std::string kPredict = "predict --hardware h100_stated.json ";

TEST(PredictGolden, DeepSeekV3Table) {
  expect_golden(kPredict + "--model deepseek-v3 --batch 1,8,64,512,4096", "deepseek_v3.txt");
}
// The command on a fitted (measured) model.json that has no fp8 GEMM constant.
TEST(PredictGolden, DeepSeekV3OnAFittedModel) {
  expect_golden(
      "predict --hardware ../fit/h100/model.json --model deepseek-v3 "
      "--batch 1,8,64,512,4096",
      "deepseek_v3_fitted_h100.txt");
}
TEST(PredictGolden, DeepSeekV3ExpertParallelWithPrice) {
  expect_golden(kPredict + "--model deepseek-v3 --gpus 8 --ep 8 --batch 1,64,512 --price 2.5",
                "deepseek_v3_ep8.txt");
}
TEST(PredictGolden, Llama70bTensorParallelOpsJson) {
  expect_golden(kPredict + "--model llama-3-70b --tp 8 --batch 1,256 --ops --json",
                "llama_3_70b_tp8_ops.json");
}
TEST(PredictGolden, Llama405bPipelineWholeStepSpeculativeWindow) {
  expect_golden(kPredict +
                    "--model llama-3-405b --gpus 16 --tp 8 --pp 2 --batch 1,64 --whole-step "
                    "--gamma 4 --acceptance 0.7 --draft-cost 0.05 --arrival-rate 200 --window 0.1",
                "llama_3_405b_pp2.txt");
}
TEST(PredictGolden, UserModelFileAndStatedNetwork) {
  expect_golden(
      "predict --hardware ../fit/h100/model.json --stated h100_stated.json "
      "--model tiny_moe.json --tp 8 --ep 8 --batch 1,32 --cuda-graphs --json",
      "tiny_moe_ep8_graphs.out.json");
}
TEST(PredictGolden, EveryShippedModelPredicts) {
  for (const char* name : {"deepseek-v3", "llama-3-8b", "llama-3-70b", "llama-3-405b",
                           "mixtral-8x22b", "qwen3-30b-a3b"}) {
    Result run = batchcost(kPredict + "--model " + name + " --json");
    EXPECT_EQ(run.status, 0) << name;
    EXPECT_NE(run.out.find("\"steps\""), std::string::npos) << name;
  }
  expect_golden("predict --list-models", "models.txt");
}

TEST(PredictGolden, NamesMissingNetworkConstantsAndExits2) {
  fs::path err = fs::temp_directory_path() / "batchcost_predict_stderr.txt";
  Result run = batchcost("predict --hardware ../fit/h100/model.json --model llama-3-70b --tp 4",
                         err.string());
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.out, "");
  fs::path expected = data_dir() / "missing_network.txt";
  if (std::getenv("BATCHCOST_UPDATE_GOLDEN"))
    std::ofstream(expected, std::ios::binary) << read(err);
  EXPECT_EQ(read(err), read(expected));
  fs::remove(err);
}

TEST(PredictGolden, UsageErrorsExitWithStatus2) {
  EXPECT_EQ(batchcost("predict --model deepseek-v3").status, 2);
  EXPECT_EQ(batchcost(kPredict + "--model no-such-model").status, 2);
  EXPECT_EQ(batchcost(kPredict + "--model deepseek-v3 --tp 3").status, 2);
  EXPECT_EQ(batchcost(kPredict + "--model deepseek-v3 --batch 0").status, 2);
  EXPECT_EQ(batchcost(kPredict + "--model deepseek-v3 --gamma 2").status, 2);
  EXPECT_EQ(batchcost(kPredict + "--model deepseek-v3 --weights int3").status, 2);
}

}  // namespace
