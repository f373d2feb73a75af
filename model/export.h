// `batchcost export`: results as one tidy CSV table for pandas, R or a spreadsheet, so that no
// one parses benchmark names with regexes. Host C++ only.
//
// Rows, so that a plain groupby counts each measurement once: by default one row per repetition
// whose time the file kept (kind "repetition", with its index), and for a sample whose file kept
// no repetition times its one time (kind "repetition", index 0, for a single run; kind "median"
// where the file kept only the median aggregate); with ExportRows::kMedians one row per sample
// (kind "median": the median of the repetitions, or the file's median aggregate, the time the
// fitter uses). Columns: source,
// gpu_name (the source's context.gpu_name; empty where it has none, as an nccl-tests log), name,
// family, kind, repetition, repetitions, time_s (seconds per iteration), cv, ranks; the
// work counters (flops, bytes, net_bytes, launches, kernels, graph_nodes, syncs, collectives:
// per iteration, 0 where absent); then one column per key:value segment of the names
// (param_<key>) and per label key (label_<key>), empty where a sample has none.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/sample.h"

namespace batchcost {

// The key:value segments of a benchmark name, in order: "gemm/bf16/m:512/n:64/manual_time"
// gives {{"m", "512"}, {"n", "64"}}.
std::vector<std::pair<std::string, std::string>> name_parameters(const std::string& name);

// One CSV field, quoted (RFC 4180) where it holds a comma, a quote or a line break.
std::string csv_field(const std::string& text);

enum class ExportRows { kRepetitions, kMedians };

// The CSV text of `samples` (header first, rows in the order of the samples); `gpu_of_source`
// the GPU's name by source file.
std::string export_csv(const std::vector<Sample>& samples,
                       const std::map<std::string, std::string>& gpu_of_source = {},
                       ExportRows rows = ExportRows::kRepetitions);

// The number of rows export_csv writes for `samples` (the header aside).
size_t export_rows(const std::vector<Sample>& samples, ExportRows rows);

}  // namespace batchcost
