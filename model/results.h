// Reading results: Google Benchmark JSON as our binaries write it, batchcost model.json files, and
// the dispatch from a path (a results folder, a result file, a model.json) to the right reader.
// Every reader checks what it reads and throws InputError naming the file and the entry; the
// command line turns that into a message on stderr and exit status 2. Host C++ only.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/nccl_tests.h"
#include "model/sample.h"

namespace batchcost {

// An input the fitter refuses: the message names the file and the entry.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What one Google Benchmark JSON file holds.
struct ResultFile {
  std::vector<Sample> samples;  // one per run, sorted by name; the median where repetitions exist
  nlohmann::json context = nlohmann::json::object();  // the file's "context", as written
  int skipped = 0;  // entries with "error_occurred": the harness skipped or failed them
};

// Parses the text of a Google Benchmark JSON file; `source` names it in samples and errors.
// Throws InputError for malformed JSON, a non-finite, zero or negative time, an unknown time unit,
// a counter that is not a number, a malformed label, or contradictory duplicates.
ResultFile parse_google_benchmark(const std::string& text, const std::string& source);

// Everything a list of paths gives, in a stable order.
struct Inputs {
  std::vector<Sample> samples;       // every file's samples, sorted by (name, source)
  std::vector<std::string> sources;  // the files read, in the order read
  nlohmann::json context = nlohmann::json::object();  // the results' contexts, merged
  std::vector<std::string> warnings;                  // contexts that disagree about the GPU, ...
  int skipped = 0;                                    // harness-skipped entries, all files together
  std::vector<nlohmann::json> models;                 // model.json documents, as read
  std::vector<std::string> model_sources;
};

// The files a path stands for: a folder gives its *.json files (not recursive, sorted by name,
// without model.json); a file gives itself. Throws InputError for a path that does not exist.
std::vector<std::string> expand_path(const std::string& path);

// Reads one file, choosing the reader by content, and adds what it holds to `inputs`.
// `nccl` holds the nccl-tests reader's options (PATH:op=NAME,ranks=N), for a log.
void read_file_into(const std::string& path, Inputs& inputs, const NcclTestsOptions& nccl = {});

// Reads every path; rejects samples that contradict each other across files. Samples are
// required unless `allow_models` and some model.json was read.
Inputs read_inputs(const std::vector<std::string>& paths, bool allow_models = false);

}  // namespace batchcost
