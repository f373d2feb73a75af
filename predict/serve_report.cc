// `batchcost serve` output (see serve_report.h).
#include "predict/serve_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "core/model_file.h"
#include "model/report.h"
#include "predict/predict_report.h"

namespace batchcost {

void judge(std::vector<ServePoint>& points, const Slo& slo, double price) {
  for (ServePoint& p : points) {
    p.meets_slo = p.result.requests > 0 && (slo.ttft_s <= 0 || p.result.ttft_s.p90 <= slo.ttft_s) &&
                  (slo.tpot_s <= 0 || p.result.tpot_s.p90 <= slo.tpot_s);
    p.cost_per_million = price * p.result.gpu_hours_per_million;
  }
}

std::vector<const ServePoint*> largest_meeting_slo(const std::vector<ServePoint>& points) {
  std::map<std::string, const ServePoint*> best;
  for (const ServePoint& p : points) {
    if (!p.meets_slo || p.load == "offline") continue;  // no load to raise
    const ServePoint*& b = best[describe(p.policy)];
    if (b == nullptr || p.value > b->value) b = &p;
  }
  std::vector<const ServePoint*> out;
  for (const auto& [policy, p] : best) out.push_back(p);
  return out;
}

namespace {

std::string load_cell(const ServePoint& p) {
  if (p.load == "rate") return format_number(p.value) + " req/s";
  if (p.load == "offline") return "offline";
  return format_number(p.value) + (p.value == 1 ? " user" : " users");
}

// Six significant digits, as model.json: the JSON is compared byte for byte and read by
// programs, and no simulated number is known to more.
double r6(double v) { return round_significant(v, 6); }

nlohmann::ordered_json pct(const Percentiles& p) {
  return {{"p50", r6(p.p50)}, {"p90", r6(p.p90)}, {"p99", r6(p.p99)}, {"mean", r6(p.mean)}};
}

bool any_slo(const Slo& s) { return s.ttft_s > 0 || s.tpot_s > 0; }

// True where more than kWeakShareMark of the point's simulated step time is priced with stated or
// unidentified constants (predict marks a step by the same rule).
bool weak_point(const ServePoint& p) { return p.result.weak_share > kWeakShareMark; }

// True where a constant the steps used is stated or unidentified.
bool any_weak_used(const ServeReport& r) {
  for (const std::string& n : r.tables.constants) {
    if (r.unmeasured.count(n) || r.unidentified.count(n)) return true;
  }
  return false;
}

// The footnote of the marks: which weak constants price the steps, by their largest share of
// one tabulated step, or that none prices more than the mark of any load point.
std::string weak_footnote(const ServeReport& r) {
  bool marked = false;
  for (const ServePoint& p : r.points) marked |= weak_point(p);
  if (!marked) {
    return any_weak_used(r)
               ? "stated constants (marked * above) price at most " +
                     format_number(kWeakShareMark * 100) + "% of any load point's step time\n"
               : "";
  }
  return "*: more than " + format_number(kWeakShareMark * 100) +
         "% of the load point's step time priced with stated or unidentified constants: " +
         weak_constants_list(r.tables.weak_largest, " of a step") + "\n";
}

}  // namespace

std::string serve_table(const ServeReport& r) {
  std::ostringstream o;
  o << "model: " << r.model << "\nhardware: " << r.hardware << "\ndeployment: "
    << (r.pools ? "prefill pool: " + r.pools->prefill_deployment +
                      "\n            decode pool: " + r.deployment
                : r.deployment)
    << "\nprecision: " << r.precision << "\n";
  if (r.pools) {
    o << "KV cache move to the decode pool: " << format_time(r.pools->kv_transfer_s)
      << " for a prompt of the mean input length (send_recv/2, per GPU's shard)\n"
      << "prefill pool's memory per GPU: weights "
      << format_number(r.pools->prefill.weight_bytes_per_gpu / 1073741824.0)
      << " GiB; KV cache for "
      << format_number(static_cast<double>(r.pools->prefill.kv_capacity_tokens))
      << " tokens in all\n"
      << "decode pool's ";
  }
  o << "memory per GPU: weights " << format_number(r.tables.weight_bytes_per_gpu / 1073741824.0)
    << " GiB; KV cache for " << format_number(static_cast<double>(r.tables.kv_capacity_tokens))
    << " tokens in all ("
    << (r.tables.groups > 1
            ? std::to_string(r.tables.groups) + " data-parallel groups of " +
                  format_number(static_cast<double>(r.tables.kv_capacity_tokens_per_group)) +
                  ", each its own scheduler with arrivals round-robin, max batch and token "
                  "budget; " +
                  format_number(static_cast<double>(r.tables.largest_batch_that_fits)) +
                  " requests of the longest length at once per group)\n"
            : format_number(static_cast<double>(r.tables.largest_batch_that_fits)) +
                  " requests of the longest length at once)\n")
    << "load: " << r.requests << " requests per point, input " << r.input_len << ", output "
    << r.output_len << " tokens, seed " << r.seed
    << (r.prefix_hit > 0 ? ", prefix cache hit " + format_number(r.prefix_hit * 100) +
                               "% of each prompt (not prefilled, still held)"
                         : "")
    << "\n"
    << (r.speculation
            ? "speculative decoding: γ " + std::to_string(r.speculation->gamma) + ", acceptance " +
                  format_number(r.speculation->acceptance) + ": " +
                  format_number(r.tokens_per_step) +
                  " tokens per sequence per decode step (the expectation), each decode step the "
                  "target verifying γ + 1 tokens and γ steps of " +
                  (r.draft_name.empty()
                       ? "a draft at " + format_number(r.speculation->draft_cost) +
                             " × a target step"
                       : "the draft " + r.draft_name + " (its weights and KV cache not counted)") +
                  "\n"
            : std::string())
    << "pricing: per operation: Σ over ops of " << form_term_text(r.constants)
    << " + network + latency\n"
    << constants_used_text(r.constants, r.tables.constants, r.unmeasured, r.unidentified) << "\n";
  const bool price = r.price_per_gpu_hour > 0;
  // p90 beside p50 and p99: the SLO is judged on it.
  std::vector<std::string> head = {"policy",    "load",       "TTFT p50",   "TTFT p90", "TTFT p99",
                                   "TPOT p50",  "TPOT p90",   "TPOT p99",   "e2e p50",  "e2e p99",
                                   "tok/s/GPU", "mean batch", "GPU-h/M tok"};
  std::string align = "llrrrrrrrrrrr";
  if (price) head.push_back("$/M tok"), align += 'r';
  if (any_slo(r.slo)) head.push_back("SLO"), align += 'l';
  Table t(head, align);
  for (const ServePoint& p : r.points) {
    const ServeResult& s = p.result;
    const std::string star = weak_point(p) ? "*" : "";
    auto time = [&](double v) { return v > 0 ? format_time(v) + star : "-"; };
    std::vector<std::string> row = {describe(p.policy),
                                    load_cell(p),
                                    time(s.ttft_s.p50),
                                    time(s.ttft_s.p90),
                                    time(s.ttft_s.p99),
                                    time(s.tpot_s.p50),
                                    time(s.tpot_s.p90),
                                    time(s.tpot_s.p99),
                                    time(s.e2e_s.p50),
                                    time(s.e2e_s.p99),
                                    format_number(s.tokens_per_s_per_gpu),
                                    format_number(s.mean_batch),
                                    format_number(s.gpu_hours_per_million)};
    if (price) row.push_back(format_number(p.cost_per_million));
    if (any_slo(r.slo)) row.push_back(p.meets_slo ? "met" : "missed");
    t.add(row);
  }
  o << t.str();
  o << weak_footnote(r);
  if (any_slo(r.slo)) {
    o << "\nSLO (p90):" << (r.slo.ttft_s > 0 ? " TTFT ≤ " + format_time(r.slo.ttft_s) : "")
      << (r.slo.tpot_s > 0 ? " TPOT ≤ " + format_time(r.slo.tpot_s) : "") << "\n";
    auto best = largest_meeting_slo(r.points);
    if (best.empty()) o << "  no load point meets it\n";
    for (const ServePoint* p : best) {
      o << "  " << describe(p->policy) << ": up to " << load_cell(*p) << ", "
        << format_number(p->result.tokens_per_s_per_gpu) << " tok/s per GPU\n";
    }
  }
  for (const ServePoint& p : r.points) {
    if (p.result.rejected > 0) {
      o << "note: " << describe(p.policy) << " at " << load_cell(p) << ": " << p.result.rejected
        << " requests longer than the whole KV cache were refused\n";
    }
  }
  for (const std::string& n : r.notes) o << "note: " << n << "\n";
  return o.str();
}

nlohmann::ordered_json serve_json(const ServeReport& r) {
  nlohmann::ordered_json j;
  j["model"] = r.model;
  j["hardware"] = r.hardware;
  j["deployment"] = r.deployment;
  j["step_overhead_s"] = r.tables.step_overhead_s;
  j["precision"] = r.precision;
  j["gpus"] = r.tables.gpus + (r.pools ? r.pools->prefill.gpus : 0);
  if (r.pools) {
    j["disaggregated"] = {{"prefill_deployment", r.pools->prefill_deployment},
                          {"prefill_gpus", r.pools->prefill.gpus},
                          {"decode_gpus", r.tables.gpus},
                          {"prefill_kv_capacity_tokens", r.pools->prefill.kv_capacity_tokens},
                          {"kv_transfer_s_at_mean_input", r6(r.pools->kv_transfer_s)}};
  }
  j["weight_bytes_per_gpu"] = r6(r.tables.weight_bytes_per_gpu);
  j["kv_capacity_tokens"] = r.tables.kv_capacity_tokens;
  j["data_parallel_groups"] = r.tables.groups;
  j["kv_capacity_tokens_per_group"] = r.tables.kv_capacity_tokens_per_group;
  j["largest_batch_that_fits"] = r.tables.largest_batch_that_fits;  // per group
  j["requests_per_point"] = r.requests;
  j["input_len"] = r.input_len;
  j["output_len"] = r.output_len;
  j["seed"] = r.seed;
  j["prefix_hit"] = r.prefix_hit;
  if (r.speculation) {
    j["speculation"] = {{"gamma", r.speculation->gamma},
                        {"acceptance", r.speculation->acceptance},
                        {"tokens_per_step", r6(r.tokens_per_step)}};
    if (r.draft_name.empty()) {
      j["speculation"]["draft_cost"] = r.speculation->draft_cost;
    } else {
      j["speculation"]["draft_model"] = r.draft_name;
    }
  }
  j["form"] = form_json(r.constants);
  j["constants"] = constants_used_json(r.constants, r.tables.constants, r.unmeasured);
  if (r.slo.ttft_s > 0) j["slo"]["ttft_p90_s"] = r.slo.ttft_s;
  if (r.slo.tpot_s > 0) j["slo"]["tpot_p90_s"] = r.slo.tpot_s;
  j["points"] = nlohmann::ordered_json::array();
  for (const ServePoint& p : r.points) {
    const ServeResult& s = p.result;
    nlohmann::ordered_json e;
    e["policy"] = describe(p.policy);
    if (p.load == "users") {
      e["users"] = static_cast<std::int64_t>(p.value);
    } else if (p.load == "offline") {
      e["offline"] = true;
    } else {
      e["rate"] = r6(p.value);
    }
    e["ttft_s"] = pct(s.ttft_s);
    e["tpot_s"] = pct(s.tpot_s);
    e["e2e_s"] = pct(s.e2e_s);
    e["tokens_per_s_per_gpu"] = r6(s.tokens_per_s_per_gpu);
    e["requests_per_s_per_gpu"] = r6(s.requests_per_s_per_gpu);
    e["mean_batch"] = r6(s.mean_batch);
    e["gpu_hours_per_million_tokens"] = r6(s.gpu_hours_per_million);
    if (r.price_per_gpu_hour > 0) {
      e["cost_per_million_tokens"] = r6(p.cost_per_million);
    } else {
      e["cost_per_million_tokens"] = nullptr;
    }
    e["completed"] = s.requests;
    e["rejected"] = s.rejected;
    e["busy_fraction"] = r6(s.busy_fraction);
    e["mean_in_system"] = r6(s.mean_in_system);
    e["steps"] = s.steps;
    e["weak_share"] = r6(s.weak_share);
    e["meets_slo"] = p.meets_slo;
    j["points"].push_back(e);
  }
  j["notes"] = r.notes;
  return j;
}

}  // namespace batchcost
