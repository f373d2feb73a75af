// Golden tests of `batchcost serve` on the stated constants of tests/data/predict/ (a fixture, not
// a measurement): its table and JSON byte for byte, every shipped model under both policies, and
// its errors (exit status 2, the flag named).
//
// After an intended change of the output, regenerate the expected files and review the diff:
//   BATCHCOST_UPDATE_GOLDEN=1 ctest --preset ci -R ServeGolden
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "tests/cli_golden.h"
#include "tests/scratch.h"

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
      kServe +
          "--model llama-3-70b --tp 8 --rate 0.5,4,16 --policy continuous,window:0.1 "
          "--requests 500 --input-len 1024:512 --output-len 256:128 --price 2.5 "
          "--slo-ttft 1 --slo-tpot 0.05",
      "serve_llama_3_70b_tp8.txt");
}

TEST(ServeGolden, DeepSeekV3ClosedLoopJson) {
  batchcost::testing::expect_golden(
      data_dir(), BATCHCOST_EXE,
      kServe +
          "--model deepseek-v3 --tp 8 --ep 16 --gpus 16 --users 1,64 --think 1 "
          "--requests 300 --input-len 1024 --output-len 256 --json",
      "serve_deepseek_v3_ep16.json");
}

// A load point is marked as predict marks a step: where more than 10% of its simulated step time
// is priced with stated or unidentified constants. The fit fixture's model.json with λ[launch]
// marked unidentified, kept with --no-stated: at 1 request/s (batches of about two, launch-bound
// decode) the times are marked and λ[launch] named with its share; at 8 and 64 requests/s the
// GEMMs' measured P and W price nearly all of each step, and those rows are not marked.
TEST(ServeGolden, MarksTheLoadPointsAWeakConstantPrices) {
  namespace fs = std::filesystem;
  auto doc = nlohmann::json::parse(
      batchcost::testing::read(data_dir() / ".." / "fit" / "h100" / "model.json"));
  doc["identification"]["λ[launch]"] = {{"status", "unidentified"},
                                        {"why", "no sample where it is half the time or more"}};
  const batchcost::testing::Scratch tmp("serve_golden");
  const fs::path model = tmp / "unidentified_launch.json";
  std::ofstream(model) << doc.dump(1);
  const std::string args = "serve --hardware " + model.string() +
                           " --no-stated --model llama-3-8b --rate 1,8,64 --requests 300"
                           // the GPU's work alone: the marks are about its constants
                           " --step-overhead 0";
  Result run = batchcost(args);
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("  λ[launch]  2.391 µs     !"), std::string::npos) << run.out;
  auto row = [&](const std::string& load) {
    const size_t at = run.out.find("continuous  " + load);
    return at == std::string::npos ? std::string()
                                   : run.out.substr(at, run.out.find('\n', at) - at);
  };
  EXPECT_NE(row("1 req/s").find("ms*"), std::string::npos) << run.out;
  EXPECT_EQ(row("8 req/s").find('*'), std::string::npos) << run.out;
  EXPECT_EQ(row("64 req/s").find('*'), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("*: more than 10% of the load point's step time priced with stated or "
                         "unidentified constants: λ[launch] up to "),
            std::string::npos)
      << run.out;
  // The JSON gives each point its share: above the mark at 1 request/s only.
  Result json = batchcost(args + " --json");
  ASSERT_EQ(json.status, 0);
  const auto points = nlohmann::json::parse(json.out)["points"];
  ASSERT_EQ(points.size(), 3u);
  EXPECT_GT(points[0]["weak_share"].get<double>(), 0.10);
  EXPECT_LT(points[1]["weak_share"].get<double>(), 0.10);
  EXPECT_GT(points[1]["weak_share"].get<double>(), 0.0);
  EXPECT_LT(points[2]["weak_share"].get<double>(), points[1]["weak_share"].get<double>());
  // λ[launch] identified: nothing is weak, nothing marked, no footnote.
  doc["identification"]["λ[launch]"]["status"] = "identified";
  std::ofstream(model) << doc.dump(1);
  Result plain = batchcost(args);
  ASSERT_EQ(plain.status, 0);
  EXPECT_EQ(plain.out.find("ms*"), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("*:"), std::string::npos) << plain.out;
}

