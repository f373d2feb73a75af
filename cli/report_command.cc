// `batchcost report` (see report_command.h).
#include "cli/report_command.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "core/input_error.h"
#include "core/model_file.h"
#include "model/report_md.h"

namespace batchcost {

CLI::App* add_report_command(CLI::App& app, ReportArgs& a) {
  CLI::App* rep = app.add_subcommand("report", "a Markdown page per run or GPU");
  rep->add_option("PATH", a.paths, "results folders or files (the first: the baseline)")
      ->required();
  rep->add_option("--out", a.out, "the page to write (FILE.md)")->required();
  rep->add_option("--plots", a.plots, "a folder of PNGs to link from the page");
  rep->add_option("--validate", a.validate, "a family to predict, not fit (moe always)");
  return rep;
}

// `batchcost report`: the Markdown page, written atomically once every path has been read and
// fitted; on the terminal, each run's constants with their origins and its validation summary.
int run_report(const ReportArgs& a) {
  const std::vector<std::string>& paths = a.paths;
  const std::string& out_path = a.out;
  const std::string& plots_dir = a.plots;
  namespace fs = std::filesystem;
  if (out_path.empty()) throw InputError("report needs --out FILE.md");
  const fs::path page_dir = fs::absolute(fs::path(out_path)).parent_path();
  auto link = [&](const fs::path& target) {
    return fs::absolute(target).lexically_normal().lexically_relative(page_dir).generic_string();
  };
  std::vector<RunReport> runs;
  for (const std::string& path : paths) {
    runs.push_back(make_run_report(path, options_with(a.validate)));
    fs::path readme = fs::path(path) / "README.md";
    if (fs::is_directory(path) && fs::is_regular_file(readme)) runs.back().readme = link(readme);
  }
  std::vector<std::string> plots;
  if (!plots_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(plots_dir, ec)) throw InputError(plots_dir + ": --plots: no such folder");
    std::vector<fs::path> pngs;
    for (const auto& item : fs::directory_iterator(plots_dir, ec)) {
      if (item.is_regular_file() && item.path().extension() == ".png") pngs.push_back(item.path());
    }
    if (ec) throw InputError(plots_dir + ": cannot be listed: " + ec.message());
    std::sort(pngs.begin(), pngs.end());
    for (const fs::path& p : pngs) plots.push_back(link(p));
  }
  std::string page = markdown_report(runs, plots);
  write_file_atomically(out_path, page);
  for (const RunReport& run : runs) {
    for (const std::string& w : run.inputs.warnings) std::cerr << "warning: " << w << "\n";
    std::cout << "== " << run.path << "\n" << report_summary(run) << "\n";
  }
  std::cout << "wrote " << out_path << "\n";
  return 0;
}

}  // namespace batchcost
