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

std::set<std::string> constant_names(const Constants& c) {
  std::set<std::string> names;
  for (const auto& [dtype, e] : c.flops_per_s) names.insert("P[" + dtype + "]");
  if (c.hbm_bytes_per_s) names.insert("W");
  for (const auto& [kind, e] : c.latency_s) names.insert("λ[" + kind + "]");
  for (const auto& [key, r] : c.network) names.insert("network " + net_key_name(key));
  return names;
}

std::set<std::string> add_stated(Constants& base, const Constants& stated) {
  std::set<std::string> added;
  for (const auto& [dtype, e] : stated.flops_per_s) {
    if (base.flops_per_s.emplace(dtype, e).second) added.insert("P[" + dtype + "]");
  }
  if (!base.hbm_bytes_per_s && stated.hbm_bytes_per_s) {
    base.hbm_bytes_per_s = stated.hbm_bytes_per_s;
    added.insert("W");
  }
  for (const auto& [kind, e] : stated.latency_s) {
    if (base.latency_s.emplace(kind, e).second) added.insert("λ[" + kind + "]");
  }
  for (const auto& [key, r] : stated.network) {
    if (base.network.emplace(key, r).second) added.insert("network " + net_key_name(key));
  }
  return added;
}

std::set<std::string> unidentified_in(const nlohmann::json& doc) {
  std::set<std::string> out;
  if (!doc.is_object()) return out;
  const auto id = doc.find("identification");
  if (id == doc.end() || !id->is_object()) return out;
  for (const auto& [name, entry] : id->items()) {
    if (name.rfind("network ", 0) == 0 || !entry.is_object()) continue;
    if (entry.value("status", "identified") != "identified") out.insert(name);
  }
  return out;
}

std::vector<std::string> drop_constants(Constants& c, const std::set<std::string>& names) {
  std::vector<std::string> dropped;
  for (const std::string& name : names) {
    bool removed = false;
    if (name == "W" && c.hbm_bytes_per_s) {
      c.hbm_bytes_per_s.reset();
      removed = true;
    } else if (name.size() > 3 && name.back() == ']') {
      const size_t open = name.find('[');
      const std::string inner = name.substr(open + 1, name.size() - open - 2);
      if (name.rfind("P[", 0) == 0) removed = c.flops_per_s.erase(inner) > 0;
      if (name.rfind("λ[", 0) == 0) removed = c.latency_s.erase(inner) > 0;
    }
    if (removed) dropped.push_back(name);
  }
  return dropped;
}

Completion complete_from_stated(Constants& constants, nlohmann::json& hardware,
                                const std::set<std::string>& unidentified,
                                const ModelFile& stated) {
  Completion out;
  out.dropped = drop_constants(constants, unidentified);
  out.added = add_stated(constants, stated.constants);
  const bool has_memory = hardware.is_object() && hardware.contains("memory_bytes") &&
                          hardware["memory_bytes"].is_number() &&
                          hardware["memory_bytes"].get<double>() > 0;
  if (!has_memory && stated.hardware.contains("memory_bytes")) {
    if (!hardware.is_object()) hardware = nlohmann::json::object();
    hardware["memory_bytes"] = stated.hardware["memory_bytes"];
    out.memory_added = true;
  }
  return out;
}

std::optional<ShippedConstants> shipped_constants(std::string_view name) {
  std::optional<NamedConstants> stated = shipped_stated(name);
  if (!stated) return std::nullopt;
  ShippedConstants out;
  out.stated_file = *stated;
  std::optional<NamedConstants> calibrated = shipped_calibration(name);
  if (!calibrated) {
    out.constants = stated->model.constants;
    out.hardware = stated->model.hardware;
    out.stated = constant_names(out.constants);
    return out;
  }
  out.calibration = *calibrated;
  out.constants = calibrated->model.constants;
  out.hardware = calibrated->model.hardware;
  Completion c = complete_from_stated(out.constants, out.hardware, unidentified_in(calibrated->doc),
                                      stated->model);
  out.dropped = std::move(c.dropped);
  out.stated = std::move(c.added);
  return out;
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
