// The GPU's throttling as NVML reports it, and what a sample does about it (see harness.h).
#include <cstdio>
#include <string>
#include <vector>

#include "harness/harness.h"

namespace batchcost {

namespace {
// NVML's clocks event (throttle) reason bits, as nvml.h defines them.
struct ReasonBit {
  std::uint64_t bit;
  const char* name;
  bool slowdown;
};
constexpr ReasonBit kReasons[] = {
    {0x1, "gpu_idle", false},
    {0x2, "applications_clocks_setting", false},
    {0x4, "sw_power_cap", false},  // the normal state at full load
    {0x8, "hw_slowdown", true},
    {0x10, "sync_boost", false},
    {0x20, "sw_thermal_slowdown", true},
    {0x40, "hw_thermal_slowdown", true},
    {0x80, "hw_power_brake_slowdown", true},
    {0x100, "display_clock_setting", false},
    {0x200, "board_limit", true},  // nvmlClocksEventReasonBoardLimit (NVML 13)
    {0x400, "reliability", true},  // nvmlClocksEventReasonReliability (NVML 13)
};
}  // namespace

std::string describe_throttle_reasons(std::uint64_t mask) {
  if (mask == 0) return "none";
  std::string out;
  for (const auto& r : kReasons) {
    if (mask & r.bit) {
      if (!out.empty()) out += ',';
      out += r.name;
      mask &= ~r.bit;
    }
  }
  if (mask != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(mask));
    if (!out.empty()) out += ',';
    out += buf;
  }
  return out;
}

bool is_slowdown(std::uint64_t mask) {
  for (const auto& r : kReasons) {
    if (r.slowdown && (mask & r.bit)) return true;
  }
  return false;
}

std::vector<std::string> clock_warnings(const std::vector<double>& sm_clock_mhz_samples,
                                        std::uint64_t throttle_reasons_seen) {
  std::vector<std::string> out;
  if (!sm_clock_mhz_samples.empty()) {
    auto [lo, hi] = std::minmax_element(sm_clock_mhz_samples.begin(), sm_clock_mhz_samples.end());
    if (*lo < 0.95 * *hi) {
      char buf[240];
      std::snprintf(buf, sizeof buf,
                    "SM clock dropped during the run: %.0f MHz at its lowest against %.0f MHz at "
                    "its highest (more than 5%%)%s; results mix clock states",
                    *lo, *hi,
                    (throttle_reasons_seen & 0x4) ? ", with the software power cap active" : "");
      out.emplace_back(buf);
    }
  }
  if (is_slowdown(throttle_reasons_seen)) {
    out.push_back("the GPU throttled during the run: " +
                  describe_throttle_reasons(throttle_reasons_seen));
  }
  return out;
}

bool is_throttled(const ThrottleProbe& probe, double threshold) {
  if (!(threshold > 0)) return false;
  if (is_slowdown(probe.reasons)) return true;
  return probe.sm_clock_mhz > 0 && probe.reference_clock_mhz > 0 &&
         probe.sm_clock_mhz < threshold * probe.reference_clock_mhz;
}

ThrottleAction throttle_action(bool throttled, int retries_of_sample, double waited_s,
                               const ThrottlePolicy& policy) {
  if (!throttled) return ThrottleAction::kKeep;
  if (retries_of_sample < policy.max_retries_per_sample &&
      waited_s + policy.recovery_delay_s <= policy.max_wait_s) {
    return ThrottleAction::kRetry;
  }
  return ThrottleAction::kKeepThrottled;
}

}  // namespace batchcost
