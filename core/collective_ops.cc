// The table of collectives: names, shapes, bus-bandwidth factors, net_bytes, the data check.
#include "core/collective_ops.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/collective_values.h"

namespace batchcost::collective {
namespace {

struct Row {
  Op op;
  std::string_view name;
  std::string_view binary;  // nccl-tests' binary
  bool divides_by_ranks;
  bool reduces;
  bool has_root;
};

// One row per op; the order is that of enum Op.
constexpr std::array<Row, 7> kTable = {{
    {Op::all_reduce, "all_reduce", "all_reduce_perf", false, true, false},
    {Op::all_gather, "all_gather", "all_gather_perf", true, false, false},
    {Op::reduce_scatter, "reduce_scatter", "reduce_scatter_perf", true, true, false},
    {Op::all_to_all, "all_to_all", "alltoall_perf", true, false, false},
    {Op::broadcast, "broadcast", "broadcast_perf", false, false, true},
    {Op::reduce, "reduce", "reduce_perf", false, true, true},
    {Op::send_recv, "send_recv", "sendrecv_perf", false, false, false},
}};

const Row& row(Op op) {
  const auto i = static_cast<std::size_t>(op);
  if (i >= kTable.size()) throw std::invalid_argument("not a collective op");
  return kTable[i];
}

void check_ranks(int ranks, const char* where) {
  if (ranks < 1) {
    throw std::invalid_argument(std::string(where) + ": ranks must be >= 1, got " +
                                std::to_string(ranks));
  }
}

std::size_t checked_mul(std::size_t a, std::size_t b, const char* where) {
  std::size_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) {
    throw std::invalid_argument(std::string(where) + ": byte count overflows");
  }
  return out;
}

// Moving ops' input: values in [-125, 125]; 251 is prime, so two ranks less than 251 apart never
// agree at the same index. core/collective_values.h computes the same on the device.
double movement_input(std::size_t rank, std::size_t index) {
  return values::movement_input(rank, index);
}

double reduction_result(RedOp redop, int ranks, std::size_t index) {
  return values::reduction_result(redop, ranks, index);
}

}  // namespace

std::string_view op_name(Op op) { return row(op).name; }

Op parse_op(std::string_view name) {
  for (const auto& r : kTable) {
    if (r.name == name) return r.op;
  }
  throw std::invalid_argument("unknown collective op '" + std::string(name) +
                              "' (expected all_reduce, all_gather, reduce_scatter, all_to_all, "
                              "broadcast, reduce or send_recv)");
}

std::string_view nccl_tests_binary(Op op) { return row(op).binary; }

std::optional<Op> op_from_nccl_tests_binary(std::string_view binary) {
  constexpr std::string_view kMpiSuffix = "_mpi";
  if (binary.size() > kMpiSuffix.size() && binary.ends_with(kMpiSuffix)) {
    binary.remove_suffix(kMpiSuffix.size());
  }
  for (const auto& r : kTable) {
    if (r.binary == binary) return r.op;
  }
  return std::nullopt;
}

bool divides_by_ranks(Op op) { return row(op).divides_by_ranks; }
bool reduces(Op op) { return row(op).reduces; }
bool has_root(Op op) { return row(op).has_root; }
bool in_place_checkable(Op op) { return op != Op::all_to_all && op != Op::send_recv; }

std::string_view redop_name(RedOp redop) {
  switch (redop) {
    case RedOp::sum:
      return "sum";
    case RedOp::prod:
      return "prod";
    case RedOp::max:
      return "max";
    case RedOp::min:
      return "min";
    case RedOp::avg:
      return "avg";
  }
  throw std::invalid_argument("not a reduction operator");
}

RedOp parse_redop(std::string_view name) {
  for (RedOp r : kAllRedOps) {
    if (redop_name(r) == name) return r;
  }
  throw std::invalid_argument("unknown reduction operator '" + std::string(name) +
                              "' (expected sum, prod, max, min or avg)");
}

std::size_t dtype_size_bytes(Dtype dtype) { return static_cast<std::size_t>(dtype_bytes(dtype)); }

Dtype parse_dtype(std::string_view name) {
  for (Dtype d : kAllDtypes) {
    if (dtype_name(d) == name) return d;
  }
  throw std::invalid_argument("unknown dtype '" + std::string(name) + "' (expected fp32 or bf16)");
}

Shape shape_for_count(Op op, int ranks, std::size_t count, std::size_t elem_bytes) {
  check_ranks(ranks, "shape_for_count");
  if (elem_bytes == 0) throw std::invalid_argument("shape_for_count: elem_bytes must be > 0");
  const auto n = static_cast<std::size_t>(ranks);
  const std::size_t chunk = checked_mul(count, elem_bytes, "shape_for_count");
  const std::size_t whole = divides_by_ranks(op) ? checked_mul(chunk, n, "shape_for_count") : 0;
  Shape s{.op = op, .ranks = ranks, .elem_bytes = elem_bytes, .count = count};
  switch (op) {
    case Op::all_reduce:
    case Op::broadcast:
    case Op::reduce:
    case Op::send_recv:
      s.send_bytes = s.recv_bytes = s.size_bytes = chunk;
      break;
    case Op::all_gather:
      s.send_bytes = chunk;
      s.recv_bytes = s.size_bytes = whole;
      break;
    case Op::reduce_scatter:
      s.send_bytes = s.size_bytes = whole;
      s.recv_bytes = chunk;
      break;
    case Op::all_to_all:
      s.send_bytes = s.recv_bytes = s.size_bytes = whole;
      break;
  }
  return s;
}

