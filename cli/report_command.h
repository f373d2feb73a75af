// `batchcost report`: a Markdown page per run or GPU (model/report_md.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace batchcost {

struct ReportArgs {
  std::vector<std::string> paths, validate;
  std::string out, plots;
};

CLI::App* add_report_command(CLI::App& app, ReportArgs& args);
int run_report(const ReportArgs& args);  // throws InputError for the caller to report

}  // namespace batchcost
