// The collective benchmark's console table and version text (see report.h).
#include "collectives/report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

namespace batchcost::collective {
namespace {

struct Half {
  std::vector<double> times_s;
  long long wrong = -1;
  bool seen = false;
};

struct Row {
  std::size_t count = 0;
  Half half[2];  // out-of-place, in-place
};

struct Section {
  Op op;
  Dtype dtype;
  int ranks;
  int root;
  bool graph;
  std::map<std::size_t, Row> rows;  // by size
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string format_time_us(double us) {
  char buf[32];
  if (us >= 10000.0) {
    std::snprintf(buf, sizeof buf, "%9.0f", us);
  } else if (us >= 100.0) {
    std::snprintf(buf, sizeof buf, "%9.1f", us);
  } else {
    std::snprintf(buf, sizeof buf, "%9.2f", us);
  }
  return buf;
}

std::string format_half(const Section& s, std::size_t size, const Half& h) {
  char buf[96];
  if (!h.seen) {
    std::snprintf(buf, sizeof buf, "%9s %7s %7s %7s", "N/A", "N/A", "N/A", "N/A");
    return buf;
  }
  std::string wrong = h.wrong < 0 ? "N/A" : std::to_string(h.wrong);
  std::vector<double> timed;
  for (double t : h.times_s) {
    if (t > 0) timed.push_back(t);
  }
  if (timed.empty()) {
    std::snprintf(buf, sizeof buf, "%9s %7s %7s %7s", "-", "-", "-", wrong.c_str());
    return buf;
  }
  const double t = median(timed);
  const double algbw = algbw_bytes_per_s(size, t) / kBytesPerGB;
  const double busbw = busbw_bytes_per_s(s.op, s.ranks, size, t) / kBytesPerGB;
  std::snprintf(buf, sizeof buf, "%s %7.2f %7.2f %7s", format_time_us(t * 1e6).c_str(), algbw,
                busbw, wrong.c_str());
  return buf;
}

}  // namespace

std::string_view nccl_type_name(Dtype dtype) { return dtype == Dtype::bf16 ? "bfloat16" : "float"; }

std::string format_table(const std::vector<TableEntry>& entries) {
  std::vector<Section> sections;
  for (const TableEntry& e : entries) {
    auto key = std::make_tuple(e.op, e.dtype, e.ranks, e.root, e.graph);
    auto it = std::find_if(sections.begin(), sections.end(), [&](const Section& s) {
      return std::make_tuple(s.op, s.dtype, s.ranks, s.root, s.graph) == key;
    });
    if (it == sections.end()) {
      sections.push_back(Section{e.op, e.dtype, e.ranks, e.root, e.graph, {}});
      it = sections.end() - 1;
    }
    Row& row = it->rows[e.size_bytes];
    row.count = e.count;
    Half& h = row.half[e.in_place ? 1 : 0];
    h.seen = true;
    h.times_s.push_back(e.time_s);
    h.wrong = std::max(h.wrong, e.wrong);
  }

  std::string out;
  char line[256];
  for (const Section& s : sections) {
    std::snprintf(line, sizeof line, "#\n# %s  %s  ranks=%d%s\n",
                  std::string(op_name(s.op)).c_str(), std::string(dtype_name(s.dtype)).c_str(),
                  s.ranks, s.graph ? "  graph" : "");
    out += line;
    std::snprintf(line, sizeof line, "#%55s %-34s %-34s\n", "", "out-of-place", "in-place");
    out += line;
    std::snprintf(line, sizeof line, "#%11s %13s %9s %6s %5s %9s %7s %7s %7s %9s %7s %7s %7s\n",
                  "size", "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong",
                  "time", "algbw", "busbw", "#wrong");
    out += line;
    std::snprintf(line, sizeof line, "#%11s %13s %9s %6s %5s %9s %7s %7s %7s %9s %7s %7s %7s\n",
                  "(B)", "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)",
                  "(GB/s)", "");
    out += line;
    const char* redop = reduces(s.op) ? "sum" : "none";
    const int root = has_root(s.op) ? s.root : -1;
    for (const auto& [size, row] : s.rows) {
      std::snprintf(line, sizeof line, " %11zu %13zu %9s %6s %5d %s %s\n", size, row.count,
                    std::string(nccl_type_name(s.dtype)).c_str(), redop, root,
                    format_half(s, size, row.half[0]).c_str(),
                    format_half(s, size, row.half[1]).c_str());
      out += line;
    }
  }
  return out;
}

std::string nccl_version_string(int code) {
  if (code <= 0) return "unknown";
  // NCCL_VERSION(X, Y, Z): X*1000 + Y*100 + Z up to 2.8, X*10000 + Y*100 + Z from 2.9 on.
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? (code % 10000) / 100 : (code % 1000) / 100;
  const int patch = code % 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace batchcost::collective
