// What the MPI variant of the collective benchmark asks of MPI, and nothing of CUDA or NCCL, so
// that it is tested under `mpirun -np 2` on a machine without a GPU: where this rank sits (world
// rank, rank on its node, how many nodes), the broadcast that carries NCCL's unique id, and the
// agreements that keep every rank in step (times, wrong-element counts, decisions to skip, the
// list of benchmarks). Every function is collective over `comm`: all ranks call it, in the same
// order. Errors throw std::runtime_error naming the MPI call.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <string>

#include "collectives/bench_options.h"

namespace batchcost::collective::mpi {

int rank(MPI_Comm comm);
int size(MPI_Comm comm);
// The rank among the processes of this node (MPI_Comm_split_type, shared memory): the GPU this
// rank drives. Collective.
int local_rank(MPI_Comm comm);
// The number of nodes: ranks whose local_rank is 0. Collective.
int node_count(MPI_Comm comm);

// Copies `bytes` bytes at `data` from `root` to every rank (NCCL's unique id: 128 bytes).
void broadcast_bytes(void* data, std::size_t bytes, int root, MPI_Comm comm);

// The largest, smallest value and the sum over ranks: a sample's time over ranks (-a 3, 2, 1).
double agree_max(double value, MPI_Comm comm);
double agree_min(double value, MPI_Comm comm);
double agree_sum_double(double value, MPI_Comm comm);
// The sum over ranks: the #wrong of a data check.
long long agree_sum(long long value, MPI_Comm comm);
// True on every rank when `ok` is true on every rank.
bool agree_all(bool ok, MPI_Comm comm);
// True when every rank passed the same value (compares the minimum and maximum over ranks).
bool all_equal(unsigned long long value, MPI_Comm comm);
// -a: a sample's time over every rank of `comm`, from this process's part (local_rank_times):
// rank 0's broadcast (rank0; world rank 0 is communicator rank 0), MPI_Allreduce SUM of the value
// and of the ranks (avg), MIN, MAX. Every rank returns the same time.
double agree_time_over_ranks(TimeOverRanks how, RankTimes local, MPI_Comm comm);

// Returns once every rank has called it (MPI_Barrier).
void barrier(MPI_Comm comm);

// Why ranks disagree: the reason of the lowest rank whose `ok` is false ("" on every rank where
// all are ok). `reason` is cut to 255 bytes. Collective.
std::string first_failure(bool ok, const std::string& reason, MPI_Comm comm);

}  // namespace batchcost::collective::mpi
