// Reads nccl-tests text logs and -J JSON into samples (see the header for the rules).
#include "model/nccl_tests.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>

#include "collectives/ops.h"

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

// The largest communicator the rank solver considers.
constexpr int kMaxRanks = 1 << 16;

std::string where(const std::string& file, int line) {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

// One printed number and how finely it was printed: nccl-tests prints "%6.2f"-like fixed
// decimals, or "1.2e+04" when the value is too wide; half a unit of the last digit bounds the
// rounding.
struct Printed {
  double value = 0;
  double half_unit = 0;
};

std::optional<double> parse_double(std::string_view text) {
  if (text.empty()) return std::nullopt;
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

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// One timed side of a row (out-of-place or in-place), as read.
struct Side {
  bool in_place = false;
  double time_us = 0;
  Printed algbw, busbw;
  std::optional<double> wrong;  // nullopt: not checked (N/A)
};

// One result row, from either format.
struct Row {
  int line = 0;       // text: the line; JSON: 0
  std::string entry;  // JSON: "results[3]"; text: empty
  std::size_t size_bytes = 0;
  std::string type, redop;
  std::vector<Side> sides;
};

// Where a row's error points: the line for text, the entry for JSON.
std::string row_where(const std::string& file, const Row& row) {
  return row.entry.empty() ? where(file, row.line) : file + ": " + row.entry;
}

// The op from a binary name somewhere in a text (a command line, "Collective test starting").
struct OpGuess {
  std::optional<coll::Op> op;
  std::string unknown_binary;  // a *_perf binary that is not in the table
  int line = 0;
};

void guess_op_from(std::string_view text, int line, OpGuess& guess) {
  static const std::regex kBinary(
      R"((?:^|[^A-Za-z0-9_])([a-z][a-z0-9_]*_perf(?:_mpi)?)(?![A-Za-z0-9_]))");
  std::string s(text);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), kBinary); it != std::sregex_iterator();
       ++it) {
    const std::string binary = (*it)[1];
    if (auto op = coll::op_from_nccl_tests_binary(binary)) {
      if (!guess.op) {
        guess.op = op;
        guess.line = line;
      }
    } else if (guess.unknown_binary.empty()) {
      guess.unknown_binary = binary;
      if (!guess.op) guess.line = line;
    }
  }
}

