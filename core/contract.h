// The contract between the benchmarks and the fitter (DESIGN.md, "The contract"): the work
// counters a benchmark declares, the label it writes, and how a benchmark's name gives its
// family. The harness writes through these functions and the readers parse through them, so the
// two sides cannot drift apart. Host C++ only.
#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>

namespace batchcost {

// Work done by one operation (one benchmark iteration). Absent counters are 0.
struct Work {
  double flops = 0;        // floating-point operations (a multiply-add is 2)
  double bytes = 0;        // fewest HBM bytes read + written
  double net_bytes = 0;    // bytes each GPU receives over the network (or PCIe for h2d/d2h)
  double launches = 0;     // host cost: kernel or graph launches issued from the host, in
                           // host-timed samples (timing=host) only
  double kernels = 0;      // device cost: kernels run back to back in a device-timed batch (the
                           // fill, drain and prologue gap between kernels, no host in it)
  double graph_nodes = 0;  // kernel nodes executed inside CUDA graphs
  double syncs = 0;        // host waits for the device (stream/event synchronize)
  double collectives = 0;  // network operations (NCCL collectives, host-device copies)

  bool operator==(const Work&) const = default;
};

// The counter names of Work, in the order above, as they appear in the JSON.
inline constexpr std::array<std::string_view, 8> kWorkCounterNames = {
    "flops", "bytes", "net_bytes", "launches", "kernels", "graph_nodes", "syncs", "collectives"};

// Field access by counter name; throws std::invalid_argument for a name not in kWorkCounterNames.
double& work_field(Work& work, std::string_view counter);
double work_field(const Work& work, std::string_view counter);

// True when a Work declares nothing at all: such a benchmark cannot be priced by the model
// (for example the host cost of cudaEventRecord) and the fitter leaves it out.
bool declares_nothing(const Work& work);

// Rates derived from work and time, as the harness reports them: per-second values of flops,
// bytes and net_bytes. `seconds_per_iteration` must be positive and finite.
struct Rates {
  double flops_per_s = 0;
  double bytes_per_s = 0;
  double net_bytes_per_s = 0;
};
Rates derive_rates(const Work& work, double seconds_per_iteration);

// A label is space-separated key=value pairs ("dtype=bf16 cache=cold"). Keys and values are
// non-empty and contain neither spaces nor '='.
using Labels = std::map<std::string, std::string>;
// Keys in the order given by the map (sorted), so a label is stable across runs.
std::string format_label(const Labels& labels);
// Throws std::invalid_argument naming the offending token for a malformed label.
Labels parse_label(std::string_view label);

// The family of a benchmark: its name up to the first '/'.
std::string family_of(std::string_view benchmark_name);

}  // namespace batchcost
