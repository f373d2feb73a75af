// model.json writing and reading (see model_file.h).
#include "core/model_file.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/forms.h"
#include "core/atomic_file.h"
#include "core/input_file.h"

namespace batchcost {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

ordered_json interval_of(const Estimate& e) {
  return ordered_json::array({round_significant(e.low, 6), round_significant(e.high, 6)});
}

class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& where, const std::string& why) const {
    throw InputError(source_ + ": " + where + ": " + why);
  }

  const json& object(const json& parent, const std::string& key, const std::string& where) const {
    if (!parent.contains(key)) fail(where + key, "missing");
    const json& v = parent[key];
    if (!v.is_object()) fail(where + key, "not an object");
    return v;
  }

  double positive(const json& v, const std::string& where) const {
    if (!v.is_number()) fail(where, "not a number");
    double d = v.get<double>();
    if (!(d > 0) || !std::isfinite(d)) fail(where, "not a positive finite number");
    return d;
  }

  // The interval at the same place in "intervals", if there is one.
  void interval(const json* iv, Estimate& e, const std::string& where) const {
    e.low = e.high = e.value;
    if (!iv) return;
    if (!iv->is_array() || iv->size() != 2) fail("intervals." + where, "not [low, high]");
    e.low = positive((*iv)[0], "intervals." + where + "[0]");
    e.high = positive((*iv)[1], "intervals." + where + "[1]");
    if (e.low > e.high) fail("intervals." + where, "low above high");
  }

  Estimate estimate(const json& v, const json* iv, const std::string& where) const {
    Estimate e{positive(v, "constants." + where), 0, 0};
    interval(iv, e, where);
    return e;
  }

 private:
  const std::string& source_;
};

const json* child(const json* parent, const std::string& key) {
  if (!parent || !parent->is_object() || !parent->contains(key)) return nullptr;
  return &(*parent)[key];
}
const json* child(const json* parent, size_t index) {
  if (!parent || !parent->is_array() || index >= parent->size()) return nullptr;
  return &(*parent)[index];
}

}  // namespace

double round_significant(double value, int digits) {
  if (value == 0 || !std::isfinite(value)) return value;
  char text[64];
  std::snprintf(text, sizeof text, "%.*e", digits - 1, value);
  return std::strtod(text, nullptr);
}

