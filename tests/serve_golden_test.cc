// Golden tests of `batchcost serve` on the stated constants of tests/data/predict/ (a fixture, not
// a measurement): its table and JSON byte for byte, every shipped model under both policies, and
// its errors (exit status 2, the flag named).
//
// After an intended change of the output, regenerate the expected files and review the diff:
//   BATCHCOST_UPDATE_GOLDEN=1 ctest --preset ci -R ServeGolden
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "tests/cli_golden.h"

namespace {

using batchcost::testing::Result;

std::filesystem::path data_dir() { return batchcost::testing::fixture_dir("predict"); }
Result batchcost(const std::string& args, const std::string& stderr_to = "/dev/null") {
  return batchcost::testing::run_in(data_dir(), BATCHCOST_EXE, args, stderr_to);
}

const std::string kServe = "serve --hardware h100_stated.json ";

TEST(ServeGolden, Llama70bOnEightGpusTable) {
  batchcost::testing::expect_golden(
      data_dir(), BATCHCOST_EXE,
      kServe + "--model llama-3-70b --tp 8 --rate 0.5,4,16 --policy continuous,window:0.1 "
               "--requests 500 --input-len 1024:512 --output-len 256:128 --price 2.5 "
               "--slo-ttft 1 --slo-tpot 0.05",
      "serve_llama_3_70b_tp8.txt");
}

TEST(ServeGolden, DeepSeekV3ClosedLoopJson) {
  batchcost::testing::expect_golden(
      data_dir(), BATCHCOST_EXE,
      kServe + "--model deepseek-v3 --tp 8 --ep 16 --gpus 16 --users 1,64 --think 1 "
               "--requests 300 --input-len 1024 --output-len 256 --json",
      "serve_deepseek_v3_ep16.json");
}

TEST(ServeGolden, EveryShippedModelServesUnderBothPolicies) {
  const std::pair<const char*, const char*> deployments[] = {
      {"deepseek-v3", "--tp 8 --ep 16 --gpus 16"}, {"llama-3-8b", "--tp 1"},
      {"llama-3-70b", "--tp 8"}, {"llama-3-405b", "--tp 8 --pp 2"},
      {"mixtral-8x22b", "--tp 8"}, {"qwen3-30b-a3b", "--tp 1"}};
  for (const auto& [model, dep] : deployments) {
    Result run = batchcost(kServe + "--model " + model + " " + dep +
                           " --rate 2 --users 4 --policy continuous,window:0.05 --requests 100 --json");
    ASSERT_EQ(run.status, 2) << "--rate and --users together must be refused";
    run = batchcost(kServe + "--model " + model + " " + dep +
                    " --rate 2 --policy continuous,window:0.05 --requests 100 --json");
    ASSERT_EQ(run.status, 0) << model;
    auto j = nlohmann::json::parse(run.out);
    ASSERT_EQ(j["points"].size(), 2u) << model;
    for (const auto& p : j["points"]) {
      EXPECT_EQ(p["completed"], 100) << model;
      EXPECT_GT(p["tpot_s"]["p50"].get<double>(), 0) << model;
      EXPECT_LE(p["ttft_s"]["p50"].get<double>(), p["ttft_s"]["p99"].get<double>()) << model;
      EXPECT_GT(p["tokens_per_s_per_gpu"].get<double>(), 0) << model;
    }
  }
}

TEST(ServeGolden, BadFlagsAreNamedWithExitStatus2) {
  for (const auto& [args, word] : std::initializer_list<std::pair<std::string, std::string>>{
           {"--model llama-3-70b --tp 8", "--rate"},
           {"--model llama-3-70b --tp 8 --rate 1 --policy windows:1", "--policy"},
           {"--model llama-3-70b --tp 8 --rate 1 --input-len 0", "--input-len"},
           {"--model llama-3-70b --tp 8 --rate nan", "--rate"},
           {"--model llama-3-70b --tp 1 --rate 1", "weights"},
           {"--model deepseek-v3 --tp 8 --ep 32 --gpus 32 --rate 1", "all_to_all/32"}}) {
    std::string err = ::testing::TempDir() + "/serve_err.txt";
    Result run = batchcost(kServe + args, err);
    EXPECT_EQ(run.status, 2) << args;
    EXPECT_TRUE(run.out.empty()) << args;
    EXPECT_NE(batchcost::testing::read(err).find(word), std::string::npos)
        << args << ": " << batchcost::testing::read(err);
  }
}

}  // namespace
