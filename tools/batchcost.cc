// batchcost: the command line of the fitter (DESIGN.md, "The command line"). Host C++ only.
//
//   batchcost fit PATH... [--out FILE] [--validate FAMILY]... [--json]
//   batchcost validate PATH... [--model FILE] [--validate FAMILY]... [--json]
//   batchcost compare BASELINE CANDIDATE [--validate FAMILY]... [--json]
//   batchcost predict --hardware MODEL.json --model NAME|FILE [--batch LIST] [--context N]
//                     [--gpus N] [--tp N] [--ep N] [--pp N] [--gpus-per-node N]
//                     [--micro-batches N] [--cuda-graphs] [--price USD] [--stated FILE]
//                     [--whole-step] [--ops] [--weights DTYPE] [--kv-cache DTYPE]
//                     [--gamma G --acceptance A [--draft-cost C]]
//                     [--arrival-rate R --window S] [--json]
//   batchcost predict --list-models
//
// PATH is a results folder (its *.json files but model.json), a result file, or (compare, and
// validate --model) a model.json. Tables go to stdout, errors to stderr with exit status 2; so
// does a failed write of stdout (a full disk, `> /dev/full`). Every numeric flag is finite and in a
// stated range; --out may not name an input.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "model/compare.h"
#include "model/fit.h"
#include "model/input_file.h"
#include "model/model_file.h"
#include "model/predict.h"
#include "model/predict_report.h"
#include "model/report.h"
#include "model/results.h"

