// The tidy CSV of `batchcost export` (see export.h).
#include "model/export.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace batchcost {

std::vector<std::pair<std::string, std::string>> name_parameters(const std::string& name) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    const std::string segment = name.substr(start, end - start);
    const size_t colon = segment.find(':');
    if (colon != std::string::npos && colon > 0 && colon + 1 < segment.size()) {
      out.push_back({segment.substr(0, colon), segment.substr(colon + 1)});
    }
    start = end + 1;
  }
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out(1, '"');
  for (char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

namespace {

// 15 significant digits: every digit the file's numbers had (a time in µs times 1e-6 is not
// exactly representable; 17 digits would print 2.4500000000000003e-06 for 2.45 µs).
std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", v);
  return text;
}

}  // namespace

size_t export_rows(const std::vector<Sample>& samples, ExportRows rows) {
  if (rows == ExportRows::kMedians) return samples.size();
  size_t n = 0;
  for (const Sample& s : samples) n += std::max<size_t>(1, s.repetition_times_s.size());
  return n;
}

std::string export_csv(const std::vector<Sample>& samples,
                       const std::map<std::string, std::string>& gpu_of_source, ExportRows rows) {
  std::vector<std::string> params;  // in order of first appearance
  std::set<std::string> seen, label_keys;
  for (const Sample& s : samples) {
    for (const auto& [key, value] : name_parameters(s.name)) {
      if (seen.insert(key).second) params.push_back(key);
    }
    for (const auto& [key, value] : s.labels) label_keys.insert(key);
  }
  std::vector<std::string> header = {"source",     "gpu_name",    "name",   "family", "kind",
                                     "repetition", "repetitions", "time_s", "cv",     "ranks"};
  for (auto counter : kWorkCounterNames) header.emplace_back(counter);
  for (const std::string& p : params) header.push_back("param_" + p);
  for (const std::string& l : label_keys) header.push_back("label_" + l);
  std::string out;
  auto line = [&out](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      out += csv_field(cells[i]);
    }
    out += "\n";
  };
  line(header);
  for (const Sample& s : samples) {
    std::map<std::string, std::string> values;
    for (const auto& [key, value] : name_parameters(s.name)) values.emplace(key, value);
    const auto gpu = gpu_of_source.find(s.source);
    auto row = [&](const std::string& kind, const std::string& index, double time_s) {
      std::vector<std::string> cells = {s.source,
                                        gpu == gpu_of_source.end() ? "" : gpu->second,
                                        s.name,
                                        s.family,
                                        kind,
                                        index,
                                        std::to_string(s.repetitions),
                                        number(time_s),
                                        s.cv > 0 ? number(s.cv) : "",
                                        std::to_string(s.ranks)};
      for (auto counter : kWorkCounterNames) cells.push_back(number(work_field(s.work, counter)));
      for (const std::string& p : params) {
        auto it = values.find(p);
        cells.push_back(it == values.end() ? "" : it->second);
      }
      for (const std::string& l : label_keys) {
        auto it = s.labels.find(l);
        cells.push_back(it == s.labels.end() ? "" : it->second);
      }
      line(cells);
    };
    if (rows == ExportRows::kMedians) {
      row("median", "", s.time_s);
    } else if (!s.repetition_times_s.empty()) {
      for (size_t i = 0; i < s.repetition_times_s.size(); ++i) {
        row("repetition", std::to_string(i), s.repetition_times_s[i]);
      }
    } else if (s.repetitions > 1) {
      row("median", "", s.time_s);  // the file kept only the aggregate
    } else {
      row("repetition", "0", s.time_s);
    }
  }
  return out;
}

}  // namespace batchcost
