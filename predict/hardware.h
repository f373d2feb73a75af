// The one way from a `--hardware` argument to the constants predict and serve price with.
//
// A shipped name ("h100", "h200"; core/stated.h) where no such file exists gives the shipped
// calibration of that GPU type (tools/calibrated/, fitted from published measurements): the
// constants its identification marks identified, and for the rest (and what it lacks) the stated
// constants, each of those marked stated; the notes name both. Without a calibration, the
// stated constants alone.
// A model.json is read through the hardened reader (core/input_file.h: size and depth limits, a
// byte-order mark dropped, the file and the cause named) and core/model_file.h; a results folder
// is read as `batchcost fit` reads it (model/results.h) and fitted on the fly with the same form
// selection (model/select.h). `--stated FILE` then fills in what the calibration lacks, each name
// it adds marked unmeasured. Every error is an InputError naming the path.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/model_file.h"

namespace batchcost {

struct Hardware {
  std::string source;                                 // the path as given
  Constants constants;                                // what a prediction prices with
  nlohmann::json context = nlohmann::json::object();  // model.json's "hardware", or the results'
  std::set<std::string> unmeasured;                   // stated, not measured (predict.h's names)
  // P, W and λ constants the fit behind a model.json did not identify (its identification:
  // held at a bound, or no sample where the term is half the time), as weak as stated ones.
  std::set<std::string> unidentified;
  std::vector<std::string> notes;                     // for the report: how the constants were made
  std::vector<std::string> warnings;  // for stderr: what the reader and --stated found
  // The context's memory_bytes, where it is a positive number.
  std::optional<double> memory_bytes() const;
};

// `path` a model.json, a results folder or a shipped name; `stated` a model.json of stated
// constants, or "". Without `stated`, a model.json or folder of an H100 SXM or H200 SXM
// (core/stated.h shipped_name_of_gpu) is completed from the shipped stated constants of its GPU
// type, each constant added marked stated and named in a note, its memory size likewise (a P, W
// or λ the fit did not identify is replaced by the stated one the same way), unless
// `fill_from_gpu_type` is false (--no-stated: only what was measured, the missing named).
Hardware load_hardware(const std::string& path, const std::string& stated = "",
                       bool fill_from_gpu_type = true);

}  // namespace batchcost
