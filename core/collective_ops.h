// The table of collectives (DESIGN.md, "network"): for each NCCL operation the benchmark times,
// its buffers, its bytes, its bus-bandwidth factor, the bytes each GPU receives (`net_bytes`), how
// to fill its inputs and what its outputs must hold. Pure host functions with checked inputs: the
// GPU benchmark mirrors them, the nccl-tests reader (model/nccl_tests.h) prices logs with them,
// and the host tests check them for every op and 1..64 ranks. No CUDA, no NCCL.
//
// Conventions are nccl-tests' (src/*.cu, doc/PERFORMANCE.md), so that our numbers and theirs can
// be put side by side:
//   size    the "size" column: all_reduce, broadcast, reduce, send_recv: the buffer's bytes;
//           all_gather: the gathered output (count * n * elem); reduce_scatter: the input that is
//           scattered (count * n * elem); all_to_all: all bytes one rank sends (count * n * elem).
//   algbw   size / time.
//   busbw   algbw * bus_bandwidth_factor(op, n): 2(n-1)/n for all_reduce, (n-1)/n for all_gather,
//           reduce_scatter and all_to_all, 1 for broadcast, reduce and send_recv.
//   net_bytes = bus_bandwidth_factor * size: the bytes each GPU receives per operation, so that
//           net_bytes / time is nccl-tests' busbw, the model's receive bandwidth R[op, ranks].
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/dtype.h"

