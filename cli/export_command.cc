// `batchcost export` (see export_command.h).
#include "cli/export_command.h"

#include <algorithm>
#include <iostream>
#include <map>

#include "core/input_error.h"
#include "core/model_file.h"
#include "model/compare.h"
#include "model/export.h"
#include "model/results.h"

namespace batchcost {

CLI::App* add_export_command(CLI::App& app, ExportArgs& a) {
  CLI::App* exp = app.add_subcommand(
      "export",
      "results as one tidy CSV: a row per repetition (--medians: one per sample, the time the "
      "fitter uses), parameters and labels as columns");
  exp->add_option("PATH", a.paths, "results folders or files")->required();
  exp->add_option("--csv", a.csv, "the CSV file to write")->required();
  exp->add_flag("--medians", a.medians,
                "one row per sample (kind median) instead of one per repetition");
  return exp;
}

int run_export(const ExportArgs& a) {
  const std::vector<std::string>& paths = a.paths;
  const std::string& csv_path = a.csv;
  // Each file on its own: two runs (or two GPUs) of the same benchmarks are rows side by side,
  // told apart by their source, not contradictory duplicates.
  Inputs in;
  std::map<std::string, std::string> gpu_of_source;
  for (const std::string& path : paths) {
    for (const std::string& file : expand_path(path)) {
      Inputs one;
      read_file_into(file, one);
      auto gpu = one.context.find("gpu_name");
      if (gpu != one.context.end() && gpu->is_string())
        gpu_of_source[file] = gpu->get<std::string>();
      in.samples.insert(in.samples.end(), one.samples.begin(), one.samples.end());
      in.warnings.insert(in.warnings.end(), one.warnings.begin(), one.warnings.end());
      in.models.insert(in.models.end(), one.models.begin(), one.models.end());
      in.model_sources.insert(in.model_sources.end(), one.model_sources.begin(),
                              one.model_sources.end());
    }
  }
  if (!in.models.empty()) {
    throw InputError(in.model_sources.front() + ": a model.json; export reads results");
  }
  if (in.samples.empty()) throw InputError("no usable samples in the paths given");
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  std::stable_sort(in.samples.begin(), in.samples.end(), [](const Sample& x, const Sample& y) {
    return x.name != y.name ? natural_less(x.name, y.name) : x.source < y.source;
  });
  const ExportRows rows = a.medians ? ExportRows::kMedians : ExportRows::kRepetitions;
  write_file_atomically(csv_path, export_csv(in.samples, gpu_of_source, rows));
  std::cout << "wrote " << csv_path << ": " << in.samples.size() << " samples, "
            << export_rows(in.samples, rows) << " rows ("
            << (a.medians ? "one per sample, its median" : "one per repetition") << ")\n";
  return 0;
}

}  // namespace batchcost
