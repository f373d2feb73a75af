// LLM configurations (see model_config.h).
#include "predict/model_config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "core/dtype.h"
#include "core/input_file.h"
#include "model/results.h"

namespace batchcost {

// models/*.json as (file stem, text), generated at build time (cmake/BatchcostEmbedJson.cmake).
const std::vector<std::pair<std::string, std::string>>& shipped_model_files();

namespace {

using nlohmann::json;

// Bounds of the counts a configuration may give, each well above any model there is (the largest
// have ~128 layers, hidden 16384 to 25600, 128 heads, 256 experts, vocabularies of ~256k) and far
// below what would overflow the arithmetic that follows (all of it in 64-bit integers or double).
constexpr std::int64_t kMaxLayers = 100'000;
constexpr std::int64_t kMaxWidth = std::int64_t{1} << 24;  // hidden and FFN widths, ranks
constexpr std::int64_t kMaxVocab = std::int64_t{1} << 28;
constexpr int kMaxHeads = 1 << 20;
constexpr int kMaxHeadDim = 1 << 16;
constexpr int kMaxExperts = 1 << 20;

class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& where, const std::string& why) const {
    throw InputError(source_ + ": " + where + ": " + why);
  }

  const json& object(const json& parent, const std::string& key) const {
    if (!parent.contains(key)) fail(key, "missing");
    if (!parent[key].is_object()) fail(key, "not an object");
    return parent[key];
  }

  // An integer in [low, high], checked in 64 bits before any narrowing: a count of 2^32 + 1
  // must not become 1. An unsigned value above 2^63 is checked before it is read as signed.
  std::int64_t integer(const json& parent, const std::string& key, const std::string& where,
                       std::int64_t low, std::int64_t high, bool required = true) const {
    if (!parent.contains(key)) {
      if (required) fail(where + key, "missing");
      return 0;
    }
    const json& v = parent[key];
    if (!v.is_number_integer()) fail(where + key, "not an integer but " + json_type_of(v));
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(high)) {
      fail(where + key, "above " + std::to_string(high));
    }
    std::int64_t i = v.get<std::int64_t>();
    if (i < low) fail(where + key, "below " + std::to_string(low));
    if (i > high) fail(where + key, "above " + std::to_string(high));
    return i;
  }

  // The same, for a field held as int (every bound below is far under 2^31).
  int count(const json& parent, const std::string& key, const std::string& where, int low, int high,
            bool required = true) const {
    return static_cast<int>(integer(parent, key, where, low, high, required));
  }

  std::string text(const json& parent, const std::string& key, const std::string& fallback) const {
    if (!parent.contains(key)) return fallback;
    if (!parent[key].is_string()) fail(key, "not a string but " + json_type_of(parent[key]));
    return parent[key].get<std::string>();
  }

  std::string dtype(const json& parent, const std::string& key, const std::string& fallback) const {
    std::string d = text(parent, key, fallback);
    try {
      dtype_bytes(d);
    } catch (const std::invalid_argument&) {
      fail("precision." + key, "unknown type '" + d + "' (bf16, fp16, fp8_e4m3, fp32)");
    }
    return d;
  }

 private:
  const std::string& source_;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

int dtype_bytes(const std::string& dtype) {
  if (const int bytes = dtype_bytes_or_zero(dtype); bytes > 0) return bytes;
  throw std::invalid_argument("unknown dtype '" + dtype + "'");
}

std::string gemm_dtype(const PrecisionConfig& precision) {
  if (!precision.gemm.empty()) return precision.gemm;
  return dtype_bytes(precision.weights) == 1 ? precision.weights : precision.activations;
}

