// The environment variables that change what a GPU benchmark measures, host C++ only: every
// CUDA_*, NCCL_*, NVIDIA_*, CUBLAS_* and CUBLASLT_* variable is recorded in each result's
// context ("environment"), and the ones that make a measurement wrong are refused or warned
// about before any GPU work:
//
//   variable                      what it does                                  here
//   CUDA_LAUNCH_BLOCKING=1        every launch waits for the kernel: launch,    refused (exit 2),
//                                 kernel and graph latencies measure the wait   unless
//                                                                               BATCHCOST_ALLOW_LAUNCH_BLOCKING=1
//   NVIDIA_TF32_OVERRIDE=0|1      forces tf32 off or on in cuBLAS fp32 GEMMs    warned
//   CUDA_DEVICE_MAX_CONNECTIONS   the hardware queues streams share             warned
//   CUDA_VISIBLE_DEVICES, NCCL_*  which GPUs, NCCL's algorithm and protocol     recorded
#pragma once

#include <map>
#include <string>
#include <vector>

namespace batchcost {

struct EnvironmentCheck {
  std::map<std::string, std::string> recorded;  // the families above, by name
  std::vector<std::string> warnings;            // for the context's warnings and stderr
  std::string refusal;                          // non-empty: refuse to run, saying this
};

// From `environ`-style "NAME=VALUE" strings (a null-terminated array).
EnvironmentCheck check_environment(const char* const* env);

}  // namespace batchcost
