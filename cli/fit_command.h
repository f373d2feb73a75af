// `batchcost fit`: fit the model's constants to results (model/fit.h, model/select.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace batchcost {

struct FitArgs {
  std::vector<std::string> paths, validate;
  std::string out, form = "auto";
  bool json = false, force = false;
};

CLI::App* add_fit_command(CLI::App& app, FitArgs& args);
int run_fit(const FitArgs& args);  // throws InputError for the caller to report

}  // namespace batchcost
