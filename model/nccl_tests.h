// A reader of nccl-tests results (github.com/NVIDIA/nccl-tests), so that logs users already have
// feed the fitter like our own collective benchmark's JSON. Host C++ only.
//
// Reads both of nccl-tests' outputs, telling them apart by content:
//  - the text log, as printed to stdout: '#' comment lines, the device lines ("#  Rank  3 Group
//    0 Pid ... device  3 [...] NVIDIA H100"), the column header, one row per size with its
//    out-of-place and in-place columns, the "# Out of bounds values" / "# Avg bus bandwidth"
//    summary; with the line prefixes that launchers add (srun --label "0: ", mpirun
//    --tag-output "[1,0]<stdout>:"), and with NCCL's own lines (NCCL INFO ...), command lines and
//    other text mixed in. Older layouts (no root column, an "error" column instead of "#wrong")
//    are read through their column header.
//  - the JSON file written with -J (nccl-tests 2.15 and later, src/util.cu).
//
// Each row gives up to two samples, out-of-place (inplace=0) and in-place (inplace=1), named
// "collective/<op>/ranks:<n>/dtype:<dtype>[/redop:<redop>]/bytes:<size>/inplace:<0|1>
// [/rep:<k>]/nccl-tests:<source>" (unique per op, ranks, dtype, redop and file; rep numbers a
// size repeated in one log) and labelled
// "op=<op> dtype=<dtype> inplace=<0|1> redop=<redop> source=nccl-tests", with time_s, ranks and
// work {net_bytes = bus_bandwidth_factor(op, ranks) * size, collectives = 1}. dtype uses the
// contract's names (float -> fp32, half -> fp16, bfloat16 -> bf16); redop is left out where the
// op has none. A side shown as N/A, or absent, gives no sample.
//
// A side whose #wrong is not 0 is a wrong result and is not fitted: it gives no sample and a line
// in NcclTestsLog::skipped instead, so that the caller can show it. #wrong N/A (run with -c 0)
// means unchecked, and the sample is kept.
//
// The op: the caller's (PATH:op=NAME); else a binary the log names ("# Collective test starting:
// all_reduce_perf", a command line naming a *_perf binary, the JSON's args[0]), which the table
// must not contradict; else what the table itself allows: root -1 or a root, a redop or none,
// size = count * element (or * n for all_gather, reduce_scatter, all_to_all), busbw / algbw
// against the rank count; only where the table leaves several ops, the file's name among them
// (all_gather_perf.log, allreduce.txt: underscores and dashes ignored). The number of ranks comes
// from the device lines (the highest rank + 1: duplicated lines from processes that did not
// join one communicator do not count twice), or from the JSON's devices, nthreads and ngpus;
// failing those it is solved from busbw / algbw = bus_bandwidth_factor(op, n), which must give
// exactly one integer n within the rounding of the printed values (or size / (count * element)
// for the ops that divide by n). Either way every row's
// busbw / algbw must agree with the op and the rank count: a log whose numbers contradict them
// is an error, not a fit of the wrong thing.
//
// Units: the units row ("(us) (GB/s)") is honoured for ns, us, ms, s and MB/s, GB/s, TB/s and
// refused otherwise; every row's algbw must agree with size / time, so a log in other units than
// it says is refused. A row with more columns than the header's is refused. Ranks, counts and
// sizes are checked in 64 bits and bounded by kMaxNcclTestsRanks before any narrowing.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/sample.h"

namespace batchcost {

// A file that cannot be read as what it claims to be. what() is "FILE:LINE: message", or
// "FILE: message" where no line applies (a missing file, an entry of a JSON document).
class ReadError : public std::runtime_error {
 public:
  ReadError(std::string file, int line, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }  // 1-based; 0 when the error is not on one line

 private:
  std::string file_;
  int line_;
};

// The largest communicator the reader accepts (ranks, nthreads * ngpus * processes).
inline constexpr int kMaxNcclTestsRanks = 1 << 16;

struct NcclTestsOptions {
  std::string op;  // when not empty, the op ("all_reduce", ...), whatever the log says
  int ranks = 0;   // when > 0, the number of ranks, whatever the log says
};

struct NcclTestsLog {
  std::string source;                // the path as given
  std::string op;                    // "all_reduce", ...
  int ranks = 0;                     // the communicator's size
  std::vector<Sample> samples;       // in the order of the rows, out-of-place before in-place
  std::vector<std::string> skipped;  // "FILE:LINE: ..." for each wrong result left out
};

// Reads an nccl-tests text log or -J JSON file. Throws ReadError naming the file (and the line or
// JSON entry) for a missing or empty file, a row that does not parse, an op that is not in
// core/collective_ops.h, ranks that cannot be told, or numbers that contradict them.
NcclTestsLog read_nccl_tests(const std::string& path, const NcclTestsOptions& options = {});

// The same on text already in memory; `source` names it in samples and errors.
NcclTestsLog parse_nccl_tests(std::string_view content, const std::string& source,
                              const NcclTestsOptions& options = {});

// A command-line path with the reader's options after a colon: "nccl.log:op=all_reduce,ranks=16".
// `had_options` is false (and `path` the whole argument) where there is no ':' followed by
// key=value items. Throws ReadError for an unknown key, an unknown op or ranks outside
// 1..kMaxNcclTestsRanks. The caller tries the whole argument as a path first.
struct PathOptions {
  std::string path;
  NcclTestsOptions options;
  bool had_options = false;
};
PathOptions split_path_options(const std::string& arg);

// nccl-tests' type name ("float", "bfloat16", "half", ...) as the contract's dtype ("fp32", ...);
// names without a contract equivalent (int8, uint64, ...) are returned as they are.
std::string dtype_from_nccl_tests_type(std::string_view type);

}  // namespace batchcost
