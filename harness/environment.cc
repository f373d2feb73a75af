#include "harness/environment.h"

#include <string_view>

namespace batchcost {

EnvironmentCheck check_environment(const char* const* env) {
  EnvironmentCheck out;
  for (const char* const* e = env; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string name(entry.substr(0, eq)), value(entry.substr(eq + 1));
    for (std::string_view prefix : {"CUDA_", "NCCL_", "NVIDIA_", "CUBLAS_", "CUBLASLT_"}) {
      if (name.starts_with(prefix)) out.recorded[name] = value;
    }
  }
  auto value = [&](const std::string& name) -> const std::string* {
    auto it = out.recorded.find(name);
    return it == out.recorded.end() ? nullptr : &it->second;
  };
  if (const std::string* v = value("CUDA_LAUNCH_BLOCKING"); v != nullptr && *v != "0" && !v->empty()) {
    const std::string what = "CUDA_LAUNCH_BLOCKING=" + *v +
                             " makes every kernel launch wait for the kernel, so launch, kernel "
                             "and graph latencies would measure the wait";
    bool allowed = false;
    for (const char* const* e = env; e != nullptr && *e != nullptr; ++e) {
      if (std::string_view(*e) == "BATCHCOST_ALLOW_LAUNCH_BLOCKING=1") allowed = true;
    }
    if (allowed) {
      out.warnings.push_back(what + " (run anyway: BATCHCOST_ALLOW_LAUNCH_BLOCKING=1)");
    } else {
      out.refusal = what + ": unset it (or set BATCHCOST_ALLOW_LAUNCH_BLOCKING=1 to run anyway)";
    }
  }
  if (const std::string* v = value("NVIDIA_TF32_OVERRIDE"); v != nullptr) {
    out.warnings.push_back("NVIDIA_TF32_OVERRIDE=" + *v +
                           " changes how cuBLAS computes fp32 GEMMs (tf32 forced " +
                           (*v == "0" ? "off" : "on") + ")");
  }
  if (const std::string* v = value("CUDA_DEVICE_MAX_CONNECTIONS"); v != nullptr) {
    out.warnings.push_back("CUDA_DEVICE_MAX_CONNECTIONS=" + *v +
                           " changes how streams share the GPU's hardware queues");
  }
  return out;
}

}  // namespace batchcost
