// The collective benchmark's flags and benchmark list (see bench_options.h).
#include "collectives/bench_options.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace batchcost::collective {
namespace {

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

// A decimal integer >= lowest (at most 6 digits, as no count here needs more).
int parse_int(const std::string& flag, const std::string& v, int lowest) {
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(v) < lowest) {
    throw std::invalid_argument(flag + " needs " +
                                (lowest == 0   ? std::string("an integer >= 0")
                                 : lowest == 1 ? std::string("a positive integer")
                                               : "an integer >= " + std::to_string(lowest)) +
                                ", got '" + v + "'");
  }
  return std::stoi(v);
}

// -d's value: nccl-tests' names (src/common.cu, test_typenames) and ours.
Dtype parse_datatype(const std::string& flag, const std::string& v) {
  const DtypeInfo* d = find_nccl_tests_type(v);
  if (d == nullptr) d = find_dtype(v);
  for (Dtype dtype : kAllDtypes) {
    if (d != nullptr && d->name == dtype_name(dtype)) return dtype;
  }
  throw std::invalid_argument(flag + ": unsupported datatype '" + v +
                              "' (supported: float, bfloat16, all; also spelled fp32, bf16)");
}

// The flags that take a value, each with every name it answers to (nccl-tests' short and long
// names first, then ours).
enum class Key {
  ngpus,
  max_ranks,
  min_bytes,
  max_bytes,
  step_factor,
  iters,
  warmup,
  check,
  datatype,
  op,
  average,
  ops,
  dtypes
};
struct Flag {
  Key key;
  std::vector<std::string> names;
};
const std::vector<Flag>& valued_flags() {
  static const std::vector<Flag> flags = {
      {Key::ngpus, {"-g", "--ngpus"}},
      {Key::max_ranks, {"--max_ranks"}},
      {Key::min_bytes, {"-b", "--minbytes", "--min_bytes"}},
      {Key::max_bytes, {"-e", "--maxbytes", "--max_bytes"}},
      {Key::step_factor, {"-f", "--stepfactor", "--step_factor"}},
      {Key::iters, {"-n", "--iters"}},
      {Key::warmup, {"-w", "--warmup_iters"}},
      {Key::check, {"-c", "--check"}},
      {Key::datatype, {"-d", "--datatype"}},
      {Key::op, {"-o", "--op"}},
      {Key::average, {"-a", "--average"}},
      {Key::ops, {"--ops"}},
      {Key::dtypes, {"--dtypes"}},
  };
  return flags;
}

// nccl-tests' other flags (src/common.cu, parseArgs), refused by name with what to use instead,
// so that a command line copied from nccl-tests fails plainly instead of as an unknown flag.
struct Refused {
  std::string short_name, long_name, instead;
};
const std::vector<Refused>& refused_flags() {
  static const std::vector<Refused> flags = {
      {"-t", "--nthreads", "one thread drives every GPU of the process (or one GPU per MPI rank)"},
      {"-i", "--stepbytes", "sizes grow by a factor (-f), not by a fixed step"},
      {"-m", "--agg_iters", "-n sets the collectives per timed sample"},
      {"-N", "--run_cycles", "--repetitions=N repeats every size"},
      {"-p", "--parallel_init", "communicators are made by ncclCommInitAll or ncclCommInitRank"},
      {"-r", "--root", "the root of broadcast and reduce is rank 0"},
      {"-z", "--blocking", "collectives are queued behind a blocking kernel and timed by events"},
      {"-y", "--stream_null", "every rank has its own non-blocking stream"},
      {"-T", "--timeout", "the blocking kernel has its own timeout"},
      {"-G", "--cudagraph", "--graph captures each timed batch in a CUDA graph"},
      {"-C", "--report_cputime", "times are device times (CUDA events)"},
      {"-S", "--report_timestamps", "the JSON's context has the run's times"},
      {"-J", "--output_file", "--benchmark_out=FILE writes the JSON"},
      {"-R", "--local_register", "buffers are not registered"},
      {"-x", "--cta_policy", "NCCL's CTA policy is left at its default"},
      {"-D", "--device_implementation", "NCCL's own implementation is timed"},
      {"-V", "--device_cta_count", "NCCL's own implementation is timed"},
      {"-M", "--memory", "a size that does not fit is skipped, saying so"},
      {"-u", "--unalign", "buffers are aligned as cudaMalloc gives them"},
      {"-I", "--per_iter_timing", "the JSON holds every repetition and its aggregates"},
      {"-K", "--per_iter_skip", "warm-up (-w) runs before the first sample"},
  };
  return flags;
}

