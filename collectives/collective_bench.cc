// collectives/: the network component of the cost model: NCCL collectives timed on the GPUs of
// one process (batchcost-collectives: ncclCommInitAll over GPUs 0..n-1, n = 1, 2, 4, ... up to
// --max_ranks) or on one GPU per MPI rank across processes and nodes (batchcost-collectives-mpi,
// built with BATCHCOST_COLLECTIVES_MPI: unique id by MPI_Bcast, ncclCommInitRank, rank 0 alone
// prints and writes the JSON). One rank is never registered: NCCL turns a 1-rank collective
// into a device copy (out of place) or nothing (in place), which would be fitted as a network.
// A machine with one GPU has nothing to run (exit 77, saying so).
//
//   batchcost-collectives --benchmark_out=results/<gpu>/collectives.json
//   mpirun -np 16 batchcost-collectives-mpi --benchmark_out=results/<gpu>/collectives-mpi.json
//
// Each benchmark (op, dtype, ranks, size, in or out of place; names and flags in
// bench_options.h):
//  1. allocates every local rank's buffers, or skips where one rank's do not fit (all ranks agree
//     to skip, or the others would wait in NCCL for it);
//  2. checks the data once (check_once; not with -c 0): inputs from input_value for the redop
//     (-o), receive buffers poisoned, one collective, then a kernel counts the elements that
//     differ from expected_value: nccl-tests' #wrong, summed over ranks. Non-zero fails the
//     benchmark; where the check cannot be exact (avg on a rank count that is not a power of
//     two) the benchmark is skipped unless -c 0;
//  3. warms up (once per benchmark, -w collectives), then times the plan's samples
//     (harness/plan.h). A sample is a batch of `ops` collectives (-n, or the plan's batch: about
//     1 ms, at most kMaxOpsPerSample) queued on every rank's stream behind the harness's blocking
//     kernel, which holds each stream until the host has enqueued the whole batch (harness/gpu.h):
//     the events around the batch on each stream then time device work, not host launch gaps.
//     Eager mode enqueues each collective of the batch as one NCCL group over the local ranks;
//     --graph captures the batch once per rank in a CUDA graph and replays it (as nccl-tests'
//     -G; one launch, so -n may reach kMaxOpsPerGraph). A sample whose blocking kernel timed out
//     runs once more; a second time-out fails that benchmark alone.
//  4. The time of a sample over ranks is nccl-tests' -a (default 1, the average over every rank;
//     0 rank 0's, 2 the minimum, 3 the maximum, the time after which every rank has its result):
//     reduced over local ranks, then over processes (MPI_Allreduce SUM, MIN, MAX or rank 0's
//     broadcast). The choice is the context's collective_time_over_ranks and each benchmark's
//     time_over_ranks label.
//  5. Rank 0 prints the nccl-tests-like table a row at a time, as each size's last benchmark
//     (last repetition) finishes, and nccl-tests' footer at the end (report.h). Under mpirun a
//     --benchmark_list_tests listing is printed once, by rank 0.
//
// What it registers: rank counts 2, 4, ... up to --max_ranks (default: the GPUs visible), or
// exactly -g N, x 7 ops x fp32, bf16 (x the -o redops for the reducing ops) x 28 sizes 8 B ..
// 1 GiB, in and out of place (in place only where it can be
// checked); --quick: 8 B .. 16 MiB by 16 (6 sizes). The MPI variant registers one rank count,
// the world's size. The sample counts are fixed by the plan (the same on every rank by
// construction) and names carry no iteration count.
//
// Every decision a rank makes alone (skip, fail, blocking-kernel timeout) is agreed over ranks
// first; an error that cannot be agreed (a failed CUDA or NCCL call on one rank) aborts every
// rank (MPI_Abort).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "harness/gpu.h"
#include "kernels/nccl_check.h"
#include "collectives/bench_options.h"
#include "collectives/comms.h"
#include "collectives/report.h"
#include "kernels/kernels.h"

