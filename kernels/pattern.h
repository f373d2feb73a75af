// A byte pattern that host and device compute identically, for data checks. Each byte depends
// on its index through an integer hash, so a copy to the wrong place, a skipped or repeated
// 16-byte chunk, or an unwritten tail all change the bytes a check compares.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define BATCHCOST_HD __host__ __device__ __forceinline__
#else
#define BATCHCOST_HD inline
#endif

namespace batchcost {

BATCHCOST_HD std::uint8_t pattern_byte(std::uint64_t index, std::uint32_t seed) {
  std::uint32_t x = static_cast<std::uint32_t>(index) * 0x9E3779B1u ^
                    static_cast<std::uint32_t>(index >> 32) * 0x85EBCA77u ^ seed;
  x ^= x >> 15;
  x *= 0x2C1B3C6Du;
  x ^= x >> 12;
  x *= 0x297A2D39u;
  x ^= x >> 15;
  return static_cast<std::uint8_t>(x >> 24);
}

}  // namespace batchcost
