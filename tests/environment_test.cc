// harness/environment: what of the environment is recorded, refused and warned about.
#include "harness/environment.h"

#include <gtest/gtest.h>

namespace batchcost {
namespace {

TEST(CheckEnvironment, RecordsTheFamiliesOnly) {
  const char* env[] = {"PATH=/usr/bin", "CUDA_VISIBLE_DEVICES=0,1", "NCCL_ALGO=Ring",
                       "NVIDIA_VISIBLE_DEVICES=all", "CUBLASLT_LOG_LEVEL=0", "HOME=/root",
                       "NOEQUALS", "CUDA_EMPTY=", nullptr};
  const EnvironmentCheck c = check_environment(env);
  EXPECT_EQ(c.recorded, (std::map<std::string, std::string>{{"CUBLASLT_LOG_LEVEL", "0"},
                                                              {"CUDA_EMPTY", ""},
                                                              {"CUDA_VISIBLE_DEVICES", "0,1"},
                                                              {"NCCL_ALGO", "Ring"},
                                                              {"NVIDIA_VISIBLE_DEVICES", "all"}}));
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_TRUE(c.refusal.empty());
}

TEST(CheckEnvironment, LaunchBlockingIsRefusedUnlessAllowed) {
  const char* on[] = {"CUDA_LAUNCH_BLOCKING=1", nullptr};
  EXPECT_NE(check_environment(on).refusal.find("CUDA_LAUNCH_BLOCKING=1"), std::string::npos);
  const char* off[] = {"CUDA_LAUNCH_BLOCKING=0", nullptr};
  EXPECT_TRUE(check_environment(off).refusal.empty());
  const char* allowed[] = {"CUDA_LAUNCH_BLOCKING=1", "BATCHCOST_ALLOW_LAUNCH_BLOCKING=1", nullptr};
  const EnvironmentCheck c = check_environment(allowed);
  EXPECT_TRUE(c.refusal.empty());
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("run anyway"), std::string::npos);
}

TEST(CheckEnvironment, WarnsOfWhatChangesGemmsAndStreams) {
  const char* env[] = {"NVIDIA_TF32_OVERRIDE=0", "CUDA_DEVICE_MAX_CONNECTIONS=1", nullptr};
  const EnvironmentCheck c = check_environment(env);
  ASSERT_EQ(c.warnings.size(), 2u);
  EXPECT_NE(c.warnings[0].find("tf32 forced off"), std::string::npos);
  EXPECT_NE(c.warnings[1].find("hardware queues"), std::string::npos);
}

}  // namespace
}  // namespace batchcost
