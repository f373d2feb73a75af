// NCCL communicators and the collective calls (see comms.h).
#include "collectives/comms.h"

#include <stdexcept>
#include <string>

#include "kernels/check.h"
#include "harness/gpu.h"
#include "kernels/nccl_check.h"
#include "core/collective_values.h"
#include "collectives/collective_kernels.h"

namespace batchcost::collective {

ncclDataType_t nccl_type(Dtype dtype) { return dtype == Dtype::bf16 ? ncclBfloat16 : ncclFloat32; }

ncclRedOp_t nccl_redop(RedOp redop) {
  switch (redop) {
    case RedOp::sum:
      return ncclSum;
    case RedOp::prod:
      return ncclProd;
    case RedOp::max:
      return ncclMax;
    case RedOp::min:
      return ncclMin;
    case RedOp::avg:
      return ncclAvg;
  }
  throw std::invalid_argument("nccl_redop: not a reduction operator");
}

std::unique_ptr<Communicators> Communicators::all_in_process(int ranks) {
  if (ranks < 1) throw std::invalid_argument("all_in_process: ranks must be >= 1");
  std::unique_ptr<Communicators> c(new Communicators);
  c->ranks_ = ranks;
  std::vector<int> devices(static_cast<std::size_t>(ranks));
  std::vector<ncclComm_t> comms(static_cast<std::size_t>(ranks), nullptr);
  for (int i = 0; i < ranks; ++i) devices[static_cast<std::size_t>(i)] = i;
  NCCL_CHECK(ncclCommInitAll(comms.data(), ranks, devices.data()));
  // Owned from here on: the destructor releases what exists if a stream cannot be made.
  for (int i = 0; i < ranks; ++i) {
    c->local_.push_back(LocalRank{i, i, comms[static_cast<std::size_t>(i)], nullptr});
  }
  for (LocalRank& r : c->local_) {
    CUDA_CHECK(cudaSetDevice(r.device));
    CUDA_CHECK(cudaStreamCreateWithFlags(&r.stream, cudaStreamNonBlocking));
  }
  return c;
}

std::unique_ptr<Communicators> Communicators::one_rank(int ranks, int rank, int device,
                                                       const ncclUniqueId& id) {
  if (ranks < 1 || rank < 0 || rank >= ranks) {
    throw std::invalid_argument("one_rank: rank " + std::to_string(rank) + " outside [0, " +
                                std::to_string(ranks) + ")");
  }
  std::unique_ptr<Communicators> c(new Communicators);
  c->ranks_ = ranks;
  CUDA_CHECK(cudaSetDevice(device));
  ncclComm_t comm = nullptr;
  NCCL_CHECK(ncclCommInitRank(&comm, ranks, id, rank));
  c->local_.push_back(LocalRank{rank, device, comm, nullptr});
  CUDA_CHECK(cudaStreamCreateWithFlags(&c->local_.back().stream, cudaStreamNonBlocking));
  return c;
}

void Communicators::synchronize() const {
  for (const LocalRank& r : local_) {
    CUDA_CHECK(cudaSetDevice(r.device));
    CUDA_CHECK(cudaStreamSynchronize(r.stream));
  }
}

Communicators::~Communicators() {
  for (const LocalRank& r : local_) {
    CUDA_CHECK_NOTHROW(cudaSetDevice(r.device));
    if (r.stream != nullptr) CUDA_CHECK_NOTHROW(cudaStreamSynchronize(r.stream));
  }
  // ncclCommFinalize may wait for the other ranks of the communicator: one thread finalizing
  // several of them must do it in one group, or the first would wait for the others forever.
  NCCL_CHECK_NOTHROW(ncclGroupStart());
  for (const LocalRank& r : local_) NCCL_CHECK_NOTHROW(ncclCommFinalize(r.comm));
  NCCL_CHECK_NOTHROW(ncclGroupEnd());
  for (const LocalRank& r : local_) {
    CUDA_CHECK_NOTHROW(cudaSetDevice(r.device));
    NCCL_CHECK_NOTHROW(ncclCommDestroy(r.comm));
    if (r.stream != nullptr) CUDA_CHECK_NOTHROW(cudaStreamDestroy(r.stream));
  }
}

RankBuffers rank_buffers(const Shape& shape, int rank, bool in_place, void* send_base,
                         void* recv_base) {
  if (!in_place) return RankBuffers{send_base, recv_base};
  auto* base = static_cast<char*>(recv_base);
  const std::size_t offset = in_place_offset_bytes(shape, rank);
  switch (shape.op) {
    case Op::all_gather:  // the input is the rank's chunk of the output
      return RankBuffers{base + offset, base};
    case Op::reduce_scatter:  // the output is the rank's chunk of the input
      return RankBuffers{base, base + offset};
    default:
      return RankBuffers{base, base};
  }
}

void enqueue_collective(const Shape& shape, Dtype dtype, int root, const LocalRank& r,
                        const RankBuffers& b) {
  const ncclDataType_t type = nccl_type(dtype);
  const ncclRedOp_t redop = nccl_redop(shape.redop);
  const std::size_t count = shape.count;  // elements, as every NCCL call takes them
  const int n = shape.ranks;
  switch (shape.op) {
    case Op::all_reduce:
      NCCL_CHECK(ncclAllReduce(b.send, b.recv, count, type, redop, r.comm, r.stream));
      return;
    case Op::all_gather:  // count: elements each rank sends
      NCCL_CHECK(ncclAllGather(b.send, b.recv, count, type, r.comm, r.stream));
      return;
    case Op::reduce_scatter:  // count: elements each rank receives
      NCCL_CHECK(ncclReduceScatter(b.send, b.recv, count, type, redop, r.comm, r.stream));
      return;
    case Op::broadcast:
      NCCL_CHECK(ncclBroadcast(b.send, b.recv, count, type, root, r.comm, r.stream));
      return;
    case Op::reduce:
      NCCL_CHECK(ncclReduce(b.send, b.recv, count, type, redop, root, r.comm, r.stream));
      return;
    case Op::all_to_all: {  // count: elements to and from each peer
      const std::size_t chunk = count * shape.elem_bytes;
      const auto* send = static_cast<const char*>(b.send);
      auto* recv = static_cast<char*>(b.recv);
      NCCL_CHECK(ncclGroupStart());
      for (int peer = 0; peer < n; ++peer) {
        const std::size_t at = static_cast<std::size_t>(peer) * chunk;
        NCCL_CHECK(ncclSend(send + at, count, type, peer, r.comm, r.stream));
        NCCL_CHECK(ncclRecv(recv + at, count, type, peer, r.comm, r.stream));
      }
      NCCL_CHECK(ncclGroupEnd());
      return;
    }
    case Op::send_recv:
      NCCL_CHECK(ncclGroupStart());
      NCCL_CHECK(ncclSend(b.send, count, type, (r.rank + 1) % n, r.comm, r.stream));
      NCCL_CHECK(ncclRecv(b.recv, count, type, (r.rank - 1 + n) % n, r.comm, r.stream));
      NCCL_CHECK(ncclGroupEnd());
      return;
  }
  throw std::invalid_argument("enqueue_collective: not a collective op");
}

void enqueue_all(const Communicators& comms, const Shape& shape, Dtype dtype, int root,
                 const std::vector<RankBuffers>& buffers) {
  const auto& local = comms.local();
  if (buffers.size() != local.size()) {
    throw std::invalid_argument("enqueue_all: one RankBuffers per local rank");
  }
  // One thread driving several ranks: without a group the first call would wait for the others.
  const bool group = local.size() > 1;
  if (group) NCCL_CHECK(ncclGroupStart());
  for (std::size_t i = 0; i < local.size(); ++i) {
    enqueue_collective(shape, dtype, root, local[i], buffers[i]);
  }
  if (group) NCCL_CHECK(ncclGroupEnd());
}

long long check_collective(const Communicators& comms, const Shape& shape, Dtype dtype,
                           bool in_place, int root, const std::vector<RankBuffers>& buffers) {
  const auto& local = comms.local();
  if (buffers.size() != local.size()) {
    throw std::invalid_argument("check_collective: one RankBuffers per local rank");
  }
  const std::size_t send_elems = shape.send_bytes / shape.elem_bytes;
  const std::size_t recv_elems = shape.recv_bytes / shape.elem_bytes;
  for (std::size_t i = 0; i < local.size(); ++i) {
    const LocalRank& r = local[i];
    CUDA_CHECK(cudaSetDevice(r.device));
    // Out of place the output is poisoned, so an element NCCL never wrote counts as wrong. In
    // place, all_gather's whole output is poisoned before the rank's chunk is filled with its
    // input; reduce_scatter's output and every other op's are the input itself.
    if (!in_place || shape.op == Op::all_gather) {
      launch_fill_value(buffers[i].recv, dtype, recv_elems, values::kPoison, r.stream);
    }
    launch_fill_input(const_cast<void*>(buffers[i].send), dtype, send_elems, shape.op, shape.redop,
                      shape.ranks, r.rank, 0, r.stream);
  }
  enqueue_all(comms, shape, dtype, root, buffers);
  std::vector<DeviceBuffer> counters;
  for (std::size_t i = 0; i < local.size(); ++i) {
    const LocalRank& r = local[i];
    CUDA_CHECK(cudaSetDevice(r.device));
    counters.emplace_back(sizeof(unsigned long long));
    auto* c = counters.back().get<unsigned long long>();
    CUDA_CHECK(cudaMemsetAsync(c, 0, sizeof *c, r.stream));
    launch_count_wrong(buffers[i].recv, dtype, recv_elems, shape.op, shape.redop, shape.ranks,
                       r.rank, root, shape.count, c, r.stream);
  }
  long long wrong = 0;
  for (std::size_t i = 0; i < local.size(); ++i) {
    const LocalRank& r = local[i];
    unsigned long long n = 0;
    CUDA_CHECK(cudaSetDevice(r.device));
    CUDA_CHECK(cudaMemcpyAsync(&n, counters[i].get(), sizeof n, cudaMemcpyDeviceToHost, r.stream));
    CUDA_CHECK(cudaStreamSynchronize(r.stream));
    wrong += static_cast<long long>(n);
  }
  for (std::size_t i = 0; i < local.size(); ++i) {  // counters are freed on their device
    CUDA_CHECK(cudaSetDevice(local[i].device));
    counters[i] = DeviceBuffer();
  }
  return wrong;
}

}  // namespace batchcost::collective
