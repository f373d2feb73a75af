// NCCL communicators and the one call per op: the ranks this process drives (each with its
// device, communicator and stream), made either by ncclCommInitAll (one process over GPUs
// 0..n-1) or by ncclCommInitRank (one rank of many processes, the unique id handed over by the
// caller: MPI_Bcast in the MPI variant), and enqueue_collective, which maps an Op of ops.h onto
// NCCL's API with nccl-tests' buffers and in-place pointers.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <memory>
#include <vector>

#include "core/collective_ops.h"

namespace batchcost::collective {

ncclDataType_t nccl_type(Dtype dtype);
ncclRedOp_t nccl_redop(RedOp redop);

// One rank driven by this process.
struct LocalRank {
  int rank = 0;    // in the communicator
  int device = 0;  // CUDA device
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;  // non-blocking, on `device`
};

class Communicators {
 public:
  // Ranks 0..ranks-1 on devices 0..ranks-1 of this process (ncclCommInitAll).
  static std::unique_ptr<Communicators> all_in_process(int ranks);
  // Rank `rank` of `ranks`, on `device` (ncclCommInitRank): every rank calls it with the same id.
  static std::unique_ptr<Communicators> one_rank(int ranks, int rank, int device,
                                                 const ncclUniqueId& id);

  int ranks() const { return ranks_; }  // in the whole communicator
  const std::vector<LocalRank>& local() const { return local_; }
  void synchronize() const;  // every local stream

  // Waits for the streams, then finalizes (in one group: several communicators, one thread)
  // and destroys the communicators and streams.
  ~Communicators();
  Communicators(const Communicators&) = delete;
  Communicators& operator=(const Communicators&) = delete;

 private:
  Communicators() = default;
  int ranks_ = 0;
  std::vector<LocalRank> local_;
};

// The buffers of one rank for one run: `send` and `recv` as NCCL takes them.
struct RankBuffers {
  const void* send = nullptr;
  void* recv = nullptr;
};

// The send and receive pointers for a rank whose buffers are `send_base` and `recv_base`
// (out of place), or whose one buffer is `recv_base` (in place: nccl-tests' offsets, ops.h's
// in_place_offset_bytes).
RankBuffers rank_buffers(const Shape& shape, int rank, bool in_place, void* send_base,
                         void* recv_base);

// Enqueues one `shape.op` (shape.redop for reducing ops, `root` for rooted ones) for local rank `r`
// on its stream. Where one thread drives several ranks, the caller wraps the calls of all of them
// in ncclGroupStart/ncclGroupEnd. all_to_all and send_recv are ncclSend/ncclRecv pairs in a group
// of their own (nested groups are allowed), as nccl-tests' alltoall and sendrecv.
void enqueue_collective(const Shape& shape, Dtype dtype, int root, const LocalRank& r,
                        const RankBuffers& buffers);

// One collective on every local rank, in one NCCL group where there are several.
void enqueue_all(const Communicators& comms, const Shape& shape, Dtype dtype, int root,
                 const std::vector<RankBuffers>& buffers);

// The data check, nccl-tests' #wrong: fills every local rank's input with input_value, poisons
// its output where it does not overlap the input, runs one collective, and returns the number of
// elements of the local ranks' outputs that differ from expected_value (summed over local ranks;
// the MPI variant sums over processes). `buffers` as rank_buffers gives them, one per local rank.
long long check_collective(const Communicators& comms, const Shape& shape, Dtype dtype,
                           bool in_place, int root, const std::vector<RankBuffers>& buffers);

}  // namespace batchcost::collective