#ifdef BATCHCOST_COLLECTIVES_MPI
#include <mpi.h>

#include "collectives/mpi_world.h"
#endif

namespace batchcost::collective {
namespace {

constexpr double kTargetSampleS = 1e-3;  // one sample's batch: event resolution is 0.05% of it
constexpr int kRoot = 0;
// Creating the communicators of one rank count (ncclCommInitAll / ncclCommInitRank), for the
// estimate: about a second over NVLink.
constexpr double kCommInitS = 1.0;

struct World {
  int rank = 0;  // this process's rank: 0 prints
  int size = 1;  // processes
  int nodes = 1;
  int device_count = 0;
  BenchOptions options;                    // the collective flags of this run
  std::unique_ptr<Communicators> comms;    // single process: the last rank count used
  int* flags = nullptr;                    // host-mapped, portable: [0] release, [1] timed out
  std::map<std::string, long long> wrong;  // #wrong by benchmark name
  TableStream table;                       // rank 0 prints its rows as they finish
};

World& world() {
  static World w;
  return w;
}

// ---- Agreement over processes (identity in one process) ----------------------------------------

double agree_max(double v) {
#ifdef BATCHCOST_COLLECTIVES_MPI
  return mpi::agree_max(v, MPI_COMM_WORLD);
#else
  return v;
#endif
}

// The sample's time over every rank of the communicator (-a), from this process's part.
double agree_time(TimeOverRanks how, RankTimes local) {
#ifdef BATCHCOST_COLLECTIVES_MPI
  return mpi::agree_time_over_ranks(how, local, MPI_COMM_WORLD);
#else
  return time_over_ranks(how, local);
#endif
}

long long agree_sum(long long v) {
#ifdef BATCHCOST_COLLECTIVES_MPI
  return mpi::agree_sum(v, MPI_COMM_WORLD);
#else
  return v;
#endif
}

// "" where every rank is ok, else the first failing rank's reason.
std::string agree_failure(bool ok, const std::string& reason) {
#ifdef BATCHCOST_COLLECTIVES_MPI
  return mpi::first_failure(ok, reason, MPI_COMM_WORLD);
#else
  return ok ? "" : reason;
#endif
}

// Returns when every process has reached it (nothing to wait for in one process).
void wait_for_every_process() {
#ifdef BATCHCOST_COLLECTIVES_MPI
  mpi::barrier(MPI_COMM_WORLD);
#endif
}

#ifdef BATCHCOST_COLLECTIVES_MPI
// An error one rank meets alone (a CUDA or NCCL call that fails, an exception outside the agreed
// decisions) cannot be agreed on: the others already wait for it inside NCCL or MPI, and a rank
// that left the benchmark would call the next benchmark's collectives against their current ones
// and hang the job. As nccl-tests does, the whole job stops, saying which rank and why.
[[noreturn]] void abort_every_rank(const std::string& what) {
  std::fprintf(stderr, "batchcost-collectives-mpi: rank %d: %s; aborting every rank\n",
               world().rank, what.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, kExitCheckFailed);
  std::abort();  // MPI_Abort does not return
}
#endif

// ---- One benchmark's resources -----------------------------------------------------------------

Communicators& communicators(int ranks) {
  World& w = world();
#ifndef BATCHCOST_COLLECTIVES_MPI
  // Registration runs every size of one rank count before the next, so one set is kept.
  if (!w.comms || w.comms->ranks() != ranks) {
    w.comms.reset();
    w.comms = Communicators::all_in_process(ranks);
  }
#endif
  if (!w.comms || w.comms->ranks() != ranks) {
    throw std::logic_error("no communicator of " + std::to_string(ranks) + " ranks");
  }
  return *w.comms;
}

struct RankState {
  DeviceBuffer send, recv;
  std::unique_ptr<EventPair> events;
  cudaGraphExec_t graph = nullptr;
  int device = 0;
  ~RankState() {
    CUDA_CHECK_NOTHROW(cudaSetDevice(device));  // events and graphs are released on their device
    if (graph != nullptr) CUDA_CHECK_NOTHROW(cudaGraphExecDestroy(graph));
  }
};

class Run {
 public:
  Run(const BenchSpec& spec, Communicators& comms)
      : spec_(spec),
        comms_(comms),
        shape_(shape_for_size(spec.op, spec.ranks, spec.size_bytes, dtype_size_bytes(spec.dtype))),
        ranks_(comms.local().size()) {
    shape_.redop = spec.redop;
  }

