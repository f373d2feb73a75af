// model.json (DESIGN.md, "model.json"): the fitted constants of one GPU with their intervals,
// the quality of the fit per family, the hardware context and the sources. Writing and reading.
// Host C++ only.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/cost_model.h"

namespace batchcost {

// Schema 2 adds the form (core/forms.h); schema 1 files are still read (as the epoch form).
inline constexpr const char* kModelSchema = "batchcost.model/2";
inline constexpr const char* kModelSchemaV1 = "batchcost.model/1";

struct ModelFile {
  nlohmann::json hardware = nlohmann::json::object();
  Constants constants;  // constants.form: the form predict() uses
  std::map<std::string, Quality> quality;
  std::vector<std::string> sources;
  std::vector<std::string> notes;  // constants left out by the fit, and why
  // How well the data determines each constant (fit.h, identification_json); written when not
  // empty, read back as it is.
  nlohmann::ordered_json identification = nlohmann::ordered_json::object();
  // Schema 2 (model/select.h): the paper's form fitted to the same samples, where `constants`
  // holds the refined one; each family's held-out error under both forms; the selection's steps.
  std::optional<Constants> epoch;
  std::map<std::string, HeldOutQuality> heldout;
  std::vector<std::string> selection;
};

// Rounds to `digits` significant digits, so that files and tables do not carry the last bits
// of a floating-point solution (and stay identical across compilers).
double round_significant(double value, int digits);

// The JSON document, keys in the order of DESIGN.md; values to 6 significant digits.
nlohmann::ordered_json model_to_json(const ModelFile& model);

// Reads a model.json document; throws InputError naming `source` and the offending key.
ModelFile model_from_json(const nlohmann::json& doc, const std::string& source);

// Writes `text` to `path` with write_file_atomic (core/atomic_file.h: a unique temporary file in
// the same folder, fsync, rename, removed on SIGINT and SIGTERM), so that a reader never sees a
// partial file and a failure leaves the old file as it was. Throws InputError naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace batchcost
