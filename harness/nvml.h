// The GPU's clocks, power, temperature and throttle reasons through NVML, loaded at run time
// (libnvidia-ml.so.1 comes with the driver): a machine without it still runs every benchmark,
// with less context. Built only where nvml.h was found (BATCHCOST_HAVE_NVML).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// A compute process on the GPU (NVML's nvmlProcessInfo_t, and its name where NVML gives it).
struct GpuProcess {
  unsigned pid = 0;
  std::optional<double> used_bytes;  // empty where NVML does not say (NVML_VALUE_NOT_AVAILABLE)
  std::string name;                  // "" where NVML does not say
};

class Nvml {
 public:
  // NVML for the GPU with this UUID ("GPU-…"), or nullptr with *why saying what was missing.
  static std::unique_ptr<Nvml> open(const std::string& uuid, std::string* why);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // Everything GpuState holds (five NVML calls): for the context.
  GpuState read() const;
  // Only the SM clock and the throttle reasons (two calls): what a sample records, read once per
  // sample while its batch runs.
  GpuState read_clock() const;
  std::string driver_version() const;
  // The compute processes on the GPU other than this one (their work competes with every
  // measurement); empty where NVML cannot list them (a container may hide them).
  std::vector<GpuProcess> other_processes() const;
  double power_limit_w() const;
  double max_sm_clock_mhz() const;

 private:
  struct Impl;
  explicit Nvml(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchcost
