// NVML through dlopen (see nvml.h). Only the symbols below are used; each is looked up by name
// so the binary never links libnvidia-ml and runs where the driver lacks it.
#include "harness/nvml.h"

#include <dlfcn.h>
#include <nvml.h>
#include <unistd.h>

namespace batchcost {

struct Nvml::Impl {
  void* lib = nullptr;
  nvmlDevice_t device{};
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*clock_info)(nvmlDevice_t, nvmlClockType_t, unsigned*) = nullptr;
  nvmlReturn_t (*max_clock_info)(nvmlDevice_t, nvmlClockType_t, unsigned*) = nullptr;
  nvmlReturn_t (*power_usage)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*power_limit)(nvmlDevice_t, unsigned*) = nullptr;
  // Deprecated in NVML 13 for nvmlDeviceGetTemperatureV: either may be missing, neither is needed.
  nvmlReturn_t (*temperature)(nvmlDevice_t, nvmlTemperatureSensors_t, unsigned*) = nullptr;
  nvmlReturn_t (*temperature_v)(nvmlDevice_t, nvmlTemperature_t*) = nullptr;
  nvmlReturn_t (*reasons)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*driver_version)(char*, unsigned) = nullptr;
  // Optional: the _v3 entry point (drivers from R510 on), else _v2; both fill nvmlProcessInfo_t.
  nvmlReturn_t (*processes)(nvmlDevice_t, unsigned*, nvmlProcessInfo_t*) = nullptr;
  nvmlReturn_t (*process_name)(unsigned, char*, unsigned) = nullptr;
};

namespace {
template <typename F>
bool load(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  return out != nullptr;
}
}  // namespace

std::unique_ptr<Nvml> Nvml::open(const std::string& uuid, std::string* why) {
  auto impl = std::make_unique<Impl>();
  impl->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (impl->lib == nullptr) {
    *why = "libnvidia-ml.so.1 not loadable (" + std::string(dlerror()) + ")";
    return nullptr;
  }
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*by_uuid)(const char*, nvmlDevice_t*) = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  bool ok = load(impl->lib, "nvmlInit_v2", init) && load(impl->lib, "nvmlShutdown", impl->shutdown) &&
            load(impl->lib, "nvmlErrorString", error_string) &&
            load(impl->lib, "nvmlDeviceGetHandleByUUID", by_uuid) &&
            load(impl->lib, "nvmlDeviceGetClockInfo", impl->clock_info) &&
            load(impl->lib, "nvmlDeviceGetMaxClockInfo", impl->max_clock_info) &&
            load(impl->lib, "nvmlDeviceGetPowerUsage", impl->power_usage) &&
            load(impl->lib, "nvmlDeviceGetEnforcedPowerLimit", impl->power_limit) &&
            load(impl->lib, "nvmlSystemGetDriverVersion", impl->driver_version);
  if (!load(impl->lib, "nvmlDeviceGetTemperatureV", impl->temperature_v)) {
    (void)load(impl->lib, "nvmlDeviceGetTemperature", impl->temperature);
  }
  // Renamed in NVML 12.x ("clocks event reasons"); older drivers have only the old name.
  ok = ok && (load(impl->lib, "nvmlDeviceGetCurrentClocksEventReasons", impl->reasons) ||
              load(impl->lib, "nvmlDeviceGetCurrentClocksThrottleReasons", impl->reasons));
  if (!ok) {
    *why = "libnvidia-ml.so.1 lacks a needed symbol";
    dlclose(impl->lib);
    return nullptr;
  }
  if (!load(impl->lib, "nvmlDeviceGetComputeRunningProcesses_v3", impl->processes)) {
    (void)load(impl->lib, "nvmlDeviceGetComputeRunningProcesses_v2", impl->processes);
  }
  (void)load(impl->lib, "nvmlSystemGetProcessName", impl->process_name);
  if (nvmlReturn_t r = init(); r != NVML_SUCCESS) {
    *why = std::string("nvmlInit failed: ") + error_string(r);
    dlclose(impl->lib);
    return nullptr;
  }
  if (nvmlReturn_t r = by_uuid(uuid.c_str(), &impl->device); r != NVML_SUCCESS) {
    *why = "NVML does not know GPU " + uuid + ": " + error_string(r);
    impl->shutdown();
    dlclose(impl->lib);
    return nullptr;
  }
  return std::unique_ptr<Nvml>(new Nvml(std::move(impl)));
}

