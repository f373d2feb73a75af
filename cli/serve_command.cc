// `batchcost serve` (see serve_command.h and predict/serve.h).
#include "cli/serve_command.h"

#include <cmath>
#include <iostream>
#include <sstream>

#include "cli/deployment_options.h"
#include "core/model_file.h"
#include "model/results.h"
#include "predict/hardware.h"
#include "predict/predict_report.h"
#include "predict/serve.h"
#include "predict/serve_costs.h"
#include "predict/serve_report.h"

namespace batchcost {

CLI::App* add_serve_command(CLI::App& app, ServeArgs& a) {
  CLI::App* s = app.add_subcommand(
      "serve", "simulate a deployment under a request load: TTFT, TPOT, throughput and cost");
  s->add_option("--hardware", a.hardware,
                "model.json (the fitted constants of the GPU), a results folder to fit, or "
                "h100|h200 (the shipped calibration; stated constants where it has none)")
      ->required();
  s->add_option("--model", a.model, "a shipped model (predict --list-models) or a JSON file")
      ->required();
  auto* stated = s->add_option("--stated", a.stated,
                               "model.json-shaped file of stated constants to fill gaps "
                               "(default: the stated constants of an H100 or H200's type)");
  s->add_flag("--no-stated", a.no_stated,
              "price with the measured constants alone; name what is missing")
      ->excludes(stated);
  add_deployment_options(s, a.deployment, a.weights, a.kv_cache);
  add_speculation_options(s, a.speculation);
  s->add_flag("--whole-step", a.whole_step,
              "overlap arithmetic and memory over the whole step, not per op");
  s->add_flag("--strict", a.strict,
              "refuse a network constant used more than 4x outside the sizes it was fitted on");
  auto* rate = s->add_option("--rate", a.rates, "Poisson arrival rates, requests/s (a list)")
                   ->delimiter(',')
                   ->check(CLI::PositiveNumber);
  auto* users = s->add_option("--users", a.users, "closed-loop concurrent users (a list)")
                    ->delimiter(',')
                    ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 24));
  rate->excludes(users);
  auto* offline = s->add_flag("--offline", a.offline,
                              "offline throughput: every request arrives at t = 0 (a batch job)");
  offline->excludes(rate)->excludes(users);
  s->add_option("--prefix-hit", a.prefix_hit,
                "share of each prompt already in the prefix cache (not prefilled; at least one "
                "token is)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  auto* prefill = s->add_option("--prefill-gpus", a.prefill_gpus,
                                "disaggregated serving: GPUs of the prefill pool (with "
                                "--decode-gpus; the deployment flags apply to each pool)")
                      ->check(CLI::Range(1, 1 << 20));
  auto* decode = s->add_option("--decode-gpus", a.decode_gpus,
                               "disaggregated serving: GPUs of the decode pool, to which each "
                               "request's KV cache moves over send_recv")
                     ->check(CLI::Range(1, 1 << 20));
  prefill->needs(decode);
  decode->needs(prefill);
  prefill->excludes(users);
  decode->excludes(users);
  s->add_option("--think", a.think_s, "closed loop: mean think time between requests, s")
      ->check(CLI::Range(0.0, 1e6))->capture_default_str();
  s->add_option("--input-len", a.input_len, "prompt tokens: N, or MEAN:SD (log-normal)")
      ->capture_default_str();
  s->add_option("--output-len", a.output_len, "output tokens: N, or MEAN:SD (log-normal)")
      ->capture_default_str();
  s->add_option("--requests", a.requests, "requests simulated per load point")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000000}))->capture_default_str();
  s->add_option("--seed", a.seed, "seed of the load")->capture_default_str();
  s->add_option("--policy", a.policies, "continuous, or window:SECONDS (static batches); a list")
      ->delimiter(',')->capture_default_str();
  s->add_option("--max-batch", a.max_batch,
                "running sequences at most, per data-parallel group (default: the largest that "
                "fits, at most 256)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 20));
  s->add_option("--token-budget", a.token_budget,
                "tokens one step processes (decode + prefill), per data-parallel group")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 24))
      ->capture_default_str();
  s->add_option("--price", a.price, "price per GPU-hour")->check(CLI::Range(0.0, 1e6));
  s->add_option("--slo-ttft", a.slo_ttft_s, "SLO on the p90 time to first token, s")
      ->check(CLI::Range(0.0, 1e6));
  s->add_option("--slo-tpot", a.slo_tpot_s, "SLO on the p90 time per output token, s")
      ->check(CLI::Range(0.0, 1e6));
  s->add_option("--gpu-memory", a.gpu_memory_gib,
                "GiB per GPU (default: the hardware context's memory_bytes)")
      ->check(CLI::Range(0.0, 1e6));
  s->add_option("--memory-utilization", a.memory_utilization,
                "share of GPU memory for weights and KV cache")
      ->check(CLI::Range(0.01, 1.0))->capture_default_str();
  s->add_flag("--json", a.json, "JSON instead of tables");
  return s;
}

