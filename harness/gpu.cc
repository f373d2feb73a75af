// The GPU half of the benchmark harness (see gpu.h).
#include "harness/gpu.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "kernels/kernels.h"
#ifdef BATCHCOST_HAVE_NVML
#include "harness/nvml.h"
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

// The hold keys (Plan::hold_key, or the benchmark's name) of ops found to synchronize inside
// their call: timed without the blocking kernel from then on.
std::set<std::string> g_unheld;

// The first line of a /sys file, "" where it cannot be read.
std::string read_sys_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

// Binds the process to the CPUs of the GPU's NUMA node, as `numactl --cpunodebind` would: the
// host side of launches runs there, and pages the process touches (pinned buffers) are placed
// there by Linux's default local allocation. Best effort: records what it found and did.
void bind_to_gpu_node(const std::string& pci_bus_id, nlohmann::json& ctx) {
  const std::string dir = "/sys/bus/pci/devices/" + pci_bus_id + "/";
  const std::string node = read_sys_line(dir + "numa_node");
  if (!node.empty()) {
    try {
      ctx["gpu_numa_node"] = std::stoi(node);  // -1: the platform has no NUMA information
    } catch (const std::exception&) {
    }
  }
  const std::string cpus = read_sys_line(dir + "local_cpulist");
  if (cpus.empty()) {
    ctx["host_cpu_binding"] = "unchanged: " + dir + "local_cpulist not readable";
    return;
  }
  try {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : parse_cpu_list(cpus)) {
      if (c < CPU_SETSIZE) CPU_SET(c, &set);
    }
    if (sched_setaffinity(0, sizeof set, &set) == 0) {
      ctx["host_cpu_binding"] = cpus;
    } else {
      ctx["host_cpu_binding"] = "unchanged: sched_setaffinity refused " + cpus;
    }
  } catch (const std::invalid_argument& e) {
    ctx["host_cpu_binding"] = std::string("unchanged: ") + e.what();
  }
}

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

// Other compute processes on the GPU compete with every measurement: the context lists them
// ("other_gpu_processes": pid, name, used_bytes) and stderr names them once.
void record_other_processes(nlohmann::json& ctx, const std::vector<GpuProcess>& others) {
  nlohmann::json list = nlohmann::json::array();
  std::string names;
  for (const GpuProcess& p : others) {
    nlohmann::json e{{"pid", p.pid}};
    if (!p.name.empty()) e["name"] = p.name;
    if (p.used_bytes) e["used_bytes"] = *p.used_bytes;
    list.push_back(std::move(e));
    names += (names.empty() ? "" : ", ") + std::string("pid ") + std::to_string(p.pid) +
             (p.name.empty() ? "" : " (" + p.name + ")");
  }
  ctx["other_gpu_processes"] = list;
  if (!others.empty()) {
    std::fprintf(stderr,
                 "warning: %zu other process(es) on this GPU: %s; their work competes with "
                 "every measurement\n",
                 others.size(), names.c_str());
  }
}
#endif

}  // namespace

int Gpu::count() {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    std::string hint = e == cudaErrorInsufficientDriver
                           ? ": no NVIDIA driver on this machine, or one older than the runtime"
                           : "";
    throw NoDevice(std::string("cudaGetDeviceCount: ") + cudaGetErrorName(e) + " (" +
                   cudaGetErrorString(e) + ")" + hint);
  }
  if (count == 0) throw NoDevice("the CUDA runtime sees no device");
  return count;
}

