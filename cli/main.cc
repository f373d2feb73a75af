// batchcost: the command line of the fitter (DESIGN.md, "The command line"). Host C++ only.
//
//   batchcost fit PATH... [--out FILE] [--validate FAMILY]... [--form auto|epoch|refined]
//                 [--json] [--force]
//   batchcost validate PATH... [--model FILE] [--validate FAMILY]... [--json]
//   batchcost compare BASELINE CANDIDATE [--validate FAMILY]... [--filter REGEX]
//                     [--family F]... [--threshold X] [--alpha A] [--json]
//   batchcost export PATH... --csv FILE
//   batchcost predict --hardware MODEL.json --model NAME|FILE [--batch LIST] [--context N]
//                     [--gpus N] [--tp N] [--ep N] [--pp N] [--gpus-per-node N]
//                     [--micro-batches N] [--cuda-graphs] [--price USD] [--stated FILE]
//                     [--whole-step] [--ops] [--weights DTYPE] [--kv-cache DTYPE]
//                     [--gamma G --acceptance A (--draft-model NAME|FILE | --draft-cost C)]
//                     [--arrival-rate R --window S] [--input-len LIST --output-len LIST
//                     [--concurrency LIST] [--chunk N]] [--gpu-memory GB] [--overlap]
//                     [--dispatch-dtype fp8] [--redundant-experts N] [--json]
//   batchcost predict --list-models
//   batchcost report PATH... --out FILE.md [--plots DIR] [--validate FAMILY]...
//   batchcost --version
//
// predict's --hardware may also be a results folder: it is fitted on the fly, as `fit` does.
//
// PATH is a results folder (its *.json files but model.json), a result file, or (compare, and
// validate --model) a model.json. Tables go to stdout, errors to stderr with exit status 2; so
// does a failed write of stdout (a full disk, `> /dev/full`). Every numeric flag is finite and in a
// stated range; --out may not name an input.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "cli/serve_command.h"
#include "core/forms.h"
#include "core/input_file.h"
#include "core/model_file.h"
#include "core/version.h"
#include "model/compare.h"
#include "model/export.h"
#include "model/fit.h"
#include "model/report.h"
#include "model/report_md.h"
#include "model/results.h"
#include "model/select.h"
#include "predict/hardware.h"
#include "predict/predict.h"
#include "predict/predict_report.h"

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

// The form selection's options for these inputs: the SMs of a wave from the results' context,
// and --form (auto: selected by held-out error).
SelectOptions select_options(const Inputs& in, const std::string& form) {
  SelectOptions o = select_options_for(in.context);
  if (form != "auto") {
    try {
      o.force = parse_form(form);
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("--form: ") + e.what());
    }
  }
  return o;
}

ModelFile model_of(const Inputs& in, const Selection& sel) {
  ModelFile m;
  m.hardware = in.context;
  m.constants = sel.chosen();
  m.quality = quality_of(in.samples, sel.roles, m.constants);
  m.sources = in.sources;
  m.identification = identification_json(sel.full.identification);
  m.notes = sel.notes;
  if (sel.selected == Form::kRefined) m.epoch = sel.epoch;
  m.heldout = sel.heldout;
  m.selection = sel.steps;
  return m;
}

// What the form selection chose and why, and the held-out errors of both forms.
std::string form_report(const ModelFile& m) {
  std::string out = "form: " + form_name(m.constants.form) + "\n";
  for (const std::string& step : m.selection) out += "  " + step + "\n";
  for (const auto& [dtype, tile] : m.constants.terms.tile) {
    out += "  tile[" + dtype + "] = " + (tile.rows ? tile_name(tile) : "each sample's tile label") +
           ", waves of " +
           std::to_string(m.constants.terms.sm_count) + " SMs\n";
  }
  if (!m.heldout.empty()) {
    out +=
        "\nheld-out |predicted / measured - 1| of both forms (k-fold over shapes; validation "
        "families predicted, never fitted)\n" +
        heldout_table(m.heldout);
  }
  return out;
}