Nvml::Nvml(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Nvml::~Nvml() {
  impl_->shutdown();
  dlclose(impl_->lib);
}

GpuState Nvml::read() const {
  GpuState s = read_clock();
  unsigned v = 0;
  if (impl_->clock_info(impl_->device, NVML_CLOCK_MEM, &v) == NVML_SUCCESS) s.memory_clock_mhz = v;
  if (impl_->power_usage(impl_->device, &v) == NVML_SUCCESS) s.power_w = v / 1000.0;  // mW
  if (impl_->temperature_v != nullptr) {
    nvmlTemperature_t t{};
    t.version = nvmlTemperature_v1;
    t.sensorType = NVML_TEMPERATURE_GPU;
    if (impl_->temperature_v(impl_->device, &t) == NVML_SUCCESS) s.temperature_c = t.temperature;
  } else if (impl_->temperature != nullptr &&
             impl_->temperature(impl_->device, NVML_TEMPERATURE_GPU, &v) == NVML_SUCCESS) {
    s.temperature_c = v;
  }
  return s;
}

GpuState Nvml::read_clock() const {
  GpuState s;
  unsigned v = 0;
  unsigned long long mask = 0;
  if (impl_->clock_info(impl_->device, NVML_CLOCK_SM, &v) == NVML_SUCCESS) s.sm_clock_mhz = v;
  if (impl_->reasons(impl_->device, &mask) == NVML_SUCCESS) s.throttle_reasons = mask;
  return s;
}

std::string Nvml::driver_version() const {
  char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {};
  if (impl_->driver_version(buf, sizeof buf) != NVML_SUCCESS) return "";
  return buf;
}

std::vector<GpuProcess> Nvml::other_processes() const {
  std::vector<GpuProcess> out;
  if (impl_->processes == nullptr) return out;
  // NVML_ERROR_INSUFFICIENT_SIZE with the count needed: the list may grow between the calls.
  std::vector<nvmlProcessInfo_t> infos(16);
  unsigned count = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    count = static_cast<unsigned>(infos.size());
    nvmlReturn_t r = impl_->processes(impl_->device, &count, infos.data());
    if (r == NVML_SUCCESS) break;
    if (r != NVML_ERROR_INSUFFICIENT_SIZE) return out;
    infos.resize(count + 8);
    count = 0;
  }
  const auto self = static_cast<unsigned>(getpid());
  for (unsigned i = 0; i < count && i < infos.size(); ++i) {
    if (infos[i].pid == self) continue;
    GpuProcess p;
    p.pid = infos[i].pid;
    if (infos[i].usedGpuMemory != static_cast<unsigned long long>(NVML_VALUE_NOT_AVAILABLE)) {
      p.used_bytes = static_cast<double>(infos[i].usedGpuMemory);
    }
    char name[256] = {};
    if (impl_->process_name != nullptr &&
        impl_->process_name(p.pid, name, sizeof name) == NVML_SUCCESS) {
      p.name = name;
    }
    out.push_back(std::move(p));
  }
  return out;
}

double Nvml::power_limit_w() const {
  unsigned mw = 0;
  return impl_->power_limit(impl_->device, &mw) == NVML_SUCCESS ? mw / 1000.0 : 0;
}

double Nvml::max_sm_clock_mhz() const {
  unsigned v = 0;
  return impl_->max_clock_info(impl_->device, NVML_CLOCK_SM, &v) == NVML_SUCCESS ? v : 0;
}

}  // namespace batchcost
