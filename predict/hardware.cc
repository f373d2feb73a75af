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

namespace {

// A shipped calibration (core/stated.h shipped_constants): its identified constants, then the
// stated ones for the rest, each of those marked stated; the notes say which and why.
void load_calibration(Hardware& hw, const ShippedConstants& sc) {
  hw.context = sc.hardware;
  hw.constants = sc.constants;
  hw.unmeasured = sc.stated;
  std::string sets;
  const auto sources = sc.calibration.doc.find("sources");
  if (sources != sc.calibration.doc.end() && sources->is_array()) {
    for (const auto& s : *sources) {
      if (!s.is_string()) continue;
      const std::string folder = std::filesystem::path(s.get<std::string>()).parent_path().string();
      if (sets.find(folder) == std::string::npos) sets += (sets.empty() ? "" : ", ") + folder;
    }
  }
  hw.notes.push_back(sc.calibration.source +
                     ": fitted by tools/calibrate.sh from published measurements (" + sets + ")");
  for (const std::string& d : sc.dropped) {
    hw.notes.push_back(d +
                       " is not identified by those measurements (held at a bound, or no "
                       "sample where its term is half the time): its stated value is used");
  }
  if (!hw.unmeasured.empty()) {
    std::string names;
    for (const std::string& n : hw.unmeasured) names += (names.empty() ? "" : ", ") + n;
    hw.notes.push_back(sc.stated_file.source +
                       " fills in what no published set measures, marked *: " + names);
  }
}

// Completes `hw` from the stated constants of its GPU type, where the context names one.
void fill_from_gpu_type(Hardware& hw) {
  std::string gpu;
  for (const char* key : {"gpu_slug", "gpu_name"}) {
    if (gpu.empty() && hw.context.is_object() && hw.context.contains(key) &&
        hw.context[key].is_string()) {
      gpu = shipped_name_of_gpu(hw.context[key].get<std::string>());
    }
  }
  if (gpu.empty()) return;
  const std::optional<NamedConstants> stated = shipped_stated(gpu);
  // A constant the fit did not identify says nothing about the GPU (a λ held at the bound the
  // data gave it can be 100 times the truth): the stated value replaces it.
  const Completion c =
      complete_from_stated(hw.constants, hw.context, hw.unidentified, stated->model);
  for (const std::string& d : c.dropped) {
    hw.unidentified.erase(d);
    hw.notes.push_back(d + " is not identified by the fit of " + hw.source +
                       ": the stated value of its GPU type replaces it (--no-stated keeps it, "
                       "marked !)");
  }
  hw.unmeasured.insert(c.added.begin(), c.added.end());
  if (!c.added.empty()) {
    std::string names;
    for (const std::string& n : c.added) names += (names.empty() ? "" : ", ") + n;
    hw.notes.push_back(stated->source + ", the stated constants of the same GPU type, fill in " +
                       "what " + hw.source +
                       " does not measure, marked * (--no-stated: none): " + names);
  }
  if (c.memory_added) hw.notes.push_back("memory size from " + stated->source);
}

}  // namespace

Hardware load_hardware(const std::string& path, const std::string& stated, bool fill_from_type) {
  Hardware hw;
  hw.source = path;
  std::optional<NamedConstants> shipped;
  if (!std::filesystem::exists(path)) shipped = shipped_stated(path);
  if (shipped) {
    const ShippedConstants sc = *shipped_constants(path);
    if (!sc.calibration.source.empty()) {
      load_calibration(hw, sc);
    } else {
      // No calibration of this GPU type: the stated constants, every one marked stated.
      hw.context = sc.hardware;
      hw.constants = sc.constants;
      hw.unmeasured = sc.stated;
      hw.notes.push_back(shipped->source +
                         ": data-sheet peaks and planning latencies, not a measurement of a GPU "
                         "(a model.json fitted to its results replaces them)");
    }
  } else if (std::filesystem::is_directory(path)) {
    // A results folder: fitted here, as `batchcost fit` does.
    Inputs in = read_inputs({path});
    Selection fitted = select_form(in.samples, FitOptions{}, select_options_for(in.context));
    hw.warnings = in.warnings;
    hw.context = in.context;
    hw.constants = fitted.chosen();
    for (const Identification& id : fitted.full.identification) {
      if (id.status != "identified" && id.name.rfind("network ", 0) != 0) {
        hw.unidentified.insert(id.name);
      }
    }
    hw.notes.push_back(path + " is a results folder: its " + std::to_string(in.samples.size()) +
                       " samples were fitted on the fly, as batchcost fit does");
  } else {
    const nlohmann::json doc = parse_json_input(read_input_file(path), path);
    ModelFile m = model_from_json(doc, path);
    hw.context = m.hardware;
    hw.constants = m.constants;
    hw.unmeasured = unmeasured_constants(doc, path);
    hw.unidentified = unidentified_in(doc);
  }
  if (hw.constants.form == Form::kRefined) {
    hw.notes.push_back("priced in the refined form of " + path + " (core/forms.h)");
  }
  // A file of stated constants is not completed from other stated ones: only a measurement.
  const bool measured_file = !shipped && hw.unmeasured.empty();
  if (stated.empty() && fill_from_type && measured_file) fill_from_gpu_type(hw);
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