  // Allocates every local rank's buffers; the reason where they do not fit.
  std::string allocate() {
    const std::size_t send = spec_.in_place ? 0 : shape_.send_bytes;
    const std::size_t recv =
        spec_.in_place ? std::max(shape_.send_bytes, shape_.recv_bytes) : shape_.recv_bytes;
    try {
      for (std::size_t i = 0; i < ranks_.size(); ++i) {
        const LocalRank& r = comms_.local()[i];
        RankState& s = ranks_[i];
        s.device = r.device;
        CUDA_CHECK(cudaSetDevice(r.device));
        Gpu::get().require_free(send + recv,
                                spec_.name() + " on device " + std::to_string(r.device));
        s.send = DeviceBuffer(send);
        s.recv = DeviceBuffer(recv);
        ptrs_.push_back(rank_buffers(shape_, r.rank, spec_.in_place, s.send.get(), s.recv.get()));
        s.events = std::make_unique<EventPair>();
      }
    } catch (const OutOfDeviceMemory& e) {
      ptrs_.clear();
      ranks_.clear();
      return e.what();
    }
    return "";
  }

  void enqueue() { enqueue_all(comms_, shape_, spec_.dtype, kRoot, ptrs_); }

  // The data check: #wrong summed over every rank of the communicator.
  long long check() {
    return agree_sum(check_collective(comms_, shape_, spec_.dtype, spec_.in_place, kRoot, ptrs_));
  }

  void warm_up(int ops) {
    for (int k = 0; k < ops; ++k) enqueue();
    comms_.synchronize();
  }

  // Captures `ops` collectives per rank in one CUDA graph each (as nccl-tests' -G: thread-local
  // capture, so NCCL may allocate during capture).
  void capture(int ops) {
    const auto& local = comms_.local();
    try {
      for (const LocalRank& r : local) {
        CUDA_CHECK(cudaSetDevice(r.device));
        CUDA_CHECK(cudaStreamBeginCapture(r.stream, cudaStreamCaptureModeThreadLocal));
      }
      for (int k = 0; k < ops; ++k) enqueue();
      for (std::size_t i = 0; i < local.size(); ++i) {
        CUDA_CHECK(cudaSetDevice(local[i].device));
        cudaGraph_t graph = nullptr;
        CUDA_CHECK(cudaStreamEndCapture(local[i].stream, &graph));
        cudaError_t e = cudaGraphInstantiate(&ranks_[i].graph, graph, 0);
        CUDA_CHECK_NOTHROW(cudaGraphDestroy(graph));
        CUDA_CHECK(e);
      }
    } catch (...) {
      end_captures();  // a stream left capturing would fail every later benchmark
      throw;
    }
    // One untimed replay: the first launch of an executable graph uploads it in stream order, so
    // the first timed sample would include the upload.
    for (std::size_t i = 0; i < local.size(); ++i) {
      CUDA_CHECK(cudaSetDevice(local[i].device));
      CUDA_CHECK(cudaGraphLaunch(ranks_[i].graph, local[i].stream));
    }
    comms_.synchronize();
  }

