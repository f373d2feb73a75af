// The GPU's clocks, power, temperature and throttle reasons through NVML, loaded at run time
// (libnvidia-ml.so.1 comes with the driver): a machine without it still runs every benchmark,
// with less context. Built only where nvml.h was found (BATCHCOST_HAVE_NVML).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace batchcost {

// One reading; a value NVML did not give (NVML_ERROR_NOT_SUPPORTED, ...) is empty, never 0: the
// context leaves it out rather than record a measurement that was not made.
struct GpuState {
  std::optional<double> sm_clock_mhz;
  std::optional<double> memory_clock_mhz;
  std::optional<double> power_w;
  std::optional<double> temperature_c;
  std::optional<std::uint64_t> throttle_reasons;  // NVML clocks event reason bits
};

class Nvml {
 public:
  // NVML for the GPU with this UUID ("GPU-…"), or nullptr with *why saying what was missing.
  static std::unique_ptr<Nvml> open(const std::string& uuid, std::string* why);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  GpuState read() const;
  std::string driver_version() const;
  double power_limit_w() const;
  double max_sm_clock_mhz() const;

 private:
  struct Impl;
  explicit Nvml(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchcost
