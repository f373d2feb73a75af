// The GPU half of the benchmark harness (see gpu.h).
#include "bench/gpu.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "bench/check.h"
#include "kernels/kernels.h"
#ifdef BATCHCOST_HAVE_NVML
#include "bench/nvml.h"
#endif

namespace batchcost {

#ifndef BATCHCOST_HAVE_NVML
// Built without nvml.h: the context says so, and there are no clock samples.
class Nvml {};
#endif

namespace {

std::unique_ptr<Gpu> g_gpu;

// Device pointers to the blocking kernel's host-mapped flags.
volatile int* g_release_dev = nullptr;
int* g_timed_out_dev = nullptr;

// Kept free beyond a benchmark's own buffers: cuBLAS workspaces, NCCL, the CUDA context's growth.
constexpr std::size_t kMemoryMargin = std::size_t{512} << 20;

// Long enough for the host to enqueue a batch of 256 launches even when descheduled for a while;
// short enough that a stuck batch fails in well under a second.
constexpr std::uint64_t kBlockingTimeoutNs = 200'000'000;

#ifdef BATCHCOST_HAVE_NVML
// The NVML reading into the context as "<name><suffix>"; what NVML did not give is left out.
void add_state(nlohmann::json& ctx, const GpuState& s, const std::string& suffix) {
  auto put = [&](const char* name, const std::optional<double>& v) {
    if (v) ctx[name + suffix] = *v;
  };
  put("sm_clock_mhz", s.sm_clock_mhz);
  put("memory_clock_mhz", s.memory_clock_mhz);
  put("power_w", s.power_w);
  put("temperature_c", s.temperature_c);
  if (s.throttle_reasons) {
    ctx["throttle_reasons" + suffix] = describe_throttle_reasons(*s.throttle_reasons);
  }
}
#endif

}  // namespace

nlohmann::json Gpu::open(int index, const Options& opts) {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    std::string hint = e == cudaErrorInsufficientDriver
                           ? ": no NVIDIA driver on this machine, or one older than the runtime"
                           : "";
    throw NoDevice(std::string("cudaGetDeviceCount: ") + cudaGetErrorName(e) + " (" +
                   cudaGetErrorString(e) + ")" + hint);
  }
  if (count == 0) throw NoDevice("the CUDA runtime sees no device");
  if (index < 0 || index >= count) {
    throw NoDevice("--device=" + std::to_string(index) + " but only " + std::to_string(count) +
                   " device(s) are visible");
  }
  std::unique_ptr<Gpu> gpu(new Gpu);
  gpu->index_ = index;
  gpu->opts_ = opts;
  CUDA_CHECK(cudaSetDevice(index));
  CUDA_CHECK(cudaGetDeviceProperties(&gpu->props_, index));
  CUDA_CHECK(cudaStreamCreateWithFlags(&gpu->stream_, cudaStreamNonBlocking));
  int* flags = nullptr;
  CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&flags), 2 * sizeof(int), cudaHostAllocMapped));
  flags[0] = flags[1] = 0;
  gpu->release_ = flags;
  gpu->timed_out_ = flags + 1;
  int* dev_flags = nullptr;
  CUDA_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&dev_flags), flags, 0));
  g_release_dev = dev_flags;
  g_timed_out_dev = dev_flags + 1;

  const cudaDeviceProp& p = gpu->props_;
  int driver = 0, runtime = 0, sm_khz = 0, mem_khz = 0, cublas_v[3] = {};
  CUDA_CHECK(cudaDriverGetVersion(&driver));
  CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  CUDA_CHECK(cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, index));
  CUDA_CHECK(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, index));
  CUBLAS_CHECK(cublasGetProperty(MAJOR_VERSION, &cublas_v[0]));
  CUBLAS_CHECK(cublasGetProperty(MINOR_VERSION, &cublas_v[1]));
  CUBLAS_CHECK(cublasGetProperty(PATCH_LEVEL, &cublas_v[2]));
  char pci[32];
  std::snprintf(pci, sizeof pci, "%04x:%02x:%02x.0", p.pciDomainID, p.pciBusID, p.pciDeviceID);

  nlohmann::json ctx;
  ctx["gpu_name"] = p.name;
  ctx["gpu_uuid"] = format_gpu_uuid(reinterpret_cast<const unsigned char(&)[16]>(p.uuid.bytes));
  ctx["gpu_slug"] = gpu_slug(p.name);
  ctx["gpu_pci_bus_id"] = pci;
  ctx["compute_capability"] = std::to_string(p.major) + "." + std::to_string(p.minor);
  ctx["sm_count"] = p.multiProcessorCount;
  ctx["l2_bytes"] = p.l2CacheSize;
  ctx["memory_bytes"] = p.totalGlobalMem;
  ctx["memory_bus_bits"] = p.memoryBusWidth;
  ctx["sm_clock_mhz_max"] = sm_khz / 1000;
  ctx["memory_clock_mhz_max"] = mem_khz / 1000;
  ctx["cuda_driver"] = format_cuda_version(driver);
  ctx["cuda_runtime"] = format_cuda_version(runtime);
  ctx["cublas_version"] = std::to_string(cublas_v[0]) + "." + std::to_string(cublas_v[1]) + "." +
                          std::to_string(cublas_v[2]);
  ctx["batchcost_profile"] = opts.quick ? "quick" : "default";
  ctx["batchcost_cache"] = std::string(to_string(opts.cache));

#ifdef BATCHCOST_HAVE_NVML
  std::string why;
  gpu->nvml_ = Nvml::open(ctx["gpu_uuid"].get<std::string>(), &why);
  if (gpu->nvml_) {
    ctx["driver_version"] = gpu->nvml_->driver_version();
    if (double w = gpu->nvml_->power_limit_w(); w > 0) ctx["power_limit_w"] = w;
    add_state(ctx, gpu->nvml_->read(), "_start");
  } else {
    ctx["nvml"] = "unavailable: " + why;
  }
#else
  ctx["nvml"] = "unavailable: built without nvml.h";
#endif
  g_gpu = std::move(gpu);
  return ctx;
}

Gpu& Gpu::get() {
  if (!g_gpu) throw std::logic_error("Gpu::get() before Gpu::open()");
  return *g_gpu;
}

nlohmann::json Gpu::close() {
  nlohmann::json ctx = nlohmann::json::object();
  if (!g_gpu) return ctx;
  Gpu& g = *g_gpu;
#ifdef BATCHCOST_HAVE_NVML
  if (g.nvml_) {
    add_state(ctx, g.nvml_->read(), "_end");
    ctx["throttle_reasons_seen"] = describe_throttle_reasons(g.reasons_seen_);
    if (!g.clock_samples_.empty()) {
      auto [lo, hi] = std::minmax_element(g.clock_samples_.begin(), g.clock_samples_.end());
      ctx["sm_clock_mhz_min_after_benchmark"] = *lo;
      ctx["sm_clock_mhz_max_after_benchmark"] = *hi;
    }
  }
#endif
  ctx["warnings"] = clock_warnings(g.clock_samples_, g.reasons_seen_);
  g_gpu.reset();
  return ctx;
}

Gpu::~Gpu() {
  if (cublas_ != nullptr) CUBLAS_CHECK_NOTHROW(cublasDestroy(cublas_));
  if (stream_ != nullptr) CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
  if (release_ != nullptr) CUDA_CHECK_NOTHROW(cudaFreeHost(const_cast<int*>(release_)));
}

cublasHandle_t Gpu::cublas() {
  if (cublas_ == nullptr) {
    CUBLAS_CHECK(cublasCreate(&cublas_));
    CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  }
  return cublas_;
}

void Gpu::require_free(std::size_t bytes, const std::string& what) const {
  std::size_t free = 0, total = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &total));
  if (bytes + kMemoryMargin > free) {
    throw OutOfDeviceMemory(what + " needs " + format_bytes(static_cast<double>(bytes)) + ", " +
                            format_bytes(static_cast<double>(free)) + " free of " +
                            format_bytes(static_cast<double>(total)));
  }
}

double Gpu::sample_state() {
#ifdef BATCHCOST_HAVE_NVML
  if (nvml_) {
    GpuState s = nvml_->read();
    reasons_seen_ |= s.throttle_reasons.value_or(0);
    if (s.sm_clock_mhz.value_or(0) <= 0) return 0;
    clock_samples_.push_back(*s.sm_clock_mhz);
    return *s.sm_clock_mhz;
  }
#endif
  return 0;
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  cudaError_t e = cudaMalloc(&p_, bytes);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear the (non-sticky) allocation error
    p_ = nullptr;
    throw OutOfDeviceMemory("cudaMalloc of " + format_bytes(static_cast<double>(bytes)) +
                            " failed: out of device memory");
  }
  CUDA_CHECK(e);
}

DeviceBuffer::~DeviceBuffer() {
  if (p_ != nullptr) CUDA_CHECK_NOTHROW(cudaFree(p_));
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (p_ != nullptr) CUDA_CHECK_NOTHROW(cudaFree(p_));
    p_ = o.p_;
    bytes_ = o.bytes_;
    o.p_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

PinnedBuffer::PinnedBuffer(std::size_t bytes) {
  cudaError_t e = cudaMallocHost(&p_, bytes);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    throw OutOfDeviceMemory("cudaMallocHost of " + format_bytes(static_cast<double>(bytes)) +
                            " failed: not enough page-locked host memory");
  }
  CUDA_CHECK(e);
}

PinnedBuffer::~PinnedBuffer() {
  if (p_ != nullptr) CUDA_CHECK_NOTHROW(cudaFreeHost(p_));
}

EventPair::EventPair() {
  CUDA_CHECK(cudaEventCreate(&start_));
  CUDA_CHECK(cudaEventCreate(&stop_));
}