// The op from the file's name, the last resort: "all_gather_perf.log", "alltoall.txt".
std::optional<coll::Op> op_from_file_name(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // Longest names first, so that "all_reduce" is not taken for "reduce".
  static const std::vector<std::pair<std::string, coll::Op>> kNames = {
      {"reduce_scatter", coll::Op::reduce_scatter},
      {"all_reduce", coll::Op::all_reduce},
      {"all_gather", coll::Op::all_gather},
      {"all_to_all", coll::Op::all_to_all},
      {"alltoall", coll::Op::all_to_all},
      {"broadcast", coll::Op::broadcast},
      {"send_recv", coll::Op::send_recv},
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

std::vector<int> ranks_fitting(coll::Op op, const RatioBounds& bounds) {
  std::vector<int> fits;
  for (int n = 1; n <= kMaxRanks; ++n) {
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

NcclTestsLog build_log(const std::string& source, coll::Op op, int ranks_from_log,
                       const std::vector<Row>& rows, const NcclTestsOptions& options) {
  NcclTestsLog log;
  log.source = source;
  log.op = std::string(coll::op_name(op));
  if (rows.empty()) throw ReadError(source, 0, "no nccl-tests result rows");

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

  int ranks = options.ranks > 0 ? options.ranks : ranks_from_log;
  if (ranks <= 0) {
    const std::string no_devices =
        "cannot tell the number of ranks: no '#  Rank ... device' lines, and ";
    if (bounds.rows == 0) {
      throw ReadError(source, 0, no_devices + "no row has a non-zero algbw to solve it from");
    }
    if (coll::bus_bandwidth_factor(op, 2) == coll::bus_bandwidth_factor(op, 3)) {
      throw ReadError(source, 0,
                      no_devices + "busbw = algbw for " + log.op + " whatever the rank count");
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
                          " ranks alike");
    }
    ranks = fits.front();
  }
  log.ranks = ranks;

  const double factor = coll::bus_bandwidth_factor(op, ranks);
  for (const auto& row : rows) {
    for (const auto& side : row.sides) {
      const std::string side_name = side.in_place ? "in-place" : "out-of-place";
      if (auto b = ratio_bounds(side); b && !(factor >= b->first && factor <= b->second)) {
        throw ReadError(row.entry.empty() ? source : source + ": " + row.entry, row.line,
                        side_name + " busbw/algbw = " + format_double(side.busbw.value) + "/" +
                            format_double(side.algbw.value) + " contradicts " + log.op + " on " +
                            std::to_string(ranks) + " ranks (factor " + format_double(factor) +
                            ")");
      }
      if (side.wrong && *side.wrong != 0) {
        log.skipped.push_back(row_where(source, row) + ": " + log.op + " " +
                              std::to_string(row.size_bytes) + " B " + side_name + ": " +
                              format_double(*side.wrong) + " wrong, not fitted");
        continue;
      }
      Sample s;
      s.source = source;
      s.name = "collective/" + log.op + "/bytes:" + std::to_string(row.size_bytes) +
               "/inplace:" + (side.in_place ? "1" : "0") + "/nccl-tests";
      s.family = family_of(s.name);
      s.time_s = side.time_us * 1e-6;
      s.repetitions = 1;
      s.ranks = ranks;
      s.work.net_bytes = coll::net_bytes(op, ranks, row.size_bytes);
      s.work.collectives = 1;
      s.labels = {{"op", log.op},
                  {"dtype", dtype_from_nccl_tests_type(row.type)},
                  {"inplace", side.in_place ? "1" : "0"},
                  {"source", "nccl-tests"}};
      if (coll::reduces(op) && !row.redop.empty() && row.redop != "none") {
        s.labels["redop"] = row.redop;
      }
      log.samples.push_back(std::move(s));
    }
  }
  return log;
}

// ---- Text logs ---------------------------------------------------------------------------------

// The launcher's prefix of a line: srun --label ("  0: "), mpirun --tag-output ("[1,0]<stdout>:").
std::string_view strip_prefix(std::string_view line) {
  static const std::regex kPrefix(R"(^\s*(?:\d+:|\[\d+,\d+\]<std(?:out|err)>:)(?:\s|$))");
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_search(line.begin(), line.end(), m, kPrefix)) {
    line.remove_prefix(static_cast<size_t>(m.length(0)));
  }
  return line;
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

Row parse_text_row(const std::string& source, int line, const std::vector<std::string_view>& t,
                   const Columns& columns) {
  auto fail = [&](const std::string& message) -> ReadError {
    return ReadError(source, line, message);
  };
  Row row;
  row.line = line;
  if (t.size() < 3) throw fail("truncated result row: " + std::to_string(t.size()) + " fields");
  if (!is_unsigned_integer(t[0])) throw fail("size '" + std::string(t[0]) + "' is not a number");
  if (!is_unsigned_integer(t[1])) throw fail("count '" + std::string(t[1]) + "' is not a number");
  row.size_bytes = std::stoull(std::string(t[0]));
  row.type = std::string(t[2]);
  size_t pos = 3;
  // Some old binaries (alltoall) print an empty redop: take the field only if it is a word.
  if (columns.has_redop && pos < t.size() && !parse_double(t[pos])) row.redop = t[pos++];
  if (columns.has_root) {
    if (pos >= t.size() || !parse_double(t[pos])) {
      throw fail("root '" + std::string(pos < t.size() ? t[pos] : "") + "' is not a number");
    }
    ++pos;
  }
  const size_t left = t.size() - pos;
  if (left < 4 || (left > 4 && left < 8)) {
    throw fail("truncated result row: expected time, algbw, busbw and " + columns.wrong_name +
               " for out-of-place and in-place, found " + std::to_string(left) + " fields");
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
      throw fail(name + " time '" + std::string(t[at]) + "' is not a positive number");
    if (!algbw || algbw->value < 0)
      throw fail(name + " algbw '" + std::string(t[at + 1]) + "' is not a number");
    if (!busbw || busbw->value < 0)
      throw fail(name + " busbw '" + std::string(t[at + 2]) + "' is not a number");
    s.time_us = *time;
    s.algbw = *algbw;
    s.busbw = *busbw;
    if (t[at + 3] != "N/A") {
      auto wrong = parse_double(t[at + 3]);
      if (!wrong || *wrong < 0) {
        throw fail(name + " " + columns.wrong_name + " '" + std::string(t[at + 3]) +
                   "' is not a number");
      }
      s.wrong = *wrong;
    }
    row.sides.push_back(s);
  }
  return row;
}

NcclTestsLog parse_text(std::string_view content, const std::string& source,
                        const NcclTestsOptions& options) {
  static const std::regex kDevice(
      R"(^#?\s*Rank\s+(\d+)\s+(?:Group\s+\d+\s+)?Pid\s+\d+\s+on\s+\S+\s+device\s+\d+)");
  static const std::regex kStarting(R"(^#\s*Collective test (?:starting|concluded):\s*(\S+))");

  OpGuess starting, mentioned;
  int max_rank = -1;
  std::optional<Columns> columns;
  bool in_table = false;
  std::vector<Row> rows;

  int line_no = 0;
  size_t begin = 0;
  while (begin <= content.size()) {
    size_t end = content.find('\n', begin);
    if (end == std::string_view::npos) end = content.size();
    std::string_view raw = content.substr(begin, end - begin);
    begin = end + 1;
    ++line_no;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    const std::string_view line = strip_prefix(raw);
    const auto tokens = split_ws(line);
    if (tokens.empty()) {
      if (end == content.size()) break;
      continue;
    }

    std::match_results<std::string_view::const_iterator> m;
    if (tokens[0].starts_with("#")) {
      if (std::regex_search(line.begin(), line.end(), m, kStarting)) {
        guess_op_from(" " + m[1].str(), line_no, starting);
        if (end == content.size()) break;
        continue;
      }
      guess_op_from(line, line_no, mentioned);  // "# command: ./all_gather_perf ...", if any
      if (std::regex_search(line.begin(), line.end(), m, kDevice)) {
        max_rank = std::max(max_rank, std::stoi(m[1].str()));
      } else if (tokens[0] == "#" && tokens.size() > 1) {
        if (auto c = parse_header(tokens)) {
          columns = c;
          in_table = true;
        } else if (tokens[1] == "Out" || tokens[1] == "Avg") {
          in_table = false;  // the summary after a table
        }
      }
      if (end == content.size()) break;
      continue;
    }
    if (std::regex_search(line.begin(), line.end(), m, kDevice)) {  // old logs without '#'
      max_rank = std::max(max_rank, std::stoi(m[1].str()));
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
      rows.push_back(parse_text_row(source, line_no, tokens, columns.value_or(Columns{})));
    } else {
      guess_op_from(line, line_no, mentioned);
    }
    if (end == content.size()) break;
  }

  std::optional<coll::Op> op = op_from_options(options, source);
  if (!op) {
    for (const OpGuess* g : {&starting, &mentioned}) {
      if (g->op) {
        op = g->op;
        break;
      }
      if (!g->unknown_binary.empty()) {
        throw ReadError(source, g->line,
                        "unknown op: '" + g->unknown_binary +
                            "' is not one of the collectives batchcost models");
      }
    }
    if (!op) op = op_from_file_name(source);
  }
  if (!op) {
    if (rows.empty()) throw ReadError(source, 0, "no nccl-tests result rows");
    throw ReadError(source, 0,
                    "unknown op: no '# Collective test starting' line, no command line naming a "
                    "*_perf binary, and no op in the file's name");
  }
  return build_log(source, *op, max_rank + 1, rows, options);
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
  }
  auto fail = [&](const std::string& entry, const std::string& message) {
    return ReadError(source, 0, entry + ": " + message);
  };
  if (!doc.is_object()) throw fail("(top level)", "not a JSON object");

  std::optional<coll::Op> op = op_from_options(options, source);
  if (op) {
    // given by the caller
  } else if (doc.contains("args") && doc["args"].is_array() && !doc["args"].empty() &&
             doc["args"][0].is_string()) {
    std::string binary = doc["args"][0].get<std::string>();
    binary = binary.substr(binary.find_last_of('/') + 1);
    op = coll::op_from_nccl_tests_binary(binary);
    if (!op) {
      throw fail("args[0]",
                 "unknown op: '" + binary + "' is not one of the collectives batchcost models");
    }
  } else {
    op = op_from_file_name(source);
    if (!op) throw fail("args", "missing: cannot tell the op");
  }

  // config.devices holds one entry per process (src/util.cu parses only the first device line
  // of each), each process driving nthreads * ngpus ranks.
  int ranks = 0;
  if (doc.contains("config") && doc["config"].is_object()) {
    const auto& c = doc["config"];
    if (c.contains("devices") && c["devices"].is_array() && !c["devices"].empty()) {
      int per_process = 1;
      for (const char* key : {"nthreads", "ngpus"}) {
        if (c.contains(key) && c[key].is_number_integer() && c[key].get<int>() > 0) {
          per_process *= c[key].get<int>();
        }
      }
      ranks = static_cast<int>(c["devices"].size()) * per_process;
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
    row.size_bytes = r["size"].get<std::size_t>();
    if (!r.contains("type") || !r["type"].is_string()) {
      throw fail(entry + ".type", "missing or not a string");
    }
    row.type = r["type"].get<std::string>();
    if (r.contains("redop") && r["redop"].is_string()) row.redop = r["redop"].get<std::string>();
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
        return v.get<double>();
      };
      auto time = o.contains("time") ? number("time") : number("cpu_time");
      auto algbw = number("alg_bw");
      auto busbw = number("bus_bw");
      if (!time || !algbw || !busbw) continue;  // nan or absent: no sample, like N/A
      if (!(*time > 0)) throw fail(at + ".time", "not a positive number");
      Side s;
      s.in_place = side == 1;
      s.time_us = *time;
      // util.cu writes "%lf": six decimals.
      s.algbw = Printed{*algbw, 5e-7};
      s.busbw = Printed{*busbw, 5e-7};
      if (o.contains("nwrong") && !o["nwrong"].is_null()) s.wrong = number("nwrong");
      row.sides.push_back(s);
    }
    rows.push_back(std::move(row));
  }
  return build_log(source, *op, ranks, rows, options);
}

}  // namespace

ReadError::ReadError(std::string file, int line, const std::string& message)
    : std::runtime_error(where(file, line) + ": " + message), file_(std::move(file)), line_(line) {}

std::string dtype_from_nccl_tests_type(std::string_view type) {
  if (type == "float" || type == "float32") return "fp32";
  if (type == "half" || type == "float16") return "fp16";
  if (type == "bfloat16") return "bf16";
  if (type == "double" || type == "float64") return "fp64";
  if (type == "f8e4m3") return "fp8_e4m3";
  if (type == "f8e5m2") return "fp8_e5m2";
  return std::string(type);
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

}  // namespace batchcost
