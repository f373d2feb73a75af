// The one error type of every reader of user input: its message names the file and the entry
// ("results/gemm.json: benchmarks[3].bytes: ..."). The command line prints it after
// "batchcost: " and exits with status 2. Host C++ only.
#pragma once

#include <stdexcept>

namespace batchcost {

// An input the fitter refuses: the message names the file and the entry.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace batchcost
