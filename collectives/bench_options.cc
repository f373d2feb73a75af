// The collective benchmark's flags and benchmark list (see bench_options.h).
#include "collectives/bench_options.h"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace batchcost::collective {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) throw std::invalid_argument("empty item in the list '" + text + "'");
    out.push_back(item);
  }
  if (out.empty()) throw std::invalid_argument("empty list");
  return out;
}

int parse_positive_int(const std::string& flag, const std::string& v) {
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(v) < 1) {
    throw std::invalid_argument(flag + " needs a positive integer, got '" + v + "'");
  }
  return std::stoi(v);
}

}  // namespace

std::size_t parse_bytes(const std::string& text) {
  std::string digits = text;
  std::size_t unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'K':
      case 'k':
        unit = std::size_t{1} << 10;
        break;
      case 'M':
      case 'm':
        unit = std::size_t{1} << 20;
        break;
      case 'G':
      case 'g':
        unit = std::size_t{1} << 30;
        break;
      default:
        break;
    }
    if (unit != 1) digits.pop_back();
  }
  if (digits.empty() || digits.size() > 15 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument("not a byte count: '" + text + "' (expected 1024, 4K, 16M, 1G)");
  }
  const std::size_t n = std::stoull(digits);
  std::size_t out = 0;
  if (__builtin_mul_overflow(n, unit, &out)) {
    throw std::invalid_argument("byte count too large: '" + text + "'");
  }
  return out;
}

BenchOptions take_collective_flags(std::vector<std::string>& args, bool quick) {
  if (args.empty()) args.emplace_back("batchcost-collectives");
  BenchOptions o;
  bool max_given = false, step_given = false;
  std::vector<std::string> rest{args[0]};
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& flag) { return a.substr(flag.size() + 1); };
    if (starts_with(a, "--max_ranks=")) {
      o.max_ranks = parse_positive_int("--max_ranks", value("--max_ranks"));
      o.max_ranks_given = true;
    } else if (a == "-g" || starts_with(a, "-g=")) {  // nccl-tests' name for the GPU count
      std::string v = a == "-g" ? (i + 1 < args.size() ? args[++i] : "") : a.substr(3);
      o.max_ranks = parse_positive_int("-g", v);
      o.max_ranks_given = true;
    } else if (starts_with(a, "--ops=")) {
      o.ops.clear();
      for (const auto& name : split_commas(value("--ops"))) o.ops.push_back(parse_op(name));
    } else if (starts_with(a, "--dtypes=")) {
      o.dtypes.clear();
      for (const auto& name : split_commas(value("--dtypes")))
        o.dtypes.push_back(parse_dtype(name));
    } else if (starts_with(a, "--min_bytes=")) {
      o.sweep.min_bytes = parse_bytes(value("--min_bytes"));
    } else if (starts_with(a, "--max_bytes=")) {
      o.sweep.max_bytes = parse_bytes(value("--max_bytes"));
      max_given = true;
    } else if (starts_with(a, "--step_factor=")) {
      o.sweep.step_factor =
          static_cast<std::size_t>(parse_positive_int("--step_factor", value("--step_factor")));
      step_given = true;
    } else if (a == "--graph") {
      o.graph = true;
    } else if (a == "--max_ranks" || a == "--ops" || a == "--dtypes" || a == "--min_bytes" ||
               a == "--max_bytes" || a == "--step_factor") {
      throw std::invalid_argument(a + " needs a value: " + a + "=...");
    } else {
      rest.push_back(a);
    }
  }
  if (quick && !max_given) o.sweep.max_bytes = kQuickMaxBytes;
  if (quick && !step_given) o.sweep.step_factor = kQuickStepFactor;
  if (o.sweep.min_bytes > o.sweep.max_bytes) {
    throw std::invalid_argument("--min_bytes is larger than --max_bytes");
  }
  // size_sweep checks the step factor; ask it once here so that a bad flag is a usage error.
  (void)size_sweep(Op::all_reduce, 1, 4, o.sweep);
  args = std::move(rest);
  return o;
}

std::string collective_flags_help() {
  return "\ncollective flags:\n"
         "  --max_ranks=N, -g N rank counts 2, 4, ... below N, and N (default: the GPUs visible;\n"
         "                     with --estimate 1, a one-GPU box); counts above the GPUs present\n"
         "                     are skipped; one rank is never registered (NCCL makes a 1-rank\n"
         "                     collective a copy or nothing). The MPI build uses every rank\n"
         "  --ops=a,b          all_reduce, all_gather, reduce_scatter, all_to_all, broadcast,\n"
         "                     reduce, send_recv (default: all)\n"
         "  --dtypes=fp32,bf16 (default: both)\n"
         "  --min_bytes=N      smallest size (default 8); K, M, G suffixes are powers of 1024\n"
         "  --max_bytes=N      largest size (default 1G; 16M with --quick)\n"
         "  --step_factor=N    size step, a power of two (default 2; 16 with --quick)\n"
         "  --graph            time CUDA graphs of the batch instead of eager launches\n";
}

std::vector<int> rank_counts(int max_ranks) {
  if (max_ranks < 1) {
    throw std::invalid_argument("rank_counts: max_ranks must be >= 1, got " +
                                std::to_string(max_ranks));
  }
  std::vector<int> out;
  for (int r = 1; r < max_ranks; r *= 2) out.push_back(r);
  out.push_back(max_ranks);
  return out;
}

std::vector<int> multi_rank_counts(int max_ranks) {
  std::vector<int> out = rank_counts(max_ranks);
  out.erase(out.begin());  // 1
  return out;
}

std::string BenchSpec::name() const {
  std::string n = "collective/";
  n.append(op_name(op)).append("/").append(dtype_name(dtype));
  n += "/ranks:" + std::to_string(ranks) + "/bytes:" + std::to_string(size_bytes) +
       "/inplace:" + (in_place ? "1" : "0");
  if (graph) n += "/graph:1";
  return n;
}

std::vector<BenchSpec> collective_specs(const BenchOptions& options,
                                        const std::vector<int>& ranks) {
  std::vector<BenchSpec> out;
  // Rank counts outermost: the single-process binary keeps one set of communicators at a time.
  for (int n : ranks) {
    for (Op op : options.ops) {
      for (Dtype dtype : options.dtypes) {
        for (std::size_t size : size_sweep(op, n, dtype_size_bytes(dtype), options.sweep)) {
          for (bool in_place : {false, true}) {
            if (in_place && !in_place_checkable(op)) continue;
            out.push_back(BenchSpec{op, dtype, n, size, in_place, options.graph});
          }
        }
      }
    }
  }
  return out;
}

unsigned long long fingerprint(const std::vector<BenchSpec>& specs) {
  unsigned long long h = 14695981039346656037ull;
  for (const BenchSpec& s : specs) {
    for (char c : s.name() + "\n") {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  }
  return h;
}

std::string flag_that_diverges_ranks(const std::vector<std::string>& args) {
  const std::string interleave = "--benchmark_enable_random_interleaving";
  const std::string warmup = "--benchmark_min_warmup_time";
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == interleave) return a;
    if (starts_with(a, interleave + "=")) {
      const std::string v = a.substr(interleave.size() + 1);
      if (v != "false" && v != "0") return a;
    }
    if (starts_with(a, warmup + "=")) {
      std::string v = a.substr(warmup.size() + 1);
      if (!v.empty() && v.back() == 's') v.pop_back();  // "0.5s", as Google Benchmark allows
      if (std::strtod(v.c_str(), nullptr) > 0) return a;
    }
  }
  return "";
}

}  // namespace batchcost::collective
