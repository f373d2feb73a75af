// GEMM shapes and their work: see gemm_shapes.h.
#include "core/gemm_shapes.h"

#include <stdexcept>

namespace batchcost {
namespace {

bool is_power_of_two(std::int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

}  // namespace

std::string_view dtype_label(GemmDtype dtype) { return dtype_name(dtype); }

GemmDtype parse_gemm_dtype(std::string_view label) {
  GemmDtype dtype{};
  if (parse_compute_dtype(label, &dtype)) return dtype;
  throw std::invalid_argument("not a GEMM dtype: '" + std::string(label) +
                              "' (expected bf16, fp16, tf32, fp32 or fp8_e4m3)");
}

int input_bytes(GemmDtype dtype) { return dtype_bytes(dtype); }

int output_bytes(GemmDtype dtype) {
  // fp8 inputs write a bf16 output (gemm_shapes.h).
  return dtype == GemmDtype::fp8_e4m3 ? dtype_bytes(GemmDtype::bf16) : dtype_bytes(dtype);
}

bool gemm_dtype_supported(GemmDtype dtype, int compute_capability) {
  switch (dtype) {
    case GemmDtype::fp16:
    case GemmDtype::fp32:
      return true;
    case GemmDtype::bf16:
    case GemmDtype::tf32:
      return compute_capability >= 80;
    case GemmDtype::fp8_e4m3:
      // NOTES: fp8 tensor cores arrive with Ada (sm_89) and Hopper (sm_90); cuBLASLt refuses
      // e4m3 inputs below that.
      return compute_capability >= 89;
  }
  return false;
}

Work gemm_work(std::int64_t m, std::int64_t n, std::int64_t k, GemmDtype dtype) {
  if (m < 0 || n <= 0 || k <= 0) {
    throw std::invalid_argument("gemm_work: need m >= 0, n > 0, k > 0; got m=" + std::to_string(m) +
                                " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
  if (m == 0) return Work{};
  const double dm = static_cast<double>(m);
  const double dn = static_cast<double>(n);
  const double dk = static_cast<double>(k);
  Work work;
  work.flops = 2 * dm * dn * dk;
  work.bytes = (dm * dk + dk * dn) * input_bytes(dtype) + dm * dn * output_bytes(dtype);
  work.kernels = 1;
  return work;
}

Work gemm_work(const GemmShape& shape, GemmDtype dtype) {
  return gemm_work(shape.m, shape.n, shape.k, dtype);
}

std::vector<std::int64_t> power_of_two_sweep(std::int64_t first, std::int64_t last, bool quick) {
  if (!is_power_of_two(first) || !is_power_of_two(last) || first > last) {
    throw std::invalid_argument("power_of_two_sweep: need powers of two first <= last; got " +
                                std::to_string(first) + ", " + std::to_string(last));
  }
  std::vector<std::int64_t> out;
  const std::int64_t step = quick ? 4 : 2;
  for (std::int64_t x = first; x <= last; x *= step) {
    out.push_back(x);
    if (x > last / step) break;  // the next step would pass `last` (or overflow)
  }
  if (out.back() != last) out.push_back(last);
  return out;
}

std::vector<std::int64_t> token_sweep(bool quick) {
  return power_of_two_sweep(1, kMaxTokens, quick);
}

std::vector<GemmShape> square_sweep(bool quick) {
  std::vector<GemmShape> out;
  for (std::int64_t s : power_of_two_sweep(128, 16384, quick)) out.push_back({"square", s, s, s});
  return out;
}

std::vector<GemmShape> layer_shapes() {
  return {
      {"dsv3_expert_gate_up", 0, 4096, 7168},  {"dsv3_expert_down", 0, 7168, 2048},
      {"dsv3_dense_ffn_up", 0, 18432, 7168},   {"llama3_70b_ffn_up", 0, 28672, 8192},
      {"llama3_70b_ffn_down", 0, 8192, 28672}, {"llama3_70b_attn_qkv", 0, 10240, 8192},
  };
}

std::vector<GemmShape> layer_sweep(bool quick) {
  std::vector<GemmShape> out;
  const std::vector<std::int64_t> tokens = token_sweep(quick);
  for (const GemmShape& layer : layer_shapes()) {
    for (std::int64_t m : tokens) out.push_back({layer.name, m, layer.n, layer.k});
  }
  return out;
}

}  // namespace batchcost