namespace {

// The tables' options from the flags and the hardware (speculation aside: it needs the draft).
ServeCostOptions cost_options(const ServeArgs& a, const Hardware& hw, const LengthDist& in,
                              const LengthDist& out) {
  ServeCostOptions so;
  so.gpu_memory_bytes =
      a.gpu_memory_gib > 0 ? a.gpu_memory_gib * 1073741824.0 : hw.memory_bytes().value_or(0);
  so.memory_utilization = a.memory_utilization;
  so.weak = hw.unmeasured;
  so.weak.insert(hw.unidentified.begin(), hw.unidentified.end());
  // The longest request the load can draw: mean + 4 sd, within the lengths' bound.
  auto longest = [](const LengthDist& d) {
    return std::min<double>(static_cast<double>(d.max), std::ceil(d.mean + 4 * d.sd));
  };
  so.max_context = longest(in) + longest(out);
  so.max_batch = a.max_batch > 0 ? a.max_batch : 256;
  so.token_budget = std::max(a.token_budget, so.max_batch);
  return so;
}

// The two pools of --prefill-gpus/--decode-gpus (`decode` the decode pool's costs, r.tables its
// tables): the move of the KV cache priced, the report told.
Disaggregated disaggregate(const ServeArgs& a, const LlmConfig& model,
                           const PredictOptions& prefill_po, const ServeCostTables& prefill_tables,
                           const StepCosts& decode, const LengthDist& in, ServeReport& r) {
  // NOTES: each prefill GPU sends its shard of a prompt's KV cache to a decode GPU, the pairs in
  // parallel, priced on the two-rank send_recv regimes (what pipeline stages are priced on).
  const auto net = r.constants.network.find({"send_recv", 2});
  if (net == r.constants.network.end() || net->second.empty()) {
    throw InputError(a.hardware +
                     " lacks network send_recv/2, which prices the KV cache's move "
                     "from the prefill pool to the decode pool (--prefill-gpus)");
  }
  const std::vector<Regime> regimes = net->second;
  // The constants used: both pools' steps and the move.
  r.tables.constants.insert(prefill_tables.constants.begin(), prefill_tables.constants.end());
  r.tables.constants.insert("network " + net_key_name(net->first));
  const double per_token = prefill_tables.kv_bytes_per_token_per_gpu;
  Disaggregated split;
  split.prefill = step_costs(prefill_tables);
  split.decode = decode;
  split.kv_transfer_s = [regimes, per_token](std::int64_t tokens) {
    return network_time(regimes, per_token * static_cast<double>(tokens));
  };
  r.pools = ServeReport::Pools{deployment_line(model, prefill_po.deployment), prefill_tables,
                               split.kv_transfer_s(static_cast<std::int64_t>(in.mean))};
  r.notes.push_back("disaggregated: prompts are prefilled on the prefill pool's " +
                    std::to_string(prefill_tables.gpus) +
                    " GPUs, each KV cache then moves to the decode pool's " +
                    std::to_string(r.tables.gpus) +
                    " GPUs over send_recv/2 (shards in parallel), which only decodes; the two "
                    "pools are simulated in turn (open-loop loads only)");
  return split;
}

// Every load point of every policy into r.points (`split` where the pools are disaggregated).
void simulate_points(const ServeArgs& a, const std::vector<Policy>& policies,
                     const ServeCostOptions& so, const StepCosts& costs, const Disaggregated* split,
                     const LengthDist& in, const LengthDist& out, ServeReport& r) {
  auto run = [&](const Policy& p, const std::vector<Request>& req) {
    return split ? simulate_disaggregated(*split, p, req) : simulate(costs, p, req);
  };
  for (Policy p : policies) {
    p.max_batch = so.max_batch;
    p.token_budget = so.token_budget;
    p.prefix_hit = a.prefix_hit;
    if (a.offline) {
      r.points.push_back({"offline", 0, p, run(p, offline_requests(a.requests, in, out, a.seed))});
    }
    for (double rate : a.rates) {
      r.points.push_back(
          {"rate", rate, p, run(p, poisson_requests(rate, a.requests, in, out, a.seed))});
    }
    for (std::int64_t u : a.users) {
      ClosedLoop loop{u, a.think_s};
      r.points.push_back({"users", static_cast<double>(u), p,
                          simulate_closed(costs, p, loop, a.requests, in, out, a.seed)});
    }
  }
}

}  // namespace

