// `batchcost fit` (see fit_command.h).
#include "cli/fit_command.h"

#include <iostream>

#include "cli/common.h"
#include "core/format.h"
#include "core/forms.h"
#include "core/model_file.h"
#include "core/version.h"
#include "model/report.h"
#include "model/results.h"
#include "model/select.h"
#include "model/sources.h"

namespace batchcost {
namespace {

std::string hardware_line(const nlohmann::json& context) {
  std::string out;
  for (const char* key : {"gpu_name", "driver_version", "cuda_runtime", "batchcost_profile"}) {
    if (!context.contains(key)) continue;
    const auto& v = context[key];
    out += (out.empty() ? "" : ", ") + std::string(key) + " " +
           (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out.empty() ? "" : "hardware: " + out + "\n";
}

ModelFile model_of(const Inputs& in, const Selection& sel) {
  ModelFile m;
  m.hardware = in.context;
  m.constants = sel.chosen();
  m.quality = quality_of(in.samples, sel.roles, m.constants);
  m.sources = in.sources;
  m.identification = identification_json(sel.full.identification);
  m.notes = sel.notes;
  if (sel.selected == Form::kRefined) m.epoch = sel.epoch;
  m.heldout = sel.heldout;
  m.selection = sel.steps;
  return m;
}

// What the form selection chose and why, and the held-out errors of both forms.
std::string form_report(const ModelFile& m) {
  std::string out = "form: " + form_name(m.constants.form) + "\n";
  for (const std::string& step : m.selection) out += "  " + step + "\n";
  for (const auto& [dtype, tile] : m.constants.terms.tile) {
    out += "  tile[" + dtype + "] = " + (tile.rows ? tile_name(tile) : "each sample's tile label") +
           ", waves of " + std::to_string(m.constants.terms.sm_count) + " SMs\n";
  }
  if (!m.heldout.empty()) {
    out +=
        "\nheld-out |predicted / measured - 1| of both forms (k-fold over shapes; validation "
        "families predicted, never fitted)\n" +
        heldout_table(m.heldout);
  }
  return out;
}

}  // namespace

CLI::App* add_fit_command(CLI::App& app, FitArgs& a) {
  CLI::App* fit = app.add_subcommand("fit", "fit the model's constants to results");
  fit->add_option("PATH", a.paths,
                  "results folders or files; an nccl-tests log may name its op and ranks: "
                  "LOG:op=all_reduce,ranks=16")
      ->required();
  fit->add_option("--out", a.out, "write model.json here");
  fit->add_option("--validate", a.validate, "a family to predict, not fit (moe always)");
  fit->add_flag("--json", a.json, "print model.json instead of tables");
  fit->add_flag("--force", a.force,
                "write the model even when the fit refuses it (no convergence, a rate beyond "
                "what any sample shows: exit 3 otherwise)");
  fit->add_option("--form", a.form,
                  "the cost model's form: auto (selected by held-out error), epoch (the paper's "
                  "max(flops/P, bytes/W)) or refined")
      ->check(CLI::IsMember({"auto", "epoch", "refined"}));
  return fit;
}

int run_fit(const FitArgs& a) {
  const std::vector<std::string>& paths = a.paths;
  const std::string& out_path = a.out;
  const bool force = a.force;
  if (!out_path.empty()) check_output_path(out_path, paths);
  Inputs in = read_inputs(paths);
  Selection sel = select_form(in.samples, options_with(a.validate), select_options(in, a.form));
  const FitResult& r = sel.full;
  // A fit that did not converge, or put a rate beyond what any sample shows, is not a model:
  // exit 3, nothing written, unless --force.
  for (const std::string& why : r.refusals) {
    std::cerr << (force ? "warning: " : "batchcost: fit refused: ") << why << "\n";
  }
  if (!r.refusals.empty() && !force) {
    std::cerr << "batchcost: no model written (--force writes it anyway)\n";
    return 3;
  }
  ModelFile m = model_of(in, sel);
  // Several sources: where they disagree beyond their intervals, said (the fit pools them).
  for (const std::string& c : source_conflicts(in.samples, options_with(a.validate))) {
    m.notes.push_back(
        "sources disagree (each fitted alone, 95% intervals apart; the fit pools "
        "them): " +
        c);
  }
  nlohmann::ordered_json model = model_to_json(m);
  model["batchcost"] = version_json();  // which batchcost fitted it
  std::string doc = model.dump(2) + "\n";
  if (!out_path.empty()) write_file_atomically(out_path, doc);
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  for (const std::string& w : r.warnings) std::cerr << "warning: " << w << "\n";
  if (a.json) {
    std::cout << doc;
    return 0;
  }
  std::cout << census(in, sel.roles) << hardware_line(in.context) << "\n"
            << "constants (95% intervals: covariance of the robust fit, in log space)\n"
            << constants_table(m.constants) << "\n";
  for (const std::string& note : m.notes) std::cout << "note: " << note << "\n";
  if (!m.notes.empty()) std::cout << "\n";
  std::cout << "identification (n: samples where the constant is half the time or more; "
               "width: 95% interval / value; ! not identified)\n"
            << identification_table(r.identification) << "\n";
  std::cout << "quality (|predicted / measured - 1|, in sample)\n"
            << quality_table(m.quality) << "\n"
            << form_report(m);
  bool header = false;
  for (size_t i = 0; i < in.samples.size(); ++i) {
    if (sel.roles[i] != Role::kNotModelled) continue;
    if (!header) std::cout << "\nnot modelled (declare no work)\n";
    header = true;
    std::cout << "  " << in.samples[i].name << "  " << format_time(in.samples[i].time_s) << "\n";
  }
  if (!out_path.empty()) std::cout << "\nwrote " << out_path << "\n";
  return 0;
}

}  // namespace batchcost
