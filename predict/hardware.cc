// The one way from a --hardware argument to constants (see hardware.h).
#include "predict/hardware.h"

#include <filesystem>

#include "core/input_file.h"
#include "core/stated.h"
#include "model/results.h"
#include "model/select.h"
#include "predict/predict.h"

namespace batchcost {

std::optional<double> Hardware::memory_bytes() const {
  if (!context.is_object()) return std::nullopt;
  auto m = context.find("memory_bytes");
  if (m == context.end() || !m->is_number() || !(m->get<double>() > 0)) return std::nullopt;
  return m->get<double>();
}

Hardware load_hardware(const std::string& path, const std::string& stated) {
  Hardware hw;
  hw.source = path;
  std::optional<NamedConstants> shipped;
  if (!std::filesystem::exists(path)) shipped = shipped_stated(path);
  if (shipped) {
    // A shipped name: the stated constants, every one marked stated.
    hw.context = shipped->model.hardware;
    hw.constants = shipped->model.constants;
    hw.unmeasured = unmeasured_constants(shipped->doc, shipped->source);
    hw.notes.push_back(shipped->source +
                       ": data-sheet peaks and planning latencies, not a measurement of a GPU "
                       "(a model.json fitted to its results replaces them)");
  } else if (std::filesystem::is_directory(path)) {
    // A results folder: fitted here, as `batchcost fit` does.
    Inputs in = read_inputs({path});
    Selection fitted = select_form(in.samples, FitOptions{}, select_options_for(in.context));
    hw.warnings = in.warnings;
    hw.context = in.context;
    hw.constants = fitted.chosen();
    hw.notes.push_back(path + " is a results folder: its " + std::to_string(in.samples.size()) +
                       " samples were fitted on the fly, as batchcost fit does");
  } else {
    const nlohmann::json doc = parse_json_input(read_input_file(path), path);
    ModelFile m = model_from_json(doc, path);
    hw.context = m.hardware;
    hw.constants = m.constants;
    hw.unmeasured = unmeasured_constants(doc, path);
  }
  if (hw.constants.form == Form::kRefined) {
    hw.notes.push_back("priced in the refined form of " + path + " (core/forms.h)");
  }
  if (!stated.empty()) {
    const nlohmann::json doc = parse_json_input(read_input_file(stated), stated);
    const Constants s = model_from_json(doc, stated).constants;
    const std::set<std::string> added = add_stated(hw.constants, s);
    for (const std::string& n : constant_names(s)) {
      if (!added.count(n)) {
        hw.warnings.push_back(stated + ": " + n + " is measured in " + path +
                              "; the measured value is used");
      }
    }
    hw.unmeasured.insert(added.begin(), added.end());
  }
  return hw;
}

}  // namespace batchcost
