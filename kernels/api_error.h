// The exception every API check throws (CUDA runtime, cuBLAS, NCCL), and its message. Host C++
// only, so the message format is tested without a GPU.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace batchcost {

class ApiError : public std::runtime_error {
 public:
  // api: "CUDA", "cuBLAS", "NCCL"; call: the source text of the call; error_name: the
  // library's name of the status ("cudaErrorMemoryAllocation"); error_text: its description.
  ApiError(std::string_view api, std::string_view call, std::string_view file, int line,
           std::string_view error_name, std::string_view error_text, int code)
      : std::runtime_error(format(api, call, file, line, error_name, error_text)),
        code_(code),
        error_name_(error_name) {}

  int code() const { return code_; }
  const std::string& error_name() const { return error_name_; }

  // "CUDA error cudaErrorMemoryAllocation (out of memory) in cudaMalloc(&p, n) at memory.cc:42"
  static std::string format(std::string_view api, std::string_view call, std::string_view file,
                            int line, std::string_view error_name, std::string_view error_text) {
    std::string_view base = file.substr(file.find_last_of('/') + 1);
    std::string out;
    out.append(api).append(" error ").append(error_name);
    out.append(" (").append(error_text).append(") in ").append(call);
    out.append(" at ").append(base).append(":").append(std::to_string(line));
    return out;
  }

 private:
  int code_;
  std::string error_name_;
};

}  // namespace batchcost