namespace batchcost {
namespace {

FitOptions options_with(const std::vector<std::string>& validate) {
  FitOptions o;
  o.validate_families.insert(validate.begin(), validate.end());
  return o;
}

// One line saying what was read and what each sample is to the fit.
std::string census(const Inputs& in, const std::vector<Role>& roles) {
  int count[4] = {0, 0, 0, 0};
  for (Role r : roles) ++count[static_cast<int>(r)];
  std::string out = std::to_string(in.sources.size()) + " file" +
                    (in.sources.size() == 1 ? "" : "s") + ", " + std::to_string(in.samples.size()) +
                    " samples: " + std::to_string(count[0]) + " fitted, " +
                    std::to_string(count[1]) + " validation, " + std::to_string(count[2]) +
                    " excluded (cache=hot measures L2, not HBM), " + std::to_string(count[3]) +
                    " not modelled (declare no work)";
  if (in.skipped > 0) out += ", " + std::to_string(in.skipped) + " skipped by the harness";
  return out + "\n";
}

std::string hardware_line(const nlohmann::json& context) {
  std::string out;
  for (const char* key : {"gpu_name", "driver_version", "cuda_runtime", "batchcost_profile"}) {
    if (!context.contains(key)) continue;
    const auto& v = context[key];
    out += (out.empty() ? "" : ", ") + std::string(key) + " " +
           (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out.empty() ? "" : "hardware: " + out + "\n";
}

ModelFile model_of(const Inputs& in, const FitResult& r) {
  ModelFile m;
  m.hardware = in.context;
  m.constants = r.constants;
  m.quality = r.quality;
  m.sources = in.sources;
  m.notes = r.notes;
  return m;
}

int run_fit(const std::vector<std::string>& paths, const std::string& out_path,
            const std::vector<std::string>& validate, bool json) {
  if (!out_path.empty()) check_output_path(out_path, paths);
  Inputs in = read_inputs(paths);
  FitResult r = fit(in.samples, options_with(validate));
  ModelFile m = model_of(in, r);
  std::string doc = model_to_json(m).dump(2) + "\n";
  if (!out_path.empty()) write_file_atomically(out_path, doc);
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  if (json) {
    std::cout << doc;
    return 0;
  }
  std::cout << census(in, r.roles) << hardware_line(in.context) << "\n"
            << "constants (95% intervals: covariance of the robust fit, in log space)\n"
            << constants_table(r.constants) << "\n";
  for (const std::string& note : r.notes) std::cout << "note: " << note << "\n";
  if (!r.notes.empty()) std::cout << "\n";
  std::cout << "quality (|predicted / measured - 1|)\n" << quality_table(r.quality);
  bool header = false;
  for (size_t i = 0; i < in.samples.size(); ++i) {
    if (r.roles[i] != Role::kNotModelled) continue;
    if (!header) std::cout << "\nnot modelled (declare no work)\n";
    header = true;
    std::cout << "  " << in.samples[i].name << "  " << format_time(in.samples[i].time_s) << "\n";
  }
  if (!out_path.empty()) std::cout << "\nwrote " << out_path << "\n";
  return 0;
}

int run_validate(const std::vector<std::string>& paths, const std::string& model_path,
                 const std::vector<std::string>& validate, bool json) {
  Inputs in = read_inputs(paths);
  FitOptions options = options_with(validate);
  Constants constants;
  if (model_path.empty()) {
    constants = fit(in.samples, options).constants;
  } else {
    Inputs models;
    read_file_into(model_path, models);
    if (models.models.empty()) throw InputError(model_path + ": not a batchcost model.json");
    constants = model_from_json(models.models.front(), model_path).constants;
  }
  std::vector<Role> roles;
  for (const Sample& s : in.samples) roles.push_back(role_of(s, options));
  std::vector<ValidationRow> rows = validation_rows(in.samples, roles, constants);
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  if (json) {
    std::cout << validation_json(rows).dump(2) << "\n";
    return 0;
  }
  std::cout << census(in, roles) << "constants: "
            << (model_path.empty() ? "fitted to these samples" : "from " + model_path) << "\n\n"
            << validation_report(rows);
  return 0;
}

// One side of a comparison: results (fitted to get constants) or a model.json.
struct Side {
  std::vector<Sample> samples;
  Constants constants;
  nlohmann::json context;
  bool has_samples = false;
};

Side read_side(const std::string& path, const FitOptions& options) {
  Inputs in = read_inputs({path}, /*allow_models=*/true);
  Side side;
  if (!in.models.empty()) {
    if (!in.samples.empty() || in.models.size() > 1) {
      throw InputError(path + ": give either results or one model.json, not both");
    }
    ModelFile m = model_from_json(in.models.front(), in.model_sources.front());
    side.constants = m.constants;
    side.context = m.hardware;
    return side;
  }
  side.samples = in.samples;
  side.has_samples = true;
  side.context = in.context;
  side.constants = fit(in.samples, options).constants;
  return side;
}

int run_compare(const std::string& baseline, const std::string& candidate,
                const std::vector<std::string>& validate, bool json) {
  FitOptions options = options_with(validate);
  Side b = read_side(baseline, options), c = read_side(candidate, options);
  Comparison cmp;
  if (b.has_samples && c.has_samples) compare_samples(b.samples, c.samples, cmp);
  compare_constants(b.constants, c.constants, cmp);
  compare_contexts(b.context, c.context, cmp);
  if (json) {
    std::cout << comparison_json(cmp).dump(2) << "\n";
  } else {
    std::cout << "baseline: " << baseline << "\ncandidate: " << candidate << "\n\n"
              << comparison_report(cmp);
  }
  return 0;
}

// The arguments of `batchcost predict`.
struct PredictArgs {
  std::string hardware, model, stated, weights, kv_cache;
  std::vector<double> batches = {1, 8, 64, 512, 4096};
  PredictOptions options;
  bool show_ops = false, list_models = false;
  int gamma = -1;
  double acceptance = -1, draft_cost = 0, arrival_rate = 0, window_s = 0;
};

nlohmann::json read_json_file(const std::string& path) {
  return parse_json_input(read_input_file(path), path);
}

// The most GPUs a deployment may name: far above any cluster, and small enough that products of
// the parallelism degrees stay exact in 32-bit integers downstream.
constexpr std::int64_t kMaxGpus = std::int64_t{1} << 20;

// The parallelism flags, checked together in 64 bits before anything multiplies them as int.
void check_deployment(const Deployment& d) {
  const std::int64_t replica = std::int64_t{d.tp} * d.pp;
  if (replica > kMaxGpus) {
    throw InputError("--tp, --pp: tp·pp = " + std::to_string(replica) + " GPUs, above " +
                     std::to_string(kMaxGpus));
  }
}

int run_predict(PredictArgs a, bool json) {
  if (a.list_models) {
    for (const std::string& name : shipped_model_names()) {
      LlmConfig c = load_llm_config(name);
      std::cout << name << "  " << c.display_name << ": " << describe(c) << "\n";
    }
    return 0;
  }
  if (a.hardware.empty() || a.model.empty()) {
    throw InputError("predict needs --hardware MODEL.json and --model NAME|FILE");
  }
  check_deployment(a.options.deployment);
  PredictReport r;
  r.model = load_llm_config(a.model);
  bool shipped = false;
  for (const std::string& n : shipped_model_names()) shipped |= n == r.model.name;
  r.model_source = shipped && a.model.find('/') == std::string::npos &&
                           a.model.find(".json") == std::string::npos
                       ? "models/" + r.model.name + ".json"
                       : a.model;
  for (const auto& [flag, value, field] :
       {std::tuple{"--weights", a.weights, &r.model.precision.weights},
        std::tuple{"--kv-cache", a.kv_cache, &r.model.precision.kv_cache}}) {
    if (value.empty()) continue;
    try {
      dtype_bytes(value);
    } catch (const std::invalid_argument&) {
      throw InputError(std::string(flag) + ": unknown type '" + value +
                       "' (bf16, fp16, fp8_e4m3, fp32)");
    }
    *field = value;
  }
  const nlohmann::json doc = read_json_file(a.hardware);
  ModelFile hw = model_from_json(doc, a.hardware);
  r.hardware_source = a.hardware;
  r.hardware = hw.hardware;
  r.constants = hw.constants;
  r.unmeasured = unmeasured_constants(doc, a.hardware);
  if (!a.stated.empty()) {
    const nlohmann::json stated_doc = read_json_file(a.stated);
    Constants stated = model_from_json(stated_doc, a.stated).constants;
    std::set<std::string> added = add_stated(r.constants, stated);
    for (const std::string& n : constant_names(stated)) {
      if (!added.count(n)) {
        std::cerr << "warning: " << a.stated << ": " << n << " is measured in " << a.hardware
                  << "; the measured value is used\n";
      }
    }
    r.unmeasured.insert(added.begin(), added.end());
  }
  r.options = a.options;
  r.options.deployment = resolve(a.options.deployment, r.model);
  r.show_ops = a.show_ops;
  // A GPU calibrated without fp8 GEMMs (or one without fp8) still predicts an fp8 model: its
  // GEMMs are priced at the activations' P, its weights stay 1 byte, and a note says so.
  const std::string fp8 = gemm_dtype(r.model.precision);
  const std::string act = r.model.precision.activations;
  if (fp8 != act && !r.constants.flops_per_s.count(fp8) && r.constants.flops_per_s.count(act)) {
    r.model.precision.gemm = act;
    r.notes.push_back(a.hardware + " has no P[" + fp8 + "]: the " + fp8 +
                      " GEMMs are priced at P[" + act + "] (weights still " +
                      r.model.precision.weights + ")");
  }
  try {
    r.steps = predict_steps(r.constants, r.model, r.options, a.batches);
    if (a.gamma >= 0 || a.acceptance >= 0) {
      if (a.gamma < 0 || a.acceptance < 0) {
        throw InputError("speculative decoding needs both --gamma and --acceptance");
      }
      r.speculation = Speculation{a.gamma, a.acceptance, a.draft_cost};
      for (double b : a.batches) {
        r.speculative.push_back(
            predict_speculative(r.constants, r.model, r.options, b, *r.speculation));
      }
    }
    if (a.arrival_rate > 0 || a.window_s > 0) {
      r.window = serving_window(a.arrival_rate, a.window_s);
      r.window_step = predict_step(r.constants, r.model, r.options, r.window->batch);
    }
  } catch (const MissingConstants& e) {
    std::cerr << "batchcost: " << missing_constants_message(e, a.hardware);
    return 2;
  }
  if (json) {
    std::cout << predict_json(r).dump(2) << "\n";
  } else {
    std::cout << predict_table(r);
  }
  return 0;
}

// A CLI11 check that a number is finite and within [low, high]: CLI11's Range and
// NonNegativeNumber let nan through (every comparison with nan is false).
CLI::Validator finite_in(double low, double high) {
  return CLI::Validator(
      [low, high](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return "'" + text + "' is not a number";
        if (!std::isfinite(v)) return "'" + text + "' is not a finite number";
        if (v < low || v > high) {
          std::ostringstream o;
          o << "'" << text << "' is outside [" << low << ", " << high << "]";
          return o.str();
        }
        return "";
      },
      "", "FINITE");
}

// stdout's buffered text, written out: a failed write (ENOSPC, EIO, a closed pipe) is an error.
int flush_stdout(int status) {
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::cerr << "batchcost: stdout: write error: " << std::strerror(errno) << "\n";
    return status == 0 ? 2 : status;
  }
  return status;
}

}  // namespace

// The command line: parses and checks argv, then runs the subcommand (parse_only: stops after the
// checks, for tests/fuzz/cli_fuzz.cc). Returns the exit status.
int batchcost_cli(int argc, char** argv, bool parse_only);

}  // namespace batchcost

#ifndef BATCHCOST_CLI_NO_MAIN
int main(int argc, char** argv) { return batchcost::batchcost_cli(argc, argv, false); }
#endif

int batchcost::batchcost_cli(int argc, char** argv, bool parse_only) {
  using batchcost::finite_in;
  CLI::App app{"batchcost: fit, validate and compare the LLM inference cost model, and predict"};
  app.require_subcommand(1);
  std::vector<std::string> paths, validate;
  std::string out, model, baseline, candidate;
  bool json = false;

  CLI::App* fit = app.add_subcommand("fit", "fit the model's constants to results");
  fit->add_option("PATH", paths, "results folders or files")->required();
  fit->add_option("--out", out, "write model.json here");
  fit->add_option("--validate", validate, "a family to predict, not fit (moe always)");
  fit->add_flag("--json", json, "print model.json instead of tables");

  CLI::App* val = app.add_subcommand("validate", "measured against predicted, per benchmark");
  val->add_option("PATH", paths, "results folders or files")->required();
  val->add_option("--model", model, "a model.json (default: fit these results first)");
  val->add_option("--validate", validate, "a family to predict, not fit (moe always)");
  val->add_flag("--json", json, "JSON instead of tables");

  CLI::App* cmp = app.add_subcommand("compare", "two GPUs or two runs side by side");
  cmp->add_option("BASELINE", baseline, "results folder, result file or model.json")->required();
  cmp->add_option("CANDIDATE", candidate, "results folder, result file or model.json")->required();
  cmp->add_option("--validate", validate, "a family to predict, not fit (moe always)");
  cmp->add_flag("--json", json, "JSON instead of tables");

  batchcost::PredictArgs pa;
  batchcost::Deployment& dep = pa.options.deployment;
  CLI::App* pred = app.add_subcommand("predict", "speed and cost of serving an LLM");
  pred->add_option("--hardware", pa.hardware, "model.json: the fitted constants of the GPU");
  pred->add_option("--model", pa.model, "a shipped model (--list-models) or a JSON file");
  pred->add_flag("--list-models", pa.list_models, "list the shipped models");
  // Ranges: far beyond any real deployment, and within what the arithmetic holds exactly (a batch
  // or a context of 1e9 tokens, 2^20 GPUs, a price of a million dollars per GPU-hour).
  const int max_gpus = static_cast<int>(batchcost::kMaxGpus);
  pred->add_option("--batch", pa.batches, "batch sizes: sequences decoded together")
      ->delimiter(',')
      ->check(finite_in(1, 1e9));
  pred->add_option("--context", pa.options.context, "tokens of KV cache per sequence")
      ->check(finite_in(0, 1e9));
  pred->add_option("--gpus", dep.gpus, "GPUs in all (default tp·pp; more: data parallel)")
      ->check(CLI::Range(0, max_gpus));
  pred->add_option("--tp", dep.tp, "tensor parallelism")->check(CLI::Range(1, max_gpus));
  pred->add_option("--ep", dep.ep, "expert parallelism (1: experts split by tp)")
      ->check(CLI::Range(1, max_gpus));
  pred->add_option("--pp", dep.pp, "pipeline stages")->check(CLI::Range(1, max_gpus));
  pred->add_option("--gpus-per-node", dep.gpus_per_node, "GPUs per node")
      ->check(CLI::Range(1, max_gpus));
  pred->add_option("--micro-batches", dep.micro_batches, "pipeline micro-batches (default pp)")
      ->check(CLI::Range(0, max_gpus));
  pred->add_flag("--cuda-graphs", dep.cuda_graphs, "kernels as CUDA graph nodes");
  pred->add_option("--price", pa.options.price_per_gpu_hour, "price per GPU-hour")
      ->check(finite_in(0, 1e6));
  pred->add_option("--stated", pa.stated, "model.json-shaped file of stated constants");
  pred->add_flag("--whole-step", pa.options.whole_step,
                 "overlap arithmetic and memory over the whole step, not per op");
  pred->add_flag("--ops", pa.show_ops, "the operations of each step");
  pred->add_option("--weights", pa.weights, "override the weights' type (bf16, fp8_e4m3, ...)");
  pred->add_option("--kv-cache", pa.kv_cache, "override the KV cache's type");
  pred->add_option("--gamma", pa.gamma, "speculative decoding: drafted tokens per step")
      ->check(CLI::Range(0, 1024));
  pred->add_option("--acceptance", pa.acceptance, "speculative decoding: acceptance per token")
      ->check(finite_in(0, 1));
  pred->add_option("--draft-cost", pa.draft_cost,
                   "speculative decoding: a draft step over a target step (default 0)")
      ->check(finite_in(0, 1e3));
  pred->add_option("--arrival-rate", pa.arrival_rate, "serving window: requests per second")
      ->check(finite_in(0, 1e9));
  pred->add_option("--window", pa.window_s, "serving window: seconds requests are collected")
      ->check(finite_in(0, 1e6));
  pred->add_flag("--json", json, "JSON instead of tables");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (parse_only) {
      if (pred->parsed()) batchcost::check_deployment(dep);
      return 0;
    }
    using batchcost::flush_stdout;
    if (fit->parsed()) return flush_stdout(batchcost::run_fit(paths, out, validate, json));
    if (val->parsed()) return flush_stdout(batchcost::run_validate(paths, model, validate, json));
    if (pred->parsed()) return flush_stdout(batchcost::run_predict(pa, json));
    return flush_stdout(batchcost::run_compare(baseline, candidate, validate, json));
  } catch (const batchcost::InputError& e) {
    std::cerr << "batchcost: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "batchcost: " << e.what() << "\n";
    return 2;
  }
}
