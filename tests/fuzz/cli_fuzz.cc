// libFuzzer target for the command line's parser and checks (cli/cli.h, the batchcost_cli
// library): the input is split at NUL and newline bytes into arguments after
// "batchcost". Parsing stops before any subcommand runs; any exit status is fine, a crash, a hang
// or undefined behaviour is not. Built and run by tools/fuzz.sh (with -close_fd_mask=3: CLI11
// prints usage and errors).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/cli.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args{"batchcost"};
  std::string arg;
  for (size_t i = 0; i < size; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\0' || c == '\n') {
      args.push_back(arg);
      arg.clear();
    } else {
      arg += c;
    }
  }
  if (!arg.empty()) args.push_back(arg);
  if (args.size() > 64) return 0;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  (void)batchcost::batchcost_cli(static_cast<int>(args.size()), argv.data(), /*parse_only=*/true);
  return 0;
}