EventPair::~EventPair() {
  CUDA_CHECK_NOTHROW(cudaEventDestroy(start_));
  CUDA_CHECK_NOTHROW(cudaEventDestroy(stop_));
}

double EventPair::elapsed_s() const {
  CUDA_CHECK(cudaEventSynchronize(stop_));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
  return static_cast<double>(ms) * 1e-3;
}

namespace {

// One sample: `ops` operations queued behind the blocking kernel, timed by events. Returns the
// batch's device time in seconds; sets *timed_out if the blocking kernel gave up waiting.
double run_device_batch(Gpu& g, const DeviceOp& op, const EventPair& ev, int ops,
                        std::int64_t& next, bool* timed_out) {
  cudaStream_t s = g.stream();
  *g.release_flag() = 0;
  *g.timed_out_flag() = 0;
  kernels::launch_blocking(g_release_dev, g_timed_out_dev, kBlockingTimeoutNs, s);
  try {
    CUDA_CHECK(cudaEventRecord(ev.start(), s));
    for (int k = 0; k < ops; ++k) op(s, next++);
    CUDA_CHECK(cudaEventRecord(ev.stop(), s));
  } catch (...) {
    // Not left holding the stream: the next benchmark's first batch would queue behind a kernel
    // that spins to its timeout and then reports it as that batch's.
    *g.release_flag() = 1;
    throw;
  }
  *g.release_flag() = 1;
  double t = ev.elapsed_s();
  *timed_out = *g.timed_out_flag() != 0;
  return t;
}

}  // namespace

void measure_device(benchmark::State& state, const DeviceOp& op, const Work& work, Labels labels,
                    DeviceTiming timing) {
  Gpu& g = Gpu::get();
  EventPair ev;
  std::int64_t next = 0;
  bool timed_out = false;
  // Warm-up. The first op runs on its own, not behind the blocking kernel: with lazy module
  // loading (CUDA's default) the first launch of a kernel may load its module and wait for the
  // device, which the held stream would turn into a timeout. Then a held batch (first touch,
  // clocks ramping) and a first estimate of one op.
  op(g.stream(), next++);
  CUDA_CHECK(cudaStreamSynchronize(g.stream()));
  run_device_batch(g, op, ev, 3, next, &timed_out);
  double estimate = run_device_batch(g, op, ev, 1, next, &timed_out);
  const int max_ops = std::max(1, timing.max_launches / std::max(1, timing.launches_per_op));
  const int ops = ops_per_sample(estimate, timing.target_sample_s, max_ops);

  double total_s = 0;
  std::int64_t iterations = 0;
  for (auto _ : state) {
    bool late = false;
    double t = run_device_batch(g, op, ev, ops, next, &late) / ops;
    timed_out = timed_out || late;
    state.SetIterationTime(t);
    total_s += t;
    ++iterations;
  }
  if (timed_out) {
    fail(state,
         "the blocking kernel timed out before the host enqueued the batch: samples would include "
         "launch gaps");
    return;
  }
  labels["timing"] = "device";
  double clock = g.sample_state();
  std::map<std::string, double> extra{{"ops_per_sample", ops}};
  if (clock > 0) extra["sm_clock_mhz"] = clock;
  record(state, work, labels, iterations > 0 ? total_s / static_cast<double>(iterations) : 0, extra);
}

void measure_host(benchmark::State& state, const std::function<void(std::int64_t)>& op, int ops,
                  const std::function<void()>& end_batch, const Work& work, Labels labels) {
  using clock = std::chrono::steady_clock;
  std::int64_t next = 0;
  for (int k = 0; k < std::min(ops, 8); ++k) op(next++);  // warm-up
  end_batch();
  double total_s = 0;
  std::int64_t iterations = 0;
  for (auto _ : state) {
    auto t0 = clock::now();
    for (int k = 0; k < ops; ++k) op(next++);
    end_batch();
    double t = std::chrono::duration<double>(clock::now() - t0).count() / ops;
    state.SetIterationTime(t);
    total_s += t;
    ++iterations;
  }
  labels["timing"] = "host";
  double sm_clock = Gpu::get().sample_state();
  std::map<std::string, double> extra{{"ops_per_sample", ops}};
  if (sm_clock > 0) extra["sm_clock_mhz"] = sm_clock;
  record(state, work, labels, iterations > 0 ? total_s / static_cast<double>(iterations) : 0, extra);
}

int run_gpu_main(int argc, char** argv, const std::string& program,
                 std::function<void(const Options&)> register_benchmarks) {
  MainSpec spec;
  spec.program = program;
  spec.register_benchmarks = std::move(register_benchmarks);
  spec.start = [](const Options& opts) { return Gpu::open(opts.device, opts); };
  spec.finish = [] { return Gpu::close(); };
  spec.shutdown = [] { (void)Gpu::close(); };  // after --print_gpu; a no-op once closed
  return run_main(argc, argv, spec);
}

}  // namespace batchcost
