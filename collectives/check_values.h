// The data check's values as inline functions that compile for the host and the device: the
// kernels of collective_kernels.cu fill inputs and count wrong outputs with them, and a host test
// checks them, element by element, against input_value and expected_value of ops.h, which stay
// the definition. Integer arithmetic only: every value is a small integer (see ops.h, "The data
// check"), converted exactly to fp32 or bf16 by the caller.
#pragma once

#include <cstddef>

#include "collectives/ops.h"

#if defined(__CUDACC__)
#define BATCHCOST_HOST_DEVICE __host__ __device__
#else
#define BATCHCOST_HOST_DEVICE
#endif

namespace batchcost::collective::values {

// Reducing ops' input: one bit of an integer hash of (rank, index), in {0, 1}. Independent
// across ranks, so leaving a rank out of a sum changes about half the elements.
BATCHCOST_HOST_DEVICE inline int reduction_input(std::size_t rank, std::size_t index) {
  unsigned x = static_cast<unsigned>(index) * 0x9E3779B1u ^ static_cast<unsigned>(index >> 32) ^
               (static_cast<unsigned>(rank) + 1u) * 0x85EBCA77u;
  x ^= x >> 15;
  x *= 0x2C1B3C6Du;
  x ^= x >> 12;
  x *= 0x297A2D39u;
  x ^= x >> 15;
  return static_cast<int>(x >> 31);
}

// The sum over ranks [0, ranks) of reduction_input.
BATCHCOST_HOST_DEVICE inline int reduction_sum(int ranks, std::size_t index) {
  int sum = 0;
  for (int r = 0; r < ranks; ++r) sum += reduction_input(static_cast<std::size_t>(r), index);
  return sum;
}

// Moving ops' input, in [-125, 125].
BATCHCOST_HOST_DEVICE inline int movement_input(std::size_t rank, std::size_t index) {
  return static_cast<int>((5 * (rank % 251) + index % 251) % 251) - 125;
}

BATCHCOST_HOST_DEVICE inline bool op_reduces(Op op) {
  return op == Op::all_reduce || op == Op::reduce_scatter || op == Op::reduce;
}

// Element `index` of rank `rank`'s send buffer.
BATCHCOST_HOST_DEVICE inline int input_at(Op op, int rank, std::size_t index) {
  const auto r = static_cast<std::size_t>(rank);
  return op_reduces(op) ? reduction_input(r, index) : movement_input(r, index);
}

// Element `index` of rank `rank`'s receive buffer after the op on `ranks` ranks with the NCCL
// count argument `count`; false where the op leaves it undefined (reduce, rank != root).
BATCHCOST_HOST_DEVICE inline bool expected_at(Op op, int ranks, int rank, int root,
                                              std::size_t count, std::size_t index, int* value) {
  const auto r = static_cast<std::size_t>(rank);
  switch (op) {
    case Op::all_reduce:
      *value = reduction_sum(ranks, index);
      return true;
    case Op::reduce_scatter:
      *value = reduction_sum(ranks, r * count + index);
      return true;
    case Op::reduce:
      if (rank != root) return false;
      *value = reduction_sum(ranks, index);
      return true;
    case Op::all_gather:
      *value = movement_input(index / count, index % count);
      return true;
    case Op::broadcast:
      *value = movement_input(static_cast<std::size_t>(root), index);
      return true;
    case Op::all_to_all:
      *value = movement_input(index / count, r * count + index % count);
      return true;
    case Op::send_recv:
      *value = movement_input(static_cast<std::size_t>((rank - 1 + ranks) % ranks), index);
      return true;
  }
  return false;
}

// A value no input or output takes (|inputs| <= 125, |sums| <= 2), exact in bf16 (1000 needs 7
// significant bits): receive buffers are filled with it before the checked run, so an element
// the op never wrote is counted wrong.
inline constexpr int kPoison = -1000;

}  // namespace batchcost::collective::values
