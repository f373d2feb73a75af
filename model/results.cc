// Google Benchmark JSON reader and the dispatch from paths to readers (see results.h).
#include "model/results.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/input_file.h"
#include "model/nccl_tests.h"

namespace batchcost {
namespace {

using nlohmann::json;

// Keys of a benchmark entry that Google Benchmark writes itself; every other key is a counter.
const std::set<std::string, std::less<>> kEntryKeys = {"name",
                                                       "family_index",
                                                       "per_family_instance_index",
                                                       "run_name",
                                                       "run_type",
                                                       "repetitions",
                                                       "repetition_index",
                                                       "threads",
                                                       "iterations",
                                                       "real_time",
                                                       "cpu_time",
                                                       "time_unit",
                                                       "label",
                                                       "aggregate_name",
                                                       "aggregate_unit",
                                                       "error_occurred",
                                                       "error_message",
                                                       "skipped",
                                                       "skip_message",
                                                       "big_o",
                                                       "rms",
                                                       "complexity_n"};

double seconds_per(const std::string& unit) {
  if (unit == "ns") return 1e-9;
  if (unit == "us") return 1e-6;
  if (unit == "ms") return 1e-3;
  if (unit == "s") return 1;
  return 0;
}

// One checked benchmark entry.
struct Entry {
  std::string name, run_name, run_type, aggregate_name;
  double time = 0;  // seconds for time entries; the raw value for cv
  int repetitions = 1;
  int repetition_index = -1;
  Work work;
  Labels labels;
  int ranks = 0;

  bool same_run(const Entry& o) const {
    return work == o.work && labels == o.labels && ranks == o.ranks;
  }
};

class EntryReader {
 public:
  EntryReader(const std::string& source, size_t index, const json& entry)
      : source_(source), index_(index), entry_(entry) {}

  [[noreturn]] void fail(const std::string& why) const {
    std::string who = name_.empty()
                          ? "entry " + std::to_string(index_)
                          : "benchmark '" + name_ + "' (entry " + std::to_string(index_) + ")";
    throw InputError(source_ + ": " + who + ": " + why);
  }

  std::string string_field(const char* key, const std::string& fallback) const {
    auto it = entry_.find(key);
    if (it == entry_.end()) return fallback;
    if (!it->is_string()) fail(std::string("\"") + key + "\" is not a string");
    return it->get<std::string>();
  }

  double number_field(const std::string& key) const {
    const json& v = entry_.at(key);
    if (!v.is_number()) fail("counter \"" + key + "\" is not a number but " + json_type_of(v));
    double d = v.get<double>();
    if (!std::isfinite(d)) fail("counter \"" + key + "\" is not finite");
    return d;
  }

  Entry read() {
    if (!entry_.is_object()) fail("not a JSON object");
    name_ = string_field("name", "");
    if (name_.empty()) fail("no \"name\"");
    Entry e;
    e.name = name_;
    e.run_name = string_field("run_name", name_);
    e.run_type = string_field("run_type", "iteration");
    e.aggregate_name = string_field("aggregate_name", "");
    if (e.run_type != "iteration" && e.run_type != "aggregate") {
      fail("unknown run_type '" + e.run_type + "'");
    }
    // Every key that Google Benchmark does not own is a counter and must be a finite number.
    for (const auto& [key, value] : entry_.items()) {
      if (kEntryKeys.count(key) == 0) (void)number_field(key);
    }
    for (auto counter : kWorkCounterNames) {
      std::string key(counter);
      if (!entry_.contains(key)) continue;
      double v = number_field(key);
      if (v < 0) fail("work counter \"" + key + "\" is negative");
      if (v > kMaxWorkPerIteration) {
        fail("work counter \"" + key + "\" is above 1e18 per iteration: not a physical count");
      }
      work_field(e.work, counter) = v;
    }
    if (entry_.contains("ranks")) {
      double r = number_field("ranks");
      if (r < 1 || r > 1e6 || r != std::floor(r)) fail("\"ranks\" is not a positive integer");
      e.ranks = static_cast<int>(r);
    }
    try {
      e.labels = parse_label(string_field("label", ""));
    } catch (const std::invalid_argument& err) {
      fail(err.what());
    }
    // h2d/d2h and every op-labelled sample without a ranks counter run on one rank.
    if (e.labels.count("op") && e.ranks == 0) e.ranks = 1;
    e.repetitions = static_cast<int>(integer("repetitions", 1));
    e.repetition_index = static_cast<int>(integer("repetition_index", -1));
    read_time(e);
    return e;
  }

