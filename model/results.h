// Reading results: Google Benchmark JSON as our binaries write it, batchcost model.json files, and
// the dispatch from a path (a results folder, a result file, a model.json) to the right reader.
// Every reader checks what it reads and throws InputError naming the file and the entry; the
// command line turns that into a message on stderr and exit status 2. Host C++ only.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/input_error.h"
#include "model/nccl_tests.h"
#include "core/sample.h"

namespace batchcost {

// The largest work counter a benchmark may declare per iteration: 1e18 FLOPs is 1000 s of a
// 1 PFLOP/s GPU, 1e18 bytes 1000 s at 1 PB/s. A larger value is not a measurement, and would
// swamp every other term of the fit.
inline constexpr double kMaxWorkPerIteration = 1e18;

// A benchmark the harness skipped (the context's "skipped", harness/harness.h finalize_output).
struct SkippedBenchmark {
  std::string name;
  std::string reason;
  int repetitions = 1;  // how many of its repetitions were skipped
};

// What one Google Benchmark JSON file holds.
struct ResultFile {
  std::vector<Sample> samples;  // one per run, sorted by name; the median where repetitions exist
  // The file's "context", as written, less "skipped" (read into `skips`).
  nlohmann::json context = nlohmann::json::object();
  // Entries with "error_occurred" or "skipped" (the harness skipped or failed them, or another
  // writer did), plus the repetitions of `skips`: none of them is a measurement.
  int skipped = 0;
  std::vector<SkippedBenchmark> skips;
  // Per sample (same order), the (repetition_index, seconds) of its iterations, as read.
  std::vector<std::vector<std::pair<int, double>>> repetitions;
};

// Parses the text of a Google Benchmark JSON file; `source` names it in samples and errors.
// Times are converted to seconds from each entry's "time_unit" (ns, us, ms or s).
// Throws InputError for malformed JSON (nested too deep, a duplicate key), a non-finite, zero or
// negative time, an unknown time unit, a counter that is not a number, a malformed label, a
// malformed "skipped" list in the context, or contradictory duplicates.
ResultFile parse_google_benchmark(const std::string& text, const std::string& source);
// The same on a document already parsed (by parse_json_input).
ResultFile parse_google_benchmark(const nlohmann::json& doc, const std::string& source);

// Everything a list of paths gives, in a stable order.
struct Inputs {
  std::vector<Sample> samples;       // every file's samples, sorted by (name, source)
  std::vector<std::string> sources;  // the files read, in the order read
  nlohmann::json context = nlohmann::json::object();  // the results' contexts, merged
  std::vector<std::string> warnings;                  // contexts that disagree about the GPU, ...
  int skipped = 0;                                    // harness-skipped entries, all files together
  std::vector<SkippedBenchmark> skips;                // every file's context "skipped", in order
  std::vector<nlohmann::json> models;                 // model.json documents, as read
  std::vector<std::string> model_sources;
  // (source, sample name) -> the repetitions read; two files' copies of a sample must agree.
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<int, double>>> repetitions;
};

// The files a path stands for: a folder gives its *.json files (not recursive, sorted by name,
// without model.json); a file gives itself. Throws InputError for a path that does not exist or
// cannot be looked at (naming the cause: permission, a symbolic link loop, ...).
std::vector<std::string> expand_path(const std::string& path);

// Reads one file, choosing the reader by content, and adds what it holds to `inputs`.
// `nccl` holds the nccl-tests reader's options (PATH:op=NAME,ranks=N), for a log.
void read_file_into(const std::string& path, Inputs& inputs, const NcclTestsOptions& nccl = {});

// Reads every path; rejects samples that contradict each other across files. Samples are
// required unless `allow_models` and some model.json was read.
Inputs read_inputs(const std::vector<std::string>& paths, bool allow_models = false);

// Refuses an output path that would destroy an input: the same file as one that `paths` stand for
// (by device and inode, so links and other spellings count), a folder, or a folder that does not
// exist. Throws InputError naming `flag` and the input. Call it before reading anything.
void check_output_path(const std::string& out, const std::vector<std::string>& paths,
                       const std::string& flag = "--out");

}  // namespace batchcost
