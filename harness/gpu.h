// The GPU half of the benchmark harness: the device and its context, buffers, and the two ways
// an operation is timed.
//
// How operations of a few microseconds are timed (measure_device). A CUDA event pair resolves
// about 0.5 µs, and an operation launched from the host after the previous one finished waits
// for the launch (2-5 µs): timing one small kernel between two events measures mostly the
// host. So each sample is a batch of operations, queued on the stream behind a blocking kernel
// that holds the GPU until the host has enqueued the whole batch (the method of nvbench's
// blocking kernel). When the host releases it, the GPU runs the batch back to back, the events
// around it time only device work, and the batch is long enough (the plan's batch: about
// 200 µs, up to 256 launches so the launch queue never fills while the GPU is held) that event
// resolution is below 0.5%. The time reported per iteration is the batch time over its
// operations; a repetition runs the plan's fixed number of samples (plan.h).
//
// If the blocking kernel times out (kBlockingTimeoutNs: the host took seconds to enqueue), the
// sample would include launch gaps: it is run again once, and a second time-out fails that
// benchmark alone. An op that may synchronize with the host inside its call (Plan::
// may_synchronize: a library call that could wait for the device) would hold the host until the
// time-out: where the warm-up batch times out twice, it is timed without the blocking kernel
// (label held=0), and so is every later benchmark of the same call.
//
// measure_host is for what the host observes: launch throughput, synchronize round trips. A
// sample is a batch of operations timed with the host's steady clock; the benchmark says what
// the batch ends with (a stream synchronize, usually) and declares that work too.
//
// The SM clock and throttle reasons (NVML) are read while the GPU is busy: during every timed
// batch on the device (after the host released it, so the reading is not timed), during an
// untimed batch after the samples on the host. Each reading is the throttle probe of its sample
// (harness.h: ThrottlePolicy): a throttled sample is discarded and taken again after a pause.
#pragma once

#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "harness/harness.h"

namespace batchcost {

class Nvml;

// The device every benchmark of a binary measures, opened by run_gpu_main.
class Gpu {
 public:
  // Opens device `index` and returns the context at the start of the run. Throws NoDevice when
  // no usable GPU exists (no driver, no device, index out of range).
  static nlohmann::json open(int index, const Options& opts);
  // The number of visible devices (--devices=all). Throws NoDevice as open() does.
  static int count();
  static Gpu& get();
  static nlohmann::json close();  // the context at the end of the run, with warnings

  int index() const { return index_; }
  const cudaDeviceProp& props() const { return props_; }
  std::int64_t l2_bytes() const { return props_.l2CacheSize; }
  int sm_count() const { return props_.multiProcessorCount; }
  const Options& options() const { return opts_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas();  // created on first use, bound to stream()

  // Throws OutOfDeviceMemory (a skip) unless `bytes` fit in free memory with a margin.
  void require_free(std::size_t bytes, const std::string& what) const;

  // Samples clocks and throttle reasons (NVML), while the GPU is busy: returns the SM clock in
  // MHz, 0 where NVML is unavailable. Remembered for the end-of-run warnings.
  double sample_state();
  // The throttle probe after a sample (MainSpec::throttle_probe): the reading sample_state() took
  // while the sample ran, or, where none was taken since the last probe (host timing), one taken
  // now; the reference is the device's default clock (cudaDevAttrClockRate). Empty without NVML.
  std::optional<ThrottleProbe> throttle_probe();

  // The blocking kernel's host-mapped flags.
  volatile int* release_flag() const { return release_; }
  int* timed_out_flag() const { return timed_out_; }

  ~Gpu();
  Gpu(const Gpu&) = delete;
  Gpu& operator=(const Gpu&) = delete;

 private:
  Gpu() = default;
  int index_ = 0;
  Options opts_;
  cudaDeviceProp props_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  volatile int* release_ = nullptr;
  int* timed_out_ = nullptr;
  std::unique_ptr<Nvml> nvml_;
  std::vector<double> clock_samples_;
  std::uint64_t reasons_seen_ = 0;
  double default_clock_mhz_ = 0;
  std::optional<ThrottleProbe> last_reading_;  // taken by sample_state, used by throttle_probe
};

// Device memory, released on destruction. Throws OutOfDeviceMemory when it does not fit.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  template <typename T = void>
  T* get() const {
    return static_cast<T*>(p_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
};

// Page-locked host memory (for host-device copies at full PCIe / NVLink-C2C speed). Gpu::open
// binds the process to the CPUs of the GPU's NUMA node where Linux says which they are, so the
// pages land on that node; numa_node() says where the first page is (-1: unknown).
class PinnedBuffer {
 public:
  explicit PinnedBuffer(std::size_t bytes);
  int numa_node() const;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  template <typename T = void>
  T* get() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_ = nullptr;
};

// A pair of CUDA events around a region of a stream.
class EventPair {
 public:
  EventPair();
  ~EventPair();
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  cudaEvent_t start() const { return start_; }
  cudaEvent_t stop() const { return stop_; }
  double elapsed_s() const;  // waits for stop

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Seconds the blocking kernel holds a stream at most before giving up.
inline constexpr std::uint64_t kBlockingTimeoutNs = 2'000'000'000;

// One device operation: enqueue the op on `stream`; `i` counts operations from 0 and selects
// the buffer set of a cold-cache rotation (i % sets).
using DeviceOp = std::function<void(cudaStream_t stream, std::int64_t i)>;

// Times `op` on the device as the plan says (see the file comment), then records the work
// (`actual` where the run found it differs from the plan's, e.g. a captured graph's node count),
// labels (timing=device added), the extra counters, batch, samples and the SM clock.
void measure_device(benchmark::State& state, const Plan& plan, const DeviceOp& op,
                    const std::optional<Work>& actual = std::nullopt,
                    const std::map<std::string, double>& extra = {});

// Times a host-observed batch: `op(i)` for the plan's batch of i, then `end_batch()`, with the
// host's steady clock; records per-op time, work, labels (timing=host added) and counters.
void measure_host(benchmark::State& state, const Plan& plan,
                  const std::function<void(std::int64_t)>& op, const std::function<void()>& end_batch,
                  const std::optional<Work>& actual = std::nullopt,
                  const std::map<std::string, double>& extra = {});

// run_main for a binary that measures the GPU: opens the device and records its context.
int run_gpu_main(int argc, char** argv, const std::string& program,
                 std::function<void(const Options&)> register_benchmarks);

}  // namespace batchcost