 private:
  double integer(const char* key, double fallback) const {
    auto it = entry_.find(key);
    if (it == entry_.end()) return fallback;
    if (!it->is_number()) fail(std::string("\"") + key + "\" is not a number");
    double v = it->get<double>();
    if (!(v >= -1 && v <= 1e9) || v != std::floor(v))
      fail(std::string("\"") + key + "\" is not a count");
    return v;
  }

  void read_time(Entry& e) const {
    auto it = entry_.find("real_time");
    if (it == entry_.end()) fail("no \"real_time\"");
    if (!it->is_number()) fail("\"real_time\" is not a number but " + json_type_of(*it));
    double raw = it->get<double>();
    if (!std::isfinite(raw)) fail("time is not finite");
    if (e.run_type == "aggregate" && e.aggregate_name != "median" && e.aggregate_name != "mean") {
      // cv is a fraction, stddev may be 0; neither becomes a sample's time.
      if (raw < 0) fail("aggregate '" + e.aggregate_name + "' is negative");
      e.time = raw;
      return;
    }
    std::string unit = string_field("time_unit", "");
    double scale = seconds_per(unit);
    if (scale == 0) fail("unknown time unit '" + unit + "' (expected ns, us, ms or s)");
    if (raw == 0) fail("time is zero");
    if (raw < 0) fail("time is negative");
    e.time = raw * scale;
  }

