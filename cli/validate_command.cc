// `batchcost validate` (see validate_command.h).
#include "cli/validate_command.h"

#include <iostream>
#include <map>
#include <optional>

#include "cli/common.h"
#include "core/cost_model.h"
#include "core/forms.h"
#include "core/input_error.h"
#include "core/model_file.h"
#include "model/compare.h"
#include "model/report.h"
#include "model/results.h"
#include "model/select.h"

namespace batchcost {

CLI::App* add_validate_command(CLI::App& app, ValidateArgs& a) {
  CLI::App* val = app.add_subcommand("validate", "measured against predicted, per benchmark");
  val->add_option("PATH", a.paths, "results folders or files (LOG:op=NAME,ranks=N as for fit)")
      ->required();
  val->add_option("--model", a.model, "a model.json (default: fit these results first)");
  val->add_option("--validate", a.validate, "a family to predict, not fit (moe always)");
  val->add_flag("--json", a.json, "JSON instead of tables");
  return val;
}

int run_validate(const ValidateArgs& a) {
  const std::vector<std::string>& paths = a.paths;
  const std::string& model_path = a.model;
  Inputs in = read_inputs(paths);
  FitOptions options = options_with(a.validate);
  Constants constants;
  std::optional<Constants> epoch;  // the paper's form beside a refined one
  bool other_gpu = false;
  if (model_path.empty()) {
    Selection sel = select_form(in.samples, options, select_options(in, "auto"));
    constants = sel.chosen();
    if (sel.selected == Form::kRefined) epoch = sel.epoch;
  } else {
    Inputs models;
    read_file_into(model_path, models);
    if (models.models.empty()) throw InputError(model_path + ": not a batchcost model.json");
    ModelFile m = model_from_json(models.models.front(), model_path);
    constants = m.constants;
    epoch = m.epoch;
    // A model of another GPU (or driver, clocks, libraries) predicts these results; it was not
    // fitted to them, so no row is "fit".
    for (const std::string& d : hardware_differences(m.hardware, in.context)) {
      in.warnings.push_back(model_path + " and the results differ in " + d);
    }
    other_gpu = different_gpu(m.hardware, in.context);
    if (other_gpu) {
      in.warnings.push_back(model_path +
                            " was fitted on another GPU: every row is a validation, none is fit");
    }
  }
  std::vector<Role> roles;
  for (const Sample& s : in.samples) {
    Role r = role_of(s, options);
    roles.push_back(other_gpu && r == Role::kFit ? Role::kValidate : r);
  }
  std::vector<ValidationRow> rows = validation_rows(in.samples, roles, constants);
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  std::map<std::string, int> unpriced;
  for (size_t i = 0; i < in.samples.size(); ++i) {
    if (roles[i] == Role::kNotModelled) continue;
    if (!predict(constants, in.samples[i]).missing.empty()) ++unpriced[in.samples[i].family];
  }
  for (const auto& [family, n] : unpriced) {
    std::cerr << "warning: family " << family << ": " << n
              << " samples cannot be priced by these constants\n";
  }
  const std::vector<MoeCrossoverCheck> moe = check_moe_crossovers(in.samples, constants);
  if (a.json) {
    nlohmann::ordered_json doc = validation_json(rows);
    if (!moe.empty()) doc["moe_crossover"] = moe_crossover_json(moe);
    std::cout << doc.dump(2) << "\n";
    return 0;
  }
  std::cout << census(in, roles) << "constants: "
            << (model_path.empty() ? "fitted to these samples" : "from " + model_path) << "\n";
  if (other_gpu) std::cout << "warning: the model was fitted on another GPU; no row is fit\n";
  if (constants.form == Form::kRefined) std::cout << "form: refined\n";
  std::cout << "\n" << validation_report(rows) << moe_crossover_report(moe);
  if (epoch) {
    std::map<std::string, Quality> q;
    for (const auto& [key, summary] :
         validation_summary(validation_rows(in.samples, roles, as_epoch(*epoch)))) {
      q[key.first] = summary.quality;
      q[key.first].role = key.second;
    }
    std::cout << "\nthe paper's form (epoch), same samples\n" << quality_table(q);
  }
  return 0;
}

}  // namespace batchcost
