// The data check's values as inline functions that compile for the host and the device: the
// kernels of collective_kernels.cu fill inputs and count wrong outputs with them, and a host test
// checks them, element by element, against input_value and expected_value of ops.h, which stay
// the definition. Every value is a small integer, or a small integer times a power of two, so
// that it is exact in fp32 and bf16 alike and the check is an exact comparison (see ops.h, "The
// data check", for why each redop's inputs keep every partial result exact up to 1024 ranks).
#pragma once

#include <cstddef>

#include "core/collective_ops.h"

#if defined(__CUDACC__)
#define BATCHCOST_HOST_DEVICE __host__ __device__
#else
#define BATCHCOST_HOST_DEVICE
#endif

namespace batchcost::collective::values {

// An integer hash of (rank, index): independent across ranks, so leaving a rank out of a
// reduction changes many elements, whatever the rank count (a pattern periodic in the rank
// would cancel).
BATCHCOST_HOST_DEVICE inline unsigned hash(std::size_t rank, std::size_t index) {
  unsigned x = static_cast<unsigned>(index) * 0x9E3779B1u ^ static_cast<unsigned>(index >> 32) ^
               (static_cast<unsigned>(rank) + 1u) * 0x85EBCA77u;
  x ^= x >> 15;
  x *= 0x2C1B3C6Du;
  x ^= x >> 12;
  x *= 0x297A2D39u;
  x ^= x >> 15;
  return x;
}

// One bit of the hash, in {0, 1}.
BATCHCOST_HOST_DEVICE inline int reduction_bit(std::size_t rank, std::size_t index) {
  return static_cast<int>(hash(rank, index) >> 31);
}

// The most ranks whose input may be other than the redop's identity at one index: sums and
// averages stay integers (times 2^-k) <= 256, exact in bf16's 8 significant bits; products stay
// powers of two <= 2^64, far inside bf16's and fp32's range (2^127).
inline constexpr int kMaxActiveSum = 256;
inline constexpr int kMaxActiveProd = 64;

// The smallest power of two P with ceil(ranks / P) <= limit: at index i only the ranks r with
// (r + i) % P == 0 are "active" (carry a value other than the identity). P is 1, every rank
// active, up to `limit` ranks.
BATCHCOST_HOST_DEVICE inline int active_stride(int ranks, int limit) {
  int p = 1;
  while ((ranks + p - 1) / p > limit) p *= 2;
  return p;
}

BATCHCOST_HOST_DEVICE inline bool active(int ranks, int limit, std::size_t rank,
                                         std::size_t index) {
  return (rank + index) % static_cast<std::size_t>(active_stride(ranks, limit)) == 0;
}

// Moving ops' input, in [-125, 125].
BATCHCOST_HOST_DEVICE inline int movement_input(std::size_t rank, std::size_t index) {
  return static_cast<int>((5 * (rank % 251) + index % 251) % 251) - 125;
}

BATCHCOST_HOST_DEVICE inline bool op_reduces(Op op) {
  return op == Op::all_reduce || op == Op::reduce_scatter || op == Op::reduce;
}

// A reducing op's input at (rank, index) on `ranks` ranks:
//   sum, avg: the hashed bit on active ranks, 0 elsewhere (NCCL's avg multiplies each input by
//             1/ranks, exact where ranks is a power of two: ops.h's check_is_exact);
//   prod:     2 or 1 (2^bit) on active ranks, 1 elsewhere;
//   min, max: the hash's top 8 bits as an integer in [-128, 127] on every rank.
BATCHCOST_HOST_DEVICE inline float reduction_input(RedOp redop, int ranks, std::size_t rank,
                                                   std::size_t index) {
  switch (redop) {
    case RedOp::sum:
    case RedOp::avg:
      return active(ranks, kMaxActiveSum, rank, index)
                 ? static_cast<float>(reduction_bit(rank, index))
                 : 0.0f;
    case RedOp::prod:
      return active(ranks, kMaxActiveProd, rank, index)
                 ? static_cast<float>(1 + reduction_bit(rank, index))
                 : 1.0f;
    case RedOp::min:
    case RedOp::max:
      return static_cast<float>(static_cast<int>(hash(rank, index) >> 24) - 128);
  }
  return 0.0f;
}

// The redop over ranks [0, ranks) of reduction_input: every partial result on the way is exact.
BATCHCOST_HOST_DEVICE inline float reduction_result(RedOp redop, int ranks, std::size_t index) {
  float acc = reduction_input(redop, ranks, 0, index);
  for (int r = 1; r < ranks; ++r) {
    const float v = reduction_input(redop, ranks, static_cast<std::size_t>(r), index);
    switch (redop) {
      case RedOp::sum:
      case RedOp::avg:
        acc += v;
        break;
      case RedOp::prod:
        acc *= v;
        break;
      case RedOp::min:
        acc = v < acc ? v : acc;
        break;
      case RedOp::max:
        acc = v > acc ? v : acc;
        break;
    }
  }
  return redop == RedOp::avg ? acc / static_cast<float>(ranks) : acc;
}

// Element `index` of rank `rank`'s send buffer.
BATCHCOST_HOST_DEVICE inline float input_at(Op op, RedOp redop, int ranks, int rank,
                                            std::size_t index) {
  const auto r = static_cast<std::size_t>(rank);
  return op_reduces(op) ? reduction_input(redop, ranks, r, index)
                        : static_cast<float>(movement_input(r, index));
}

// Element `index` of rank `rank`'s receive buffer after the op on `ranks` ranks with the NCCL
// count argument `count` (and `redop` for the reducing ops); false where the op leaves it
// undefined (reduce, rank != root).
BATCHCOST_HOST_DEVICE inline bool expected_at(Op op, RedOp redop, int ranks, int rank, int root,
                                              std::size_t count, std::size_t index, float* value) {
  const auto r = static_cast<std::size_t>(rank);
  switch (op) {
    case Op::all_reduce:
      *value = reduction_result(redop, ranks, index);
      return true;
    case Op::reduce_scatter:
      *value = reduction_result(redop, ranks, r * count + index);
      return true;
    case Op::reduce:
      if (rank != root) return false;
      *value = reduction_result(redop, ranks, index);
      return true;
    case Op::all_gather:
      *value = static_cast<float>(movement_input(index / count, index % count));
      return true;
    case Op::broadcast:
      *value = static_cast<float>(movement_input(static_cast<std::size_t>(root), index));
      return true;
    case Op::all_to_all:
      *value = static_cast<float>(movement_input(index / count, r * count + index % count));
      return true;
    case Op::send_recv:
      *value = static_cast<float>(
          movement_input(static_cast<std::size_t>((rank - 1 + ranks) % ranks), index));
      return true;
  }
  return false;
}

// A value no input or output takes (inputs and min/max results are in [-128, 127], sums,
// averages and products >= 0), exact in bf16 (1000 needs 7 significant bits): receive buffers
// are filled with it before the checked run, so an element the op never wrote is counted wrong.
inline constexpr int kPoison = -1000;

}  // namespace batchcost::collective::values
