// The configuration of an LLM as `batchcost predict` sees it: layers, attention (MHA, GQA, or
// DeepSeek's MLA with its compressed KV cache), a dense or Mixture-of-Experts FFN (routed and
// shared experts, top-k), vocabulary and the precision of weights, activations and KV cache.
// Read from small JSON files (schema "batchcost.llm/1"); the shipped ones live in models/ and are
// compiled into the binary, so that `--model deepseek-v3` works wherever batchcost runs.
// Parameter and FLOP counts are pure functions of the configuration. Host C++ only.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace batchcost {

inline constexpr const char* kLlmSchema = "batchcost.llm/1";

enum class AttentionKind { mha, gqa, mla };

struct AttentionConfig {
  AttentionKind kind = AttentionKind::gqa;
  int heads = 0;     // query heads
  int kv_heads = 0;  // mha: = heads; gqa: the shared K/V heads; mla: unused (0)
  int head_dim = 0;  // mha, gqa
  // mla (DeepSeek-V2/V3): queries through a low-rank q_lora_rank, keys and values cached as one
  // latent of kv_lora_rank plus a shared rope key of qk_rope_head_dim per token and layer.
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;
};

struct FfnConfig {
  bool moe = false;
  std::int64_t intermediate = 0;  // dense: the SwiGLU width
  // moe: `experts` routed experts of width expert_intermediate, top_k per token, plus
  // shared_experts always-on experts of width shared_intermediate; the first dense_layers layers
  // have a dense FFN of width `intermediate` instead.
  int experts = 0;
  int top_k = 0;
  std::int64_t expert_intermediate = 0;
  int shared_experts = 0;
  std::int64_t shared_intermediate = 0;
  int dense_layers = 0;
};

// Storage types: "bf16", "fp16" (2 bytes), "fp8_e4m3" (1 byte), "fp32" (4 bytes).
struct PrecisionConfig {
  std::string weights = "bf16";
  std::string activations = "bf16";
  std::string kv_cache = "bf16";
  std::string gemm;  // the dtype GEMMs are priced at; empty: gemm_dtype() decides
};

struct LlmConfig {
  std::string name;          // the name it is selected by: "deepseek-v3"
  std::string display_name;  // "DeepSeek-V3"
  std::string source;        // where the numbers come from
  int layers = 0;
  std::int64_t hidden = 0;
  std::int64_t vocab = 0;
  bool tied_embeddings = false;
  AttentionConfig attention;
  FfnConfig ffn;
  PrecisionConfig precision;
};

// Bytes of one element of a storage type; throws std::invalid_argument for an unknown name.
int dtype_bytes(const std::string& dtype);
// The dtype the GEMMs run at (and are priced at, P[dtype]): the weights' type where it is 8-bit
// (fp8 GEMMs, as DeepSeek-V3 serves), else the activations'; `gemm` where it is set.
std::string gemm_dtype(const PrecisionConfig& precision);

// Parses and checks a configuration; throws InputError naming `source` and the key.
LlmConfig llm_config_from_json(const nlohmann::json& doc, const std::string& source);

// The shipped configurations (models/*.json, compiled in), sorted by name.
std::vector<std::string> shipped_model_names();
// A shipped configuration by name (case-insensitive), or a JSON file by path. Throws InputError
// listing the shipped names when neither exists.
LlmConfig load_llm_config(const std::string& name_or_path);

// Parameter counts (elements, not bytes). Norms and biases are left out (< 0.01%).
struct ParameterCounts {
  double attention = 0;       // all layers' attention projections
  double dense_ffn = 0;       // dense FFN layers (all layers for a dense model)
  double routed_experts = 0;  // all routed experts of all MoE layers
  double shared_experts = 0;
  double router = 0;
  double embedding = 0;  // input embedding
  double lm_head = 0;    // output projection (0 when tied: it is the embedding)
  double total = 0;
  // Active per token: everything but the routed experts a token does not pick (k of E).
  double active = 0;
  // Active parameters a token multiplies with: active less the input embedding (a lookup), but
  // with the embedding again where it is tied (it is then the output projection too).
  // 2 × this is the GEMM FLOPs of one token.
  double active_matmul = 0;
};
ParameterCounts parameter_counts(const LlmConfig& config);

// KV-cache elements per token per layer: 2·kv_heads·head_dim (mha, gqa), or the latent plus the
// rope key, kv_lora_rank + qk_rope_head_dim (mla).
double kv_elements_per_token_layer(const AttentionConfig& attention);

// The attention FLOPs of one new token over a context of `context` tokens, all layers: scores
// and weighted values, 4·heads·head_dim·context per layer (mha, gqa); for mla in its absorbed
// form (the one decode runs) 2·heads·(kv_lora + rope)·context + 2·heads·kv_lora·context.
double attention_flops_per_token(const LlmConfig& config, double context);

// FLOPs of one decoded token: 2·active_matmul + attention_flops_per_token.
double flops_per_token(const LlmConfig& config, double context);

// One line: "80 layers, hidden 8192, GQA 64 heads / 8 KV heads × 128, dense FFN 28672, ...".
std::string describe(const LlmConfig& config);

}  // namespace batchcost