nlohmann::json Gpu::open(int index, const Options& opts) {
  const int count = Gpu::count();
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
  gpu->default_clock_mhz_ = sm_khz / 1000.0;
  ctx["memory_clock_mhz_max"] = mem_khz / 1000;
  ctx["cuda_driver"] = format_cuda_version(driver);
  ctx["cuda_runtime"] = format_cuda_version(runtime);
  ctx["cublas_version"] = std::to_string(cublas_v[0]) + "." + std::to_string(cublas_v[1]) + "." +
                          std::to_string(cublas_v[2]);
  ctx["batchcost_profile"] = opts.quick ? "quick" : "default";
  bind_to_gpu_node(pci, ctx);
  ctx["batchcost_cache"] = std::string(to_string(opts.cache));

#ifdef BATCHCOST_HAVE_NVML
  std::string why;
  gpu->nvml_ = Nvml::open(ctx["gpu_uuid"].get<std::string>(), &why);
  if (gpu->nvml_) {
    ctx["driver_version"] = gpu->nvml_->driver_version();
    if (double w = gpu->nvml_->power_limit_w(); w > 0) ctx["power_limit_w"] = w;
    add_state(ctx, gpu->nvml_->read(), "_start");
    record_other_processes(ctx, gpu->nvml_->other_processes());
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
    GpuState s = nvml_->read_clock();
    reasons_seen_ |= s.throttle_reasons.value_or(0);
    last_reading_ = ThrottleProbe{s.sm_clock_mhz.value_or(0), s.throttle_reasons.value_or(0),
                                  default_clock_mhz_};
    if (s.sm_clock_mhz.value_or(0) <= 0) return 0;
    clock_samples_.push_back(*s.sm_clock_mhz);
    return *s.sm_clock_mhz;
  }
#endif
  return 0;
}