int run_fit(const std::vector<std::string>& paths, const std::string& out_path,
            const std::vector<std::string>& validate, const std::string& form, bool json,
            bool force) {
  if (!out_path.empty()) check_output_path(out_path, paths);
  Inputs in = read_inputs(paths);
  Selection sel = select_form(in.samples, options_with(validate), select_options(in, form));
  const FitResult& r = sel.full;
  // A fit that did not converge, or put a rate beyond what any sample shows, is not a model:
  // exit 3, nothing written, unless --force.
  for (const std::string& why : r.refusals) {
    std::cerr << (force ? "warning: " : "batchcost: fit refused: ") << why << "\n";
  }
  if (!r.refusals.empty() && !force) {
    std::cerr << "batchcost: no model written (--force writes it anyway)\n";
    return 3;
  }
  ModelFile m = model_of(in, sel);
  nlohmann::ordered_json model = model_to_json(m);
  model["batchcost"] = version_json();  // which batchcost fitted it
  std::string doc = model.dump(2) + "\n";
  if (!out_path.empty()) write_file_atomically(out_path, doc);
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  for (const std::string& w : r.warnings) std::cerr << "warning: " << w << "\n";
  if (json) {
    std::cout << doc;
    return 0;
  }
  std::cout << census(in, sel.roles) << hardware_line(in.context) << "\n"
            << "constants (95% intervals: covariance of the robust fit, in log space)\n"
            << constants_table(m.constants) << "\n";
  for (const std::string& note : m.notes) std::cout << "note: " << note << "\n";
  if (!m.notes.empty()) std::cout << "\n";
  std::cout << "identification (n: samples where the constant is half the time or more; "
               "width: 95% interval / value; ! not identified)\n"
            << identification_table(r.identification) << "\n";
  std::cout << "quality (|predicted / measured - 1|, in sample)\n"
            << quality_table(m.quality) << "\n"
            << form_report(m);
  bool header = false;
  for (size_t i = 0; i < in.samples.size(); ++i) {
    if (sel.roles[i] != Role::kNotModelled) continue;
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
  std::optional<Constants> epoch;  // the paper's form beside a refined one
  bool other_gpu = false;
  if (model_path.empty()) {
    Selection sel = select_form(in.samples, options, select_options(in, "auto"));
    constants = sel.chosen();
    if (sel.selected == Form::kRefined) epoch = sel.epoch;
  } else {
    Inputs models;
    read_file_into(model_path, models);
    if (models.models.empty()) throw InputError(model_path + ": not a batchcost model.json");
    ModelFile m = model_from_json(models.models.front(), model_path);
    constants = m.constants;
    epoch = m.epoch;
    // A model of another GPU (or driver, clocks, libraries) predicts these results; it was not
    // fitted to them, so no row is "fit".
    for (const std::string& d : hardware_differences(m.hardware, in.context)) {
      in.warnings.push_back(model_path + " and the results differ in " + d);
    }
    other_gpu = different_gpu(m.hardware, in.context);
    if (other_gpu) {
      in.warnings.push_back(model_path +
                            " was fitted on another GPU: every row is a validation, none is fit");
    }
  }
  std::vector<Role> roles;
  for (const Sample& s : in.samples) {
    Role r = role_of(s, options);
    roles.push_back(other_gpu && r == Role::kFit ? Role::kValidate : r);
  }
  std::vector<ValidationRow> rows = validation_rows(in.samples, roles, constants);
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  std::map<std::string, int> unpriced;
  for (size_t i = 0; i < in.samples.size(); ++i) {
    if (roles[i] == Role::kNotModelled) continue;
    if (!predict(constants, in.samples[i]).missing.empty()) ++unpriced[in.samples[i].family];
  }
  for (const auto& [family, n] : unpriced) {
    std::cerr << "warning: family " << family << ": " << n
              << " samples cannot be priced by these constants\n";
  }
  if (json) {
    std::cout << validation_json(rows).dump(2) << "\n";
    return 0;
  }
  std::cout << census(in, roles) << "constants: "
            << (model_path.empty() ? "fitted to these samples" : "from " + model_path) << "\n";
  if (other_gpu) std::cout << "warning: the model was fitted on another GPU; no row is fit\n";
  if (constants.form == Form::kRefined) std::cout << "form: refined\n";
  std::cout << "\n" << validation_report(rows);
  if (epoch) {
    std::map<std::string, Quality> q;
    for (const auto& [key, summary] :
         validation_summary(validation_rows(in.samples, roles, as_epoch(*epoch)))) {
      q[key.first] = summary.quality;
      q[key.first].role = key.second;
    }
    std::cout << "\nthe paper's form (epoch), same samples\n" << quality_table(q);
  }
  return 0;
}

// One side of a comparison: results (fitted to get constants) or a model.json.
struct Side {
  std::vector<Sample> samples;
  Constants constants;
  NetRanges net_ranges;  // the sizes its network constants were fitted on
  nlohmann::json context;
  bool has_samples = false;
};

Side read_side(const std::string& path, const FitOptions& options) {
  Inputs in = read_inputs({path}, /*allow_models=*/true);
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  Side side;
  if (!in.models.empty()) {
    if (!in.samples.empty() || in.models.size() > 1) {
      throw InputError(path + ": give either results or one model.json, not both");
    }
    ModelFile m = model_from_json(in.models.front(), in.model_sources.front());
    side.constants = m.constants;
    side.context = m.hardware;
    side.net_ranges = net_ranges_of_model(in.models.front());
    return side;
  }
  side.samples = in.samples;
  side.has_samples = true;
  side.context = in.context;
  side.constants = select_form(in.samples, options, select_options(in, "auto")).chosen();
  side.net_ranges = net_ranges_of_samples(in.samples, options);
  return side;
}

int run_compare(const std::string& baseline, const std::string& candidate,
                const std::vector<std::string>& validate, const CompareOptions& options,
                bool json) {
  FitOptions fit_options = options_with(validate);
  Side b = read_side(baseline, fit_options), c = read_side(candidate, fit_options);
  Comparison cmp;
  cmp.options = options;
  const bool selecting = !options.filter.empty() || !options.families.empty();
  if (b.has_samples && c.has_samples) {
    // The constants are fitted on everything; the selection picks the benchmarks shown.
    std::vector<Sample> bs = select_samples(b.samples, options),
                        cs = select_samples(c.samples, options);
    if (selecting && bs.empty() && cs.empty()) {
      throw InputError("--filter/--family select no benchmark of " + baseline + " or " + candidate);
    }
    compare_samples(bs, cs, cmp);
  } else if (selecting) {
    throw InputError(
        "--filter and --family select benchmarks: both sides must be results, not "
        "model.json");
  }
  compare_constants(b.constants, c.constants, cmp);
  compare_network(b.constants, b.net_ranges, c.constants, c.net_ranges, cmp);
  compare_contexts(b.context, c.context, cmp);
  for (const std::string& w : cmp.warnings) {
    std::cerr << "warning: the two sides differ in " << w << "\n";
  }
  if (json) {
    std::cout << comparison_json(cmp).dump(2) << "\n";
  } else {
    std::cout << "baseline: " << baseline << "\ncandidate: " << candidate << "\n";
    if (b.constants.form != Form::kEpoch || c.constants.form != Form::kEpoch) {
      std::cout << "forms: baseline " << form_name(b.constants.form) << ", candidate "
                << form_name(c.constants.form) << "\n";
    }
    std::cout << "\n" << comparison_report(cmp);
  }
  return 0;
}

int run_export(const std::vector<std::string>& paths, const std::string& csv_path) {
  // Each file on its own: two runs (or two GPUs) of the same benchmarks are rows side by side,
  // told apart by their source, not contradictory duplicates.
  Inputs in;
  for (const std::string& path : paths) {
    for (const std::string& file : expand_path(path)) read_file_into(file, in);
  }
  if (!in.models.empty()) {
    throw InputError(in.model_sources.front() + ": a model.json; export reads results");
  }
  if (in.samples.empty()) throw InputError("no usable samples in the paths given");
  for (const std::string& w : in.warnings) std::cerr << "warning: " << w << "\n";
  std::stable_sort(in.samples.begin(), in.samples.end(), [](const Sample& a, const Sample& b) {
    return a.name != b.name ? natural_less(a.name, b.name) : a.source < b.source;
  });
  write_file_atomically(csv_path, export_csv(in.samples));
  size_t rows = 0;
  for (const Sample& s : in.samples) rows += 1 + s.repetition_times_s.size();
  std::cout << "wrote " << csv_path << ": " << in.samples.size() << " samples, " << rows
            << " rows (one per repetition, one per median)\n";
  return 0;
}

// `batchcost report`: the Markdown page, written atomically once every path has been read and
// fitted; on the terminal, each run's constants with their origins and its validation summary.
int run_report(const std::vector<std::string>& paths, const std::string& out_path,
               const std::string& plots_dir, const std::vector<std::string>& validate) {
  namespace fs = std::filesystem;
  if (out_path.empty()) throw InputError("report needs --out FILE.md");
  const fs::path page_dir = fs::absolute(fs::path(out_path)).parent_path();
  auto link = [&](const fs::path& target) {
    return fs::absolute(target).lexically_normal().lexically_relative(page_dir).generic_string();
  };
  std::vector<RunReport> runs;
  for (const std::string& path : paths) {
    runs.push_back(make_run_report(path, options_with(validate)));
    fs::path readme = fs::path(path) / "README.md";
    if (fs::is_directory(path) && fs::is_regular_file(readme)) runs.back().readme = link(readme);
  }
  std::vector<std::string> plots;
  if (!plots_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(plots_dir, ec)) throw InputError(plots_dir + ": --plots: no such folder");
    std::vector<fs::path> pngs;
    for (const auto& item : fs::directory_iterator(plots_dir, ec)) {
      if (item.is_regular_file() && item.path().extension() == ".png") pngs.push_back(item.path());
    }
    if (ec) throw InputError(plots_dir + ": cannot be listed: " + ec.message());
    std::sort(pngs.begin(), pngs.end());
    for (const fs::path& p : pngs) plots.push_back(link(p));
  }
  std::string page = markdown_report(runs, plots);
  write_file_atomically(out_path, page);
  for (const RunReport& run : runs) {
    for (const std::string& w : run.inputs.warnings) std::cerr << "warning: " << w << "\n";
    std::cout << "== " << run.path << "\n" << report_summary(run) << "\n";
  }
  std::cout << "wrote " << out_path << "\n";
  return 0;
}