Shape shape_for_size(Op op, int ranks, std::size_t size_bytes, std::size_t elem_bytes) {
  check_ranks(ranks, "shape_for_size");
  if (elem_bytes == 0) throw std::invalid_argument("shape_for_size: elem_bytes must be > 0");
  const std::size_t unit =
      divides_by_ranks(op)
          ? checked_mul(elem_bytes, static_cast<std::size_t>(ranks), "shape_for_size")
          : elem_bytes;
  if (size_bytes % unit != 0) {
    throw std::invalid_argument("shape_for_size: " + std::string(op_name(op)) + " of " +
                                std::to_string(size_bytes) + " bytes on " + std::to_string(ranks) +
                                " ranks is not a whole number of " + std::to_string(unit) +
                                "-byte units (" + std::to_string(elem_bytes) + "-byte elements" +
                                (divides_by_ranks(op) ? " times ranks)" : ")"));
  }
  return shape_for_count(op, ranks, size_bytes / unit, elem_bytes);
}

std::size_t in_place_offset_bytes(const Shape& shape, int rank) {
  if (rank < 0 || rank >= shape.ranks) {
    throw std::invalid_argument("in_place_offset_bytes: rank " + std::to_string(rank) +
                                " outside [0, " + std::to_string(shape.ranks) + ")");
  }
  if (shape.op == Op::all_gather || shape.op == Op::reduce_scatter) {
    return static_cast<std::size_t>(rank) * shape.count * shape.elem_bytes;
  }
  return 0;
}

std::size_t memory_bytes_per_rank(const Shape& shape) {
  std::size_t twice_recv = 0, total = 0;
  if (__builtin_mul_overflow(shape.recv_bytes, 2, &twice_recv) ||
      __builtin_add_overflow(shape.send_bytes, twice_recv, &total)) {
    return static_cast<std::size_t>(-1);  // saturate: no GPU has that much
  }
  return total;
}

double bus_bandwidth_factor(Op op, int ranks) {
  check_ranks(ranks, "bus_bandwidth_factor");
  const double n = ranks;
  switch (op) {
    case Op::all_reduce:
      return 2 * (n - 1) / n;
    case Op::all_gather:
    case Op::reduce_scatter:
    case Op::all_to_all:
      return (n - 1) / n;
    case Op::broadcast:
    case Op::reduce:
    case Op::send_recv:
      return 1;
  }
  throw std::invalid_argument("not a collective op");
}

double algbw_bytes_per_s(std::size_t size_bytes, double time_s) {
  if (!(time_s > 0) || !std::isfinite(time_s)) {
    throw std::invalid_argument("algbw_bytes_per_s: time must be positive and finite, got " +
                                std::to_string(time_s));
  }
  return static_cast<double>(size_bytes) / time_s;
}

double busbw_bytes_per_s(Op op, int ranks, std::size_t size_bytes, double time_s) {
  return algbw_bytes_per_s(size_bytes, time_s) * bus_bandwidth_factor(op, ranks);
}

double net_bytes(Op op, int ranks, std::size_t size_bytes) {
  return bus_bandwidth_factor(op, ranks) * static_cast<double>(size_bytes);
}

std::string check_inexact_reason(Op op, RedOp redop, int ranks) {
  check_ranks(ranks, "check_inexact_reason");
  if (reduces(op) && redop == RedOp::avg && (ranks & (ranks - 1)) != 0) {
    return "avg multiplies by 1/" + std::to_string(ranks) +
           ", not exact in fp32 or bf16: the data check of avg needs a power-of-two rank count";
  }
  return "";
}

double input_value(Op op, RedOp redop, int ranks, int rank, std::size_t index) {
  check_ranks(ranks, "input_value");
  if (rank < 0 || rank >= ranks) {
    throw std::invalid_argument("input_value: rank " + std::to_string(rank) + " outside [0, " +
                                std::to_string(ranks) + ")");
  }
  return values::input_at(op, redop, ranks, rank, index);
}

std::optional<double> expected_value(const Shape& shape, int rank, std::size_t index, int root) {
  const int n = shape.ranks;
  check_ranks(n, "expected_value");
  if (rank < 0 || rank >= n) {
    throw std::invalid_argument("expected_value: rank " + std::to_string(rank) + " outside [0, " +
                                std::to_string(n) + ")");
  }
  if (has_root(shape.op) && (root < 0 || root >= n)) {
    throw std::invalid_argument("expected_value: root " + std::to_string(root) + " outside [0, " +
                                std::to_string(n) + ")");
  }
  const std::size_t recv_count = shape.recv_bytes / shape.elem_bytes;
  if (index >= recv_count) {
    throw std::invalid_argument("expected_value: index " + std::to_string(index) +
                                " outside the receive buffer of " + std::to_string(recv_count) +
                                " elements");
  }
  const auto r = static_cast<std::size_t>(rank);
  const std::size_t count = shape.count;
  switch (shape.op) {
    case Op::all_reduce:
      return reduction_result(shape.redop, n, index);
    case Op::reduce_scatter:
      return reduction_result(shape.redop, n, r * count + index);
    case Op::reduce:
      if (rank != root) return std::nullopt;
      return reduction_result(shape.redop, n, index);
    case Op::all_gather:
      return movement_input(index / count, index % count);
    case Op::broadcast:
      return movement_input(static_cast<std::size_t>(root), index);
    case Op::all_to_all:
      // Chunk s of the output came from peer s, which sent its chunk number `rank`.
      return movement_input(index / count, r * count + index % count);
    case Op::send_recv:
      return movement_input(static_cast<std::size_t>((rank - 1 + n) % n), index);
  }
  throw std::invalid_argument("not a collective op");
}

}  // namespace batchcost::collective
