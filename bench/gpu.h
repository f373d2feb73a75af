// The GPU half of the benchmark harness: the device and its context, buffers, and the two ways
// an operation is timed.
//
// How operations of a few microseconds are timed (time_device). A CUDA event pair resolves
// about 0.5 µs, and an operation launched from the host after the previous one finished waits
// for the launch (2-5 µs): timing one small kernel between two events measures mostly the
// host. So each sample is a batch of operations, queued on the stream behind a blocking kernel
// that holds the GPU until the host has enqueued the whole batch (the method of nvbench's
// blocking kernel). When the host releases it, the GPU runs the batch back to back, the events
// around it time only device work, and the batch is long enough (>= 200 µs, up to 256 launches
// so the launch queue never fills while the GPU is held) that event resolution is below 0.5%.
// The time reported per iteration is the batch time over its operations. If the blocking kernel
// times out (the host took too long to enqueue), the sample would include launch gaps, and the
// benchmark fails rather than report it.
//
// time_host is for what the host observes: launch throughput, synchronize round trips. A sample
// is a batch of operations timed with the host's steady clock; the benchmark says what the
// batch ends with (a stream synchronize, usually) and declares that work too.
#pragma once

#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/harness.h"

namespace batchcost {

class Nvml;

// The device every benchmark of a binary measures, opened by run_gpu_main.
class Gpu {
 public:
  // Opens device `index` and returns the context at the start of the run. Throws NoDevice when
  // no usable GPU exists (no driver, no device, index out of range).
  static nlohmann::json open(int index, const Options& opts);
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

  // Samples clocks and throttle reasons (NVML) after a benchmark: returns the SM clock in MHz,
  // 0 where NVML is unavailable. Remembered for the end-of-run warnings.
  double sample_state();

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

// Page-locked host memory (for host-device copies at full PCIe / NVLink-C2C speed).
class PinnedBuffer {
 public:
  explicit PinnedBuffer(std::size_t bytes);
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

// One device operation: enqueue the op on `stream`; `i` counts operations from 0 and selects
// the buffer set of a cold-cache rotation (i % sets).
using DeviceOp = std::function<void(cudaStream_t stream, std::int64_t i)>;

struct DeviceTiming {
  int launches_per_op = 1;          // kernel launches one op enqueues (bounds the batch)
  double target_sample_s = 200e-6;  // batch length
  int max_launches = 256;           // launches queued behind the blocking kernel, at most
};

// Times `op` on the device (see the file comment), then records work, labels (timing=device is
// added) and counters: the rates, ops_per_sample and the SM clock after the run.
void measure_device(benchmark::State& state, const DeviceOp& op, const Work& work,
                    Labels labels, DeviceTiming timing = {});

// Times a host-observed batch: `op(i)` for i in [0, ops), then `end_batch()`, with the host's
// steady clock; records per-op time, work, labels (timing=host is added) and counters.
void measure_host(benchmark::State& state, const std::function<void(std::int64_t)>& op, int ops,
                  const std::function<void()>& end_batch, const Work& work, Labels labels);

// run_main for a binary that measures the GPU: opens the device and records its context.
int run_gpu_main(int argc, char** argv, const std::string& program,
                 std::function<void(const Options&)> register_benchmarks);

}  // namespace batchcost