namespace batchcost::collective {

enum class Op {
  all_reduce,      // ncclAllReduce, with a RedOp
  all_gather,      // ncclAllGather
  reduce_scatter,  // ncclReduceScatter, with a RedOp
  all_to_all,      // ncclSend + ncclRecv to every peer inside one group (as nccl-tests' alltoall)
  broadcast,       // ncclBroadcast from a root
  reduce,          // ncclReduce, with a RedOp, to a root
  send_recv,       // ring neighbour: send to rank+1, receive from rank-1 (as nccl-tests' sendrecv)
};

inline constexpr std::array<Op, 7> kAllOps = {Op::all_reduce, Op::all_gather, Op::reduce_scatter,
                                              Op::all_to_all, Op::broadcast,  Op::reduce,
                                              Op::send_recv};

// "all_reduce", ... : the `op=` label value (DESIGN.md, the contract).
std::string_view op_name(Op op);
// The inverse of op_name; throws std::invalid_argument naming the unknown op.
Op parse_op(std::string_view name);
// nccl-tests' binary for the op: "all_reduce_perf", "alltoall_perf", "sendrecv_perf", ...
std::string_view nccl_tests_binary(Op op);
// The inverse of nccl_tests_binary (also accepts the "_mpi" builds' names, "all_reduce_perf_mpi");
// nullopt for a binary that is not in the table (gather_perf, hypercube_perf, ...).
std::optional<Op> op_from_nccl_tests_binary(std::string_view binary);

// True for the ops whose count is split across ranks (all_gather, reduce_scatter, all_to_all):
// their size must be a whole number of elements times the number of ranks.
bool divides_by_ranks(Op op);
// True for the ops that reduce (all_reduce, reduce_scatter, reduce): they take a RedOp.
bool reduces(Op op);
// True for the ops with a root rank (broadcast, reduce).
bool has_root(Op op);
// True where an in-place run can be checked. nccl-tests runs all_to_all and send_recv in place
// but does not check them (NCCL has no in-place send/receive): the benchmark skips inplace=1 there.
bool in_place_checkable(Op op);

// NCCL's reduction operators (ncclSum, ncclProd, ncclMin, ncclMax, ncclAvg), in nccl-tests'
// order (src/common.cu, test_opnames). ncclAvg needs NCCL 2.10.
enum class RedOp { sum, prod, max, min, avg };
inline constexpr std::array<RedOp, 5> kAllRedOps = {RedOp::sum, RedOp::prod, RedOp::max, RedOp::min,
                                                    RedOp::avg};
// nccl-tests' names: "sum", "prod", "max", "min", "avg" (its table's redop column).
std::string_view redop_name(RedOp redop);
// The inverse of redop_name; throws std::invalid_argument naming the supported ones.
RedOp parse_redop(std::string_view name);

// The data types the benchmark sweeps: two of core/dtype.h's compute types, named by its table
// (dtype_name: "fp32", "bf16", the `dtype=` label value; DESIGN.md uses these names, not NCCL's).
using Dtype = batchcost::Dtype;
inline constexpr std::array<Dtype, 2> kAllDtypes = {Dtype::fp32, Dtype::bf16};
std::size_t dtype_size_bytes(Dtype dtype);
// The one of kAllDtypes whose name is `name`; throws std::invalid_argument otherwise.
Dtype parse_dtype(std::string_view name);

// One operation on `ranks` ranks, as the benchmark allocates and calls it. Counts are elements,
// bytes are bytes; everything is per rank except size_bytes, which is nccl-tests' size column.
struct Shape {
  Op op = Op::all_reduce;
  int ranks = 1;
  std::size_t elem_bytes = 4;
  std::size_t count = 0;       // the count argument of the NCCL call (per peer for all_to_all)
  std::size_t send_bytes = 0;  // the send buffer of one rank
  std::size_t recv_bytes = 0;  // the receive buffer of one rank
  std::size_t size_bytes = 0;  // nccl-tests' "size" (see the file header)
  RedOp redop = RedOp::sum;    // the reducing ops' operator (ignored by the others)
};

// The shape for nccl-tests' size. Throws std::invalid_argument when ranks < 1, elem_bytes == 0,
// or size_bytes is not a whole number of elements (times ranks where divides_by_ranks(op)).
Shape shape_for_size(Op op, int ranks, std::size_t size_bytes, std::size_t elem_bytes);
// The shape for the count argument of the NCCL call. Throws std::invalid_argument as above.
Shape shape_for_count(Op op, int ranks, std::size_t count, std::size_t elem_bytes);

// In-place runs share one buffer per rank, the larger of the two: all_gather's input is the
// rank's chunk of its output (sendbuff = recvbuff + offset); reduce_scatter's output is the
// rank's chunk of its input (recvbuff = sendbuff + offset); every other op uses offset 0.
// Throws std::invalid_argument for a rank outside [0, ranks).
std::size_t in_place_offset_bytes(const Shape& shape, int rank);
// Bytes one rank allocates for an out-of-place run with a data check: send, receive, and a
// reference buffer as large as the receive buffer. The size sweep caps sizes with it.
// Saturates at SIZE_MAX instead of overflowing.
std::size_t memory_bytes_per_rank(const Shape& shape);

// nccl-tests' bus-bandwidth factor (see the file header). Throws std::invalid_argument for
// ranks < 1. With one rank all_reduce, all_gather, reduce_scatter and all_to_all move nothing
// over the network: their factor is 0.
double bus_bandwidth_factor(Op op, int ranks);

// 1 GB/s, as nccl-tests and the benchmark's `algbw` and `busbw` counters report it: 10^9 B/s.
inline constexpr double kBytesPerGB = 1e9;

// size / time. Throws std::invalid_argument unless time_s is positive and finite.
double algbw_bytes_per_s(std::size_t size_bytes, double time_s);
// algbw * bus_bandwidth_factor.
double busbw_bytes_per_s(Op op, int ranks, std::size_t size_bytes, double time_s);
// The bytes each GPU receives per operation: bus_bandwidth_factor * size (the `net_bytes` counter).
double net_bytes(Op op, int ranks, std::size_t size_bytes);

// ---- The data check --------------------------------------------------------------------------
//
// Every rank fills element i of its send buffer with input_value(op, redop, ranks, rank, i);
// after the operation element i of its receive buffer must equal expected_value(shape, rank, i,
// root). Every value and every partial result NCCL can form on the way (in whatever order its
// ring or tree combines ranks) is exact in fp32 and bf16 alike, so the check is an exact
// comparison, up to 1024 ranks and beyond:
//  - sum (and avg): values in {0, 1}, one hashed bit of (rank, index), on the "active" ranks of
//    the index, 0 on the others. Up to 256 ranks every rank is active; above, one rank in P (P a
//    power of two) is, so that no index has more than 256 terms: every partial sum is an integer
//    <= 256, exact in bf16's 8 significant bits;
//  - prod: 2 or 1 (2^bit) on at most 64 active ranks per index, 1 elsewhere: every partial
//    product is a power of two <= 2^64;
//  - min, max: integers in [-128, 127] on every rank (no arithmetic, any count is exact);
//  - avg: NCCL multiplies each input by 1/ranks, exact only where ranks is a power of two:
//    check_is_exact says so for the others (the benchmark then skips them unless run with -c 0).
//  Each rank's bit is independent of the others', so a rank left out of (or counted twice in) a
//  sum or product changes many elements at any rank count (a pattern periodic in the rank would
//  cancel);
//  - moving ops copy values in [-125, 125] that differ between any two ranks < 251 apart at the
//    same index, so a chunk from the wrong peer or at the wrong offset shows.
// Indices are within the rank's send buffer (input) or receive buffer (expected).

// "" where the check of op with redop on `ranks` ranks is exact, else why not (avg on a rank
// count that is not a power of two).
std::string check_inexact_reason(Op op, RedOp redop, int ranks);

// Throws std::invalid_argument for ranks < 1 or a rank outside [0, ranks).
double input_value(Op op, RedOp redop, int ranks, int rank, std::size_t index);
// nullopt where the operation leaves the element undefined (reduce on a rank other than root).
// Uses shape.redop. Throws std::invalid_argument for a rank, root or index out of range.
std::optional<double> expected_value(const Shape& shape, int rank, std::size_t index, int root = 0);

}  // namespace batchcost::collective