  // One sample: `ops` collectives behind the blocking kernel on every local stream. Returns the
  // agreed time per collective; sets *late where any rank's blocking kernel timed out.
  double sample(int ops, bool use_graph, bool* late) {
    World& w = world();
    const auto& local = comms_.local();
    volatile int* release = w.flags;
    release[0] = 0;
    release[1] = 0;
    try {
      for (std::size_t i = 0; i < local.size(); ++i) {
        const LocalRank& r = local[i];
        CUDA_CHECK(cudaSetDevice(r.device));
        // Portable mapped memory under unified addressing: the host pointer is valid on every GPU.
        kernels::launch_blocking(w.flags, w.flags + 1, batchcost::kBlockingTimeoutNs, r.stream);
        CUDA_CHECK(cudaEventRecord(ranks_[i].events->start(), r.stream));
      }
      if (use_graph) {
        for (std::size_t i = 0; i < local.size(); ++i) {
          CUDA_CHECK(cudaSetDevice(local[i].device));
          CUDA_CHECK(cudaGraphLaunch(ranks_[i].graph, local[i].stream));
        }
      } else {
        for (int k = 0; k < ops; ++k) enqueue();
      }
      for (std::size_t i = 0; i < local.size(); ++i) {
        CUDA_CHECK(cudaSetDevice(local[i].device));
        CUDA_CHECK(cudaEventRecord(ranks_[i].events->stop(), local[i].stream));
      }
    } catch (...) {
      release[0] = 1;  // never leave the GPUs held by the blocking kernels
      throw;
    }
    // Every process has queued its batch before any GPU is released. Otherwise a process that
    // enqueues faster starts first, its first collective waits for the late peers, and its
    // events (hence the max over ranks) time the host skew between processes, not the network.
    wait_for_every_process();
    release[0] = 1;
    std::vector<double> times_s;
    for (std::size_t i = 0; i < local.size(); ++i) {
      CUDA_CHECK(cudaSetDevice(local[i].device));
      times_s.push_back(ranks_[i].events->elapsed_s() / ops);
    }
    const bool timed_out = release[1] != 0;
    *late = agree_sum(timed_out ? 1 : 0) > 0;
    // Every rank takes part in the agreement even where its time is unusable (not positive):
    // local_rank_times would throw on one rank alone and leave the others waiting.
    const bool usable = std::all_of(times_s.begin(), times_s.end(),
                                    [](double t) { return t > 0 && std::isfinite(t); });
    if (agree_sum(usable ? 0 : 1) > 0) return 0;  // run_samples fails a time that is not positive
    const TimeOverRanks how = w.options.time_over_ranks;
    return agree_time(how, local_rank_times(how, times_s, local.front().rank == 0));
  }

  const Shape& shape() const { return shape_; }

 private:
  // Ends the capture of every local stream still capturing, dropping what was captured.
  void end_captures() {
    for (const LocalRank& r : comms_.local()) {
      CUDA_CHECK_NOTHROW(cudaSetDevice(r.device));
      cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
      if (cudaStreamIsCapturing(r.stream, &status) != cudaSuccess ||
          status == cudaStreamCaptureStatusNone) {
        continue;
      }
      cudaGraph_t graph = nullptr;
      (void)cudaStreamEndCapture(r.stream, &graph);  // fails for an invalidated capture
      if (graph != nullptr) CUDA_CHECK_NOTHROW(cudaGraphDestroy(graph));
    }
    (void)cudaGetLastError();
  }

