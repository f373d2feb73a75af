// bench/memory: the memory component W of the cost model. HBM bandwidth over sizes from 4 KiB
// to 4 GiB (as far as free memory allows): a copy through our kernel and through
// cudaMemcpyAsync, a read-only pass and a write-only pass; and page-locked host-to-device and
// device-to-host copies (op=h2d|d2h), which the model treats as a network operation (a fixed
// latency plus bytes over the link's bandwidth).
//
// Work: `bytes` counts what HBM must move: 2n for a copy (read n, write n), n for a read or a
// write; `kernels` = 1 (device-timed: the device's fixed cost per kernel, no host launch in it).
// The small sizes are latency-bound and inform that fixed cost. Every size is its own
// registration with its plan (plan.h), so --estimate prices the sweep without a GPU.
//
//   batchcost-memory --benchmark_out=results/<gpu>/memory.json
//   batchcost-memory --estimate=h200 [--quick]                     (the plan and its cost)
#include <cstdint>
#include <string>

#include "kernels/check.h"
#include "harness/gpu.h"
#include "kernels/kernels.h"

namespace batchcost {
namespace {

constexpr std::int64_t kMinBytes = std::int64_t{4} << 10;
constexpr std::int64_t kMaxBytes = std::int64_t{4} << 30;
// Page-locked host buffers beyond 1 GiB take seconds to allocate and add nothing: the link is
// saturated long before.
constexpr std::int64_t kMaxHostCopyBytes = std::int64_t{1} << 30;
constexpr std::uint32_t kSeed = 0x5eed1234u;

// `sets` copies of an n-byte buffer, side by side; set i % sets is used by operation i.
struct Rotation {
  Rotation(std::size_t n, std::int64_t sets_, const std::string& what)
      : bytes(n), sets(sets_) {
    Gpu::get().require_free(n * static_cast<std::size_t>(sets), what);
    arena = DeviceBuffer(n * static_cast<std::size_t>(sets));
  }
  std::uint8_t* at(std::int64_t i) const { return arena.get<std::uint8_t>() + (i % sets) * bytes; }
  std::size_t bytes;
  std::int64_t sets;
  DeviceBuffer arena;
};

std::int64_t sets_for(std::size_t bytes_per_set) {
  const Gpu& g = Gpu::get();
  return rotation_sets(static_cast<std::int64_t>(bytes_per_set), g.l2_bytes(), g.options().cache);
}

unsigned long long read_counter(const DeviceBuffer& counter) {
  unsigned long long v = 0;
  CUDA_CHECK(cudaMemcpyAsync(&v, counter.get(), sizeof v, cudaMemcpyDeviceToHost, Gpu::get().stream()));
  CUDA_CHECK(cudaStreamSynchronize(Gpu::get().stream()));
  return v;
}

// Bytes of p[0, n) that differ from the pattern.
unsigned long long pattern_mismatches(const void* p, std::size_t n) {
  cudaStream_t s = Gpu::get().stream();
  DeviceBuffer count(sizeof(unsigned long long));
  CUDA_CHECK(cudaMemsetAsync(count.get(), 0, sizeof(unsigned long long), s));
  kernels::launch_count_pattern_mismatches(p, n, kSeed, count.get<unsigned long long>(), s);
  return read_counter(count);
}

std::string mismatch_message(const char* what, unsigned long long bad, std::size_t n) {
  if (bad == 0) return "";
  return std::string(what) + ": " + std::to_string(bad) + " of " + std::to_string(n) +
         " bytes differ from the reference";
}

// Copies src -> dst with our kernel or with cudaMemcpyAsync.
template <bool kUseMemcpy>
void copy(benchmark::State& state, const Plan& plan, std::size_t n) {
  const char* name = kUseMemcpy ? "cudaMemcpyAsync" : "copy_kernel";
  const std::int64_t sets = sets_for(2 * n);
  Gpu::get().require_free(2 * n * static_cast<std::size_t>(sets), name);
  Rotation src(n, sets, name), dst(n, sets, name);
  cudaStream_t s = Gpu::get().stream();
  auto run = [&](cudaStream_t stream, std::int64_t i) {
    if constexpr (kUseMemcpy) {
      CUDA_CHECK(cudaMemcpyAsync(dst.at(i), src.at(i), n, cudaMemcpyDeviceToDevice, stream));
    } else {
      kernels::launch_copy(dst.at(i), src.at(i), n, stream);
    }
  };
  kernels::launch_fill_pattern(src.arena.get(), src.arena.bytes(), kSeed, s);
  std::string verdict = check_once(std::string(name) + "/" + std::to_string(n), [&] {
    CUDA_CHECK(cudaMemsetAsync(dst.at(0), 0xA5, n, s));
    run(s, 0);  // set 0 of src holds pattern bytes 0..n-1
    return mismatch_message(name, pattern_mismatches(dst.at(0), n), n);
  });
  if (!verdict.empty()) return fail(state, verdict);
  measure_device(state, plan, run);
}

void read(benchmark::State& state, const Plan& plan, std::size_t n) {
  Rotation src(n, sets_for(n), "read_kernel");
  DeviceBuffer sum(sizeof(unsigned long long));
  cudaStream_t s = Gpu::get().stream();
  kernels::launch_fill_pattern(src.arena.get(), src.arena.bytes(), kSeed, s);
  std::string verdict = check_once("read_kernel/" + std::to_string(n), [&] {
    CUDA_CHECK(cudaMemsetAsync(sum.get(), 0, sizeof(unsigned long long), s));
    kernels::launch_reference_byte_sum(src.at(0), n, sum.get<unsigned long long>(), s);
    unsigned long long expected = read_counter(sum);
    CUDA_CHECK(cudaMemsetAsync(sum.get(), 0, sizeof(unsigned long long), s));
    kernels::launch_read(src.at(0), n, sum.get<unsigned long long>(), s);
    unsigned long long got = read_counter(sum);
    return got == expected ? std::string()
                           : "read_kernel: byte sum " + std::to_string(got) + ", reference " +
                                 std::to_string(expected);
  });
  if (!verdict.empty()) return fail(state, verdict);
  measure_device(state, plan, [&](cudaStream_t stream, std::int64_t i) {
    kernels::launch_read(src.at(i), n, sum.get<unsigned long long>(), stream);
  });
}

void write(benchmark::State& state, const Plan& plan, std::size_t n) {
  Rotation dst(n, sets_for(n), "write_kernel");
  cudaStream_t s = Gpu::get().stream();
  constexpr std::uint8_t kValue = 0x5A;
  std::string verdict = check_once("write_kernel/" + std::to_string(n), [&] {
    CUDA_CHECK(cudaMemsetAsync(dst.at(0), 0xA5, n, s));
    kernels::launch_write(dst.at(0), n, kValue, s);
    DeviceBuffer count(sizeof(unsigned long long));
    CUDA_CHECK(cudaMemsetAsync(count.get(), 0, sizeof(unsigned long long), s));
    kernels::launch_count_value_mismatches(dst.at(0), n, kValue, count.get<unsigned long long>(), s);
    return mismatch_message("write_kernel", read_counter(count), n);
  });
  if (!verdict.empty()) return fail(state, verdict);
  measure_device(state, plan, [&](cudaStream_t stream, std::int64_t i) {
    kernels::launch_write(dst.at(i), n, kValue, stream);
  });
}

// Pinning runs at a few GB/s (the driver locks and maps every page), and Google Benchmark calls a
// benchmark once per repetition: one page-locked buffer, grown to the largest size asked for,
// serves every repetition and every size of h2d and d2h (a 1 GiB copy paid about 0.25 s of
// pinning per repetition before). Kept until the process ends, which frees it: freeing it from
// a static destructor would run after the CUDA runtime has shut down.
PinnedBuffer& pinned_host(std::size_t n) {
  static PinnedBuffer* buffer = nullptr;
  static std::size_t bytes = 0;
  if (buffer == nullptr || bytes < n) {
    delete buffer;
    buffer = nullptr;
    buffer = new PinnedBuffer(n);
    bytes = n;
  }
  return *buffer;
}

// Page-locked host <-> device. The check goes through the device: the pattern is made there,
// travels the link, and is counted there, so a 1 GiB check costs milliseconds, not seconds.
template <cudaMemcpyKind kKind>
void host_copy(benchmark::State& state, const Plan& plan, std::size_t n) {
  const bool h2d = kKind == cudaMemcpyHostToDevice;
  const char* op = h2d ? "h2d" : "d2h";
  Gpu::get().require_free(2 * n, op);
  PinnedBuffer& host = pinned_host(n);
  DeviceBuffer dev(n), scratch(n);
  cudaStream_t s = Gpu::get().stream();
  std::string verdict = check_once(std::string(op) + "/" + std::to_string(n), [&] {
    kernels::launch_fill_pattern(scratch.get(), n, kSeed, s);
    if (h2d) {
      CUDA_CHECK(cudaMemcpyAsync(host.get(), scratch.get(), n, cudaMemcpyDeviceToHost, s));
      CUDA_CHECK(cudaMemsetAsync(dev.get(), 0xA5, n, s));
      CUDA_CHECK(cudaMemcpyAsync(dev.get(), host.get(), n, cudaMemcpyHostToDevice, s));
      return mismatch_message("h2d", pattern_mismatches(dev.get(), n), n);
    }
    CUDA_CHECK(cudaMemsetAsync(host.get(), 0xA5, n, s));  // host memory is device-visible
    CUDA_CHECK(cudaMemcpyAsync(host.get(), scratch.get(), n, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaMemcpyAsync(dev.get(), host.get(), n, cudaMemcpyHostToDevice, s));
    return mismatch_message("d2h", pattern_mismatches(dev.get(), n), n);
  });
  if (!verdict.empty()) return fail(state, verdict);
  void* dst = h2d ? dev.get() : host.get();
  const void* src = h2d ? host.get() : dev.get();
  // Where the pinned pages are: a buffer on the far NUMA node crosses the CPU interconnect.
  Plan placed = plan;
  placed.labels["host_numa_node"] = std::to_string(host.numa_node());
  measure_device(
      state, placed,
      [&](cudaStream_t stream, std::int64_t) {
        CUDA_CHECK(cudaMemcpyAsync(dst, src, n, kKind, stream));
      },
      std::nullopt, {{"ranks", 1}});
}

// Pinning host memory runs at a few GB/s (the driver locks and maps every page): the set-up of
// the larger host copies, for the estimate, priced once per benchmark (at most what pinned_host
// pays: its buffer only grows, and d2h reuses what h2d pinned).
constexpr double kPinBytesPerS = 4e9;
// The reference GPU's L2 (H100 / H200: 50 MiB), which sizes the cold rotation in the plan.
constexpr std::int64_t kPlanL2Bytes = std::int64_t{50} << 20;

void register_memory(const Options& opts) {
  const auto sizes = pow2_sweep(kMinBytes, kMaxBytes, opts.quick);
  const Labels cache{{"cache", std::string(to_string(opts.cache))}};
  using Fn = void (*)(benchmark::State&, const Plan&, std::size_t);
  // `moved`: HBM bytes per op (2 for a copy); `working`: bytes a set holds (src and dst).
  auto device_sweep = [&](const char* name, Fn fn, double moved, std::int64_t working) {
    for (auto n : sizes) {
      const double bytes = static_cast<double>(n);
      const double sets = static_cast<double>(rotation_sets(working * n, kPlanL2Bytes, opts.cache));
      Plan plan{.work = Work{.bytes = moved * bytes, .kernels = 1},
                .labels = cache,
                // Filled once, poisoned and checked once.
                .setup_bytes = sets * bytes + 2 * bytes,
                .check_work = Work{.bytes = 2 * bytes, .kernels = 2}};
      add(std::string(name) + "/bytes:" + std::to_string(n), plan,
          [fn, n](benchmark::State& st, const Plan& p) { fn(st, p, static_cast<std::size_t>(n)); });
    }
  };
  device_sweep("memory/copy_kernel", copy<false>, 2, 2);
  device_sweep("memory/memcpy_d2d", copy<true>, 2, 2);
  device_sweep("memory/read_kernel", read, 1, 1);
  device_sweep("memory/write_kernel", write, 1, 1);
  auto host_sweep = [&](const char* name, const char* op, Fn fn) {
    for (auto n : sizes) {
      if (n > kMaxHostCopyBytes) continue;
      const double bytes = static_cast<double>(n);
      Plan plan{.work = Work{.net_bytes = bytes, .collectives = 1},
                .labels = {{"op", op}},
                .ranks = 1,
                .setup_s = bytes / kPinBytesPerS,
                .setup_bytes = 3 * bytes,
                .check_work = Work{.net_bytes = 2 * bytes, .collectives = 2}};
      add(std::string(name) + "/bytes:" + std::to_string(n), plan,
          [fn, n](benchmark::State& st, const Plan& p) { fn(st, p, static_cast<std::size_t>(n)); });
    }
  };
  host_sweep("memory/h2d", "h2d", host_copy<cudaMemcpyHostToDevice>);
  host_sweep("memory/d2h", "d2h", host_copy<cudaMemcpyDeviceToHost>);
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  return batchcost::run_gpu_main(argc, argv, "batchcost-memory", batchcost::register_memory);
}