// The arguments of `batchcost predict`.
struct PredictArgs {
  std::string hardware, model, stated, weights, kv_cache, draft_model;
  std::vector<long long> batches = {1, 8, 64, 512, 4096};
  std::vector<long long> input_lens, output_lens;
  std::vector<long long> concurrency = {1};
  double gpu_memory_gb = 0;
  PredictOptions options;
  bool show_ops = false, list_models = false, strict = false;
  int gamma = -1;
  double acceptance = -1, draft_cost = -1, arrival_rate = 0, window_s = 0;
};

// A model name or file as the output names it: models/NAME.json for a shipped one.
std::string model_source(const LlmConfig& c, const std::string& given) {
  bool shipped = false;
  for (const std::string& n : shipped_model_names()) shipped |= n == c.name;
  return shipped && given.find('/') == std::string::npos && given.find(".json") == std::string::npos
             ? "models/" + c.name + ".json"
             : given;
}

// The request shapes of --input-len and --output-len: pairs of equal lists, or one value with
// a list.
std::vector<std::pair<double, double>> request_shapes(const PredictArgs& a) {
  std::vector<std::pair<double, double>> out;
  if (a.input_lens.empty() && a.output_lens.empty()) return out;
  if (a.input_lens.empty() || a.output_lens.empty()) {
    throw InputError("--input-len and --output-len go together (a request has both)");
  }
  const size_t n = std::max(a.input_lens.size(), a.output_lens.size());
  if ((a.input_lens.size() != n && a.input_lens.size() != 1) ||
      (a.output_lens.size() != n && a.output_lens.size() != 1)) {
    throw InputError("--input-len has " + std::to_string(a.input_lens.size()) +
                     " values and --output-len " + std::to_string(a.output_lens.size()) +
                     ": give lists of the same length (one request shape each), or one value");
  }
  for (size_t i = 0; i < n; ++i) {
    out.emplace_back(static_cast<double>(a.input_lens[a.input_lens.size() == 1 ? 0 : i]),
                     static_cast<double>(a.output_lens[a.output_lens.size() == 1 ? 0 : i]));
  }
  return out;
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
  if (a.arrival_rate > 0 && !(a.window_s > 0)) {
    throw InputError(
        "--arrival-rate needs --window S: the seconds over which arriving requests "
        "are collected into one batch");
  }
  if (a.window_s > 0 && !(a.arrival_rate > 0)) {
    throw InputError("--window needs --arrival-rate R: the requests per second that fill it");
  }
  if (a.draft_cost >= 0 && !a.draft_model.empty()) {
    throw InputError("give --draft-model or --draft-cost, not both");
  }
  const std::vector<std::pair<double, double>> shapes = request_shapes(a);
  PredictReport r;
  r.model = load_llm_config(a.model);
  r.model_source = model_source(r.model, a.model);
  std::optional<LlmConfig> draft;
  if (!a.draft_model.empty()) {
    draft = load_llm_config(a.draft_model);
    r.draft_source = model_source(*draft, a.draft_model);
  }
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
  r.hardware_source = a.hardware;
  Hardware hw = load_hardware(a.hardware, a.stated);
  for (const std::string& w : hw.warnings) std::cerr << "warning: " << w << "\n";
  r.hardware = hw.context;
  r.constants = hw.constants;
  r.unmeasured = hw.unmeasured;
  r.notes.insert(r.notes.end(), hw.notes.begin(), hw.notes.end());
  r.options = a.options;
  r.options.deployment = resolve(a.options.deployment, r.model);
  const std::optional<double> context_memory = hw.memory_bytes();
  if (a.gpu_memory_gb > 0) {
    r.options.gpu_memory_bytes = a.gpu_memory_gb * 1e9;
    r.memory_source = "--gpu-memory";
    if (context_memory) {
      r.notes.push_back("--gpu-memory " + format_number(a.gpu_memory_gb) + " GB replaces " +
                        a.hardware + "'s memory_bytes of " + format_number(*context_memory / 1e9) +
                        " GB");
    }
  } else if (context_memory) {
    r.options.gpu_memory_bytes = *context_memory;
    r.memory_source = "hardware.memory_bytes";
  }
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
  const std::vector<double> batches(a.batches.begin(), a.batches.end());
  try {
    r.steps = predict_steps(r.constants, r.model, r.options, batches);
    // A network constant used far outside the sizes it was fitted on is marked, or refused.
    std::set<std::string> outside;
    for (const StepPrediction& s : r.steps) {
      for (const std::string& e : extrapolated_network(r.constants, s.ops)) outside.insert(e);
    }
    for (const std::string& e : outside) {
      if (a.strict) throw InputError("--strict: " + e + " (more than 4x outside)");
      r.notes.push_back("extrapolated: " + e + " (more than 4x outside; --strict refuses)");
    }
    for (long long c : a.concurrency) {
      for (const auto& [input, output] : shapes) {
        r.requests.push_back(predict_request(r.constants, r.model, r.options, input, output,
                                             static_cast<double>(c)));
      }
    }
    if (a.gamma >= 0 || a.acceptance >= 0 || draft || a.draft_cost >= 0) {
      if (a.gamma < 0 || a.acceptance < 0) {
        throw InputError("speculative decoding needs both --gamma and --acceptance");
      }
      if (!draft && a.draft_cost < 0) {
        throw InputError(
            "speculative decoding needs the draft's cost: --draft-model NAME|FILE "
            "(priced on the same hardware) or --draft-cost C (a draft step over a "
            "target step; 0 for a free draft)");
      }
      r.speculation = Speculation{a.gamma, a.acceptance, std::max(0.0, a.draft_cost),
                                  draft ? &*draft : nullptr};
      for (double b : batches) {
        r.speculative.push_back(
            predict_speculative(r.constants, r.model, r.options, b, *r.speculation));
      }
    }
    if (a.arrival_rate > 0) {
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
  app.set_version_flag("--version", batchcost::version_line(), "print the version and exit");
  std::vector<std::string> paths, validate;
  std::string out, model, baseline, candidate, form = "auto";
  bool json = false;

  CLI::App* fit = app.add_subcommand("fit", "fit the model's constants to results");
  fit->add_option("PATH", paths,
                  "results folders or files; an nccl-tests log may name its op and ranks: "
                  "LOG:op=all_reduce,ranks=16")
      ->required();
  fit->add_option("--out", out, "write model.json here");
  fit->add_option("--validate", validate, "a family to predict, not fit (moe always)");
  fit->add_flag("--json", json, "print model.json instead of tables");
  bool force = false;
  fit->add_flag("--force", force,
                "write the model even when the fit refuses it (no convergence, a rate beyond "
                "what any sample shows: exit 3 otherwise)");
  fit->add_option("--form", form,
                  "the cost model's form: auto (selected by held-out error), epoch (the paper's "
                  "max(flops/P, bytes/W)) or refined")
      ->check(CLI::IsMember({"auto", "epoch", "refined"}));

  CLI::App* val = app.add_subcommand("validate", "measured against predicted, per benchmark");
  val->add_option("PATH", paths, "results folders or files (LOG:op=NAME,ranks=N as for fit)")
      ->required();
  val->add_option("--model", model, "a model.json (default: fit these results first)");
  val->add_option("--validate", validate, "a family to predict, not fit (moe always)");
  val->add_flag("--json", json, "JSON instead of tables");

  CLI::App* cmp = app.add_subcommand("compare", "two GPUs or two runs side by side");
  cmp->add_option("BASELINE", baseline, "results folder, result file or model.json")->required();
  cmp->add_option("CANDIDATE", candidate, "results folder, result file or model.json")->required();
  cmp->add_option("--validate", validate, "a family to predict, not fit (moe always)");
  batchcost::CompareOptions cmp_options;
  cmp->add_option("--filter", cmp_options.filter,
                  "only benchmarks whose name matches this regex (ECMAScript, searched)");
  std::vector<std::string> cmp_families;
  cmp->add_option("--family", cmp_families, "only this family (repeatable)");
  cmp->add_option("--threshold", cmp_options.threshold,
                  "call a ratio within 1 ± this \"same\" even when significant (default 0)")
      ->check(CLI::Range(0.0, 1.0));
  cmp->add_option("--alpha", cmp_options.alpha,
                  "significance level of the U test (default 0.05, as compare.py)")
      ->check(CLI::Range(1e-9, 0.5));
  cmp->add_flag("--json", json, "JSON instead of tables");

  std::string csv;
  CLI::App* exp = app.add_subcommand(
      "export",
      "results as one tidy CSV: a row per repetition and per median, parameters and "
      "labels as columns");
  exp->add_option("PATH", paths, "results folders or files")->required();
  exp->add_option("--csv", csv, "the CSV file to write")->required();

  std::string plots;
  CLI::App* rep = app.add_subcommand("report", "a Markdown page per run or GPU");
  rep->add_option("PATH", paths, "results folders or files (the first: the baseline)")->required();
  rep->add_option("--out", out, "the page to write (FILE.md)")->required();
  rep->add_option("--plots", plots, "a folder of PNGs to link from the page");
  rep->add_option("--validate", validate, "a family to predict, not fit (moe always)");

  batchcost::PredictArgs pa;
  batchcost::Deployment& dep = pa.options.deployment;
  CLI::App* pred = app.add_subcommand("predict", "speed and cost of serving an LLM");
  pred->option_defaults()->always_capture_default();
  pred->add_option("--hardware", pa.hardware,
                   "model.json (the fitted constants of the GPU), or a results folder to fit");
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
                   "speculative decoding: a draft step over a target step (-1: not given)")
      ->check(finite_in(-1, 1e3));
  pred->add_option("--draft-model", pa.draft_model,
                   "speculative decoding: the draft model (shipped name or file), priced on the "
                   "same hardware");
  pred->add_option("--arrival-rate", pa.arrival_rate, "serving window: requests per second")
      ->check(finite_in(0, 1e9));
  pred->add_option("--window", pa.window_s, "serving window: seconds requests are collected")
      ->check(finite_in(0, 1e6));
  pred->add_option("--input-len", pa.input_lens, "requests: prompt tokens (a list: one per shape)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  pred->add_option("--output-len", pa.output_lens, "requests: output tokens (a list likewise)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  pred->add_option("--concurrency", pa.concurrency, "requests: requests in flight (a list)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  pred->add_option("--chunk", pa.options.chunk, "prefill in chunks of N tokens (0: whole prompt)")
      ->check(CLI::NonNegativeNumber);
  pred->add_option("--gpu-memory", pa.gpu_memory_gb,
                   "GB per GPU; replaces hardware.memory_bytes (0: use it; neither: unchecked)")
      ->check(CLI::NonNegativeNumber);
  pred->add_flag("--overlap", dep.overlap,
                 "hide communication behind compute, per layer, up to the smaller of the two");
  pred->add_option("--dispatch-dtype", dep.dispatch_dtype,
                   "the MoE dispatch all-to-all's type: fp8 or bf16 (empty: the activations')");
  pred->add_option("--redundant-experts", dep.redundant_experts,
                   "expert parallelism: extra expert replicas over the ep GPUs");
  pred->add_flag("--strict", pa.strict,
                 "refuse a network constant used more than 4x outside the sizes it was fitted on");
  pred->add_flag("--json", json, "JSON instead of tables");

  batchcost::ServeArgs sa;
  CLI::App* serve = batchcost::add_serve_command(app, sa);

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
    if (fit->parsed()) return flush_stdout(batchcost::run_fit(paths, out, validate, form, json, force));
    if (val->parsed()) return flush_stdout(batchcost::run_validate(paths, model, validate, json));
    if (pred->parsed()) return flush_stdout(batchcost::run_predict(pa, json));
    if (rep->parsed()) return flush_stdout(batchcost::run_report(paths, out, plots, validate));
    if (serve->parsed()) return flush_stdout(batchcost::run_serve(sa));
    if (exp->parsed()) return flush_stdout(batchcost::run_export(paths, csv));
    cmp_options.families.insert(cmp_families.begin(), cmp_families.end());
    if (!cmp_options.filter.empty()) {
      try {
        std::regex check(cmp_options.filter, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        std::cerr << "batchcost: --filter '" << cmp_options.filter
                  << "': not a regular expression: " << e.what() << "\n";
        return 2;
      }
    }
    return flush_stdout(
        batchcost::run_compare(baseline, candidate, validate, cmp_options, json));
  } catch (const batchcost::InputError& e) {
    std::cerr << "batchcost: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "batchcost: " << e.what() << "\n";
    return 2;
  }
}
