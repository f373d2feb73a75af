// `batchcost compare`: two GPUs or two runs side by side (model/compare.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "model/compare.h"

namespace batchcost {

struct CompareArgs {
  std::string baseline, candidate;
  std::vector<std::string> validate, families;
  CompareOptions options;
  bool json = false;
};

CLI::App* add_compare_command(CLI::App& app, CompareArgs& args);
int run_compare(const CompareArgs& args);  // throws InputError for the caller to report

}  // namespace batchcost
