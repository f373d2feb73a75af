// The stated constants shipped in tools/stated/ (data-sheet peaks and planning latencies, each
// number with its source), compiled into every binary that links core, by name: "h100" (or
// "h100-sxm", tools/stated/h100-sxm.json) and "h200" (tools/stated/h200.json). They price an
// estimate without a GPU (--estimate=h100) and a prediction without a calibration
// (--hardware h100), and every constant of them is marked stated ("measured": false).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/model_file.h"

namespace batchcost {

struct NamedConstants {
  std::string source;  // "h200 (stated, tools/stated/h200.json)" or the file name
  ModelFile model;
  nlohmann::json doc;  // the model.json as read
};

// The shipped stated constants of `name` ("h100", "h100-sxm", "h200"); empty for any other name.
std::optional<NamedConstants> shipped_stated(std::string_view name);

// The shipped calibration of `name` (the same names): tools/calibrated/<stem>.json, a model.json
// that tools/calibrate.sh fits from the published reference sets of that GPU type (reference/);
// empty for any other name. Its constants are measured (by others, on their machines), but only
// those its "identification" marks identified stand for the GPU: predict/hardware.h drops the
// rest and fills them in from shipped_stated().
std::optional<NamedConstants> shipped_calibration(std::string_view name);

// Every constant's name as predict and model.json's lists write it: "P[bf16]", "W",
// "λ[launch]", "network all_reduce/8".
std::set<std::string> constant_names(const Constants& constants);
// Adds to `base` each constant of `stated` that `base` lacks; returns the names added.
std::set<std::string> add_stated(Constants& base, const Constants& stated);
// The P, W and λ constants a model.json's "identification" marks other than identified (a
// network regime's α or R is judged with its regime, not here).
std::set<std::string> unidentified_in(const nlohmann::json& model_doc);
// Removes from `c` each of the P, W and λ constants `names` names; returns those it removed.
std::vector<std::string> drop_constants(Constants& c, const std::set<std::string>& names);

// Completes a calibration from stated constants: drops the P, W and λ constants in
// `unidentified` (their values say nothing about the GPU), adds every constant of `stated` the
// calibration then lacks, and the memory size where `hardware` has none. The one way a
// calibration, shipped or fitted, is completed.
struct Completion {
  std::vector<std::string> dropped;  // unidentified, replaced
  std::set<std::string> added;       // now stated
  bool memory_added = false;
};
Completion complete_from_stated(Constants& constants, nlohmann::json& hardware,
                                const std::set<std::string>& unidentified, const ModelFile& stated);

// What a shipped name prices with: its calibration's identified constants, then the stated
// ones for the rest (`stated` names them, `dropped` the calibration's unidentified ones they
// replace); without a calibration, the stated constants alone (every one in `stated`).
struct ShippedConstants {
  NamedConstants calibration;  // empty source where the GPU type has none
  NamedConstants stated_file;
  Constants constants;
  nlohmann::json
      hardware;  // the calibration's, the memory size from the stated file if it lacks one
  std::set<std::string> stated;
  std::vector<std::string> dropped;
};
std::optional<ShippedConstants> shipped_constants(std::string_view name);

// The shipped name of the GPU type a results context names (its gpu_slug, else its gpu_name):
// "h100" for an H100 SXM, "h200" for an H200 SXM, "" for any other GPU (a PCIe or NVL part
// included: their clocks and links differ from the stated ones).
std::string shipped_name_of_gpu(std::string_view gpu_slug_or_name);

// The shipped constants closest to a GPU (its gpu_slug): h100* -> h100, everything else h200.
std::string closest_stated(std::string_view gpu_slug);

}  // namespace batchcost
