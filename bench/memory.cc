// bench/memory: the memory component W of the cost model. HBM bandwidth over sizes from 4 KiB
// to 4 GiB (as far as free memory allows): a copy through our kernel and through
// cudaMemcpyAsync, a read-only pass and a write-only pass; and page-locked host-to-device and
// device-to-host copies (op=h2d|d2h), which the model treats as a network operation (a fixed
// latency plus bytes over the link's bandwidth).
//
// Work: `bytes` counts what HBM must move: 2n for a copy (read n, write n), n for a read or a
// write. The small sizes are latency-bound and inform the fixed cost per launch.
//
//   batchcost-memory --benchmark_out=results/<gpu>/memory.json     (about a minute)
//   batchcost-memory --quick                                       (seconds)
#include <cstdint>
#include <string>

#include "bench/check.h"
#include "bench/gpu.h"
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

Labels cache_label() { return {{"cache", std::string(to_string(Gpu::get().options().cache))}}; }

// Copies src -> dst with our kernel or with cudaMemcpyAsync.
template <bool kUseMemcpy>
void copy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
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
  measure_device(state, run, Work{.bytes = 2.0 * static_cast<double>(n), .launches = 1}, cache_label());
}

void read(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
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
  measure_device(
      state,
      [&](cudaStream_t stream, std::int64_t i) {
        kernels::launch_read(src.at(i), n, sum.get<unsigned long long>(), stream);
      },
      Work{.bytes = static_cast<double>(n), .launches = 1}, cache_label());
}

void write(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
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
  measure_device(
      state,
      [&](cudaStream_t stream, std::int64_t i) { kernels::launch_write(dst.at(i), n, kValue, stream); },
      Work{.bytes = static_cast<double>(n), .launches = 1}, cache_label());
}

// Page-locked host <-> device. The check goes through the device: the pattern is made there,
// travels the link, and is counted there, so a 1 GiB check costs milliseconds, not seconds.
template <cudaMemcpyKind kKind>
void host_copy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bool h2d = kKind == cudaMemcpyHostToDevice;
  const char* op = h2d ? "h2d" : "d2h";
  Gpu::get().require_free(2 * n, op);
  PinnedBuffer host(n);
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
  measure_device(
      state,
      [&](cudaStream_t stream, std::int64_t) {
        CUDA_CHECK(cudaMemcpyAsync(dst, src, n, kKind, stream));
      },
      Work{.net_bytes = static_cast<double>(n), .collectives = 1}, Labels{{"op", op}});
  state.counters["ranks"] = 1;
}

void register_memory(const Options& opts) {
  const auto sizes = pow2_sweep(kMinBytes, kMaxBytes, opts.quick);
  auto sweep = [&](const char* name, void (*fn)(benchmark::State&), std::int64_t max_bytes) {
    auto* b = add(name, fn)->ArgName("bytes");
    for (auto n : sizes) {
      if (n <= max_bytes) b->Arg(n);
    }
  };
  sweep("memory/copy_kernel", copy<false>, kMaxBytes);
  sweep("memory/memcpy_d2d", copy<true>, kMaxBytes);
  sweep("memory/read_kernel", read, kMaxBytes);
  sweep("memory/write_kernel", write, kMaxBytes);
  sweep("memory/h2d", host_copy<cudaMemcpyHostToDevice>, kMaxHostCopyBytes);
  sweep("memory/d2h", host_copy<cudaMemcpyDeviceToHost>, kMaxHostCopyBytes);
}

}  // namespace
}  // namespace batchcost

int main(int argc, char** argv) {
  return batchcost::run_gpu_main(argc, argv, "batchcost-memory", batchcost::register_memory);
}