const Flag* find_flag(const std::string& name) {
  for (const Flag& f : valued_flags()) {
    for (const std::string& n : f.names) {
      if (n == name) return &f;
    }
  }
  return nullptr;
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
  std::string ngpus_flag;
  std::vector<std::string> rest{args[0]};
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--graph") {
      o.graph = true;
      continue;
    }
    const std::size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const Flag* flag = a.size() > 1 && a[0] == '-' ? find_flag(name) : nullptr;
    for (const Refused& r : refused_flags()) {
      if (name == r.short_name || name == r.long_name) {
        throw std::invalid_argument(name + " (nccl-tests' " + r.short_name + ", " + r.long_name +
                                    ") is not supported: " + r.instead);
      }
    }
    if (flag == nullptr) {
      rest.push_back(a);
      continue;
    }
    std::string v;
    if (eq != std::string::npos) {
      v = a.substr(eq + 1);
    } else if (i + 1 < args.size() && !(args[i + 1].size() > 1 && args[i + 1][0] == '-')) {
      v = args[++i];
    } else {
      throw std::invalid_argument(name + " needs a value: " + name + " V or " + name + "=V");
    }
    try {
      switch (flag->key) {
        case Key::ngpus:
          o.exact_ranks = parse_int(name, v, 1);
          ngpus_flag = name;
          break;
        case Key::max_ranks:
          o.max_ranks = parse_int(name, v, 1);
          o.max_ranks_given = true;
          break;
        case Key::min_bytes:
          o.sweep.min_bytes = parse_bytes(v);
          break;
        case Key::max_bytes:
          o.sweep.max_bytes = parse_bytes(v);
          max_given = true;
          break;
        case Key::step_factor:
          o.sweep.step_factor = static_cast<std::size_t>(parse_int(name, v, 2));
          if ((o.sweep.step_factor & (o.sweep.step_factor - 1)) != 0) {
            throw std::invalid_argument(name + " needs a power of two >= 2, got '" + v + "'");
          }
          step_given = true;
          break;
        case Key::iters:
          o.iters = parse_int(name, v, 1);
          break;
        case Key::warmup:
          o.warmup_ops = parse_int(name, v, 0);
          break;
        case Key::check:
          if (v != "0" && v != "1") {
            throw std::invalid_argument(name +
                                        " takes 0 (no data check) or 1 (check each shape "
                                        "once), got '" +
                                        v + "'");
          }
          o.check = v == "1";
          break;
        case Key::datatype:
          o.dtypes = v == "all" ? std::vector<Dtype>(kAllDtypes.begin(), kAllDtypes.end())
                                : std::vector<Dtype>{parse_datatype(name, v)};
          break;
        case Key::op:
          o.redops = v == "all" ? std::vector<RedOp>(kAllRedOps.begin(), kAllRedOps.end())
                                : std::vector<RedOp>{parse_redop(v)};
          break;
        case Key::average:
          if (v.size() != 1 || v[0] < '0' || v[0] > '3') {
            throw std::invalid_argument(name +
                                        " takes 0 (rank 0), 1 (average), 2 (minimum) or 3 "
                                        "(maximum over ranks), got '" +
                                        v + "'");
          }
          o.time_over_ranks = static_cast<TimeOverRanks>(v[0] - '0');
          break;
        case Key::ops:
          o.ops.clear();
          for (const auto& item : split_commas(v)) o.ops.push_back(parse_op(item));
          break;
        case Key::dtypes:
          o.dtypes.clear();
          for (const auto& item : split_commas(v)) o.dtypes.push_back(parse_datatype(name, item));
          break;
      }
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      if (what.rfind(name, 0) == 0) throw;  // names the flag already
      throw std::invalid_argument(name + ": " + what);
    }
  }
  if (o.exact_ranks > 0 && o.max_ranks_given) {
    throw std::invalid_argument(ngpus_flag +
                                " (exactly N ranks) and --max_ranks (2, 4, ... N) "
                                "contradict each other: give one");
  }
  if (quick && !max_given) o.sweep.max_bytes = kQuickMaxBytes;
  if (quick && !step_given) o.sweep.step_factor = kQuickStepFactor;
  if (o.sweep.min_bytes > o.sweep.max_bytes) {
    throw std::invalid_argument(
        "the smallest size (-b, --min_bytes: " + std::to_string(o.sweep.min_bytes) +
        ") is larger than the largest (-e, --max_bytes: " + std::to_string(o.sweep.max_bytes) +
        ")");
  }
  if (o.sweep.min_bytes == 0) throw std::invalid_argument("-b, --min_bytes must be > 0");
  const int most = o.graph ? kMaxOpsPerGraph : kMaxOpsPerSample;
  if (o.iters > most) {
    throw std::invalid_argument(
        "-n " + std::to_string(o.iters) + ": a sample holds at most " +
        std::to_string(kMaxOpsPerSample) +
        " eager collectives (they are queued behind the blocking kernel, whose launch queue must "
        "not fill) and " +
        std::to_string(kMaxOpsPerGraph) +
        " with --graph (one graph launch); take more samples with --samples=N instead");
  }
  args = std::move(rest);
  return o;
}

