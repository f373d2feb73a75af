// What the collective benchmark prints besides its JSON: an nccl-tests-like table (size, count,
// type, redop, root, then time, algbw, busbw and #wrong for out-of-place and in-place), streamed
// a row at a time as each size finishes (TableStream), then nccl-tests' footer (NVIDIA/nccl-tests,
// src/util.cu writeResultFooter: "# Out of bounds values : N OK|FAILED", "# Avg bus bandwidth
// : X"), and the NCCL version as text. Pure host code, so the table is tested without a GPU;
// bandwidths come from ops.h, never computed here.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/collective_ops.h"

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
  RedOp redop = RedOp::sum;
  bool skipped = false;  // not run (no room, too few GPUs): the half shows N/A
};

// A row of the table: one size of one section (op, dtype, redop, ranks, root, graph).
struct RowKey {
  Op op = Op::all_reduce;
  Dtype dtype = Dtype::fp32;
  RedOp redop = RedOp::sum;
  int ranks = 1;
  int root = 0;
  bool graph = false;
  std::size_t size_bytes = 0;
  bool operator==(const RowKey&) const = default;
};
RowKey row_key(const TableEntry& e);

// The table as the run goes. expect() announces each row, in registration order, with the
// entries it will get (its halves times the repetitions); add() takes each finished run and
// returns what to print now: a row as soon as its last entry has arrived, after its section's
// header where the section is not the one printed last. Google Benchmark runs benchmarks in
// registration order, so with `in_order` a row still short when a later row's entry arrives
// will get no more (filtered out, or a repetition skipped) and is printed then; without it
// (--benchmark_enable_random_interleaving) such rows wait for finish(). finish() prints the rows
// not printed yet, then the footer.
class TableStream {
 public:
  explicit TableStream(bool in_order = true) : in_order_(in_order) {}
  void expect(const RowKey& key, int entries);
  std::string add(const TableEntry& entry);
  std::string finish();
  // The footer's numbers: halves whose #wrong is not 0 (nccl-tests counts each check that found
  // wrong elements), and the mean busbw in GB/s of every timed half printed (nccl-tests' bw[0] /
  // bw_count[0] over each out-of-place and in-place result); 0 where none was timed.
  long long out_of_bounds() const { return out_of_bounds_; }
  double avg_busbw_gbps() const { return busbw_count_ == 0 ? 0 : busbw_sum_ / busbw_count_; }
  bool printed_any() const { return printed_any_; }

 private:
  struct Pending {
    RowKey key;
    int expected = 0;
    std::vector<TableEntry> entries;
    bool printed = false;
  };
  std::string print(Pending& row);
  bool in_order_;
  std::vector<Pending> rows_;
  bool have_last_section_ = false;
  RowKey last_section_{};
  long long out_of_bounds_ = 0;
  double busbw_sum_ = 0;
  long long busbw_count_ = 0;
  bool printed_any_ = false;
};

// nccl-tests' footer: "# Out of bounds values : 0 OK", "# Avg bus bandwidth    : 12.5", "#".
std::string format_footer(long long out_of_bounds, double avg_busbw_gbps);

// nccl-tests' name of the dtype: "float", "bfloat16".
std::string_view nccl_type_name(Dtype dtype);

// The whole table at once: one section per (op, dtype, redop, ranks, graph) in the order first
// seen, one row per size
// (ascending) with the out-of-place columns, then the in-place ones ("N/A" where that half was not
// run). Where a key has several entries (repetitions) the row shows the median time and the
// largest #wrong. Times in µs formatted as nccl-tests does (2 decimals below 100 µs, 1 below
// 10 ms, none above); algbw and busbw in GB/s (10^9 B/s).
std::string format_table(const std::vector<TableEntry>& entries);

// ncclGetVersion's code as text: 22809 -> "2.28.9"; codes before 2.9 (2.8.4 was 2804) too.
std::string nccl_version_string(int code);

}  // namespace batchcost::collective
