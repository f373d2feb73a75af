// What the collective benchmark prints besides its JSON: an nccl-tests-like table (size, count,
// type, redop, root, then time, algbw, busbw and #wrong for out-of-place and in-place), and the
// NCCL version as text. Pure host functions, so the table is tested without a GPU; bandwidths
// come from ops.h, never computed here.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "collectives/ops.h"

namespace batchcost::collective {

// One timed (or failed) run of one benchmark: a repetition adds another entry with the same key.
struct TableEntry {
  Op op = Op::all_reduce;
  Dtype dtype = Dtype::fp32;
  int ranks = 1;
  int root = 0;
  bool graph = false;
  std::size_t size_bytes = 0;  // nccl-tests' size
  std::size_t count = 0;       // the NCCL count argument
  bool in_place = false;
  double time_s = 0;     // per operation; not positive where the run was not timed (failed check)
  long long wrong = -1;  // wrong elements over all ranks; -1 where not checked
};

// nccl-tests' name of the dtype: "float", "bfloat16".
std::string_view nccl_type_name(Dtype dtype);

// The table: one section per (op, dtype, ranks, graph) in the order first seen, one row per size
// (ascending) with the out-of-place columns, then the in-place ones ("N/A" where that half was not
// run). Where a key has several entries (repetitions) the row shows the median time and the
// largest #wrong. Times in µs formatted as nccl-tests does (2 decimals below 100 µs, 1 below
// 10 ms, none above); algbw and busbw in GB/s (10^9 B/s).
std::string format_table(const std::vector<TableEntry>& entries);

// ncclGetVersion's code as text: 22809 -> "2.28.9"; codes before 2.9 (2.8.4 was 2804) too.
std::string nccl_version_string(int code);

}  // namespace batchcost::collective