  const std::string& source_;
  size_t index_;
  const json& entry_;
  std::string name_;
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The entries of one run (one run_name): its repetitions and aggregates.
struct Run {
  std::vector<Entry> iterations;
  const Entry* median = nullptr;
  const Entry* mean = nullptr;
  const Entry* cv = nullptr;
};

[[noreturn]] void contradiction(const std::string& source, const std::string& run,
                                const std::string& why) {
  throw InputError(source + ": benchmark '" + run + "': contradictory duplicates: " + why);
}

Sample sample_of(const std::string& source, const std::string& run_name, const Run& run) {
  const Entry* ref = run.median ? run.median : run.mean ? run.mean : &run.iterations.front();
  for (const Entry& it : run.iterations) {
    if (!it.same_run(*ref))
      contradiction(source, run_name, "repetitions declare different work or labels");
  }
  Sample s;
  s.source = source;
  s.name = run_name;
  s.family = family_of(run_name);
  s.work = ref->work;
  s.labels = ref->labels;
  s.ranks = ref->ranks;
  std::vector<double> times;
  for (const Entry& it : run.iterations) times.push_back(it.time);
  s.repetition_times_s = times;
  if (run.median || run.mean) {
    s.time_s = ref->time;
    s.repetitions = std::max<int>(ref->repetitions, static_cast<int>(times.size()));
  } else {
    s.time_s = median_of(times);
    s.repetitions = static_cast<int>(times.size());
  }
  if (run.cv) {
    s.cv = run.cv->time;
  } else if (times.size() >= 2) {
    double mean = 0, var = 0;
    for (double t : times) mean += t;
    mean /= static_cast<double>(times.size());
    for (double t : times) var += (t - mean) * (t - mean);
    var /= static_cast<double>(times.size() - 1);
    s.cv = std::sqrt(var) / mean;
  }
  return s;
}

// Stores `e` in `slot`, or checks that it repeats what is there.
void keep_one(const std::string& source, const Entry*& slot, const Entry& e) {
  if (slot && (slot->time != e.time || !slot->same_run(e))) {
    contradiction(source, e.run_name, "two '" + e.aggregate_name + "' aggregates differ");
  }
  if (!slot) slot = &e;
}

// Google Benchmark writes a NaN or infinite counter or time as a bare NaN, Infinity, inf or nan,
// which is not JSON. When the parse stopped at one, name the benchmark and the key instead of a
// byte offset.
void non_finite_number(const std::string& text, size_t byte, const std::string& source) {
  size_t at = std::min(byte > 0 ? byte - 1 : 0, text.size());
  size_t start = text.find_last_of(":[,", at);
  if (start == std::string::npos) return;
  size_t token = text.find_first_not_of(" \t\r\n", start + 1);
  if (token == std::string::npos) return;
  std::string word = text.substr(token, text.find_first_of(",}] \t\r\n", token) - token);
  if (!word.empty() && word[0] == '-') word.erase(0, 1);
  if (word != "NaN" && word != "nan" && word != "Infinity" && word != "inf") return;
  auto quoted_before = [&](size_t pos) -> std::string {
    size_t close = text.rfind('"', pos);
    if (close == std::string::npos || close == 0) return "";
    size_t open = text.rfind('"', close - 1);
    return open == std::string::npos ? "" : text.substr(open + 1, close - open - 1);
  };
  std::string key = quoted_before(start);
  std::string name;
  for (size_t pos = token; (pos = text.rfind("\"name\"", pos)) != std::string::npos; --pos) {
    size_t colon = text.find(':', pos);
    size_t open = text.find('"', colon);
    size_t close = open == std::string::npos ? open : text.find('"', open + 1);
    if (close != std::string::npos && close < token) name = text.substr(open + 1, close - open - 1);
    if (!name.empty() || pos == 0) break;
  }
  throw InputError(source + ": " + (name.empty() ? "" : "benchmark '" + name + "': ") + "\"" + key +
                   "\" is not finite (" + text.substr(token, word.size() + (text[token] == '-')) +
                   ")");
}

// parse_json_input, naming a bare NaN or Infinity where the parse stopped at one.
json parse_results_json(const std::string& text, const std::string& source) {
  try {
    return parse_json_input(text, source);
  } catch (const JsonSyntaxError& err) {
    non_finite_number(text, err.byte, source);
    throw;
  }
}

// The context's "skipped": [{"name", "reason", "repetitions"}], as finalize_output writes it.
std::vector<SkippedBenchmark> read_skips(const json& list, const std::string& source) {
  if (!list.is_array()) {
    throw InputError(source + ": context \"skipped\" is not an array but " + json_type_of(list));
  }
  std::vector<SkippedBenchmark> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& item = list[i];
    const std::string where = source + ": context \"skipped\" entry " + std::to_string(i) + ": ";
    if (!item.is_object()) throw InputError(where + "not a JSON object");
    SkippedBenchmark s;
    for (const char* key : {"name", "reason"}) {
      if (!item.contains(key) || !item[key].is_string()) {
        throw InputError(where + "no \"" + key + "\" string");
      }
    }
    s.name = item["name"].get<std::string>();
    s.reason = item["reason"].get<std::string>();
    if (s.name.empty()) throw InputError(where + "an empty \"name\"");
    if (item.contains("repetitions")) {
      const json& r = item["repetitions"];
      const double n = r.is_number() ? r.get<double>() : 0;
      if (!(n >= 1 && n <= 1e6) || n != std::floor(n)) {
        throw InputError(where + "benchmark '" + s.name + "': \"repetitions\" is not a count");
      }
      s.repetitions = static_cast<int>(n);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

ResultFile parse_google_benchmark(const std::string& text, const std::string& source) {
  return parse_google_benchmark(parse_results_json(text, source), source);
}

ResultFile parse_google_benchmark(const json& doc, const std::string& source) {
  if (!doc.is_object() || !doc.contains("benchmarks")) {
    throw InputError(source + ": not Google Benchmark JSON: no \"benchmarks\"");
  }
  const json& list = doc["benchmarks"];
  if (!list.is_array()) throw InputError(source + ": \"benchmarks\" is not an array");
  ResultFile out;
  if (doc.contains("context")) {
    if (!doc["context"].is_object()) throw InputError(source + ": \"context\" is not an object");
    out.context = doc["context"];
    if (out.context.contains("skipped")) {
      out.skips = read_skips(out.context["skipped"], source);
      out.context.erase("skipped");
      for (const SkippedBenchmark& s : out.skips) out.skipped += s.repetitions;
    }
  }
  std::vector<Entry> entries;
  entries.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& item = list[i];
    // Google Benchmark writes SkipWithError as "error_occurred" and SkipWithMessage (1.8 on) as
    // "skipped", both with a time of 0: neither is a measurement.
    if (item.is_object() && ((item.contains("error_occurred") && item["error_occurred"] == true) ||
                             (item.contains("skipped") && item["skipped"] == true))) {
      ++out.skipped;
      continue;
    }
    entries.push_back(EntryReader(source, i, item).read());
  }
  std::map<std::string, Run> runs;
  for (const Entry& e : entries) {
    Run& run = runs[e.run_name];
    if (e.run_type == "iteration") {
      for (const Entry& other : run.iterations) {
        if (other.repetition_index != e.repetition_index) continue;
        if (other.time != e.time || !other.same_run(e)) {
          contradiction(
              source, e.run_name,
              "repetition " + std::to_string(e.repetition_index) + " appears twice, differing");
        }
      }
      run.iterations.push_back(e);
    } else if (e.aggregate_name == "median") {
      keep_one(source, run.median, e);
    } else if (e.aggregate_name == "mean") {
      keep_one(source, run.mean, e);
    } else if (e.aggregate_name == "cv") {
      keep_one(source, run.cv, e);
    }
  }
  for (auto& [name, run] : runs) {
    // Identical duplicated repetitions (the same entry written twice) count once.
    auto& its = run.iterations;
    its.erase(std::unique(its.begin(), its.end(),
                          [](const Entry& a, const Entry& b) {
                            return a.repetition_index == b.repetition_index && a.time == b.time &&
                                   a.same_run(b);
                          }),
              its.end());
    if (its.empty() && !run.median && !run.mean) continue;  // only cv or stddev: nothing to time
    out.samples.push_back(sample_of(source, name, run));
    std::vector<std::pair<int, double>> reps;
    for (const Entry& it : its) reps.emplace_back(it.repetition_index, it.time);
    std::sort(reps.begin(), reps.end());
    out.repetitions.push_back(std::move(reps));
  }
  return out;
}

namespace {

// The names a folder's listing reads: our JSON, and nccl-tests logs saved beside it as *.log (a
// *.txt file is read only when named on its own: folders hold notes too).
bool is_result_file_name(const std::string& name) {
  return name.size() > 4 &&
         ((name.ends_with(".json") && name != "model.json") || name.ends_with(".log"));
}

}  // namespace

std::vector<std::string> expand_path(const std::string& path) {
  namespace fs = std::filesystem;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path + ": " + errno_text(errno));
  if (!S_ISDIR(st.st_mode)) return {path};
  std::error_code ec;
  std::vector<std::string> files;
  fs::directory_iterator listing(path, ec);
  if (ec) throw InputError(path + ": cannot be listed: " + errno_text(ec.value()));
  for (const auto& item : listing) {
    std::string name = item.path().filename().string();
    if (item.is_regular_file() && is_result_file_name(name)) {
      files.push_back((fs::path(path) / name).string());
    }
  }
  if (ec) throw InputError(path + ": cannot be listed: " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw InputError(path + ": no result files (*.json, or nccl-tests *.log) in this folder");
  return files;
}

namespace {

// Reads an nccl-tests log or -J JSON: its errors, and anything else it throws (a number out of
// range, ...), become InputError naming the file.
NcclTestsLog read_nccl_tests_checked(const std::string& text, const std::string& path,
                                     const NcclTestsOptions& nccl) {
  try {
    return parse_nccl_tests(text, path, nccl);  // the text read once: a pipe works
  } catch (const ReadError& e) {
    throw InputError(e.what());
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(path + ": not a readable nccl-tests file: " + e.what());
  }
}

std::string context_value(const json& v) {
  if (!v.is_string()) return json_type_of(v);
  std::string out = "'";
  out += v.get_ref<const std::string&>();
  out += "'";
  return out;
}

}  // namespace

void read_file_into(const std::string& path, Inputs& inputs, const NcclTestsOptions& nccl) {
  const std::string text = read_input_file(path);
  const size_t first = text.find_first_not_of(" \t\r\n");
  const bool looks_like_json =
      first != std::string::npos && (text[first] == '{' || text[first] == '[');
  json doc;
  if (looks_like_json) {
    doc = parse_results_json(text, path);  // throws, naming the entry, for malformed JSON
  }
  if (doc.is_object() && doc.contains("benchmarks")) {
    ResultFile file = parse_google_benchmark(doc, path);
    inputs.sources.push_back(path);
    // A run stopped early (the harness's --deadline or a signal) keeps what finished: its
    // samples count as any others, and the file says what is missing, once.
    if (file.context.contains("incomplete") && file.context["incomplete"] == true) {
      const auto& nr = file.context.contains("not_run") ? file.context["not_run"] : json();
      const auto& by = file.context.contains("stopped_by") ? file.context["stopped_by"] : json();
      inputs.warnings.push_back(
          path + ": incomplete (stopped by " + (by.is_string() ? by.get<std::string>() : "?") +
          "): " + std::to_string(nr.is_array() ? nr.size() : 0) + " benchmark(s) not run");
    }
    for (const char* key : {"incomplete", "stopped_by", "not_run"}) file.context.erase(key);
    inputs.skipped += file.skipped;
    inputs.skips.insert(inputs.skips.end(), file.skips.begin(), file.skips.end());
    for (size_t i = 0; i < file.samples.size(); ++i) {
      inputs.repetitions[{path, file.samples[i].name}] = std::move(file.repetitions[i]);
      inputs.samples.push_back(std::move(file.samples[i]));
    }
    for (const auto& [key, value] : file.context.items()) {
      auto it = inputs.context.find(key);
      if (it == inputs.context.end()) {
        inputs.context[key] = value;
      } else if (*it != value && key == "gpu_name") {
        // One fit is of one GPU type: a model.json labelled with one GPU's name must not hold
        // another's samples. Several GPUs of one type (their UUIDs differ) stay allowed.
        throw InputError(path + ": gpu_name " + context_value(value) + " differs from " +
                         context_value(*it) +
                         " of the files before it: read one GPU type at a time (batchcost "
                         "compare A B sets two GPUs side by side)");
      } else if (*it != value && key == "gpu_uuid") {
        inputs.warnings.push_back(path + ": " + key + " " + context_value(value) +
                                  " differs from " + context_value(*it) +
                                  " of the files before it");
      }
    }
    return;
  }
  // batchcost.model/1 and /2 (core/model_file.h); model_from_json checks which.
  if (doc.is_object() && doc.contains("schema") &&
      (doc["schema"] == "batchcost.model/1" || doc["schema"] == "batchcost.model/2")) {
    inputs.models.push_back(std::move(doc));
    inputs.model_sources.push_back(path);
    return;
  }
  // nccl-tests output: its -J JSON (with "results" and "config"), or a text log (not JSON).
  const bool nccl_json = doc.is_object() && doc.contains("results") && doc.contains("config");
  if (nccl_json || !looks_like_json) {
    NcclTestsLog log = read_nccl_tests_checked(text, path, nccl);
    inputs.sources.push_back(path);
    for (const auto& why : log.skipped) inputs.warnings.push_back(why);
    for (auto& s : log.samples) inputs.samples.push_back(std::move(s));
    return;
  }
  throw InputError(path +
                   ": neither Google Benchmark JSON (\"benchmarks\") nor a batchcost "
                   "model.json (\"schema\": \"batchcost.model/2\" or /1)");
}

Inputs read_inputs(const std::vector<std::string>& paths, bool allow_models) {
  Inputs inputs;
  for (const std::string& arg : paths) {
    // "nccl.log:op=all_reduce,ranks=16": the nccl-tests reader's options, unless the whole
    // argument names a file.
    std::error_code ec;
    PathOptions po{arg, {}, false};
    if (!std::filesystem::exists(arg, ec)) {
      try {
        po = split_path_options(arg);
      } catch (const ReadError& e) {
        throw InputError(e.what());
      }
    }
    for (const std::string& file : expand_path(po.path)) read_file_into(file, inputs, po.options);
  }
  auto by_name = [](const Sample& a, const Sample& b) {
    return std::tie(a.name, a.source) < std::tie(b.name, b.source);
  };
  std::stable_sort(inputs.samples.begin(), inputs.samples.end(), by_name);
  // The same benchmark in two files: one sample if they agree, an error if they do not.
  std::vector<Sample> unique;
  for (Sample& s : inputs.samples) {
    if (!unique.empty() && unique.back().name == s.name) {
      const Sample& prev = unique.back();
      // Repetitions both files hold must be the same measurement, not only the same median.
      auto a = inputs.repetitions.find({prev.source, prev.name});
      auto b = inputs.repetitions.find({s.source, s.name});
      if (a != inputs.repetitions.end() && b != inputs.repetitions.end()) {
        for (const auto& [index, time] : b->second) {
          for (const auto& [other_index, other_time] : a->second) {
            if (index >= 0 && index == other_index && time != other_time) {
              throw InputError(s.source + ": benchmark '" + s.name +
                               "': contradictory duplicates: repetition " + std::to_string(index) +
                               " differs from the one in " + prev.source);
            }
          }
        }
      }
      if (prev.time_s != s.time_s || prev.work != s.work || prev.labels != s.labels) {
        throw InputError(s.source + ": benchmark '" + s.name +
                         "': contradictory duplicates: also in " + prev.source +
                         " with a different " +
                         (prev.time_s != s.time_s ? "time" : "work or label"));
      }
      continue;
    }
    unique.push_back(std::move(s));
  }
  inputs.samples = std::move(unique);
  if (inputs.samples.empty() && !(allow_models && !inputs.models.empty())) {
    std::string names;
    for (const auto& p : paths) names += (names.empty() ? "" : ", ") + p;
    throw InputError(
        names + ": no usable samples" +
        (inputs.skipped ? " (" + std::to_string(inputs.skipped) + " skipped by the harness)" : ""));
  }
  return inputs;
}

void check_output_path(const std::string& out, const std::vector<std::string>& paths,
                       const std::string& flag) {
  namespace fs = std::filesystem;
  struct stat out_st {};
  const bool exists = ::stat(out.c_str(), &out_st) == 0;
  if (exists && S_ISDIR(out_st.st_mode)) throw InputError(flag + " " + out + ": is a folder");
  const fs::path parent = fs::path(out).parent_path();
  struct stat parent_st {};
  if (::stat(parent.empty() ? "." : parent.c_str(), &parent_st) != 0) {
    throw InputError(flag + " " + out + ": its folder " + parent.string() + ": " +
                     errno_text(errno));
  }
  for (const std::string& path : paths) {
    // A result-file name in an input folder would be read by the next run of the same command.
    struct stat dir_st {};
    if (::stat(path.c_str(), &dir_st) == 0 && S_ISDIR(dir_st.st_mode) &&
        dir_st.st_dev == parent_st.st_dev && dir_st.st_ino == parent_st.st_ino &&
        is_result_file_name(fs::path(out).filename().string())) {
      throw InputError(flag + " " + out + ": is in the input folder " + path +
                       ", whose *.json and *.log files are read (model.json is not)");
    }
  }
  if (!exists) return;  // a new file is no input
  for (const std::string& path : paths) {
    for (const std::string& file : expand_path(path)) {
      struct stat in_st {};
      if (::stat(file.c_str(), &in_st) == 0 && in_st.st_dev == out_st.st_dev &&
          in_st.st_ino == out_st.st_ino) {
        throw InputError(flag + " " + out + ": is the input " + file +
                         " (writing it would replace what is read)");
      }
    }
  }
}

}  // namespace batchcost