  BenchSpec spec_;
  Communicators& comms_;
  Shape shape_;
  std::vector<RankState> ranks_;
  std::vector<RankBuffers> ptrs_;  // one per local rank
};

// Rank 0 prints what the table has to print now (rows streamed as they finish).
void show(const std::string& text) {
  if (world().rank != 0 || text.empty()) return;
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

void run_collective(benchmark::State& state, const Plan& plan, const BenchSpec& spec) {
  World& w = world();
  const std::size_t count =
      shape_for_size(spec.op, spec.ranks, spec.size_bytes, dtype_size_bytes(spec.dtype)).count;
  TableEntry entry{spec.op, spec.dtype,    spec.ranks, kRoot, spec.graph, spec.size_bytes,
                   count,   spec.in_place, 0,          -1,    spec.redop, true};
  // Every call ends in exactly one table entry: a skip is one too, so that the row completes.
  auto skipped = [&](const std::string& why) {
    show(w.table.add(entry));
    skip(state, why);
  };
#ifndef BATCHCOST_COLLECTIVES_MPI
  if (spec.ranks > w.device_count) {
    return skipped(std::to_string(spec.ranks) + " ranks need " + std::to_string(spec.ranks) +
                   " GPUs, " + std::to_string(w.device_count) + " visible");
  }
#endif
  if (const std::string inexact = check_inexact_reason(spec.op, spec.redop, spec.ranks);
      w.options.check && !inexact.empty()) {
    return skipped(inexact + " (-c 0 times it unchecked)");
  }
  Run run(spec, communicators(spec.ranks));
  const std::string why = run.allocate();
  const std::string failure = agree_failure(why.empty(), why);
  if (!failure.empty()) return skipped(failure);
  entry.skipped = false;

  if (w.options.check) {
    const std::string verdict = check_once(spec.name(), [&] {
      const long long wrong = run.check();
      w.wrong[spec.name()] = wrong;
      return wrong == 0 ? std::string()
                        : "#wrong " + std::to_string(wrong) + " elements over " +
                              std::to_string(spec.ranks) + " ranks";
    });
    entry.wrong = w.wrong.count(spec.name()) ? w.wrong[spec.name()] : -1;
    if (!verdict.empty()) {
      show(w.table.add(entry));
      return fail(state, verdict);
    }
  }

  // Warm-up once per benchmark (every rank reaches the same decision: the names agree).
  if (first_call(plan.name)) run.warm_up(w.options.warmup_ops);
  const int ops = plan.batch;
  if (spec.graph) run.capture(ops);

  const double mean_s = run_samples(state, plan, [&](int) -> std::optional<double> {
    bool late = false;
    double t = run.sample(ops, spec.graph, &late);
    if (late) t = run.sample(ops, spec.graph, &late);  // once more; `late` is agreed by every rank
    if (late) {
      fail(state,
           "the blocking kernel timed out twice before the host enqueued the batch: samples "
           "would include launch gaps");
      return std::nullopt;
    }
    return t;
  });
  if (!(mean_s > 0)) {
    show(w.table.add(entry));  // failed while timing: the half shows "-"
    return;
  }
  Labels labels = plan.labels;
  labels["timing"] = "device";
  std::map<std::string, double> extra{{"ranks", spec.ranks},
                                      {"size_bytes", static_cast<double>(spec.size_bytes)},
                                      {"count", static_cast<double>(run.shape().count)},
                                      {"ops_per_sample", ops},
                                      {"samples", plan.samples}};
  extra["algbw"] = algbw_bytes_per_s(spec.size_bytes, mean_s) / kBytesPerGB;
  extra["busbw"] = busbw_bytes_per_s(spec.op, spec.ranks, spec.size_bytes, mean_s) / kBytesPerGB;
  record(state, plan.work, labels, mean_s, extra);
  entry.time_s = mean_s;
  show(w.table.add(entry));
}

// The plan of one collective: its work, labels and the set-up the estimate counts.
Plan collective_plan(const BenchSpec& spec, bool first_of_ranks, const BenchOptions& o) {
  const Shape shape =
      shape_for_size(spec.op, spec.ranks, spec.size_bytes, dtype_size_bytes(spec.dtype));
  const double net = net_bytes(spec.op, spec.ranks, spec.size_bytes);
  Plan p{.work = Work{.net_bytes = net, .collectives = 1},
         .labels = {{"op", std::string(op_name(spec.op))},
                    {"dtype", std::string(dtype_name(spec.dtype))},
                    {"inplace", spec.in_place ? "1" : "0"},
                    {"time_over_ranks", std::string(time_over_ranks_name(o.time_over_ranks))}},
         .ranks = spec.ranks,
         .batch = o.iters,  // -n; 0: chosen for about kTargetSampleS
         .max_batch = o.iters > 0 ? o.iters : kMaxOpsPerSample,
         .target_sample_s = kTargetSampleS,
         // Buffers filled and poisoned for the check, NCCL's first-use set-up.
         .setup_s = first_of_ranks ? kCommInitS : 0,
         .setup_bytes = 2.0 * static_cast<double>(shape.send_bytes + shape.recv_bytes),
         .check_work = Work{.bytes = o.check ? static_cast<double>(shape.recv_bytes) : 0,
                            .net_bytes = net * ((o.check ? 1 : 0) + o.warmup_ops),
                            .kernels = o.check ? 2.0 : 0.0,
                            .collectives = (o.check ? 1.0 : 0.0) + o.warmup_ops}};
  if (spec.graph) p.labels["graph"] = "1";
  if (reduces(spec.op)) p.labels["redop"] = std::string(redop_name(spec.redop));
  return p;
}

// ---- Start and finish --------------------------------------------------------------------------

void allocate_flags() {
  World& w = world();
  CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&w.flags), 2 * sizeof(int),
                           cudaHostAllocMapped | cudaHostAllocPortable));
  w.flags[0] = w.flags[1] = 0;
  int* dev = nullptr;
  CUDA_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&dev), w.flags, 0));
  if (dev != w.flags) {
    throw std::runtime_error(
        "mapped host memory has a different device address: no unified "
        "addressing, which the blocking kernel on several GPUs needs");
  }
}