std::optional<ThrottleProbe> Gpu::throttle_probe() {
#ifdef BATCHCOST_HAVE_NVML
  if (!nvml_) return std::nullopt;
  if (!last_reading_) (void)sample_state();
  std::optional<ThrottleProbe> p = last_reading_;
  last_reading_.reset();
  return p;
#else
  return std::nullopt;
#endif
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

int PinnedBuffer::numa_node() const {
  // get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR): the node of the page at the address. A syscall,
  // so that no libnuma is needed.
  constexpr unsigned long kMpolFNode = 1, kMpolFAddr = 2;
  int node = -1;
  if (p_ == nullptr ||
      syscall(SYS_get_mempolicy, &node, nullptr, 0UL, p_, kMpolFNode | kMpolFAddr) != 0) {
    return -1;
  }
  return node;
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

struct BatchResult {
  double seconds = 0;
  bool timed_out = false;
};

// One sample: `ops` operations, timed by events; held behind the blocking kernel unless `held`
// is false. Reads the SM clock into *sm_clock_mhz while the batch runs where it is not null.
BatchResult run_device_batch(Gpu& g, const DeviceOp& op, const EventPair& ev, int ops,
                             std::int64_t& next, bool held, double* sm_clock_mhz) {
  cudaStream_t s = g.stream();
  *g.release_flag() = 0;
  *g.timed_out_flag() = 0;
  if (held) kernels::launch_blocking(g_release_dev, g_timed_out_dev, kBlockingTimeoutNs, s);
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
  if (sm_clock_mhz != nullptr) *sm_clock_mhz = g.sample_state();  // the batch is running
  BatchResult r;
  r.seconds = ev.elapsed_s();
  r.timed_out = held && *g.timed_out_flag() != 0;
  return r;
}

std::string hold_key(const Plan& plan) { return plan.hold_key.empty() ? plan.name : plan.hold_key; }

}  // namespace

void measure_device(benchmark::State& state, const Plan& plan, const DeviceOp& op,
                    const std::optional<Work>& actual, const std::map<std::string, double>& extra) {
  Gpu& g = Gpu::get();
  EventPair ev;
  std::int64_t next = 0;
  bool held = g_unheld.count(hold_key(plan)) == 0;
  if (first_call(plan.name)) {
    // Warm-up, once per benchmark. The first op runs on its own, not behind the blocking kernel:
    // with lazy module loading (CUDA's default) the first launch of a kernel may load its module
    // and wait for the device, which the held stream would turn into a timeout. Then one held
    // batch (first touch, clocks ramping), which also finds out whether the op can be held.
    op(g.stream(), next++);
    CUDA_CHECK(cudaStreamSynchronize(g.stream()));
    BatchResult r = run_device_batch(g, op, ev, plan.batch, next, held, nullptr);
    if (r.timed_out) r = run_device_batch(g, op, ev, plan.batch, next, held, nullptr);
    if (r.timed_out) {
      if (!plan.may_synchronize) {
        return fail(state, "the blocking kernel timed out twice in the warm-up (" +
                               std::to_string(kBlockingTimeoutNs / 1'000'000'000) +
                               " s each) before the host enqueued the batch");
      }
      g_unheld.insert(hold_key(plan));
      held = false;
      std::fprintf(stderr,
                   "%s: the call waits for the device inside it (the blocking kernel timed out "
                   "twice): timed without it from now on (held=0)\n",
                   plan.name.c_str());
    }
  }
  // Every batch's reading (the SM clock recorded is the last sample's) is its throttle probe.
  double sm_clock = 0;
  SampleStats stats;
  const double mean = run_samples(
      state, plan,
      [&](int) -> std::optional<double> {
        double* clock = &sm_clock;
        BatchResult r = run_device_batch(g, op, ev, plan.batch, next, held, clock);
        if (r.timed_out)
          r = run_device_batch(g, op, ev, plan.batch, next, held, clock);  // once more
        if (r.timed_out) {
          fail(state, "the blocking kernel timed out twice (" +
                          std::to_string(kBlockingTimeoutNs / 1'000'000'000) +
                          " s each) before the host enqueued the batch: the samples would include "
                          "launch gaps");
          return std::nullopt;
        }
        return r.seconds / plan.batch;
      },
      &stats);
  if (!(mean > 0)) return;  // failed
  Labels labels = plan.labels;
  labels["timing"] = "device";
  if (!held) labels["held"] = "0";
  std::map<std::string, double> counters = extra;
  counters["ops_per_sample"] = plan.batch;
  for (const auto& [k, v] : sampling_counters(stats)) counters[k] = v;
  counters["sm_clock_mhz"] = sm_clock;
  record(state, actual ? *actual : plan.work, labels, mean, counters);
}

void measure_host(benchmark::State& state, const Plan& plan,
                  const std::function<void(std::int64_t)>& op, const std::function<void()>& end_batch,
                  const std::optional<Work>& actual, const std::map<std::string, double>& extra) {
  using clock = std::chrono::steady_clock;
  std::int64_t next = 0;
  if (first_call(plan.name)) {  // warm-up, once per benchmark
    for (int k = 0; k < std::min(plan.batch, 8); ++k) op(next++);
    end_batch();
  }
  SampleStats stats;
  const double mean = run_samples(
      state, plan,
      [&](int) -> std::optional<double> {
        auto t0 = clock::now();
        for (int k = 0; k < plan.batch; ++k) op(next++);
        end_batch();
        return std::chrono::duration<double>(clock::now() - t0).count() / plan.batch;
      },
      &stats);
  if (!(mean > 0)) return;
  // The clock, read during an untimed batch: reading it inside a timed one would add NVML's
  // call to the host's time.
  for (int k = 0; k < plan.batch; ++k) op(next++);
  const double sm_clock = Gpu::get().sample_state();
  end_batch();
  Labels labels = plan.labels;
  labels["timing"] = "host";
  std::map<std::string, double> counters = extra;
  counters["ops_per_sample"] = plan.batch;
  for (const auto& [k, v] : sampling_counters(stats)) counters[k] = v;
  counters["sm_clock_mhz"] = sm_clock;
  record(state, actual ? *actual : plan.work, labels, mean, counters);
}

int run_gpu_main(int argc, char** argv, const std::string& program,
                 std::function<void(const Options&)> register_benchmarks) {
  MainSpec spec;
  spec.program = program;
  spec.register_benchmarks = std::move(register_benchmarks);
  spec.start = [](const Options& opts) { return Gpu::open(opts.device, opts); };
  spec.finish = [] { return Gpu::close(); };
  spec.shutdown = [] { (void)Gpu::close(); };  // after --print_gpu; a no-op once closed
  spec.per_gpu = true;
  spec.device_count = [] { return Gpu::count(); };
  spec.throttle_probe = [] { return Gpu::get().throttle_probe(); };
  set_out_of_memory_reset([] { (void)cudaGetLastError(); });
  return run_main(argc, argv, spec);
}

}  // namespace batchcost