LlmConfig llm_config_from_json(const json& doc, const std::string& source) {
  Reader r(source);
  if (!doc.is_object() || !doc.contains("schema") || doc["schema"] != kLlmSchema) {
    r.fail("schema", std::string("not \"") + kLlmSchema + "\"");
  }
  LlmConfig c;
  c.name = r.text(doc, "name", "");
  if (c.name.empty()) r.fail("name", "missing");
  c.display_name = r.text(doc, "display_name", c.name);
  c.source = r.text(doc, "source", "");
  c.layers = r.count(doc, "layers", "", 1, kMaxLayers);
  c.hidden = r.integer(doc, "hidden", "", 1, kMaxWidth);
  c.vocab = r.integer(doc, "vocab", "", 1, kMaxVocab);
  if (doc.contains("tied_embeddings")) {
    if (!doc["tied_embeddings"].is_boolean()) r.fail("tied_embeddings", "not true or false");
    c.tied_embeddings = doc["tied_embeddings"].get<bool>();
  }

  const json& a = r.object(doc, "attention");
  std::string kind = r.text(a, "kind", "");
  AttentionConfig& at = c.attention;
  at.heads = r.count(a, "heads", "attention.", 1, kMaxHeads);
  if (kind == "mha" || kind == "gqa") {
    at.kind = kind == "mha" ? AttentionKind::mha : AttentionKind::gqa;
    at.head_dim = r.count(a, "head_dim", "attention.", 1, kMaxHeadDim);
    at.kv_heads = kind == "mha" ? at.heads : r.count(a, "kv_heads", "attention.", 1, kMaxHeads);
    if (at.heads % at.kv_heads != 0) r.fail("attention.kv_heads", "does not divide heads");
  } else if (kind == "mla") {
    at.kind = AttentionKind::mla;
    at.q_lora_rank = r.count(a, "q_lora_rank", "attention.", 0, kMaxWidth);
    at.kv_lora_rank = r.count(a, "kv_lora_rank", "attention.", 1, kMaxWidth);
    at.qk_nope_head_dim = r.count(a, "qk_nope_head_dim", "attention.", 1, kMaxHeadDim);
    at.qk_rope_head_dim = r.count(a, "qk_rope_head_dim", "attention.", 0, kMaxHeadDim);
    at.v_head_dim = r.count(a, "v_head_dim", "attention.", 1, kMaxHeadDim);
  } else {
    r.fail("attention.kind", "not mha, gqa or mla");
  }

  const json& f = r.object(doc, "ffn");
  std::string ffn_kind = r.text(f, "kind", "");
  FfnConfig& ffn = c.ffn;
  if (ffn_kind == "dense") {
    ffn.intermediate = r.integer(f, "intermediate", "ffn.", 1, kMaxWidth);
  } else if (ffn_kind == "moe") {
    ffn.moe = true;
    ffn.experts = r.count(f, "experts", "ffn.", 1, kMaxExperts);
    ffn.top_k = r.count(f, "top_k", "ffn.", 1, kMaxExperts);
    if (ffn.top_k > ffn.experts) r.fail("ffn.top_k", "above experts");
    ffn.expert_intermediate = r.integer(f, "expert_intermediate", "ffn.", 1, kMaxWidth);
    ffn.shared_experts = r.count(f, "shared_experts", "ffn.", 0, kMaxExperts, false);
    ffn.shared_intermediate = r.integer(f, "shared_intermediate", "ffn.", 0, kMaxWidth, false);
    if (ffn.shared_experts > 0 && ffn.shared_intermediate == 0) {
      ffn.shared_intermediate = ffn.expert_intermediate;
    }
    ffn.dense_layers = r.count(f, "dense_layers", "ffn.", 0, kMaxLayers, false);
    if (ffn.dense_layers > c.layers) r.fail("ffn.dense_layers", "above layers");
    ffn.intermediate = r.integer(f, "intermediate", "ffn.", ffn.dense_layers > 0 ? 1 : 0, kMaxWidth,
                                 ffn.dense_layers > 0);
  } else {
    r.fail("ffn.kind", "not dense or moe");
  }

  if (doc.contains("precision")) {
    const json& p = r.object(doc, "precision");
    c.precision.weights = r.dtype(p, "weights", "bf16");
    c.precision.activations = r.dtype(p, "activations", "bf16");
    c.precision.kv_cache = r.dtype(p, "kv_cache", "bf16");
  }
  return c;
}

std::vector<std::string> shipped_model_names() {
  std::vector<std::string> names;
  for (const auto& [stem, text] : shipped_model_files()) names.push_back(stem);
  std::sort(names.begin(), names.end());
  return names;
}

LlmConfig load_llm_config(const std::string& name_or_path) {
  for (const auto& [stem, text] : shipped_model_files()) {
    if (lower(name_or_path) == lower(stem)) {
      const std::string source = "models/" + stem + ".json";
      return llm_config_from_json(parse_json_input(text, source), source);
    }
  }
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(name_or_path, ec))) {
    std::string names;
    for (const std::string& n : shipped_model_names()) names += (names.empty() ? "" : ", ") + n;
    throw InputError(name_or_path + ": neither a shipped model (" + names + ") nor a file");
  }
  // Permission, a symbolic link loop, a folder, a read error: read_input_file says which.
  return llm_config_from_json(parse_json_input(read_input_file(name_or_path), name_or_path),
                              name_or_path);
}