ordered_json model_to_json(const ModelFile& m) {
  const Constants& c = m.constants;
  ordered_json constants = ordered_json::object(), intervals = ordered_json::object();
  if (!c.flops_per_s.empty()) {
    for (const auto& [dtype, e] : c.flops_per_s) {
      constants["flops_per_s"][dtype] = round_significant(e.value, 6);
      intervals["flops_per_s"][dtype] = interval_of(e);
    }
  }
  if (c.hbm_bytes_per_s) {
    constants["hbm_bytes_per_s"] = round_significant(c.hbm_bytes_per_s->value, 6);
    intervals["hbm_bytes_per_s"] = interval_of(*c.hbm_bytes_per_s);
  }
  for (const auto& [kind, e] : c.latency_s) {
    constants["latency_s"][kind] = round_significant(e.value, 6);
    intervals["latency_s"][kind] = interval_of(e);
  }
  for (const auto& [key, regimes] : c.network) {
    ordered_json values = ordered_json::array(), bounds = ordered_json::array();
    for (const Regime& r : regimes) {
      values.push_back({{"latency_s", round_significant(r.latency_s.value, 6)},
                        {"bytes_per_s", round_significant(r.bytes_per_s.value, 6)}});
      if (r.n > 0) {  // the sizes it was fitted on (bytes per collective), for predict's check
        values.back()["bytes_range"] = {round_significant(r.bytes_min, 6),
                                        round_significant(r.bytes_max, 6)};
        values.back()["n"] = r.n;
      }
      bounds.push_back(
          {{"latency_s", interval_of(r.latency_s)}, {"bytes_per_s", interval_of(r.bytes_per_s)}});
    }
    constants["network"][key.first][std::to_string(key.second)] = values;
    intervals["network"][key.first][std::to_string(key.second)] = bounds;
  }
  // --- schema 2: the refined form's terms (core/forms.h) ---
  if (c.form == Form::kRefined) {
    const RefinedTerms& t = c.terms;
    ordered_json terms = ordered_json::object(), bounds = ordered_json::object();
    auto add = [&](const char* key, const std::optional<Estimate>& e) {
      if (!e) return;
      terms[key] = round_significant(e->value, 6);
      bounds[key] = interval_of(*e);
    };
    add("overlap_p", t.overlap_p);
    add("k_half", t.k_half);
    add("grouped_bandwidth_ratio", t.grouped_bandwidth_ratio);
    add("saturating_sms", t.saturating_sms);
    add("l2_bytes_per_s", t.l2_bytes_per_s);
    for (const auto& [dtype, tile] : t.tile) terms["tile"][dtype] = tile_name(tile);
    if (!t.tile.empty()) terms["sm_count"] = t.sm_count;
    constants["terms"] = terms;
    intervals["terms"] = bounds;
  }
  // --- end schema 2 ---
  ordered_json quality = ordered_json::object();
  for (const auto& [family, q] : m.quality) {
    quality[family] = {{"n", q.n}, {"role", q.role}};
    if (q.n > 0) {
      quality[family]["median_abs_rel_err"] = round_significant(q.median_abs_rel_err, 4);
      quality[family]["p90_abs_rel_err"] = round_significant(q.p90_abs_rel_err, 4);
    }
  }
  ordered_json doc;
  doc["schema"] = kModelSchema;
  doc["form"] = form_name(c.form);
  doc["hardware"] = ordered_json::parse(m.hardware.dump());
  doc["constants"] = constants;
  doc["intervals"] = intervals;
  doc["quality"] = quality;
  // --- schema 2: the epoch form beside a refined one, held-out errors of both, the selection ---
  if (m.epoch) {
    ModelFile e;
    e.constants = as_epoch(*m.epoch);
    ordered_json inner = model_to_json(e);
    doc["epoch"] = {{"constants", inner["constants"]}, {"intervals", inner["intervals"]}};
  }
  if (!m.heldout.empty()) {
    ordered_json heldout = ordered_json::object();
    for (const auto& [family, h] : m.heldout) {
      ordered_json f = {{"role", h.epoch.role.empty() ? h.refined.role : h.epoch.role}};
      for (auto [name, q] :
           {std::pair<const char*, const Quality*>{"epoch", &h.epoch}, {"refined", &h.refined}}) {
        f[name] = {{"n", q->n}};
        if (q->n > 0) {
          f[name]["median_abs_rel_err"] = round_significant(q->median_abs_rel_err, 4);
          f[name]["p90_abs_rel_err"] = round_significant(q->p90_abs_rel_err, 4);
        }
      }
      heldout[family] = f;
    }
    doc["heldout"] = heldout;
  }
  if (!m.selection.empty()) doc["selection"] = m.selection;
  // --- end schema 2 ---
  doc["sources"] = m.sources;
  if (!m.notes.empty()) doc["notes"] = m.notes;
  if (!m.identification.empty()) doc["identification"] = m.identification;
  return doc;
}

