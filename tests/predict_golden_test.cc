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
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "tests/cli_golden.h"
#include "tests/scratch.h"

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
// The issue's command on a fitted (measured) model.json that has no fp8 GEMM constant: the
// stated constants of its GPU type (an H100 SXM) fill it in, marked *.
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
// The issue's table: Llama-3-70B on 8 GPUs (tp 8), input 1024, output 256: TTFT, TPOT and
// end-to-end latency at three concurrencies.
TEST(PredictGolden, Llama70bTp8Requests) {
  expect_golden(kPredict +
                    "--model llama-3-70b --tp 8 --batch 1,16,64,256 --input-len 1024 "
                    "--output-len 256 --concurrency 1,16,64",
                "llama_3_70b_tp8_requests.txt");
}
// Two request shapes and their mean, chunked prefill, CUDA graphs, and the ops of the decode and
// prefill steps with their kernels per layer.
TEST(PredictGolden, Llama70bChunkedPrefillOps) {
  expect_golden(kPredict +
                    "--model llama-3-70b --tp 8 --batch 64 --input-len 1024,4096 "
                    "--output-len 256,128 --concurrency 8 --chunk 2048 --cuda-graphs --ops",
                "llama_3_70b_tp8_chunked_ops.txt");
}
// Expert parallelism over 16 GPUs (two nodes) with redundant experts, an fp8 dispatch and
// communication overlapped with compute.
TEST(PredictGolden, DeepSeekV3Ep16OverlapFp8Dispatch) {
  expect_golden(kPredict +
                    "--model deepseek-v3 --gpus 16 --ep 16 --redundant-experts 16 "
                    "--dispatch-dtype fp8 --overlap --batch 16,256,4096 --context 2048",
                "deepseek_v3_ep16_overlap.txt");
}
// Speculative decoding with a draft model priced on the same hardware, with a price; JSON.
TEST(PredictGolden, Llama70bDraftModelJson) {
  expect_golden(kPredict +
                    "--model llama-3-70b --tp 8 --batch 1,64 --gamma 4 --acceptance 0.7 "
                    "--draft-model llama-3-8b --price 2 --input-len 1024 --output-len 256 --json",
                "llama_3_70b_tp8_draft.json");
}
// --hardware with a results folder fits it as `batchcost fit` does: the same prediction as from
// the model.json fitted from it, but for the source and the note.
TEST(PredictGolden, HardwareFolderIsFittedOnTheFly) {
  Result folder = batchcost("predict --hardware ../fit/h100 --model llama-3-8b --json");
  Result file = batchcost("predict --hardware ../fit/h100/model.json --model llama-3-8b --json");
  ASSERT_EQ(folder.status, 0);
  ASSERT_EQ(file.status, 0);
  auto a = nlohmann::json::parse(folder.out), b = nlohmann::json::parse(file.out);
  ASSERT_EQ(a["steps"].size(), b["steps"].size());
  for (size_t i = 0; i < a["steps"].size(); ++i) {
    EXPECT_NEAR(a["steps"][i]["step_s"].get<double>(), b["steps"][i]["step_s"].get<double>(),
                1e-3 * b["steps"][i]["step_s"].get<double>());
  }
  EXPECT_NE(folder.out.find("fitted on the fly"), std::string::npos);
}

// --hardware h100|h200 prices with the shipped calibration (tools/calibrated/, fitted from the
// published reference sets): a constant those sets identify is measured and is the
// calibration's value; one they leave unidentified (λ[launch], which BabelStream's host-timed
// samples cannot separate) and one they lack (P[bf16]) are the stated ones, marked.
TEST(PredictGolden, ShippedNamesPriceWithThePublishedCalibration) {
  const fs::path root = fs::path(BATCHCOST_SOURCE_DIR);
  for (const auto& [name, stem] : {std::pair{"h100", "h100-sxm"}, std::pair{"h200", "h200"}}) {
    Result run =
        batchcost(std::string("predict --hardware ") + name + " --model llama-3-70b --tp 8 --json");
    ASSERT_EQ(run.status, 0) << name;
    const auto out = nlohmann::json::parse(run.out);
    const auto calibrated =
        nlohmann::json::parse(read(root / "tools" / "calibrated" / (std::string(stem) + ".json")));
    const auto stated =
        nlohmann::json::parse(read(root / "tools" / "stated" / (std::string(stem) + ".json")));
    std::map<std::string, nlohmann::json> used;
    for (const auto& c : out["constants"]) used[c["name"].get<std::string>()] = c;
    ASSERT_TRUE(used.count("W") && used.count("λ[launch]") && used.count("P[bf16]")) << name;
    EXPECT_TRUE(used["W"]["measured"].get<bool>()) << name;
    EXPECT_EQ(used["W"]["value"].get<double>(),
              calibrated["constants"]["hbm_bytes_per_s"].get<double>())
        << name;
    EXPECT_EQ(calibrated["identification"]["λ[launch]"]["status"], "bounded") << name;
    EXPECT_FALSE(used["λ[launch]"]["measured"].get<bool>()) << name;
    EXPECT_EQ(used["λ[launch]"]["value"].get<double>(),
              stated["constants"]["latency_s"]["launch"].get<double>())
        << name;
    EXPECT_FALSE(used["P[bf16]"]["measured"].get<bool>()) << name;
    EXPECT_NE(run.out.find("tools/calibrated/" + std::string(stem) + ".json"), std::string::npos);
  }
}