double kv_elements_per_token_layer(const AttentionConfig& a) {
  if (a.kind == AttentionKind::mla) return a.kv_lora_rank + a.qk_rope_head_dim;
  return 2.0 * a.kv_heads * a.head_dim;
}

ParameterCounts parameter_counts(const LlmConfig& c) {
  ParameterCounts p;
  const double h = static_cast<double>(c.hidden);
  const AttentionConfig& a = c.attention;
  double attention_layer = 0;
  if (a.kind == AttentionKind::mla) {
    const double qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
    const double q =
        a.q_lora_rank > 0 ? h * a.q_lora_rank + a.q_lora_rank * a.heads * qk : h * a.heads * qk;
    attention_layer = q + h * (a.kv_lora_rank + a.qk_rope_head_dim) +
                      double(a.kv_lora_rank) * a.heads * (a.qk_nope_head_dim + a.v_head_dim) +
                      double(a.heads) * a.v_head_dim * h;
  } else {
    attention_layer =
        h * (a.heads + 2.0 * a.kv_heads) * a.head_dim + double(a.heads) * a.head_dim * h;
  }
  p.attention = attention_layer * c.layers;
  const FfnConfig& f = c.ffn;
  const int dense_layers = f.moe ? f.dense_layers : c.layers;
  const int moe_layers = c.layers - dense_layers;
  p.dense_ffn = 3.0 * h * static_cast<double>(f.intermediate) * dense_layers;
  double active_routed = 0;
  if (f.moe) {
    const double expert = 3.0 * h * static_cast<double>(f.expert_intermediate);
    p.routed_experts = expert * f.experts * moe_layers;
    active_routed = expert * f.top_k * moe_layers;
    p.shared_experts =
        3.0 * h * static_cast<double>(f.shared_intermediate) * f.shared_experts * moe_layers;
    p.router = h * f.experts * moe_layers;
  }
  p.embedding = h * static_cast<double>(c.vocab);
  p.lm_head = c.tied_embeddings ? 0 : p.embedding;
  p.total = p.attention + p.dense_ffn + p.routed_experts + p.shared_experts + p.router +
            p.embedding + p.lm_head;
  p.active = p.total - p.routed_experts + active_routed;
  // The input embedding is a lookup; tied, the same matrix is multiplied as the output layer.
  p.active_matmul = p.active - p.embedding + (c.tied_embeddings ? p.embedding : 0);
  return p;
}

double attention_flops_per_token(const LlmConfig& c, double context) {
  const AttentionConfig& a = c.attention;
  double per_layer = 0;
  if (a.kind == AttentionKind::mla) {
    per_layer = 2.0 * a.heads * (a.kv_lora_rank + a.qk_rope_head_dim) * context +
                2.0 * a.heads * a.kv_lora_rank * context;
  } else {
    per_layer = 4.0 * a.heads * a.head_dim * context;
  }
  return per_layer * c.layers;
}

double flops_per_token(const LlmConfig& c, double context) {
  return 2 * parameter_counts(c).active_matmul + attention_flops_per_token(c, context);
}

std::string describe(const LlmConfig& c) {
  std::ostringstream o;
  const AttentionConfig& a = c.attention;
  o << c.layers << " layers, hidden " << c.hidden << ", ";
  switch (a.kind) {
    case AttentionKind::mha:
      o << "MHA " << a.heads << " heads × " << a.head_dim;
      break;
    case AttentionKind::gqa:
      o << "GQA " << a.heads << " heads / " << a.kv_heads << " KV heads × " << a.head_dim;
      break;
    case AttentionKind::mla:
      o << "MLA " << a.heads << " heads, KV latent " << a.kv_lora_rank << " + rope "
        << a.qk_rope_head_dim;
      break;
  }
  const FfnConfig& f = c.ffn;
  if (f.moe) {
    o << ", MoE " << f.experts << " experts top-" << f.top_k << " × " << f.expert_intermediate;
    if (f.shared_experts > 0) o << " + " << f.shared_experts << " shared";
    if (f.dense_layers > 0)
      o << " (first " << f.dense_layers << " layers dense " << f.intermediate << ")";
  } else {
    o << ", dense FFN " << f.intermediate;
  }
  o << ", vocab " << c.vocab;
  return o.str();
}

}  // namespace batchcost
