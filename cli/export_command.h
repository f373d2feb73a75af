// `batchcost export`: results as one tidy CSV (model/export.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace batchcost {

struct ExportArgs {
  std::vector<std::string> paths;
  std::string csv;
  bool medians = false;
};

CLI::App* add_export_command(CLI::App& app, ExportArgs& args);
int run_export(const ExportArgs& args);  // throws InputError for the caller to report

}  // namespace batchcost
