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
// "collective/<op>/bytes:<size>/inplace:<0|1>/nccl-tests" and labelled
// "op=<op> dtype=<dtype> inplace=<0|1> redop=<redop> source=nccl-tests", with time_s, ranks and
// work {net_bytes = bus_bandwidth_factor(op, ranks) * size, collectives = 1}. dtype uses the
// contract's names (float -> fp32, half -> fp16, bfloat16 -> bf16); redop is left out where the
// op has none. A side shown as N/A, or absent, gives no sample.
//
// A side whose #wrong is not 0 is a wrong result and is not fitted: it gives no sample and a line
// in NcclTestsLog::skipped instead, so that the caller can show it. #wrong N/A (run with -c 0)
// means unchecked, and the sample is kept.
//
// The op comes from the log: "# Collective test starting: all_reduce_perf", or a command line
// naming a *_perf binary (mpirun ... all_reduce_perf -b 8 ...), or the JSON's args[0]; failing
// those, from the file's name (all_gather_perf.log, all_gather.txt). The number of ranks comes
// from the device lines (the highest rank + 1: duplicated lines from processes that did not
// join one communicator do not count twice), or from the JSON's devices, nthreads and ngpus;
// failing those it is solved from busbw / algbw = bus_bandwidth_factor(op, n), which must give
// exactly one integer n within the rounding of the printed values. Either way every row's
// busbw / algbw must agree with the op and the rank count: a log whose numbers contradict them
// is an error, not a fit of the wrong thing.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/sample.h"

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
// collectives/ops.h, ranks that cannot be told, or numbers that contradict them.
NcclTestsLog read_nccl_tests(const std::string& path, const NcclTestsOptions& options = {});

// The same on text already in memory; `source` names it in samples and errors.
NcclTestsLog parse_nccl_tests(std::string_view content, const std::string& source,
                              const NcclTestsOptions& options = {});

// nccl-tests' type name ("float", "bfloat16", "half", ...) as the contract's dtype ("fp32", ...);
// names without a contract equivalent (int8, uint64, ...) are returned as they are.
std::string dtype_from_nccl_tests_type(std::string_view type);

}  // namespace batchcost
