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
  RedOp redop;
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

// One half's columns; *busbw_gbps is set where the half was timed.
std::string format_half(const Section& s, std::size_t size, const Half& h,
                        double* busbw_gbps = nullptr) {
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
  if (busbw_gbps != nullptr) *busbw_gbps = busbw;
  std::snprintf(buf, sizeof buf, "%s %7.2f %7.2f %7s", format_time_us(t * 1e6).c_str(), algbw,
                busbw, wrong.c_str());
  return buf;
}

void add_to_half(Half& h, const TableEntry& e) {
  if (e.skipped) return;  // N/A, as a half that was not run
  h.seen = true;
  h.times_s.push_back(e.time_s);
  h.wrong = std::max(h.wrong, e.wrong);
}

std::string section_header(const Section& s) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "#\n# %s  %s%s  ranks=%d%s\n",
                std::string(op_name(s.op)).c_str(), std::string(dtype_name(s.dtype)).c_str(),
                reduces(s.op) && s.redop != RedOp::sum
                    ? ("  " + std::string(redop_name(s.redop))).c_str()
                    : "",
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
  return out;
}

// One row; busbw[k] is set for each timed half k (0 out of place, 1 in place), else left.
std::string format_row(const Section& s, std::size_t size, const Row& row, double busbw[2]) {
  const std::string redop = reduces(s.op) ? std::string(redop_name(s.redop)) : "none";
  const int root = has_root(s.op) ? s.root : -1;
  char line[256];
  std::snprintf(line, sizeof line, " %11zu %13zu %9s %6s %5d %s %s\n", size, row.count,
                std::string(nccl_type_name(s.dtype)).c_str(), redop.c_str(), root,
                format_half(s, size, row.half[0], &busbw[0]).c_str(),
                format_half(s, size, row.half[1], &busbw[1]).c_str());
  return line;
}

Section section_of(const RowKey& k) {
  return Section{k.op, k.dtype, k.redop, k.ranks, k.root, k.graph, {}};
}

}  // namespace

RowKey row_key(const TableEntry& e) {
  return RowKey{e.op,    e.dtype,     reduces(e.op) ? e.redop : RedOp::sum, e.ranks, e.root,
                e.graph, e.size_bytes};
}

void TableStream::expect(const RowKey& key, int entries) {
  for (Pending& p : rows_) {
    if (p.key == key) {
      p.expected += entries;
      return;
    }
  }
  rows_.push_back(Pending{key, entries, {}, false});
}

std::string TableStream::print(Pending& row) {
  std::string out;
  RowKey section_key = row.key;
  section_key.size_bytes = 0;
  if (!have_last_section_ || !(last_section_ == section_key)) {
    out += section_header(section_of(row.key));
    last_section_ = section_key;
    have_last_section_ = true;
  }
  Row r;
  r.count = 0;
  for (const TableEntry& e : row.entries) {
    if (e.count != 0) r.count = e.count;
    add_to_half(r.half[e.in_place ? 1 : 0], e);
  }
  for (const Half& h : r.half) out_of_bounds_ += h.wrong > 0 ? 1 : 0;
  double busbw[2] = {-1, -1};
  out += format_row(section_of(row.key), row.key.size_bytes, r, busbw);
  for (double b : busbw) {
    if (b >= 0) {
      busbw_sum_ += b;
      ++busbw_count_;
    }
  }
  row.printed = true;
  printed_any_ = true;
  return out;
}

std::string TableStream::add(const TableEntry& entry) {
  const RowKey key = row_key(entry);
  auto it = std::find_if(rows_.begin(), rows_.end(),
                         [&](const Pending& p) { return p.key == key && !p.printed; });
  if (it == rows_.end()) {  // not announced, or printed already: a row of its own
    rows_.push_back(Pending{key, 1, {}, false});
    it = rows_.end() - 1;
  }
  std::string out;
  if (in_order_) {
    for (auto earlier = rows_.begin(); earlier != it; ++earlier) {
      if (!earlier->printed && !earlier->entries.empty()) out += print(*earlier);
    }
  }
  it->entries.push_back(entry);
  if (static_cast<int>(it->entries.size()) >= it->expected) out += print(*it);
  return out;
}

std::string TableStream::finish() {
  std::string out;
  for (Pending& p : rows_) {
    if (!p.printed && !p.entries.empty()) out += print(p);
  }
  if (printed_any_) out += format_footer(out_of_bounds_, avg_busbw_gbps());
  return out;
}

std::string format_footer(long long out_of_bounds, double avg_busbw_gbps) {
  char line[128];
  std::string out;
  std::snprintf(line, sizeof line, "# %-20s : %lld %s\n", "Out of bounds values", out_of_bounds,
                out_of_bounds != 0 ? "FAILED" : "OK");
  out += line;
  std::snprintf(line, sizeof line, "# %-20s : %g\n", "Avg bus bandwidth", avg_busbw_gbps);
  out += line;
  out += "#\n";
  return out;
}

std::string_view nccl_type_name(Dtype dtype) { return find_dtype(dtype_name(dtype))->nccl_tests[0]; }

std::string format_table(const std::vector<TableEntry>& entries) {
  std::vector<Section> sections;
  for (const TableEntry& e : entries) {
    const RedOp redop = reduces(e.op) ? e.redop : RedOp::sum;
    auto key = std::make_tuple(e.op, e.dtype, redop, e.ranks, e.root, e.graph);
    auto it = std::find_if(sections.begin(), sections.end(), [&](const Section& s) {
      return std::make_tuple(s.op, s.dtype, s.redop, s.ranks, s.root, s.graph) == key;
    });
    if (it == sections.end()) {
      sections.push_back(Section{e.op, e.dtype, redop, e.ranks, e.root, e.graph, {}});
      it = sections.end() - 1;
    }
    Row& row = it->rows[e.size_bytes];
    if (e.count != 0) row.count = e.count;
    add_to_half(row.half[e.in_place ? 1 : 0], e);
  }
  std::string out;
  for (const Section& s : sections) {
    out += section_header(s);
    for (const auto& [size, row] : s.rows) {
      double busbw[2] = {-1, -1};
      out += format_row(s, size, row, busbw);
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