// serve takes predict's deployment flags (cli/deployment_options.h, one parser and one check):
// an fp8 KV cache holds twice the tokens of a bf16 one; the knobs show in the deployment and
// precision lines as predict prints them; a bad type is refused naming its flag.
TEST(ServeGolden, TakesPredictsDeploymentFlags) {
  const std::string base = kServe + "--model llama-3-70b --tp 8 --rate 2 --requests 100 --json";
  Result bf16 = batchcost(base), fp8 = batchcost(base + " --kv-cache fp8_e4m3");
  ASSERT_EQ(bf16.status, 0);
  ASSERT_EQ(fp8.status, 0);
  const auto a = nlohmann::json::parse(bf16.out), b = nlohmann::json::parse(fp8.out);
  EXPECT_NEAR(b["kv_capacity_tokens"].get<double>() / a["kv_capacity_tokens"].get<double>(), 2,
              1e-3);
  EXPECT_EQ(b["precision"], "weights bf16, activations bf16, KV cache fp8_e4m3");
  Result moe = batchcost(kServe +
                         "--model deepseek-v3 --tp 8 --ep 16 --gpus 16 --overlap "
                         "--redundant-experts 16 --micro-batches 1 --rate 1 --requests 50");
  ASSERT_EQ(moe.status, 0) << moe.out;
  EXPECT_NE(moe.out.find("17 expert slots per GPU (16 redundant)"), std::string::npos) << moe.out;
  EXPECT_NE(moe.out.find("; overlap on"), std::string::npos) << moe.out;
  Result bad = batchcost(kServe + "--model llama-3-8b --rate 1 --weights int3", "/dev/stdout");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("--weights: unknown type 'int3'"), std::string::npos) << bad.out;
}

