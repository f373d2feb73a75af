// Where a network regime was fitted, for the callers that price a collective with it (predict,
// compare): a constant used far outside the sizes it was fitted on is an extrapolation to mark.
// Header-only, host C++ only.
#pragma once

#include <cstddef>
#include <vector>

#include "core/cost_model.h"

namespace batchcost {

// The regime that is the lower envelope at `bytes` (per collective), as network_time() picks it;
// -1 when `regimes` is empty.
inline int envelope_regime(const std::vector<Regime>& regimes, double bytes) {
  int best = -1;
  double best_time = 0;
  for (std::size_t i = 0; i < regimes.size(); ++i) {
    const double t = regimes[i].latency_s.value + bytes / regimes[i].bytes_per_s.value;
    if (best < 0 || t < best_time) best = static_cast<int>(i), best_time = t;
  }
  return best;
}

// True when `bytes` lies within the regime's fitted size range widened by `factor` on each side
// ([bytes_min / factor, bytes_max * factor]), or when the regime has no stored range (n = 0).
inline bool regime_range_ok(const Regime& regime, double bytes, double factor = 4.0) {
  if (regime.n <= 0 || !(regime.bytes_max > 0)) return true;
  return bytes >= regime.bytes_min / factor && bytes <= regime.bytes_max * factor;
}

// The same for the regime network_time() uses at `bytes`.
inline bool regime_range_ok(const std::vector<Regime>& regimes, double bytes, double factor = 4.0) {
  const int i = envelope_regime(regimes, bytes);
  return i < 0 || regime_range_ok(regimes[static_cast<std::size_t>(i)], bytes, factor);
}

}  // namespace batchcost