void release_all() {
  World& w = world();
  w.comms.reset();
  if (w.flags != nullptr) CUDA_CHECK_NOTHROW(cudaFreeHost(w.flags));
  w.flags = nullptr;
}

std::string nccl_version() {
  int code = 0;
  NCCL_CHECK(ncclGetVersion(&code));
  return nccl_version_string(code);
}

nlohmann::json start(const Options& opts) {
  World& w = world();
  nlohmann::json ctx;
#ifdef BATCHCOST_COLLECTIVES_MPI
  const int local_rank = mpi::local_rank(MPI_COMM_WORLD);
  w.nodes = mpi::node_count(MPI_COMM_WORLD);
  // The rank's GPU: its position on its node, or the only GPU it sees when the launcher gives
  // each rank its own CUDA_VISIBLE_DEVICES (SLURM --gpus-per-task=1). --device is not used.
  int visible = 0;
  const int local = cudaGetDeviceCount(&visible) == cudaSuccess && visible == 1 ? 0 : local_rank;
  bool ok = true, no_device = false;
  std::string why;
  try {
    int count = 0;
    if (cudaGetDeviceCount(&count) == cudaSuccess && local >= count) {
      throw NoDevice("local rank " + std::to_string(local_rank) + " but " + std::to_string(count) +
                     " GPU(s) on its node: start at most one rank per GPU");
    }
    ctx = Gpu::open(local, opts);
    w.device_count = count;
    allocate_flags();
  } catch (const NoDevice& e) {
    ok = false;
    no_device = true;
    why = e.what();
  } catch (const std::exception& e) {
    ok = false;
    why = e.what();
  }
  const bool any_no_device = agree_sum(no_device ? 1 : 0) > 0;
  const std::string failure = agree_failure(ok, why);
  if (!failure.empty()) {
    if (any_no_device) throw NoDevice(failure);
    throw std::runtime_error(failure);
  }
  // The unique id: made by rank 0, handed to every rank.
  ncclUniqueId id{};
  ncclResult_t made = w.rank == 0 ? ncclGetUniqueId(&id) : ncclSuccess;
  const std::string id_failure = agree_failure(
      made == ncclSuccess, std::string("ncclGetUniqueId: ") + ncclGetErrorString(made));
  if (!id_failure.empty()) throw std::runtime_error(id_failure);
  mpi::broadcast_bytes(&id, sizeof id, 0, MPI_COMM_WORLD);
  try {
    w.comms = Communicators::one_rank(w.size, w.rank, local, id);
  } catch (const std::exception& e) {
    abort_every_rank(e.what());  // the other ranks wait in ncclCommInitRank
  }
  ctx["collective_launch"] = "mpi";
#else
  ctx = Gpu::open(opts.device, opts);
  CUDA_CHECK(cudaGetDeviceCount(&w.device_count));
  allocate_flags();
  ctx["collective_launch"] = "single_process";
#endif
  ctx["nccl_version"] = nccl_version();
  ctx["processes"] = w.size;
  ctx["nodes"] = w.nodes;
  ctx["gpus_visible"] = w.device_count;
  ctx["collective_mode"] = w.options.graph ? "graph" : "eager";
  // -a: what a collective's time means (nccl-tests' 0 rank0, 1 avg, 2 min, 3 max).
  ctx["collective_time_over_ranks"] = std::string(time_over_ranks_name(w.options.time_over_ranks));
  ctx["collective_check"] = w.options.check ? 1 : 0;
  ctx["collective_warmup_ops"] = w.options.warmup_ops;
  return ctx;
}

