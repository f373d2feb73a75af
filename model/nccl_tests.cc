// Reads nccl-tests text logs and -J JSON into samples (see the header for the rules).
//
// NOTES: no std::regex here. libstdc++'s regex executor recurses once per character, so one long
// line (a 30,000-letter word, a 100 kB comment) overflows the stack; every pattern below is a
// hand-written scan, linear in the line.
#include "model/nccl_tests.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "core/collective_ops.h"
#include "core/dtype.h"

namespace batchcost {
namespace {

namespace coll = batchcost::collective;

// The op the caller named (NcclTestsOptions::op), if any; a name not in the table is an error.
std::optional<coll::Op> op_from_options(const NcclTestsOptions& options,
                                        const std::string& source) {
  if (options.op.empty()) return std::nullopt;
  try {
    return coll::parse_op(options.op);
  } catch (const std::invalid_argument& e) {
    throw ReadError(source, 0, e.what());
  }
}

std::string where(const std::string& file, int line) {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

// A short, printable excerpt of a field for a message (a field may be 100 kB long).
std::string excerpt(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string out(text.substr(0, kMax));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return text.size() > kMax ? out + "..." : out;
}

// One printed number and how finely it was printed: nccl-tests prints "%6.2f"-like fixed
// decimals, or "1.2e+04" when the value is too wide; half a unit of the last digit bounds the
// rounding.
struct Printed {
  double value = 0;
  double half_unit = 0;
};

std::optional<double> parse_double(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<Printed> parse_printed(std::string_view text) {
  auto v = parse_double(text);
  if (!v) return std::nullopt;
  std::string_view mantissa = text;
  int exponent = 0;
  if (auto e = text.find_first_of("eE"); e != std::string_view::npos) {
    mantissa = text.substr(0, e);
    exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
  }
  int decimals = 0;
  if (auto dot = mantissa.find('.'); dot != std::string_view::npos) {
    decimals = static_cast<int>(mantissa.size() - dot - 1);
  }
  return Printed{*v, 0.5 * std::pow(10.0, exponent - decimals)};
}

bool is_unsigned_integer(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A decimal unsigned integer that fits 64 bits; nullopt otherwise (no exception, no wrap).
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (!is_unsigned_integer(s)) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// One timed side of a row (out-of-place or in-place), as read.
struct Side {
  bool in_place = false;
  double time_us = 0;
  Printed algbw, busbw;         // in GB/s
  std::optional<double> wrong;  // nullopt: not checked (N/A)
};

// One result row, from either format.
struct Row {
  int line = 0;       // text: the line; JSON: 0
  std::string entry;  // JSON: "results[3]"; text: empty
  std::uint64_t size_bytes = 0;
  std::optional<std::uint64_t> count;  // elements, as printed
  std::string type, redop;             // redop empty: not printed
  std::optional<long long> root;       // -1 for the ops without a root; nullopt: not printed
  std::vector<Side> sides;
};

// Where a row's error points: the line for text, the entry for JSON.
std::string row_where(const std::string& file, const Row& row) {
  return row.entry.empty() ? where(file, row.line) : file + ": " + row.entry;
}
ReadError row_error(const std::string& file, const Row& row, const std::string& message) {
  return row.entry.empty() ? ReadError(file, row.line, message)
                           : ReadError(file, 0, row.entry + ": " + message);
}

// The op from a binary name somewhere in a text (a command line, "Collective test starting").
struct OpGuess {
  std::optional<coll::Op> op;
  std::string unknown_binary;  // a *_perf binary that is not in the table
  int line = 0;
};

// Every word of the form [a-z][a-z0-9_]*_perf(_mpi)? standing alone (not inside a longer word).
void guess_op_from(std::string_view text, int line, OpGuess& guess) {
  constexpr std::string_view kPerf = "_perf";
  size_t at = 0;
  while ((at = text.find(kPerf, at)) != std::string_view::npos) {
    size_t begin = at;
    while (begin > 0 &&
           (std::islower(static_cast<unsigned char>(text[begin - 1])) ||
            std::isdigit(static_cast<unsigned char>(text[begin - 1])) || text[begin - 1] == '_')) {
      --begin;
    }
    size_t end = at + kPerf.size();
    if (text.substr(end, 4) == "_mpi" && (end + 4 == text.size() || !is_word(text[end + 4]))) {
      end += 4;
    }
    at += kPerf.size();
    const bool alone_left = begin == 0 || !is_word(text[begin - 1]);
    const bool alone_right = end == text.size() || !is_word(text[end]);
    if (!alone_left || !alone_right || begin == at - kPerf.size() ||
        !std::islower(static_cast<unsigned char>(text[begin]))) {
      continue;
    }
    const std::string binary(text.substr(begin, end - begin));
    if (auto op = coll::op_from_nccl_tests_binary(binary)) {
      if (!guess.op) {
        guess.op = op;
        guess.line = line;
      }
    } else if (guess.unknown_binary.empty()) {
      guess.unknown_binary = binary.size() > 64 ? binary.substr(0, 64) + "..." : binary;
      if (!guess.op) guess.line = line;
    }
  }
}

// The op from the file's name, the last resort: "all_gather_perf.log", "alltoall.txt",
// "allreduce-h100.log". Underscores and dashes are ignored, so "allreduce" is "all_reduce".
std::optional<coll::Op> op_from_file_name(const std::string& path) {
  std::string name;
  for (char c : path.substr(path.find_last_of('/') + 1)) {
    if (c != '_' && c != '-')
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  // Longest names first, so that "allreduce" is not taken for "reduce".
  static const std::vector<std::pair<std::string, coll::Op>> kNames = {
      {"reducescatter", coll::Op::reduce_scatter},
      {"allreduce", coll::Op::all_reduce},
      {"allgather", coll::Op::all_gather},
      {"alltoall", coll::Op::all_to_all},
      {"broadcast", coll::Op::broadcast},
      {"sendrecv", coll::Op::send_recv},
      {"reduce", coll::Op::reduce}};
  for (const auto& [key, op] : kNames) {
    if (name.find(key) != std::string::npos) return op;
  }
  return std::nullopt;
}

// Solves busbw / algbw = bus_bandwidth_factor(op, n) for n over all rows: each row bounds the
// ratio within the rounding of its printed values, and n must fit every bound.
struct RatioBounds {
  double low = 0;
  double high = std::numeric_limits<double>::infinity();
  int rows = 0;  // rows precise enough to bound anything
};

std::optional<std::pair<double, double>> ratio_bounds(const Side& side) {
  const double a_low = side.algbw.value - side.algbw.half_unit;
  if (!(a_low > 0)) return std::nullopt;  // "0.00": says nothing
  const double a_high = side.algbw.value + side.algbw.half_unit;
  const double b_low = std::max(0.0, side.busbw.value - side.busbw.half_unit);
  const double b_high = side.busbw.value + side.busbw.half_unit;
  // nccl-tests prints floats; allow a relative 1e-6 beyond the printed rounding.
  return std::make_pair(b_low / a_high * (1 - 1e-6), b_high / a_low * (1 + 1e-6));
}

RatioBounds ratio_bounds_of(const std::vector<Row>& rows) {
  RatioBounds bounds;
  for (const auto& row : rows) {
    for (const auto& side : row.sides) {
      if (auto b = ratio_bounds(side)) {
        bounds.low = std::max(bounds.low, b->first);
        bounds.high = std::min(bounds.high, b->second);
        ++bounds.rows;
      }
    }
  }
  return bounds;
}

std::vector<int> ranks_fitting(coll::Op op, const RatioBounds& bounds) {
  std::vector<int> fits;
  if (bounds.rows == 0) return fits;
  for (int n = 1; n <= kMaxNcclTestsRanks; ++n) {
    const double f = coll::bus_bandwidth_factor(op, n);
    if (f >= bounds.low && f <= bounds.high) fits.push_back(n);
  }
  return fits;
}

std::string format_double(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Bytes per element of nccl-tests' type names; 0 for a name it does not know.
std::size_t element_bytes(std::string_view type) {
  const DtypeInfo* d = find_nccl_tests_type(type);
  return d != nullptr ? static_cast<std::size_t>(d->bytes) : 0;
}

// What the table says about the op and the ranks, whatever the log's names say (root, redop,
// count against size, busbw / algbw): the ops consistent with every row, and the rank count
// that size / (count * element) implies for the ops that divide their buffer by the ranks.
struct Evidence {
  std::set<coll::Op> ops;
  int implied_ranks = 0;  // 0: not implied
  std::string why;        // for messages: what ruled ops out
};

Evidence table_evidence(const std::vector<Row>& rows, int ranks_known) {
  Evidence ev;
  ev.ops.insert(coll::kAllOps.begin(), coll::kAllOps.end());
  auto keep = [&](auto pred, const std::string& why) {
    std::set<coll::Op> kept;
    for (coll::Op op : ev.ops) {
      if (pred(op)) kept.insert(op);
    }
    if (kept.size() < ev.ops.size()) ev.why += (ev.why.empty() ? "" : ", ") + why;
    ev.ops = std::move(kept);
  };
  bool with_root = false, without_root = false, reducing = false, not_reducing = false;
  bool whole = false, divided = false;
  std::set<std::uint64_t> divisors;
  for (const Row& row : rows) {
    if (row.root) (*row.root >= 0 ? with_root : without_root) = true;
    if (!row.redop.empty()) (row.redop == "none" ? not_reducing : reducing) = true;
    const std::size_t elem = element_bytes(row.type);
    if (row.count && *row.count > 0 && row.size_bytes > 0 && elem > 0) {
      const std::uint64_t chunk = *row.count * elem;  // both < 2^64 / 8 in any real log
      if (*row.count > std::numeric_limits<std::uint64_t>::max() / elem) continue;
      if (chunk == row.size_bytes) {
        whole = true;
      } else if (row.size_bytes % chunk == 0) {
        divided = true;
        divisors.insert(row.size_bytes / chunk);
      } else {
        divisors.insert(0);  // neither: counts as a contradiction below
      }
    }
  }
  if (with_root && !without_root) keep([](coll::Op op) { return coll::has_root(op); }, "root >= 0");
  if (without_root && !with_root) keep([](coll::Op op) { return !coll::has_root(op); }, "root -1");
  if (reducing && !not_reducing) keep([](coll::Op op) { return coll::reduces(op); }, "a redop");
  if (not_reducing && !reducing) keep([](coll::Op op) { return !coll::reduces(op); }, "redop none");
  if (whole && !divided && !divisors.count(0)) {
    keep([](coll::Op op) { return !coll::divides_by_ranks(op); }, "size = count * element");
  } else if (divided && !whole && divisors.size() == 1 && !divisors.count(0)) {
    keep([](coll::Op op) { return coll::divides_by_ranks(op); }, "size = count * element * n");
    if (*divisors.begin() <= static_cast<std::uint64_t>(kMaxNcclTestsRanks)) {
      ev.implied_ranks = static_cast<int>(*divisors.begin());
    }
  }
  const int ranks = ranks_known > 0 ? ranks_known : ev.implied_ranks;
  const RatioBounds bounds = ratio_bounds_of(rows);
  // With the rank count known, an op the ratio rules out is left for build_log to name the
  // contradiction row by row, unless another op fits.
  bool any_fits = bounds.rows == 0 || ranks <= 0;
  for (coll::Op op : ev.ops) {
    if (ranks > 0 && bounds.rows > 0) {
      const double f = coll::bus_bandwidth_factor(op, ranks);
      any_fits = any_fits || (f >= bounds.low && f <= bounds.high);
    }
  }
  if (bounds.rows > 0 && any_fits) {
    keep(
        [&](coll::Op op) {
          if (ranks > 0) {
            const double f = coll::bus_bandwidth_factor(op, ranks);
            return f >= bounds.low && f <= bounds.high;
          }
          return !ranks_fitting(op, bounds).empty();
        },
        "busbw / algbw");
  }
  return ev;
}

std::string op_list(const std::set<coll::Op>& ops) {
  std::string out;
  for (coll::Op op : ops) out += (out.empty() ? "" : ", ") + std::string(coll::op_name(op));
  return out;
}

// The op of a log: the caller's, else a binary the log names (which the table must not
// contradict), else the one op the table allows, else the file's name among those.
coll::Op choose_op(const std::string& source, const NcclTestsOptions& options,
                   const std::vector<const OpGuess*>& guesses, const std::vector<Row>& rows,
                   int ranks_known) {
  if (auto op = op_from_options(options, source)) return *op;
  if (rows.empty()) throw ReadError(source, 0, "no nccl-tests result rows");
  const Evidence ev = table_evidence(rows, options.ranks > 0 ? options.ranks : ranks_known);
  for (const OpGuess* g : guesses) {
    if (g->op) {
      if (!ev.ops.count(*g->op)) {
        throw ReadError(source, g->line,
                        "the log names " + std::string(coll::op_name(*g->op)) + " but its table (" +
                            ev.why + ") fits " + (ev.ops.empty() ? "no op" : op_list(ev.ops)) +
                            "; name the op: PATH:op=NAME");
      }
      return *g->op;
    }
    if (!g->unknown_binary.empty()) {
      throw ReadError(
          source, g->line,
          "unknown op: '" + g->unknown_binary + "' is not one of the collectives batchcost models");
    }
  }
  if (ev.ops.size() == 1) return *ev.ops.begin();
  if (auto op = op_from_file_name(source); op && ev.ops.count(*op)) return *op;
  if (ev.ops.empty()) {
    throw ReadError(source, 0,
                    "unknown op: the table (" + ev.why +
                        ") fits no collective batchcost models; name it: PATH:op=NAME");
  }
  throw ReadError(source, 0,
                  "unknown op: no '# Collective test starting' line, no command line naming a "
                  "*_perf binary, and the table fits " +
                      op_list(ev.ops) +
                      " alike; name it: PATH:op=NAME (or a file name with the op in it)");
}

NcclTestsLog build_log(const std::string& source, coll::Op op, int ranks_from_log,
                       const std::vector<Row>& rows, const NcclTestsOptions& options) {
  NcclTestsLog log;
  log.source = source;
  log.op = std::string(coll::op_name(op));
  if (rows.empty()) throw ReadError(source, 0, "no nccl-tests result rows");
  if (options.ranks < 0 || options.ranks > kMaxNcclTestsRanks) {
    throw ReadError(source, 0,
                    "ranks=" + std::to_string(options.ranks) + " is not in 1.." +
                        std::to_string(kMaxNcclTestsRanks));
  }

  const RatioBounds bounds = ratio_bounds_of(rows);
  int ranks = options.ranks > 0 ? options.ranks : ranks_from_log;
  if (ranks <= 0) ranks = table_evidence(rows, 0).implied_ranks;
  if (ranks <= 0) {
    const std::string no_devices =
        "cannot tell the number of ranks: no '#  Rank ... device' lines, and ";
    if (bounds.rows == 0) {
      throw ReadError(source, 0, no_devices + "no row has a non-zero algbw to solve it from");
    }
    if (coll::bus_bandwidth_factor(op, 2) == coll::bus_bandwidth_factor(op, 3)) {
      throw ReadError(source, 0,
                      no_devices + "busbw = algbw for " + log.op +
                          " whatever the rank count; name it: PATH:ranks=N");
    }
    const auto fits = ranks_fitting(op, bounds);
    if (fits.empty()) {
      throw ReadError(source, 0,
                      "busbw/algbw of the rows (" + format_double(bounds.low) + " .. " +
                          format_double(bounds.high) + ") fits " + log.op +
                          " on no number of ranks");
    }
    if (fits.size() > 1) {
      throw ReadError(source, 0,
                      no_devices + "busbw/algbw fits " + log.op + " on " +
                          std::to_string(fits.front()) + " to " + std::to_string(fits.back()) +
                          " ranks alike; name it: PATH:ranks=N");
    }
    ranks = fits.front();
  }
  log.ranks = ranks;

  const double factor = coll::bus_bandwidth_factor(op, ranks);
  std::set<std::string> names;
  for (const auto& row : rows) {
    for (const auto& side : row.sides) {
      const std::string side_name = side.in_place ? "in-place" : "out-of-place";
      if (auto b = ratio_bounds(side); b && !(factor >= b->first && factor <= b->second)) {
        throw row_error(source, row,
                        side_name + " busbw/algbw = " + format_double(side.busbw.value) + "/" +
                            format_double(side.algbw.value) + " contradicts " + log.op + " on " +
                            std::to_string(ranks) + " ranks (factor " + format_double(factor) +
                            ")");
      }
      // algbw is size / time: a log whose units row was lost or edited (ms read as us) is off
      // by 1000 here. [0.4, 2.5] leaves room for old logs whose all_gather algbw held (n-1)/n.
      if (side.algbw.value - side.algbw.half_unit > 0 && row.size_bytes > 0) {
        const double implied = static_cast<double>(row.size_bytes) / (side.time_us * 1e3);
        const double ratio = side.algbw.value / implied;
        if (!(ratio > 0.4 && ratio < 2.5)) {
          throw row_error(source, row,
                          side_name + " algbw " + format_double(side.algbw.value) +
                              " GB/s contradicts size / time = " + format_double(implied) +
                              " GB/s: check the units of time and bandwidth");
        }
      }
      if (side.wrong && *side.wrong != 0) {
        log.skipped.push_back(row_where(source, row) + ": " + log.op + " " +
                              std::to_string(row.size_bytes) + " B " + side_name + ": " +
                              format_double(*side.wrong) + " wrong, not fitted");
        continue;
      }
      Sample s;
      s.source = source;
      const std::string dtype = dtype_from_nccl_tests_type(row.type);
      const bool has_redop = coll::reduces(op) && !row.redop.empty() && row.redop != "none";
      // NOTES: unique per op, ranks, dtype, redop and source, so that logs of one op on 8 and 16
      // GPUs, or in fp32 and bf16, fit together; a size repeated in one log (-N, or -d all with
      // -o all) gets a repetition number.
      std::string base = "collective/" + log.op + "/ranks:" + std::to_string(ranks) +
                         "/dtype:" + dtype + (has_redop ? "/redop:" + row.redop : "") +
                         "/bytes:" + std::to_string(row.size_bytes) +
                         "/inplace:" + (side.in_place ? "1" : "0");
      s.name = base + "/nccl-tests:" + source;
      for (int rep = 2; names.count(s.name); ++rep) {
        s.name = base + "/rep:" + std::to_string(rep) + "/nccl-tests:" + source;
      }
      names.insert(s.name);
      s.family = family_of(s.name);
      s.time_s = side.time_us * 1e-6;
      s.repetitions = 1;
      s.ranks = ranks;
      s.work.net_bytes = coll::net_bytes(op, ranks, row.size_bytes);
      s.work.collectives = 1;
      s.labels = {{"op", log.op},
                  {"dtype", dtype},
                  {"inplace", side.in_place ? "1" : "0"},
                  {"source", "nccl-tests"}};
      if (has_redop) s.labels["redop"] = row.redop;
      log.samples.push_back(std::move(s));
    }
  }
  return log;
}

// ---- Text logs ---------------------------------------------------------------------------------

// The launcher's prefix of a line: srun --label ("  0: "), mpirun --tag-output ("[1,0]<stdout>:").
std::string_view strip_prefix(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && is_space(line[i])) ++i;
  size_t j = i;
  if (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) {
    while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
    if (j < line.size() && line[j] == ':') {
      ++j;
    } else {
      return line;
    }
  } else if (j < line.size() && line[j] == '[') {
    ++j;
    auto digits = [&] {
      size_t k = j;
      while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
      return j > k;
    };
    if (!digits() || j >= line.size() || line[j] != ',') return line;
    ++j;
    if (!digits()) return line;
    const std::string_view rest = line.substr(j);
    if (rest.starts_with("]<stdout>:")) {
      j += 10;
    } else if (rest.starts_with("]<stderr>:")) {
      j += 10;
    } else {
      return line;
    }
  } else {
    return line;
  }
  if (j == line.size()) return line.substr(j);
  if (!is_space(line[j])) return line;
  return line.substr(j + 1);
}

// The column layout, from the header line "#  size  count  type  redop  root  time  algbw ...".
struct Columns {
  bool has_redop = true;
  bool has_root = true;
  std::string wrong_name = "#wrong";  // old logs: "error", a deviation rather than a count
};

std::optional<Columns> parse_header(const std::vector<std::string_view>& tokens) {
  // tokens[0] is "#".
  if (tokens.size() < 8 || tokens[1] != "size" || tokens[2] != "count") return std::nullopt;
  Columns c;
  c.has_redop = std::find(tokens.begin(), tokens.end(), "redop") != tokens.end();
  c.has_root = std::find(tokens.begin(), tokens.end(), "root") != tokens.end();
  for (auto t : tokens) {
    if (t == "error" || t == "#wrong") c.wrong_name = std::string(t);
  }
  return c;
}

// The units row "#  (B)  (elements)  (us)  (GB/s)  (GB/s)  (us) ...": honoured for the units
// nccl-tests could print, an error for any other.
struct Units {
  double time_to_us = 1;
  double bw_to_gbps = 1;
};

std::optional<Units> parse_units(const std::string& source, int line,
                                 const std::vector<std::string_view>& tokens) {
  // tokens[0] is "#"; a units row is "(...)" tokens only, the first two "(B)" and "(elements)".
  if (tokens.size() < 3 || tokens[1] != "(B)") return std::nullopt;
  for (size_t i = 1; i < tokens.size(); ++i) {
    if (!tokens[i].starts_with("(") || !tokens[i].ends_with(")")) return std::nullopt;
  }
  Units u;
  std::optional<double> time, bw;
  for (size_t i = 3; i < tokens.size(); ++i) {
    const std::string_view unit = tokens[i].substr(1, tokens[i].size() - 2);
    std::optional<double> t, b;
    if (unit == "ns") t = 1e-3;
    if (unit == "us" || unit == "usec") t = 1;
    if (unit == "ms" || unit == "msec") t = 1e3;
    if (unit == "s" || unit == "sec") t = 1e6;
    if (unit == "B/s") b = 1e-9;
    if (unit == "KB/s") b = 1e-6;
    if (unit == "MB/s") b = 1e-3;
    if (unit == "GB/s") b = 1;
    if (unit == "TB/s") b = 1e3;
    if (!t && !b) {
      throw ReadError(source, line,
                      "unknown unit '(" + excerpt(unit) +
                          ")' in the units row (time: ns, us, ms, "
                          "s; bandwidth: MB/s, GB/s, TB/s)");
    }
    std::optional<double>& seen = t ? time : bw;
    const double value = t ? *t : *b;
    if (seen && *seen != value) {
      throw ReadError(source, line,
                      "the units row mixes units of " + std::string(t ? "time" : "bandwidth"));
    }
    seen = value;
  }
  if (time) u.time_to_us = *time;
  if (bw) u.bw_to_gbps = *bw;
  return u;
}

Row parse_text_row(const std::string& source, int line, const std::vector<std::string_view>& t,
                   const Columns& columns, const Units& units) {
  auto fail = [&](const std::string& message) -> ReadError {
    return ReadError(source, line, message);
  };
  Row row;
  row.line = line;
  if (t.size() < 3) throw fail("truncated result row: " + std::to_string(t.size()) + " fields");
  auto size = parse_u64(t[0]);
  if (!size) throw fail("size '" + excerpt(t[0]) + "' is not a byte count");
  auto count = parse_u64(t[1]);
  if (!count) throw fail("count '" + excerpt(t[1]) + "' is not an element count");
  row.size_bytes = *size;
  row.count = *count;
  row.type = std::string(t[2].substr(0, 64));
  size_t pos = 3;
  // Some old binaries (alltoall) print an empty redop: take the field only if it is a word.
  if (columns.has_redop && pos < t.size() && !parse_double(t[pos])) row.redop = t[pos++];
  if (columns.has_root) {
    auto root = pos < t.size() ? parse_double(t[pos]) : std::nullopt;
    if (!root || *root != std::floor(*root) || std::fabs(*root) > kMaxNcclTestsRanks) {
      throw fail("root '" + excerpt(pos < t.size() ? t[pos] : "") + "' is not a rank");
    }
    row.root = static_cast<long long>(*root);
    ++pos;
  }
  const size_t left = t.size() - pos;
  if (left < 4 || (left > 4 && left < 8)) {
    throw fail("truncated result row: expected time, algbw, busbw and " + columns.wrong_name +
               " for out-of-place and in-place, found " + std::to_string(left) + " fields");
  }
  if (left > 8) {
    throw fail("result row has " + std::to_string(left - 8) +
               " field(s) beyond time, algbw, busbw and " + columns.wrong_name +
               " for out-of-place and in-place: '" + excerpt(t[pos + 8]) + "'");
  }
  for (int side = 0; side < (left >= 8 ? 2 : 1); ++side) {
    const size_t at = pos + 4 * static_cast<size_t>(side);
    const std::string name = side ? "in-place" : "out-of-place";
    if (t[at] == "N/A" || t[at + 1] == "N/A" || t[at + 2] == "N/A") continue;
    Side s;
    s.in_place = side == 1;
    auto time = parse_double(t[at]);
    auto algbw = parse_printed(t[at + 1]);
    auto busbw = parse_printed(t[at + 2]);
    if (!time || !(*time > 0))
      throw fail(name + " time '" + excerpt(t[at]) + "' is not a positive number");
    if (!algbw || algbw->value < 0)
      throw fail(name + " algbw '" + excerpt(t[at + 1]) + "' is not a number");
    if (!busbw || busbw->value < 0)
      throw fail(name + " busbw '" + excerpt(t[at + 2]) + "' is not a number");
    s.time_us = *time * units.time_to_us;
    s.algbw = {algbw->value * units.bw_to_gbps, algbw->half_unit * units.bw_to_gbps};
    s.busbw = {busbw->value * units.bw_to_gbps, busbw->half_unit * units.bw_to_gbps};
    if (t[at + 3] != "N/A") {
      auto wrong = parse_double(t[at + 3]);
      if (!wrong || *wrong < 0) {
        throw fail(name + " " + columns.wrong_name + " '" + excerpt(t[at + 3]) +
                   "' is not a number");
      }
      s.wrong = *wrong;
    }
    row.sides.push_back(s);
  }
  return row;
}

// "#  Rank  3 Group  0 Pid 1234 on host device  3 [...] NVIDIA H100" (old logs: no '#', no
// Group): the rank, or nullopt when the line is not a device line. A rank beyond the largest
// communicator is an error, not a wrapped integer.
std::optional<int> device_line_rank(const std::string& source, int line,
                                    std::vector<std::string_view> t) {
  if (!t.empty() && t[0] == "#") t.erase(t.begin());
  if (!t.empty() && t[0].starts_with("#")) t[0].remove_prefix(1);
  size_t i = 0;
  auto word = [&](std::string_view w) { return i < t.size() && t[i] == w ? (++i, true) : false; };
  auto number = [&] { return i < t.size() && is_unsigned_integer(t[i]) ? (++i, true) : false; };
  if (!word("Rank") || !number()) return std::nullopt;
  const std::string_view rank_text = t[i - 1];
  if (word("Group") && !number()) return std::nullopt;
  if (!word("Pid") || !number() || !word("on") || i++ >= t.size() || !word("device") || !number()) {
    return std::nullopt;
  }
  auto rank = parse_u64(rank_text);
  if (!rank || *rank >= static_cast<std::uint64_t>(kMaxNcclTestsRanks)) {
    throw ReadError(source, line,
                    "rank " + excerpt(rank_text) + " is beyond the largest communicator (" +
                        std::to_string(kMaxNcclTestsRanks) + " ranks)");
  }
  return static_cast<int>(*rank);
}

// "# Collective test starting: all_reduce_perf" (or "concluded"): the binary, or empty.
std::string_view starting_binary(const std::vector<std::string_view>& t) {
  size_t i = 0;
  if (i < t.size() && t[i] == "#") ++i;
  if (i + 3 < t.size() && t[i] == "Collective" && t[i + 1] == "test" &&
      (t[i + 2] == "starting:" || t[i + 2] == "concluded:")) {
    return t[i + 3];
  }
  return {};
}

NcclTestsLog parse_text(std::string_view content, const std::string& source,
                        const NcclTestsOptions& options) {
  OpGuess starting, mentioned;
  int max_rank = -1;
  std::optional<Columns> columns;
  Units units;
  bool in_table = false;
  std::vector<Row> rows;

  int line_no = 0;
  size_t begin = 0;
  while (begin < content.size()) {
    size_t end = content.find('\n', begin);
    if (end == std::string_view::npos) end = content.size();
    std::string_view raw = content.substr(begin, end - begin);
    begin = end + 1;
    if (line_no == std::numeric_limits<int>::max()) {
      throw ReadError(source, line_no, "too many lines");
    }
    ++line_no;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    const std::string_view line = strip_prefix(raw);
    const auto tokens = split_ws(line);
    if (tokens.empty()) continue;

    if (tokens[0].starts_with("#")) {
      if (auto binary = starting_binary(tokens); !binary.empty()) {
        guess_op_from(" " + std::string(binary.substr(0, 256)), line_no, starting);
        continue;
      }
      guess_op_from(line, line_no, mentioned);  // "# command: ./all_gather_perf ...", if any
      if (auto rank = device_line_rank(source, line_no, tokens)) {
        max_rank = std::max(max_rank, *rank);
      } else if (tokens[0] == "#" && tokens.size() > 1) {
        if (auto c = parse_header(tokens)) {
          columns = c;
          units = Units{};
          in_table = true;
        } else if (auto u = parse_units(source, line_no, tokens)) {
          units = *u;
        } else if (tokens[1] == "Out" || tokens[1] == "Avg") {
          in_table = false;  // the summary after a table
        }
      }
      continue;
    }
    if (auto rank = device_line_rank(source, line_no, tokens)) {  // old logs without '#'
      max_rank = std::max(max_rank, *rank);
      continue;
    }
    // A result row: inside a table, any line that starts with a digit and is not NCCL's own
    // ("host:pid:tid [dev] NCCL INFO ..."); outside one, a line that starts with two integers.
    const bool nccls_own = line.find(" NCCL ") != std::string_view::npos;
    const bool looks_like_row =
        in_table ? (std::isdigit(static_cast<unsigned char>(tokens[0][0])) && !nccls_own)
                 : (tokens.size() >= 2 && is_unsigned_integer(tokens[0]) &&
                    is_unsigned_integer(tokens[1]));
    if (looks_like_row) {
      rows.push_back(parse_text_row(source, line_no, tokens, columns.value_or(Columns{}), units));
    } else {
      guess_op_from(line, line_no, mentioned);
    }
  }

  const coll::Op op = choose_op(source, options, {&starting, &mentioned}, rows, max_rank + 1);
  return build_log(source, op, max_rank + 1, rows, options);
}

// ---- JSON (-J) ---------------------------------------------------------------------------------

NcclTestsLog parse_json(std::string_view content, const std::string& source,
                        const NcclTestsOptions& options) {
  using nlohmann::json;
  json doc;
  try {
    doc = json::parse(content.begin(), content.end());
  } catch (const json::parse_error& e) {
    // Count the lines up to the byte where parsing stopped.
    const size_t at = std::min(e.byte > 0 ? e.byte - 1 : 0, content.size());
    const int line = 1 + static_cast<int>(std::count(content.begin(), content.begin() + at, '\n'));
    throw ReadError(source, line, std::string("not valid JSON: ") + e.what());
  } catch (const json::exception& e) {  // out_of_range: a number too large for a double
    throw ReadError(source, 0, std::string("not valid JSON: ") + e.what());
  }
  auto fail = [&](const std::string& entry, const std::string& message) {
    return ReadError(source, 0, entry + ": " + message);
  };
  if (!doc.is_object()) throw fail("(top level)", "not a JSON object");

  std::vector<OpGuess> guesses(1);
  if (doc.contains("args") && doc["args"].is_array() && !doc["args"].empty() &&
      doc["args"][0].is_string()) {
    std::string binary = doc["args"][0].get<std::string>();
    binary = binary.substr(binary.find_last_of('/') + 1);
    guesses[0].op = coll::op_from_nccl_tests_binary(binary);
    if (!guesses[0].op && !op_from_options(options, source)) {
      throw fail("args[0]", "unknown op: '" + excerpt(binary) +
                                "' is not one of the collectives batchcost models");
    }
  }

  // config.devices holds one entry per process (src/util.cu parses only the first device line
  // of each), each process driving nthreads * ngpus ranks. Counted in 64 bits and bounded.
  int ranks = 0;
  if (doc.contains("config") && doc["config"].is_object()) {
    const auto& c = doc["config"];
    // Without a device list the process count is unknown, but nthreads * ngpus is still
    // bounded: no number in the file may overflow what the fitter counts in.
    const bool listed = c.contains("devices") && c["devices"].is_array() && !c["devices"].empty();
    {
      std::uint64_t total = listed ? c["devices"].size() : 1;
      for (const char* key : {"nthreads", "ngpus"}) {
        if (!c.contains(key)) continue;
        if (!c[key].is_number_unsigned() || c[key].get<std::uint64_t>() == 0) {
          throw fail(std::string("config.") + key, "not a positive integer");
        }
        const std::uint64_t v = c[key].get<std::uint64_t>();
        if (v > static_cast<std::uint64_t>(kMaxNcclTestsRanks)) {
          total = static_cast<std::uint64_t>(kMaxNcclTestsRanks) + 1;
        } else {
          total *= v;
        }
        if (total > static_cast<std::uint64_t>(kMaxNcclTestsRanks)) {
          throw fail("config", "devices * nthreads * ngpus is beyond the largest communicator (" +
                                   std::to_string(kMaxNcclTestsRanks) + " ranks)");
        }
      }
      if (listed) ranks = static_cast<int>(total);
    }
  }

  if (!doc.contains("results") || !doc["results"].is_array()) {
    throw fail("results", "missing or not a list");
  }
  std::vector<Row> rows;
  const auto& results = doc["results"];
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string entry = "results[" + std::to_string(i) + "]";
    const auto& r = results[i];
    if (!r.is_object()) throw fail(entry, "not an object");
    Row row;
    row.entry = entry;
    if (!r.contains("size") || !r["size"].is_number_unsigned()) {
      throw fail(entry + ".size", "missing or not a byte count");
    }
    row.size_bytes = r["size"].get<std::uint64_t>();
    if (r.contains("count") && r["count"].is_number_unsigned()) {
      row.count = r["count"].get<std::uint64_t>();
    }
    if (!r.contains("type") || !r["type"].is_string()) {
      throw fail(entry + ".type", "missing or not a string");
    }
    row.type = r["type"].get<std::string>().substr(0, 64);
    if (r.contains("redop") && r["redop"].is_string()) {
      row.redop = r["redop"].get<std::string>().substr(0, 64);
    }
    if (r.contains("root")) {  // util.cu writes it as a padded string: "    -1"
      std::optional<double> root;
      if (r["root"].is_number_integer()) root = r["root"].get<double>();
      if (r["root"].is_string()) {
        const std::string text = r["root"].get<std::string>();  // split_ws views into it
        const auto t = split_ws(text);
        if (t.size() == 1) root = parse_double(t[0]);
      }
      if (!root || *root != std::floor(*root) || std::fabs(*root) > kMaxNcclTestsRanks) {
        throw fail(entry + ".root", "not a rank");
      }
      row.root = static_cast<long long>(*root);
    }
    for (int side = 0; side < 2; ++side) {
      const char* key = side ? "in_place" : "out_of_place";
      if (!r.contains(key) || r[key].is_null()) continue;
      const auto& o = r[key];
      const std::string at = entry + "." + key;
      if (!o.is_object()) throw fail(at, "not an object");
      auto number = [&](const char* name) -> std::optional<double> {
        if (!o.contains(name)) return std::nullopt;
        const auto& v = o[name];
        if (v.is_string() && v.get<std::string>() == "nan") return std::nullopt;
        if (!v.is_number()) throw fail(at + "." + name, "not a number");
        const double d = v.get<double>();
        if (!std::isfinite(d)) throw fail(at + "." + name, "not a finite number");
        return d;
      };
      auto time = o.contains("time") ? number("time") : number("cpu_time");
      auto algbw = number("alg_bw");
      auto busbw = number("bus_bw");
      if (!time || !algbw || !busbw) continue;  // nan or absent: no sample, like N/A
      if (!(*time > 0)) throw fail(at + ".time", "not a positive number");
      if (*algbw < 0) throw fail(at + ".alg_bw", "negative");
      if (*busbw < 0) throw fail(at + ".bus_bw", "negative");
      Side s;
      s.in_place = side == 1;
      s.time_us = *time;
      // util.cu writes "%lf": six decimals.
      s.algbw = Printed{*algbw, 5e-7};
      s.busbw = Printed{*busbw, 5e-7};
      if (o.contains("nwrong") && !o["nwrong"].is_null()) {
        s.wrong = number("nwrong");
        if (s.wrong && *s.wrong < 0) throw fail(at + ".nwrong", "negative");
      }
      row.sides.push_back(s);
    }
    rows.push_back(std::move(row));
  }
  std::vector<const OpGuess*> guess_list{&guesses[0]};
  const coll::Op op = choose_op(source, options, guess_list, rows, ranks);
  return build_log(source, op, ranks, rows, options);
}

}  // namespace

ReadError::ReadError(std::string file, int line, const std::string& message)
    : std::runtime_error(where(file, line) + ": " + message), file_(std::move(file)), line_(line) {}

std::string dtype_from_nccl_tests_type(std::string_view type) {
  const DtypeInfo* d = find_nccl_tests_type(type);
  return std::string(d != nullptr ? d->name : type);
}

NcclTestsLog parse_nccl_tests(std::string_view content, const std::string& source,
                              const NcclTestsOptions& options) {
  const auto first = content.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    throw ReadError(source, 0, "empty file: no nccl-tests output");
  }
  if (content[first] == '{') return parse_json(content, source, options);
  return parse_text(content, source, options);
}

NcclTestsLog read_nccl_tests(const std::string& path, const NcclTestsOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ReadError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ReadError(path, 0, "cannot read");
  return parse_nccl_tests(text.str(), path, options);
}

PathOptions split_path_options(const std::string& arg) {
  PathOptions out{arg, {}, false};
  const size_t colon = arg.rfind(':');
  if (colon == std::string::npos) return out;
  const std::string spec = arg.substr(colon + 1);
  if (spec.find('=') == std::string::npos || spec.find('/') != std::string::npos) return out;
  NcclTestsOptions options;
  size_t begin = 0;
  while (begin <= spec.size()) {
    size_t end = spec.find(',', begin);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(begin, end - begin);
    begin = end + 1;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq),
                      value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "op" && !value.empty()) {
      try {
        coll::parse_op(value);
      } catch (const std::invalid_argument& e) {
        throw ReadError(arg.substr(0, colon), 0,
                        std::string("op=") + excerpt(value) + ": " + e.what());
      }
      options.op = value;
    } else if (key == "ranks") {
      auto n = parse_u64(value);
      if (!n || *n < 1 || *n > static_cast<std::uint64_t>(kMaxNcclTestsRanks)) {
        throw ReadError(arg.substr(0, colon), 0,
                        "ranks=" + excerpt(value) + ": not an integer in 1.." +
                            std::to_string(kMaxNcclTestsRanks));
      }
      options.ranks = static_cast<int>(*n);
    } else {
      throw ReadError(arg.substr(0, colon), 0,
                      "'" + excerpt(item) + "': expected op=NAME or ranks=N after the ':'");
    }
    if (end == spec.size()) break;
  }
  return {arg.substr(0, colon), options, true};
}

}  // namespace batchcost
