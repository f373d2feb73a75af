// Choosing the cost model's form by held-out error (DESIGN.md): the paper's form ("epoch") is
// fitted by fit() (model/fit.h); the refined form (core/forms.h) refits P, W and the latencies
// together with the terms it holds, network constants kept from the epoch fit.
//
// Selection, in short: the fitted samples are split into k folds over shapes (every k-th sample
// by name); each fold is predicted by both forms fitted on the other folds. Terms are added one
// at a time (greedy forward selection): the candidate that lowers the held-out score most is
// kept if it lowers it by at least `min_gain` (relative), else selection stops. The score is the
// mean |log(predicted / measured)| over the held-out samples that have a compute or memory term.
// In-sample error never chooses a term. Deterministic: fixed folds, one thread, no random numbers.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/cost_model.h"
#include "core/sample.h"
#include "model/fit.h"

namespace batchcost {

// Which refined terms a fit uses (the values come from the fit).
struct TermSet {
  bool overlap = false, k_half = false, grouped = false;
  std::map<std::string, Tile> tile;  // per dtype
  bool saturating_sms = false;       // only with a tile: it needs the tile count
  bool l2 = false;                   // only with a tile: it needs the tile shape
  bool operator==(const TermSet&) const = default;
};
// "overlap + k_half + tile[fp8_e4m3]=128x128"; "none" when empty.
std::string term_set_name(const TermSet& terms);

// Fits the refined form with `terms` on samples[fit_idx], starting from `start` (an epoch fit:
// its P, W and latencies are refitted, its network kept). With `intervals`, every constant gets
// its 95% interval (robust residual scale, Student t), else low = high = value.
Constants fit_refined(const std::vector<Sample>& samples, const std::vector<size_t>& fit_idx,
                      const Constants& start, const TermSet& terms, int sm_count, bool intervals);

struct SelectOptions {
  int folds = 5;
  int sm_count = 0;  // SMs of the GPU (the context's sm_count); 0: no tile/wave term
  // The tiles to try, per dtype; empty: the Hopper ones (select.cc).
  std::vector<Tile> tile_candidates;
  double min_gain = 0.05;     // a term must lower the held-out score by 5% of itself
  // --form: the form to hold whatever the selection finds (both are still measured held out);
  // refined also keeps a term for any gain at all.
  std::optional<Form> force;
};

// One sample's held-out prediction under both forms, as predicted / measured (0: not priced).
struct HeldOutRow {
  std::string name, family, role;
  double measured_s = 0, epoch_ratio = 0, refined_ratio = 0;
};

struct Selection {
  Constants epoch;    // the paper's form, fitted by fit() on every fitted sample
  Constants refined;  // the refined form with the kept terms (possibly none), on the same samples
  Form selected = Form::kEpoch;
  TermSet terms;
  // Per family: k-fold predictions for fitted families, the full fits' predictions for
  // validation families (never fitted).
  std::map<std::string, HeldOutQuality> heldout;
  std::vector<HeldOutRow> rows;  // per sample fitted or validated, in the samples' order
  std::vector<Role> roles;
  std::vector<std::string> steps;  // the selection's decisions, for the report
  std::vector<std::string> notes;  // the epoch fit's notes
  FitResult full;                  // the epoch fit on every fitted sample: refusals, warnings,
                                   // identification
  const Constants& chosen() const { return selected == Form::kEpoch ? epoch : refined; }
};

// The table of held-out median and p90 per family for both forms.
std::string heldout_table(const std::map<std::string, HeldOutQuality>& heldout);

// Throws InputError (results.h) when no sample can be fitted.
Selection select_form(const std::vector<Sample>& samples, const FitOptions& options,
                      const SelectOptions& select = {});

// The selection's options for results with this (merged) context: the SMs of a wave from its
// sm_count where that is a plausible positive integer; everything else the defaults.
SelectOptions select_options_for(const nlohmann::json& context);

}  // namespace batchcost
