// GEMM dtypes, shape sweeps and the work of one GEMM (core/gemm_shapes.h).
#include "core/gemm_shapes.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace batchcost {
namespace {

TEST(GemmDtype, LabelsRoundTripAndUnknownThrows) {
  for (GemmDtype dtype : kGemmDtypes) EXPECT_EQ(parse_gemm_dtype(dtype_label(dtype)), dtype);
  EXPECT_EQ(dtype_label(GemmDtype::fp8_e4m3), "fp8_e4m3");
  EXPECT_THROW(parse_gemm_dtype("fp8"), std::invalid_argument);
  EXPECT_THROW(parse_gemm_dtype("BF16"), std::invalid_argument);
}

TEST(GemmDtype, StorageSizes) {
  EXPECT_EQ(input_bytes(GemmDtype::bf16), 2);
  EXPECT_EQ(output_bytes(GemmDtype::bf16), 2);
  EXPECT_EQ(input_bytes(GemmDtype::fp16), 2);
  EXPECT_EQ(output_bytes(GemmDtype::fp16), 2);
  EXPECT_EQ(input_bytes(GemmDtype::tf32), 4);  // tf32 math on fp32 storage
  EXPECT_EQ(output_bytes(GemmDtype::tf32), 4);
  EXPECT_EQ(input_bytes(GemmDtype::fp32), 4);
  EXPECT_EQ(output_bytes(GemmDtype::fp32), 4);
  EXPECT_EQ(input_bytes(GemmDtype::fp8_e4m3), 1);
  EXPECT_EQ(output_bytes(GemmDtype::fp8_e4m3), 2);  // bf16 output
}

TEST(GemmDtype, SupportByComputeCapability) {
  EXPECT_TRUE(gemm_dtype_supported(GemmDtype::fp16, 70));
  EXPECT_TRUE(gemm_dtype_supported(GemmDtype::fp32, 70));
  EXPECT_FALSE(gemm_dtype_supported(GemmDtype::bf16, 75));
  EXPECT_TRUE(gemm_dtype_supported(GemmDtype::bf16, 80));
  EXPECT_TRUE(gemm_dtype_supported(GemmDtype::tf32, 80));
  EXPECT_FALSE(gemm_dtype_supported(GemmDtype::fp8_e4m3, 86));
  EXPECT_TRUE(gemm_dtype_supported(GemmDtype::fp8_e4m3, 89));
  EXPECT_TRUE(gemm_dtype_supported(GemmDtype::fp8_e4m3, 90));
}

TEST(GemmWork, FlopsBytesLaunches) {
  // M=3, N=5, K=7: A 21 elements, B 35, C 15.
  const Work bf16 = gemm_work(3, 5, 7, GemmDtype::bf16);
  EXPECT_EQ(bf16.flops, 2 * 3 * 5 * 7);
  EXPECT_EQ(bf16.bytes, (21 + 35) * 2 + 15 * 2);
  EXPECT_EQ(bf16.kernels, 1);
  EXPECT_EQ(bf16.net_bytes, 0);
  EXPECT_EQ(bf16.graph_nodes, 0);
  EXPECT_EQ(bf16.syncs, 0);
  EXPECT_EQ(bf16.collectives, 0);
  EXPECT_EQ(gemm_work(3, 5, 7, GemmDtype::tf32).bytes, (21 + 35) * 4 + 15 * 4);
  EXPECT_EQ(gemm_work(3, 5, 7, GemmDtype::fp8_e4m3).bytes, (21 + 35) * 1 + 15 * 2);
  EXPECT_EQ(gemm_work(GemmShape{"x", 3, 5, 7}, GemmDtype::fp16),
            gemm_work(3, 5, 7, GemmDtype::fp16));
}

TEST(GemmWork, LargeSquareIsExact) {
  const Work w = gemm_work(16384, 16384, 16384, GemmDtype::bf16);
  EXPECT_EQ(w.flops, 2.0 * 16384.0 * 16384.0 * 16384.0);  // 2^43: exact in a double
  EXPECT_EQ(w.bytes, 3.0 * 16384.0 * 16384.0 * 2);
}

TEST(GemmWork, DecodeShapeIsWeightBound) {
  // M = 1 of a DeepSeek-V3 expert's gate+up: the weights are nearly all the traffic.
  const Work w = gemm_work(1, 4096, 7168, GemmDtype::bf16);
  EXPECT_EQ(w.bytes, (7168.0 + 7168.0 * 4096.0) * 2 + 4096.0 * 2);
  EXPECT_LT(w.flops / w.bytes, 1.01);  // ~1 flop per byte
}

TEST(GemmWork, EmptyAndInvalid) {
  EXPECT_EQ(gemm_work(0, 5, 7, GemmDtype::bf16), Work{});
  EXPECT_THROW(gemm_work(-1, 5, 7, GemmDtype::bf16), std::invalid_argument);
  EXPECT_THROW(gemm_work(3, 0, 7, GemmDtype::bf16), std::invalid_argument);
  EXPECT_THROW(gemm_work(3, 5, 0, GemmDtype::bf16), std::invalid_argument);
}

TEST(Sweeps, PowersOfTwo) {
  EXPECT_EQ(power_of_two_sweep(1, 16, false), (std::vector<std::int64_t>{1, 2, 4, 8, 16}));
  EXPECT_EQ(power_of_two_sweep(1, 16, true), (std::vector<std::int64_t>{1, 4, 16}));
  EXPECT_EQ(power_of_two_sweep(1, 8, true), (std::vector<std::int64_t>{1, 4, 8}));  // keeps last
  EXPECT_EQ(power_of_two_sweep(4, 4, true), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(power_of_two_sweep(std::int64_t{1} << 62, std::int64_t{1} << 62, false).size(), 1u);
  EXPECT_THROW(power_of_two_sweep(3, 16, false), std::invalid_argument);
  EXPECT_THROW(power_of_two_sweep(1, 12, false), std::invalid_argument);
  EXPECT_THROW(power_of_two_sweep(16, 1, false), std::invalid_argument);
  EXPECT_THROW(power_of_two_sweep(0, 16, false), std::invalid_argument);
}

TEST(Sweeps, Tokens) {
  const auto full = token_sweep(false);
  ASSERT_EQ(full.size(), 15u);
  EXPECT_EQ(full.front(), 1);
  EXPECT_EQ(full.back(), kMaxTokens);
  EXPECT_EQ(token_sweep(true), (std::vector<std::int64_t>{1, 4, 16, 64, 256, 1024, 4096, 16384}));
}

TEST(Sweeps, Square) {
  const auto full = square_sweep(false);
  ASSERT_EQ(full.size(), 8u);
  EXPECT_EQ(full.front(), (GemmShape{"square", 128, 128, 128}));
  EXPECT_EQ(full.back(), (GemmShape{"square", 16384, 16384, 16384}));
  const auto quick = square_sweep(true);
  ASSERT_EQ(quick.size(), 5u);  // 128, 512, 2048, 8192, 16384
  EXPECT_EQ(quick[1].m, 512);
  EXPECT_EQ(quick.back().k, 16384);
}

TEST(Sweeps, LayerShapesOfDeepSeekV3AndLlama3) {
  const auto layers = layer_shapes();
  const std::vector<GemmShape> expected = {
      {"dsv3_expert_gate_up", 0, 4096, 7168},  {"dsv3_expert_down", 0, 7168, 2048},
      {"dsv3_dense_ffn_up", 0, 18432, 7168},   {"llama3_70b_ffn_up", 0, 28672, 8192},
      {"llama3_70b_ffn_down", 0, 8192, 28672}, {"llama3_70b_attn_qkv", 0, 10240, 8192}};
  EXPECT_EQ(layers, expected);

  const auto sweep = layer_sweep(false);
  ASSERT_EQ(sweep.size(), layers.size() * 15);
  EXPECT_EQ(sweep[0], (GemmShape{"dsv3_expert_gate_up", 1, 4096, 7168}));
  EXPECT_EQ(sweep[14], (GemmShape{"dsv3_expert_gate_up", 16384, 4096, 7168}));
  EXPECT_EQ(sweep[15], (GemmShape{"dsv3_expert_down", 1, 7168, 2048}));
  EXPECT_EQ(layer_sweep(true).size(), layers.size() * 8);
}

}  // namespace
}  // namespace batchcost
