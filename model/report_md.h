// `batchcost report`: one Markdown page per run or GPU, readable on a code-hosting site without
// any tool: the context, the fitted constants with their intervals and the files each came
// from, the fit's quality, the validation families and a held-out check, the comparison with
// another GPU where two are given, and the plots linked. Also the short plain-text summary the
// command prints. Fixed formatting and sorted rows: the same input gives the same bytes.
// Host C++ only.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/cost_model.h"
#include "model/fit.h"
#include "model/report.h"
#include "model/results.h"
#include "core/sample.h"

namespace batchcost {

// The held-out check: every third fitted sample of each series (family and the constant its
// size is priced at, in order of time: interior points, never the ends) is left out of a second
// fit, and the constants of that fit predict it.
struct HeldOut {
  std::vector<ValidationRow> rows;  // the held-out samples, worst first within a family
  std::vector<std::string> notes;   // why there is no check, or what the smaller fit lacked
};

// The indices of the samples the held-out check leaves out (sorted). Only fitted samples, in
// series of at least 3.
std::vector<size_t> held_out_indices(const std::vector<Sample>& samples,
                                     const std::vector<Role>& roles);
HeldOut held_out_check(const std::vector<Sample>& samples, const FitOptions& options);

// Per constant name as named_constants() gives it (a network regime under its operation,
// "all_reduce/8"): the files whose fitted samples are priced with it.
std::map<std::string, std::set<std::string>> constant_origins(const std::vector<Sample>& samples,
                                                              const std::vector<Role>& roles);
// The key of constant_origins for a named constant ("all_reduce/8 #2 latency" -> "all_reduce/8").
std::string origin_key(const std::string& constant_name);

// One run or GPU: what was read, the fit, and the checks.
struct RunReport {
  std::string path;    // as given
  std::string readme;  // the link to the folder's README.md from the page; "" when none
  Inputs inputs;
  FitResult fit;
  std::vector<ValidationRow> validation;  // every sample against the fitted constants
  HeldOut held_out;
};

// Reads `path` and fits it. Throws InputError (a bad file, nothing to fit).
RunReport make_run_report(const std::string& path, const FitOptions& options);

// The page. The first run is the baseline of the comparison with each further one. `plots`:
// links (relative to the page) of the figures to show.
std::string markdown_report(const std::vector<RunReport>& runs,
                            const std::vector<std::string>& plots);

// For the terminal: per run the constants with their intervals and origins, and the held-out
// and validation summaries.
std::string report_summary(const RunReport& run);

}  // namespace batchcost