std::string collective_flags_help() {
  return "\ncollective flags (nccl-tests' short flags and meanings; -x V or -x=V):\n"
         "  -g, --ngpus N         exactly N ranks: GPUs 0..N-1 (the MPI binary: one GPU per rank,\n"
         "                        -g 1; its rank count is the launcher's -np)\n"
         "  --max_ranks=N         rank counts 2, 4, ... below N, and N (default: the GPUs "
         "visible;\n"
         "                        with --estimate 1, a one-GPU box); counts above the GPUs "
         "present\n"
         "                        are skipped; one rank is never registered (NCCL makes a 1-rank\n"
         "                        collective a copy or nothing)\n"
         "  -b, --minbytes N      smallest size (default 8); K, M, G suffixes are powers of 1024\n"
         "  -e, --maxbytes N      largest size (default 1G; 16M with --quick)\n"
         "  -f, --stepfactor N    size step, a power of two (default 2; 16 with --quick)\n"
         "  -n, --iters N         collectives per timed sample (default: about 1 ms of them); at\n"
         "                        most 64, or 1024 with --graph. nccl-tests times -n iterations\n"
         "                        once; here each of --samples samples (per repetition, see\n"
         "                        --repetitions) times -n, and the sample mean is reported\n"
         "  -w, --warmup_iters N  untimed collectives before the first sample (default 5)\n"
         "  -c, --check 0|1       check the data once per shape (default 1)\n"
         "  -d, --datatype T      float, bfloat16 or all (default all); --dtypes=fp32,bf16\n"
         "  -o, --op R            sum, prod, max, min, avg or all, for all_reduce, reduce_scatter\n"
         "                        and reduce (default sum; avg is checked on 2^k ranks only)\n"
         "  -a, --average 0|1|2|3 a sample's time over ranks: 0 rank 0's, 1 the average (default,\n"
         "                        as nccl-tests), 2 the minimum, 3 the maximum (the time after\n"
         "                        which every rank has its result)\n"
         "  --ops=a,b             all_reduce, all_gather, reduce_scatter, all_to_all, broadcast,\n"
         "                        reduce, send_recv (default: all)\n"
         "  --graph               time CUDA graphs of the batch instead of eager launches\n";
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

std::vector<int> registered_rank_counts(const BenchOptions& options) {
  if (options.exact_ranks > 0) {
    return options.exact_ranks >= 2 ? std::vector<int>{options.exact_ranks} : std::vector<int>{};
  }
  return multi_rank_counts(options.max_ranks);
}

std::string BenchSpec::name() const {
  std::string n = "collective/";
  n.append(op_name(op)).append("/").append(dtype_name(dtype));
  if (reduces(op) && redop != RedOp::sum) n.append("/redop:").append(redop_name(redop));
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
        const std::vector<RedOp> redops =
            reduces(op) ? options.redops : std::vector<RedOp>{RedOp::sum};
        for (RedOp redop : redops) {
          for (std::size_t size : size_sweep(op, n, dtype_size_bytes(dtype), options.sweep)) {
            for (bool in_place : {false, true}) {
              if (in_place && !in_place_checkable(op)) continue;
              out.push_back(BenchSpec{op, dtype, n, size, in_place, options.graph, redop});
            }
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
    if (a.starts_with(interleave + "=")) {
      const std::string v = a.substr(interleave.size() + 1);
      if (v != "false" && v != "0") return a;
    }
    if (a.starts_with(warmup + "=")) {
      std::string v = a.substr(warmup.size() + 1);
      if (!v.empty() && v.back() == 's') v.pop_back();  // "0.5s", as Google Benchmark allows
      if (std::strtod(v.c_str(), nullptr) > 0) return a;
    }
  }
  return "";
}

std::string_view time_over_ranks_name(TimeOverRanks how) {
  switch (how) {
    case TimeOverRanks::rank0:
      return "rank0";
    case TimeOverRanks::avg:
      return "avg";
    case TimeOverRanks::min:
      return "min";
    case TimeOverRanks::max:
      return "max";
  }
  throw std::invalid_argument("not a TimeOverRanks");
}

RankTimes local_rank_times(TimeOverRanks how, const std::vector<double>& times_s,
                           bool holds_rank0) {
  if (times_s.empty()) throw std::invalid_argument("local_rank_times: no rank's time");
  for (double t : times_s) {
    if (!(t > 0) || !std::isfinite(t)) {
      throw std::invalid_argument("local_rank_times: a time must be positive and finite, got " +
                                  std::to_string(t));
    }
  }
  RankTimes out{times_s[0], static_cast<int>(times_s.size())};
  switch (how) {
    case TimeOverRanks::rank0:
      return holds_rank0 ? RankTimes{times_s[0], 1} : RankTimes{};
    case TimeOverRanks::avg:
      out.value = 0;
      for (double t : times_s) out.value += t;
      return out;
    case TimeOverRanks::min:
      for (double t : times_s) out.value = std::min(out.value, t);
      return out;
    case TimeOverRanks::max:
      for (double t : times_s) out.value = std::max(out.value, t);
      return out;
  }
  throw std::invalid_argument("not a TimeOverRanks");
}

RankTimes combine_rank_times(TimeOverRanks how, RankTimes a, RankTimes b) {
  if (a.ranks == 0) return b;
  if (b.ranks == 0) return a;
  switch (how) {
    case TimeOverRanks::rank0:
      throw std::invalid_argument("combine_rank_times: two parts claim rank 0");
    case TimeOverRanks::avg:
      return {a.value + b.value, a.ranks + b.ranks};
    case TimeOverRanks::min:
      return {std::min(a.value, b.value), a.ranks + b.ranks};
    case TimeOverRanks::max:
      return {std::max(a.value, b.value), a.ranks + b.ranks};
  }
  throw std::invalid_argument("not a TimeOverRanks");
}

double time_over_ranks(TimeOverRanks how, RankTimes all) {
  if (all.ranks <= 0) throw std::invalid_argument("time_over_ranks: no rank's time");
  return how == TimeOverRanks::avg ? all.value / all.ranks : all.value;
}

}  // namespace batchcost::collective