// A constant the fit did not identify is as weak as a stated one: replaced by the stated value of
// its GPU type (marked *), or with --no-stated marked ! in the constants used, and a step more
// than 10% priced by it is marked * with the constant and its share named.
// The fixture's model.json with W marked unidentified (as `batchcost fit` marks a W no sample
// binds).
TEST(PredictGolden, MarksStepsPricedByAnUnidentifiedConstant) {
  auto doc = nlohmann::json::parse(read(data_dir() / ".." / "fit" / "h100" / "model.json"));
  doc["identification"]["W"] = {{"status", "unidentified"},
                                {"why", "no sample where it is half the time or more"}};
  const batchcost::testing::Scratch tmp("predict_golden");
  const fs::path model = tmp / "unidentified_w.json";
  std::ofstream(model) << doc.dump(1);
  // --no-stated keeps the fitted value, marked !.
  Result run = batchcost("predict --hardware " + model.string() +
                         " --no-stated --model llama-3-8b --batch 1,64");
  ASSERT_EQ(run.status, 0);
  EXPECT_NE(run.out.find("  W          2.991 TB/s   !"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("! not identified by the fit behind it"), std::string::npos);
  EXPECT_NE(run.out.find("*: more than 10% of the step priced with stated or unidentified "
                         "constants: W up to "),
            std::string::npos)
      << run.out;
  // By default the H100's stated W replaces it, marked *, and a note says why.
  Result filled =
      batchcost("predict --hardware " + model.string() + " --model llama-3-8b --batch 1,64");
  ASSERT_EQ(filled.status, 0);
  EXPECT_NE(filled.out.find("  W          3.35 TB/s    *"), std::string::npos) << filled.out;
  EXPECT_NE(filled.out.find("W is not identified by the fit of"), std::string::npos);
  // The same file with W identified: no step is marked for W.
  doc["identification"]["W"]["status"] = "identified";
  std::ofstream(model) << doc.dump(1);
  Result plain =
      batchcost("predict --hardware " + model.string() + " --model llama-3-8b --batch 1,64");
  ASSERT_EQ(plain.status, 0);
  EXPECT_EQ(plain.out.find("W up to"), std::string::npos) << plain.out;
}

TEST(PredictGolden, EveryShippedModelPredicts) {
  for (const char* name : {"deepseek-v3", "llama-3-8b", "llama-3-70b", "llama-3-405b",
                           "mixtral-8x22b", "qwen3-235b-a22b", "qwen3-30b-a3b"}) {
    Result run = batchcost(kPredict + "--model " + name + " --json");
    EXPECT_EQ(run.status, 0) << name;
    EXPECT_NE(run.out.find("\"steps\""), std::string::npos) << name;
  }
  expect_golden("predict --list-models", "models.txt");
}

TEST(PredictGolden, NamesMissingNetworkConstantsAndExits2) {
  const batchcost::testing::Scratch tmp("predict_golden");
  fs::path err = tmp / "stderr.txt";
  // --no-stated: the measured constants alone (by default the H100's stated ones fill in).
  Result run =
      batchcost("predict --hardware ../fit/h100/model.json --no-stated --model llama-3-70b --tp 4",
                err.string());
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.out, "");
  fs::path expected = data_dir() / "missing_network.txt";
  if (std::getenv("BATCHCOST_UPDATE_GOLDEN"))
    std::ofstream(expected, std::ios::binary) << read(err);
  EXPECT_EQ(read(err), read(expected));
}

// Each error names what to give instead, exits 2 and prints nothing on stdout.
TEST(PredictGolden, ClearErrorsForIncompleteFlags) {
  const batchcost::testing::Scratch tmp("predict_golden");
  fs::path err = tmp / "usage.txt";
  auto expect_error = [&](const std::string& args, const std::string& says) {
    Result run = batchcost(kPredict + args, err.string());
    EXPECT_EQ(run.status, 2) << args;
    EXPECT_EQ(run.out, "") << args;
    EXPECT_NE(read(err).find(says), std::string::npos) << args << ": " << read(err);
  };
  expect_error("--model llama-3-8b --arrival-rate 5", "--arrival-rate needs --window S");
  expect_error("--model llama-3-8b --window 0.1", "--window needs --arrival-rate R");
  expect_error("--model llama-3-8b --gamma 4 --acceptance 0.7", "--draft-model NAME|FILE");
  expect_error("--model llama-3-8b --gamma 4 --acceptance 0.7 --draft-model gpt-5", "gpt-5");
  expect_error("--model llama-3-8b --input-len 1024", "--input-len and --output-len go together");
  expect_error("--model llama-3-8b --input-len 1,2 --output-len 1,2,3", "same length");
  expect_error("--model llama-3-8b --redundant-experts 4", "--redundant-experts");
  expect_error("--model deepseek-v3 --gpus 8 --ep 8 --dispatch-dtype int4", "--dispatch-dtype");
  expect_error("--model llama-3-8b --batch 1.5", "1.5");
  // --ep must split the experts evenly: the refusal names --ep and the expert count (not the
  // all_to_all/6 constant that no fit will ever hold).
  expect_error("--model deepseek-v3 --gpus 6 --ep 6",
               "--ep: 6 does not divide the model's 256 experts");
  expect_error("--model deepseek-v3 --gpus 16 --ep 16 --redundant-experts 8",
               "--ep: 16 does not divide the model's 256 experts + 8 redundant");
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
