// `batchcost compare` (see compare_command.h).
#include "cli/compare_command.h"

#include <iostream>
#include <map>
#include <regex>

#include "cli/common.h"
#include "core/forms.h"
#include "core/input_error.h"
#include "core/model_file.h"
#include "model/fit.h"
#include "model/results.h"
#include "model/select.h"

namespace batchcost {
namespace {

// One side of a comparison: results (fitted to get constants) or a model.json.
struct Side {
  std::vector<Sample> samples;
  Constants constants;
  NetRanges net_ranges;  // the sizes its network constants were fitted on
  nlohmann::json context;
  std::map<std::string, std::string> unidentified;  // constants its fit did not identify
  bool has_samples = false;
};

Side read_side(const std::string& path, const FitOptions& options) {
  Inputs in = read_inputs({path}, /*allow_models=*/true);
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  Side side;
  if (!in.models.empty()) {
    if (!in.samples.empty() || in.models.size() > 1) {
      throw InputError(path + ": give either results or one model.json, not both");
    }
    ModelFile m = model_from_json(in.models.front(), in.model_sources.front());
    side.constants = m.constants;
    side.context = m.hardware;
    side.net_ranges = net_ranges_of_model(in.models.front());
    side.unidentified =
        unidentified_constants(in.models.front().value("identification", nlohmann::json()));
    return side;
  }
  side.samples = in.samples;
  side.has_samples = true;
  side.context = in.context;
  const Selection sel = select_form(in.samples, options, select_options(in, "auto"));
  side.constants = sel.chosen();
  side.unidentified = unidentified_constants(
      nlohmann::json::parse(identification_json(sel.full.identification).dump()));
  side.net_ranges = net_ranges_of_samples(in.samples, options);
  return side;
}

}  // namespace

CLI::App* add_compare_command(CLI::App& app, CompareArgs& a) {
  CLI::App* cmp = app.add_subcommand("compare", "two GPUs or two runs side by side");
  cmp->add_option("BASELINE", a.baseline, "results folder, result file or model.json")->required();
  cmp->add_option("CANDIDATE", a.candidate, "results folder, result file or model.json")
      ->required();
  cmp->add_option("--validate", a.validate, "a family to predict, not fit (moe always)");
  cmp->add_option("--filter", a.options.filter,
                  "only benchmarks whose name matches this regex (ECMAScript, searched)");
  cmp->add_option("--family", a.families, "only this family (repeatable)");
  cmp->add_option("--threshold", a.options.threshold,
                  "call a ratio within 1 ± this \"same\" even when significant (default 0)")
      ->check(CLI::Range(0.0, 1.0));
  cmp->add_option("--alpha", a.options.alpha,
                  "significance level of the U test (default 0.05, as compare.py)")
      ->check(CLI::Range(1e-9, 0.5));
  cmp->add_flag("--json", a.json, "JSON instead of tables");
  return cmp;
}

int run_compare(const CompareArgs& a) {
  const std::string& baseline = a.baseline;
  const std::string& candidate = a.candidate;
  CompareOptions options = a.options;
  options.families.insert(a.families.begin(), a.families.end());
  if (!options.filter.empty()) {
    try {
      std::regex check(options.filter, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw InputError("--filter '" + options.filter + "': not a regular expression: " + e.what());
    }
  }
  FitOptions fit_options = options_with(a.validate);
  Side b = read_side(baseline, fit_options), c = read_side(candidate, fit_options);
  Comparison cmp;
  cmp.options = options;
  const bool selecting = !options.filter.empty() || !options.families.empty();
  if (b.has_samples && c.has_samples) {
    // The constants are fitted on everything; the selection picks the benchmarks shown.
    std::vector<Sample> bs = select_samples(b.samples, options),
                        cs = select_samples(c.samples, options);
    if (selecting && bs.empty() && cs.empty()) {
      throw InputError("--filter/--family select no benchmark of " + baseline + " or " + candidate);
    }
    compare_samples(bs, cs, cmp);
  } else if (selecting) {
    throw InputError(
        "--filter and --family select benchmarks: both sides must be results, not "
        "model.json");
  }
  compare_constants(b.constants, c.constants, cmp, b.unidentified, c.unidentified);
  compare_network(b.constants, b.net_ranges, c.constants, c.net_ranges, cmp);
  compare_contexts(b.context, c.context, cmp);
  for (const std::string& w : cmp.warnings) {
    std::cerr << "warning: the two sides differ in " << w << "\n";
  }
  if (a.json) {
    auto j = comparison_json(cmp);
    j["forms"] = {{"baseline", form_name(b.constants.form)},
                  {"candidate", form_name(c.constants.form)}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "baseline: " << baseline << "\ncandidate: " << candidate << "\n";
    std::cout << "forms: baseline " << form_name(b.constants.form) << ", candidate "
              << form_name(c.constants.form) << "\n";
    std::cout << "\n" << comparison_report(cmp);
  }
  return 0;
}

}  // namespace batchcost
