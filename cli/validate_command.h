// `batchcost validate`: measured against predicted, per benchmark (model/report.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace batchcost {

struct ValidateArgs {
  std::vector<std::string> paths, validate;
  std::string model;  // a model.json; empty: fit these results first
  bool json = false;
};

CLI::App* add_validate_command(CLI::App& app, ValidateArgs& args);
int run_validate(const ValidateArgs& args);  // throws InputError for the caller to report

}  // namespace batchcost