nlohmann::json finish() {
  show(world().table.finish());  // the rows not printed yet, then nccl-tests' footer
  release_all();
  return Gpu::close();
}

}  // namespace

int collective_main(int argc, char** argv, const char* program) {
  World& w = world();
  std::vector<std::string> args(argv, argv + argc);
  const bool quick = std::find(args.begin(), args.end(), "--quick") != args.end();
  const bool help = std::find(args.begin(), args.end(), "--help") != args.end();
  BenchOptions options;
  std::vector<BenchSpec> specs;
  bool two_ranks = false;  // a rank count of 2 or more: nothing to run then means no size fits
  const bool estimating = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a.rfind("--estimate=", 0) == 0;
  });
  try {
    options = take_collective_flags(args, quick);
#ifdef BATCHCOST_COLLECTIVES_MPI
    // nccl-tests' -g is GPUs per process (src/common.cu: nProcs * nThreads * nGpus ranks); this
    // binary drives one GPU per rank.
    if (options.exact_ranks > 1) {
      throw std::invalid_argument(
          "-g " + std::to_string(options.exact_ranks) +
          ": this binary drives one GPU per MPI rank (-g 1); the rank count is the launcher's "
          "(mpirun -np N, srun -n N), or batchcost-collectives -g N in one process");
    }
    // Every rank of the world; an estimate (run without mpirun) assumes --max_ranks ranks.
    const int world_ranks = estimating && options.max_ranks_given ? options.max_ranks : w.size;
    two_ranks = world_ranks >= 2;
    specs = collective_specs(options,
                             world_ranks >= 2 ? std::vector<int>{world_ranks} : std::vector<int>{});
#else
    if (!options.max_ranks_given && options.exact_ranks == 0) {
      // The GPUs visible here, without creating a context (listing works without a GPU); an
      // estimate prices a one-GPU box unless told otherwise.
      int visible = 0;
      if (estimating || cudaGetDeviceCount(&visible) != cudaSuccess) visible = 1;
      options.max_ranks = std::max(visible, 1);
    }
    two_ranks = !registered_rank_counts(options).empty();
    specs = collective_specs(options, registered_rank_counts(options));
#endif
    if (two_ranks && specs.empty()) {
      throw std::invalid_argument(
          "no size from " + std::to_string(options.sweep.min_bytes) + " to " +
          std::to_string(options.sweep.max_bytes) +
          " bytes (-b, -e) is a whole number of elements (times the ranks, for all_gather, "
          "reduce_scatter and all_to_all) of the ops and datatypes asked for: raise -e");
    }
  } catch (const std::invalid_argument& e) {
    if (w.rank == 0) std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
    return kExitUsage;
  }
  if (help && w.rank == 0) std::fputs(collective_flags_help().c_str(), stdout);