namespace {

// constants.network: {op: {ranks: [regime, ...]}}, each regime with its interval and, where
// fitted, the sizes it was fitted on.
void read_network(Reader& r, const json& c, const json* iv, Constants& constants) {
  for (const auto& [op, by_ranks] : r.object(c, "network", "constants.").items()) {
    if (!by_ranks.is_object()) r.fail("constants.network." + op, "not an object");
    for (const auto& [ranks_text, list] : by_ranks.items()) {
      std::string where = "network." + op + "." + ranks_text;
      int ranks = 0;
      try {
        size_t used = 0;
        ranks = std::stoi(ranks_text, &used);
        if (used != ranks_text.size() || ranks < 1 || ranks > (1 << 20)) ranks = 0;
      } catch (const std::exception&) {
      }
      if (ranks == 0) r.fail("constants." + where, "ranks is not an integer in [1, 2^20]");
      if (!list.is_array() || list.empty()) r.fail("constants." + where, "not a list of regimes");
      const json* iv_list = child(child(child(iv, "network"), op), ranks_text);
      std::vector<Regime>& regimes = constants.network[{op, ranks}];
      for (size_t i = 0; i < list.size(); ++i) {
        std::string at = where + "[" + std::to_string(i) + "]";
        if (!list[i].is_object() || !list[i].contains("latency_s") ||
            !list[i].contains("bytes_per_s")) {
          r.fail("constants." + at, "needs latency_s and bytes_per_s");
        }
        const json* iv_i = child(iv_list, i);
        regimes.push_back(
            {r.estimate(list[i]["latency_s"], child(iv_i, "latency_s"), at + ".latency_s"),
             r.estimate(list[i]["bytes_per_s"], child(iv_i, "bytes_per_s"), at + ".bytes_per_s")});
        if (list[i].contains("bytes_range")) {
          const json& br = list[i]["bytes_range"];
          if (!br.is_array() || br.size() != 2 || !br[0].is_number() || !br[1].is_number() ||
              !(br[0].get<double>() >= 0) || !(br[1].get<double>() >= br[0].get<double>()) ||
              !std::isfinite(br[1].get<double>())) {
            r.fail("constants." + at + ".bytes_range", "not [low, high] bytes");
          }
          if (!list[i].contains("n") || !list[i]["n"].is_number_unsigned() ||
              list[i]["n"].get<std::uint64_t>() < 1 ||
              list[i]["n"].get<std::uint64_t>() > 1000000000) {
            r.fail("constants." + at + ".n", "not a positive sample count");
          }
          regimes.back().bytes_min = br[0].get<double>();
          regimes.back().bytes_max = br[1].get<double>();
          regimes.back().n = static_cast<int>(list[i]["n"].get<std::uint64_t>());
        }
      }
    }
  }
}

// quality: {family: {n, role, median_abs_rel_err, p90_abs_rel_err}}.
void read_quality(Reader& r, const json& doc, std::map<std::string, Quality>& quality) {
  for (const auto& [family, q] : r.object(doc, "quality", "").items()) {
    if (!q.is_object()) r.fail("quality." + family, "not an object");
    Quality& out = quality[family];
    if (q.contains("n")) {
      const json& n = q["n"];
      if (!n.is_number_integer() ||
          (n.is_number_unsigned() && n.get<std::uint64_t>() > 1'000'000'000) ||
          n.get<std::int64_t>() < 0 || n.get<std::int64_t>() > 1'000'000'000) {
        r.fail("quality." + family + ".n", "not a count of samples");
      }
      out.n = static_cast<int>(n.get<std::int64_t>());
    }
    if (q.contains("role") && q["role"].is_string()) out.role = q["role"].get<std::string>();
    if (q.contains("median_abs_rel_err") && q["median_abs_rel_err"].is_number()) {
      out.median_abs_rel_err = q["median_abs_rel_err"].get<double>();
    }
    if (q.contains("p90_abs_rel_err") && q["p90_abs_rel_err"].is_number()) {
      out.p90_abs_rel_err = q["p90_abs_rel_err"].get<double>();
    }
  }
}

// constants.terms of the refined form (core/forms.h), with their intervals.
void read_terms(Reader& r, const json& c, const json* iv, RefinedTerms& terms) {
  const json& t = r.object(c, "terms", "constants.");
  const json* it = child(iv, "terms");
  auto read = [&](const char* key, std::optional<Estimate>& e) {
    if (t.contains(key)) e = r.estimate(t[key], child(it, key), std::string("terms.") + key);
  };
  read("overlap_p", terms.overlap_p);
  read("k_half", terms.k_half);
  read("grouped_bandwidth_ratio", terms.grouped_bandwidth_ratio);
  read("saturating_sms", terms.saturating_sms);
  read("l2_bytes_per_s", terms.l2_bytes_per_s);
  if (terms.overlap_p && terms.overlap_p->value < 1) {
    r.fail("constants.terms.overlap_p", "below 1 (p = 1 is the sum of compute and memory)");
  }
  if (terms.saturating_sms && terms.saturating_sms->value > 1) {
    r.fail("constants.terms.saturating_sms", "above 1 (a share of the SMs)");
  }
  if (t.contains("tile")) {
    for (const auto& [dtype, v] : r.object(t, "tile", "constants.terms.").items()) {
      if (!v.is_string()) r.fail("constants.terms.tile." + dtype, "not \"ROWSxCOLS\"");
      try {
        terms.tile[dtype] = parse_tile(v.get<std::string>());
      } catch (const std::invalid_argument& e) {
        r.fail("constants.terms.tile." + dtype, e.what());
      }
    }
    if (!t.contains("sm_count") || !t["sm_count"].is_number_integer() ||
        t["sm_count"].get<long long>() < 1 || t["sm_count"].get<long long>() > 100000) {
      r.fail("constants.terms.sm_count", "a tile needs the SM count, a positive integer");
    }
    terms.sm_count = t["sm_count"].get<int>();
  }
}

// heldout: {family: {role, epoch: quality, refined: quality}} (schema 2).
void read_heldout(Reader& r, const json& doc, std::map<std::string, HeldOutQuality>& heldout) {
  for (const auto& [family, h] : r.object(doc, "heldout", "").items()) {
    if (!h.is_object()) r.fail("heldout." + family, "not an object");
    HeldOutQuality& out = heldout[family];
    std::string role =
        h.contains("role") && h["role"].is_string() ? h["role"].get<std::string>() : "";
    for (auto [name, q] :
         {std::pair<const char*, Quality*>{"epoch", &out.epoch}, {"refined", &out.refined}}) {
      q->role = role;
      if (!h.contains(name)) continue;
      const json& v = h[name];
      if (!v.is_object()) r.fail("heldout." + family + "." + name, "not an object");
      if (v.contains("n") && v["n"].is_number_integer()) q->n = v["n"].get<int>();
      if (v.contains("median_abs_rel_err") && v["median_abs_rel_err"].is_number()) {
        q->median_abs_rel_err = v["median_abs_rel_err"].get<double>();
      }
      if (v.contains("p90_abs_rel_err") && v["p90_abs_rel_err"].is_number()) {
        q->p90_abs_rel_err = v["p90_abs_rel_err"].get<double>();
      }
    }
  }
}

}  // namespace

ModelFile model_from_json(const json& doc, const std::string& source) {
  Reader r(source);
  if (!doc.is_object() || !doc.contains("schema") ||
      (doc["schema"] != kModelSchema && doc["schema"] != kModelSchemaV1)) {
    r.fail("schema", std::string("not \"") + kModelSchema + "\" or \"" + kModelSchemaV1 + "\"");
  }
  const bool v2 = doc["schema"] == kModelSchema;
  ModelFile m;
  if (doc.contains("hardware")) m.hardware = r.object(doc, "hardware", "");
  const json& c = r.object(doc, "constants", "");
  const json* iv = child(&doc, "intervals");
  if (c.contains("flops_per_s")) {
    for (const auto& [dtype, v] : r.object(c, "flops_per_s", "constants.").items()) {
      m.constants.flops_per_s[dtype] =
          r.estimate(v, child(child(iv, "flops_per_s"), dtype), "flops_per_s." + dtype);
    }
  }
  if (c.contains("hbm_bytes_per_s")) {
    m.constants.hbm_bytes_per_s =
        r.estimate(c["hbm_bytes_per_s"], child(iv, "hbm_bytes_per_s"), "hbm_bytes_per_s");
  }
  if (c.contains("latency_s")) {
    for (const auto& [kind, v] : r.object(c, "latency_s", "constants.").items()) {
      if (std::find(kLatencyKinds.begin(), kLatencyKinds.end(), kind) == kLatencyKinds.end()) {
        r.fail("constants.latency_s." + kind, "unknown latency kind");
      }
      m.constants.latency_s[kind] =
          r.estimate(v, child(child(iv, "latency_s"), kind), "latency_s." + kind);
    }
  }
  if (c.contains("network")) read_network(r, c, iv, m.constants);
  if (doc.contains("quality")) read_quality(r, doc, m.quality);
  if (doc.contains("identification") && doc["identification"].is_object()) {
    m.identification = nlohmann::ordered_json::parse(doc["identification"].dump());
  }
  // --- schema 2: form, terms, the epoch form, held-out errors, selection (core/forms.h) ---
  if (v2 && doc.contains("form")) {
    if (!doc["form"].is_string()) r.fail("form", "not a string");
    try {
      m.constants.form = parse_form(doc["form"].get<std::string>());
    } catch (const std::invalid_argument& e) {
      r.fail("form", e.what());
    }
  }
  if (m.constants.form == Form::kRefined && c.contains("terms")) {
    read_terms(r, c, iv, m.constants.terms);
  }
  if (v2 && doc.contains("epoch")) {
    const json& e = r.object(doc, "epoch", "");
    json inner = {{"schema", kModelSchema}, {"form", "epoch"}};
    inner["constants"] = r.object(e, "constants", "epoch.");
    if (e.contains("intervals")) inner["intervals"] = e["intervals"];
    m.epoch = model_from_json(inner, source + " (epoch)").constants;
  }
  if (v2 && doc.contains("heldout")) read_heldout(r, doc, m.heldout);
  if (v2 && doc.contains("selection") && doc["selection"].is_array()) {
    for (const auto& s : doc["selection"]) {
      if (s.is_string()) m.selection.push_back(s.get<std::string>());
    }
  }
  // --- end schema 2 ---
  if (doc.contains("sources") && doc["sources"].is_array()) {
    for (const auto& s : doc["sources"]) {
      if (s.is_string()) m.sources.push_back(s.get<std::string>());
    }
  }
  return m;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  try {
    write_file_atomic(path, text);
  } catch (const WriteError& e) {
    throw InputError(e.what());
  }
}

}  // namespace batchcost