TEST(ServeGolden, EveryShippedModelServesUnderBothPolicies) {
  const std::pair<const char*, const char*> deployments[] = {
      {"deepseek-v3", "--tp 8 --ep 16 --gpus 16"},
      {"llama-3-8b", "--tp 1"},
      {"llama-3-70b", "--tp 8"},
      {"llama-3-405b", "--tp 8 --pp 2"},
      {"mixtral-8x22b", "--tp 8"},
      {"qwen3-30b-a3b", "--tp 1"}};
  for (const auto& [model, dep] : deployments) {
    Result run =
        batchcost(kServe + "--model " + model + " " + dep +
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

// Every flag of predict that describes the deployment or how it is priced is a flag of serve; the
// flags predict alone has are listed with the reason serve does without them.
TEST(ServeGolden, TakesEveryDeploymentFlagOfPredict) {
  const std::map<std::string, std::string> predict_only = {
      {"--arrival-rate", "predict's one serving window; serve simulates arrivals (--rate)"},
      {"--window", "predict's one serving window; serve has --policy window:S"},
      {"--batch", "predict's fixed batch; serve's batches come from the load"},
      {"--context", "predict's fixed context; serve's come from the requests"},
      {"--chunk", "predict's prefill chunk; serve chunks within --token-budget"},
      {"--concurrency", "predict's closed loop in closed form; serve has --users"},
      {"--list-models", "a listing, not a deployment"},
      {"--ops", "predict's table of one step's operations"}};
  auto flags = [](const std::string& help) {
    std::set<std::string> out;
    std::istringstream in(help);
    for (std::string line; std::getline(in, line);) {
      const auto at = line.find_first_not_of(' ');
      if (at == std::string::npos || line.compare(at, 2, "--") != 0) continue;
      out.insert(line.substr(at, line.find_first_of(" ,", at) - at));
    }
    return out;
  };
  Result predict = batchcost("predict --help"), serve = batchcost("serve --help");
  const std::set<std::string> p = flags(predict.out), s = flags(serve.out);
  ASSERT_GT(p.size(), 20u);
  for (const std::string& f : p) {
    if (predict_only.count(f)) continue;
    EXPECT_TRUE(s.count(f)) << "predict has " << f << " and serve has not";
  }
  for (const auto& [f, why] : predict_only) EXPECT_TRUE(p.count(f)) << f << " is gone: " << why;
}

// Speculative decoding as predict states it (--gamma --acceptance, --draft-cost or --draft-model):
// at one user each decode step yields E = (1 - 0.7^4) / 0.3 = 2.53 tokens for a cycle of the
// verify step and three draft steps, so TPOT falls; the JSON and the table say so.
TEST(ServeGolden, SpeculativeDecoding) {
  const std::string base =
      kServe + "--model llama-3-70b --tp 8 --users 1 --requests 20 --output-len 256 --json";
  Result plain = batchcost(base),
         spec = batchcost(base + " --gamma 3 --acceptance 0.7 --draft-cost 0.05");
  ASSERT_EQ(plain.status, 0);
  ASSERT_EQ(spec.status, 0) << spec.out;
  const auto a = nlohmann::json::parse(plain.out), b = nlohmann::json::parse(spec.out);
  EXPECT_NEAR(b["speculation"]["tokens_per_step"].get<double>(), (1 - std::pow(0.7, 4)) / 0.3,
              1e-5);
  EXPECT_LT(b["points"][0]["tpot_s"]["p50"].get<double>(),
            0.7 * a["points"][0]["tpot_s"]["p50"].get<double>());
  Result draft = batchcost(kServe +
                           "--model llama-3-70b --tp 8 --users 1 --requests 20 --gamma 4 "
                           "--acceptance 0.8 --draft-model llama-3-8b");
  ASSERT_EQ(draft.status, 0) << draft.out;
  EXPECT_NE(draft.out.find("speculative decoding: γ 4, acceptance 0.8"), std::string::npos)
      << draft.out;
  EXPECT_NE(draft.out.find("the draft Llama-3 8B"), std::string::npos) << draft.out;
}

// --prefill-gpus N --decode-gpus M: the deployment flags describe each pool; the JSON names both
// and the KV cache's move, the table both deployments; throughput is over N + M GPUs.
TEST(ServeGolden, DisaggregatedPools) {
  Result run = batchcost(kServe +
                         "--model llama-3-70b --tp 8 --prefill-gpus 8 --decode-gpus 16 --rate 8 "
                         "--requests 200 --input-len 2048 --output-len 256 --json");
  ASSERT_EQ(run.status, 0);
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["gpus"], 24);
  EXPECT_EQ(j["disaggregated"]["prefill_gpus"], 8);
  EXPECT_EQ(j["disaggregated"]["decode_gpus"], 16);
  EXPECT_GT(j["disaggregated"]["kv_transfer_s_at_mean_input"].get<double>(), 0);
  EXPECT_NE(j["constants"].dump().find("send_recv/2"), std::string::npos);
  // Decoding away from the prompts: no prefill in the decode steps, so a lower TPOT than the same
  // 24 GPUs colocated at this load.
  Result colocated = batchcost(kServe +
                               "--model llama-3-70b --tp 8 --gpus 24 --rate 8 --requests 200 "
                               "--input-len 2048 --output-len 256 --json");
  ASSERT_EQ(colocated.status, 0);
  const auto c = nlohmann::json::parse(colocated.out);
  EXPECT_LT(j["points"][0]["tpot_s"]["p50"].get<double>(),
            c["points"][0]["tpot_s"]["p50"].get<double>());
  Result table = batchcost(kServe +
                           "--model llama-3-70b --tp 8 --prefill-gpus 8 --decode-gpus 16 --rate 8 "
                           "--requests 50");
  ASSERT_EQ(table.status, 0);
  EXPECT_NE(table.out.find("prefill pool: 8 GPUs"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("decode pool: 16 GPUs"), std::string::npos) << table.out;
}

TEST(ServeGolden, BadFlagsAreNamedWithExitStatus2) {
  for (const auto& [args, word] : std::initializer_list<std::pair<std::string, std::string>>{
           {"--model llama-3-70b --tp 8", "--rate"},
           {"--model llama-3-70b --tp 8 --rate 1 --policy windows:1", "--policy"},
           {"--model llama-3-70b --tp 8 --rate 1 --input-len 0", "--input-len"},
           {"--model llama-3-70b --tp 8 --rate nan", "--rate"},
           {"--model llama-3-70b --tp 1 --rate 1", "weights"},
           {"--model deepseek-v3 --tp 8 --ep 32 --gpus 32 --rate 1", "all_to_all/32"},
           {"--model llama-3-70b --tp 8 --prefill-gpus 8 --rate 1", "--decode-gpus"},
           {"--model llama-3-70b --tp 8 --prefill-gpus 8 --decode-gpus 8 --users 4", "--users"},
           {"--model llama-3-70b --tp 8 --gpus 16 --prefill-gpus 8 --decode-gpus 8 --rate 1",
            "--gpus"},
           {"--model llama-3-70b --tp 8 --prefill-gpus 4 --decode-gpus 8 --rate 1",
            "--prefill-gpus 4"},
           {"--model llama-3-70b --tp 8 --rate 1 --step-overhead -0.001", "--step-overhead"},
           {"--model llama-3-70b --tp 8 --rate 1 --step-overhead nan", "--step-overhead"},
           {"--model llama-3-70b --tp 8 --rate 1 --gamma 3", "--acceptance"},
           {"--model llama-3-70b --tp 8 --rate 1 --gamma 3 --acceptance 0.7", "--draft-cost"},
           {"--model llama-3-70b --tp 8 --rate 1 --gamma 3 --acceptance 0.7 --draft-cost 0.1 "
            "--draft-model llama-3-8b",
            "not both"}}) {
    std::string err = ::testing::TempDir() + "/serve_err.txt";
    Result run = batchcost(kServe + args, err);
    EXPECT_EQ(run.status, 2) << args;
    EXPECT_TRUE(run.out.empty()) << args;
    EXPECT_NE(batchcost::testing::read(err).find(word), std::string::npos)
        << args << ": " << batchcost::testing::read(err);
  }
}

}  // namespace
