// The shipped stated constants (see stated.h).
#include "core/stated.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include "core/input_file.h"

namespace batchcost {

// tools/stated/*.json, compiled in by cmake/BatchcostEmbedJson.cmake: (stem, text).
const std::vector<std::pair<std::string, std::string>>& shipped_stated_files();

std::optional<NamedConstants> shipped_stated(std::string_view name) {
  std::string stem;
  if (name == "h100" || name == "h100-sxm") stem = "h100-sxm";
  if (name == "h200") stem = "h200";
  if (stem.empty()) return std::nullopt;
  for (const auto& [s, text] : shipped_stated_files()) {
    if (s != stem) continue;
    NamedConstants out;
    out.source = std::string(name) + " (stated, tools/stated/" + stem + ".json)";
    out.doc = parse_json_input(text, out.source);
    out.model = model_from_json(out.doc, out.source);
    return out;
  }
  throw std::logic_error("tools/stated/" + stem + ".json is not compiled in");
}

std::string closest_stated(std::string_view gpu_slug) {
  return gpu_slug.substr(0, 4) == "h100" ? "h100" : "h200";
}

}  // namespace batchcost
