// The shipped stated constants (see stated.h).
#include "core/stated.h"

#include <cctype>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/input_file.h"

namespace batchcost {

// tools/stated/*.json, compiled in by cmake/BatchcostEmbedJson.cmake: (stem, text).
const std::vector<std::pair<std::string, std::string>>& shipped_stated_files();
// tools/calibrated/*.json, likewise.
const std::vector<std::pair<std::string, std::string>>& shipped_calibrated_files();

namespace {

// The file stem of a shipped name, or "".
std::string stem_of(std::string_view name) {
  if (name == "h100" || name == "h100-sxm") return "h100-sxm";
  if (name == "h200") return "h200";
  return "";
}

std::optional<NamedConstants> shipped(std::string_view name, std::string_view folder,
                                      std::string_view kind,
                                      const std::vector<std::pair<std::string, std::string>>& files,
                                      bool required) {
  const std::string stem = stem_of(name);
  if (stem.empty()) return std::nullopt;
  const std::string file = std::string(folder) + "/" + stem + ".json";
  for (const auto& [s, text] : files) {
    if (s != stem) continue;
    NamedConstants out;
    out.source = std::string(name) + " (" + std::string(kind) + ", " + file + ")";
    out.doc = parse_json_input(text, out.source);
    out.model = model_from_json(out.doc, out.source);
    return out;
  }
  if (required) throw std::logic_error(file + " is not compiled in");
  return std::nullopt;
}

}  // namespace

std::optional<NamedConstants> shipped_stated(std::string_view name) {
  return shipped(name, "tools/stated", "stated", shipped_stated_files(), true);
}

std::optional<NamedConstants> shipped_calibration(std::string_view name) {
  return shipped(name, "tools/calibrated", "calibrated", shipped_calibrated_files(), false);
}

std::string shipped_name_of_gpu(std::string_view gpu_slug_or_name) {
  std::string name;
  for (char c : gpu_slug_or_name) {
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto has = [&](std::string_view s) { return name.find(s) != std::string::npos; };
  if (has("pcie") || has("nvl") || has("gh200")) return "";
  if (has("h100")) return "h100";
  if (has("h200")) return "h200";
  return "";
}

std::string closest_stated(std::string_view gpu_slug) {
  return gpu_slug.substr(0, 4) == "h100" ? "h100" : "h200";
}

}  // namespace batchcost