#ifdef BATCHCOST_COLLECTIVES_MPI
  // Google Benchmark answers --help with exit(0), which under MPI skips MPI_Finalize: mpirun then
  // reports an abnormal termination and exits 1. Print the harness's part here and return.
  if (help || std::find(args.begin(), args.end(), "-h") != args.end()) {
    if (w.rank == 0) {
      std::fputs(harness_help(program).c_str(), stdout);
      std::fputs("  (listed by batchcost-collectives --help, which takes the same ones)\n", stdout);
    }
    return kExitOk;
  }
#endif
#ifdef BATCHCOST_COLLECTIVES_MPI
  if (!mpi::all_equal(fingerprint(specs), MPI_COMM_WORLD)) {
    if (w.rank == 0) {
      std::fprintf(stderr,
                   "%s: the ranks would register different benchmarks: give every rank "
                   "the same flags\n",
                   program);
    }
    return kExitUsage;
  }
  if (const std::string flag = flag_that_diverges_ranks(args); !flag.empty()) {
    if (w.rank == 0) {
      std::fprintf(stderr,
                   "%s: %s makes every rank choose alone what it runs; the ranks would call "
                   "different collectives and hang\n",
                   program, flag.c_str());
    }
    return kExitUsage;
  }
#endif
  w.options = options;
  // Rows are flushed in registration order unless Google Benchmark shuffles it.
  w.table = TableStream(
      flag_that_diverges_ranks(args).rfind("--benchmark_enable_random_interleaving", 0) != 0);
  // Google Benchmark's --benchmark_list_tests writes the names to std::cout itself, past the
  // harness's silent reporter of the ranks other than 0: their stdout goes to /dev/null while
  // they list (only then: NCCL_DEBUG=INFO writes to stdout, and every rank's lines matter).
  const bool listing = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true";
  });
  if (w.rank != 0 && listing) {
    std::fflush(stdout);
    const int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) {
      (void)dup2(null_fd, STDOUT_FILENO);
      close(null_fd);
    }
  }

  MainSpec spec;
  spec.program = program;
  spec.primary = w.rank == 0;
  spec.nothing_to_run =
      "a collective needs at least 2 ranks (GPUs), and this run has 1; --max_ranks=N or -g N with "
      "N GPUs";
  spec.register_benchmarks = [specs, options](const Options& opts) {
    int ranks_seen = 0;
    for (const BenchSpec& s : specs) {
      const bool first_of_ranks = s.ranks != ranks_seen;
      ranks_seen = s.ranks;
      world().table.expect(RowKey{s.op, s.dtype, reduces(s.op) ? s.redop : RedOp::sum, s.ranks,
                                  kRoot, s.graph, s.size_bytes},
                           opts.policy.repetitions);
      add(s.name(), collective_plan(s, first_of_ranks, options),
          [s](benchmark::State& state, const Plan& p) {
#ifdef BATCHCOST_COLLECTIVES_MPI
            try {
              run_collective(state, p, s);
            } catch (const std::exception& e) {
              abort_every_rank(s.name() + ": " + e.what());
            }
#else
        run_collective(state, p, s);  // add() turns an exception into a failed benchmark
#endif
          });
    }
  };
  spec.start = start;
  spec.finish = finish;
  set_out_of_memory_reset([] { (void)cudaGetLastError(); });
  spec.shutdown = [] {
    release_all();
    (void)Gpu::close();
  };
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  return run_main(static_cast<int>(args.size()), cargs.data(), spec);
}

}  // namespace batchcost::collective

int main(int argc, char** argv) {
#ifdef BATCHCOST_COLLECTIVES_MPI
  MPI_Init(&argc, &argv);
  auto& w = batchcost::collective::world();
  w.rank = batchcost::collective::mpi::rank(MPI_COMM_WORLD);
  w.size = batchcost::collective::mpi::size(MPI_COMM_WORLD);
  const int rc = batchcost::collective::collective_main(argc, argv, "batchcost-collectives-mpi");
  MPI_Finalize();
  return rc;
#else
  return batchcost::collective::collective_main(argc, argv, "batchcost-collectives");
#endif
}