int run_serve(const ServeArgs& a) {
  if (a.rates.empty() && a.users.empty() && !a.offline) {
    throw InputError("serve needs a load: --rate LIST (requests/s), --users LIST or --offline");
  }
  LengthDist in = parse_length(a.input_len, "--input-len");
  LengthDist out = parse_length(a.output_len, "--output-len");
  std::vector<Policy> policies;
  for (const std::string& p : a.policies) policies.push_back(parse_policy(p));

  const Hardware hw = load_hardware(a.hardware, a.stated, !a.no_stated);
  for (const std::string& w : hw.warnings) std::cerr << "warning: " << w << "\n";
  const Constants& constants = hw.constants;
  check_deployment(a.deployment);
  check_speculation(a.speculation);
  LlmConfig model = load_llm_config(a.model);
  std::optional<LlmConfig> draft;
  if (!a.speculation.draft_model.empty()) draft = load_llm_config(a.speculation.draft_model);
  apply_precision(a.weights, a.kv_cache, model);
  const bool pools = a.prefill_gpus > 0;
  if (pools && a.deployment.gpus != 0) {
    throw InputError(
        "--gpus and --prefill-gpus/--decode-gpus exclude each other: each pool has "
        "its own GPU count");
  }
  PredictOptions po;
  po.whole_step = a.whole_step;
  if (!pools) po.deployment = resolve(a.deployment, model);

  ServeCostOptions so = cost_options(a, hw, in, out);
  if (a.speculation.given())
    so.speculation = speculation_of(a.speculation, draft ? &*draft : nullptr);
  // Each pool is the deployment the flags describe on its own GPUs.
  auto pool = [&](int gpus, const char* flag) {
    Deployment d = a.deployment;
    d.gpus = gpus;
    try {
      return resolve(d, model);
    } catch (const InputError& e) {
      throw InputError(std::string(flag) + " " + std::to_string(gpus) + ": " + e.what());
    }
  };
  PredictOptions prefill_po = po;
  if (pools) {
    prefill_po.deployment = pool(a.prefill_gpus, "--prefill-gpus");
    po.deployment = pool(a.decode_gpus, "--decode-gpus");
  }
  auto tabulate = [&](const PredictOptions& o) {
    try {
      return tabulate_serve_costs(constants, model, o, so);
    } catch (const MissingConstants& e) {
      std::string list;
      for (const std::string& m : e.missing) list += (list.empty() ? "" : ", ") + m;
      throw InputError(a.hardware + " lacks constants the steps need: " + list +
                       " (fit with an nccl-tests log of the target machine, or --stated FILE)");
    }
  };
  ServeCostTables tables = tabulate(po);
  ServeCostTables prefill_tables = pools ? tabulate(prefill_po) : ServeCostTables{};
  ServeReport r;
  r.notes.push_back("chunked prefill is priced as its own pass within the step (no fusion with the "
                    "decode GEMMs): conservative");
  r.notes.push_back("the KV cache is reserved for a request's whole prompt + output at admission: "
                    "requests wait for memory, none is preempted");
  if (a.max_batch == 0) {
    std::int64_t fit = std::max<std::int64_t>(1, tables.largest_batch_that_fits);
    if (pools)
      fit = std::min(fit, std::max<std::int64_t>(1, prefill_tables.largest_batch_that_fits));
    if (fit < so.max_batch) {
      so.max_batch = fit;
      so.token_budget = std::max(a.token_budget, so.max_batch);
      tables = tabulate(po);
      if (pools) prefill_tables = tabulate(prefill_po);
    }
    r.notes.push_back("max batch " + std::to_string(so.max_batch) +
                      (tables.groups > 1 ? " per data-parallel group" : "") +
                      " (the largest that fits at the longest request, at most 256)");
  }
  r.model = model.display_name;
  r.hardware = a.hardware;
  r.deployment = deployment_line(model, po.deployment);
  r.precision = precision_line(model);
  r.tables = tables;
  r.slo = {a.slo_ttft_s, a.slo_tpot_s};
  r.price_per_gpu_hour = a.price;
  r.input_len = a.input_len;
  r.output_len = a.output_len;
  r.requests = a.requests;
  r.seed = a.seed;
  r.prefix_hit = a.prefix_hit;
  r.speculation = so.speculation;
  r.tokens_per_step = tables.tokens_per_step;
  if (draft) r.draft_name = draft->display_name;
  r.constants = constants;
  r.unmeasured = hw.unmeasured;
  r.unidentified = hw.unidentified;
  r.notes.insert(r.notes.begin(), hw.notes.begin(), hw.notes.end());
  // A network constant used far outside the sizes it was fitted on is marked, or refused.
  std::set<std::string> outside = tables.extrapolated;
  outside.insert(prefill_tables.extrapolated.begin(), prefill_tables.extrapolated.end());
  for (const std::string& e : outside) {
    if (a.strict) throw InputError("--strict: " + e + " (more than 4x outside)");
    r.notes.push_back("extrapolated: " + e + " (more than 4x outside; --strict refuses)");
  }
  StepCosts costs = step_costs(tables);
  Disaggregated split;
  if (pools) split = disaggregate(a, model, prefill_po, prefill_tables, costs, in, r);
  simulate_points(a, policies, so, costs, pools ? &split : nullptr, in, out, r);
  judge(r.points, r.slo, a.price);
  if (a.json) {
    std::cout << serve_json(r).dump(2) << "\n";
  } else {
    std::cout << serve_table(r);
  }
  std::cout.flush();
  if (!std::cout) throw InputError("serve: the output could not be written");
  return 0;
}

}  // namespace batchcost
