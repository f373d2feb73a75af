// model.json (DESIGN.md, "model.json"): the fitted constants of one GPU with their intervals,
// the quality of the fit per family, the hardware context and the sources. Writing and reading.
// Host C++ only.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/cost_model.h"

namespace batchcost {

inline constexpr const char* kModelSchema = "batchcost.model/1";

struct ModelFile {
  nlohmann::json hardware = nlohmann::json::object();
  Constants constants;
  std::map<std::string, Quality> quality;
  std::vector<std::string> sources;
  std::vector<std::string> notes;  // constants left out by the fit, and why
};

// Rounds to `digits` significant digits, so that files and tables do not carry the last bits
// of a floating-point solution (and stay identical across compilers).
double round_significant(double value, int digits);

// The JSON document, keys in the order of DESIGN.md; values to 6 significant digits.
nlohmann::ordered_json model_to_json(const ModelFile& model);

// Reads a model.json document; throws InputError naming `source` and the offending key.
ModelFile model_from_json(const nlohmann::json& doc, const std::string& source);

// Writes `text` to `path` with write_file_atomic (model/atomic_file.h: a unique temporary file in
// the same folder, fsync, rename, removed on SIGINT and SIGTERM), so that a reader never sees a
// partial file and a failure leaves the old file as it was. Throws InputError naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace batchcost
