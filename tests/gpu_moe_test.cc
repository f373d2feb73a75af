// GPU tests of the MoE strategies: on a small layer (E = 8, k = 2, H = 64, I = 32), every
// strategy's gate+up and down outputs match the reference for every routing, including one that
// leaves experts without tokens, and B = 1, 3, 16. Skip, saying why, where there is no GPU.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/check.h"
#include "harness/gpu.h"
#include "moe/strategies.h"
#include "tests/gpu_test.h"

namespace batchcost {
namespace {

const MoeConfig kSmall{"small", 8, 2, 64, 32};
constexpr std::uint64_t kSeed = 42;

class GpuMoe : public GpuTest {
 protected:


  // Runs every strategy on one routing and checks it on all rows.
  void check_all(const Routing& r, GemmDtype dtype) {
    const MoeConfig& c = kSmall;
    const cudaDataType_t type = input_type(dtype);
    const std::size_t eb = static_cast<std::size_t>(type_bytes(type));
    const auto E = static_cast<std::size_t>(c.experts), H = static_cast<std::size_t>(c.hidden),
               I = static_cast<std::size_t>(c.intermediate);
    const auto B = static_cast<std::size_t>(r.tokens), rows = B * static_cast<std::size_t>(c.top_k);
    DeviceBuffer w1(E * 2 * I * H * eb), w2(E * H * I * eb), x(B * H * eb), xg(rows * H * eb),
        y1(rows * 2 * I * eb), y2(rows * H * eb), index(rows * sizeof(std::int32_t));
    fill_uniform(w1.get(), type, E * 2 * I * H, kSeed, 1.0f, stream_);
    fill_uniform(w2.get(), type, E * H * I, kSeed + 1, 1.0f, stream_);
    fill_uniform(x.get(), type, B * H, kSeed + 2, 1.0f, stream_);
    std::vector<std::int32_t> token(rows);
    for (std::size_t p = 0; p < rows; ++p) token[p] = r.token_at(static_cast<std::int64_t>(p));
    CUDA_CHECK(cudaMemcpyAsync(index.get(), token.data(), rows * sizeof(std::int32_t),
                               cudaMemcpyHostToDevice, stream_));
    gather_rows(xg.get(), x.get(), index.get<std::int32_t>(), static_cast<std::int64_t>(rows),
                H * eb, stream_);
    const MoeLayer layer{c,        dtype,    w1.get(), w2.get(), xg.get(),
                         y1.get(), y2.get(), r.counts, r.offsets};
    const std::string where = routing_label_of(r) + " B=" + std::to_string(B);
    for (MoeStrategy s : kMoeStrategies) {
      if (s == MoeStrategy::dense_equivalent) continue;
      if (auto why = strategy_unavailable(s)) {
        std::printf("[ INFO     ] %s unavailable: %s\n", std::string(strategy_label(s)).c_str(),
                    why->c_str());
        continue;
      }
      auto runner = make_expert_runner(s, layer, handle_, stream_);
      EXPECT_EQ(check_runner(*runner, dtype, 1 << 20, stream_), "")
          << strategy_label(s) << " " << where;
      if (s == MoeStrategy::per_expert_graph) {
        int active = 0;
        for (auto n : r.counts) active += n > 0;
        EXPECT_GE(runner->graph_nodes(), 2 * active) << where;
      }
    }
    GroupedFromDeviceCounts d2h(layer, handle_, stream_);
    d2h.runner().poison_outputs();
    d2h.run();
    // check_runner runs the (host-counts) grouped runner again; the d2h path must produce the
    // same outputs, so compare without re-running: projections of the runner after d2h.run().
    for (const CheckedProjection& p : d2h.runner().projections(1 << 20)) {
      EXPECT_LE(sampled_relative_error(p.gemm, p.rows, stream_), gemm_tolerance(dtype))
          << "grouped counts=d2h " << p.name << " " << where;
    }
  }

  static std::string routing_label_of(const Routing& r) {
    return "E=" + std::to_string(r.experts) + " k=" + std::to_string(r.top_k);
  }
};

TEST_F(GpuMoe, EveryStrategyMatchesTheReferenceForEveryRouting) {
  for (std::int64_t b : {1, 3, 16}) {
    for (const RoutingSpec& spec : default_routings()) {
      SCOPED_TRACE(routing_label(spec) + " B=" + std::to_string(b));
      check_all(route(spec, b, kSmall.experts, kSmall.top_k, kSeed), GemmDtype::bf16);
    }
  }
}

TEST_F(GpuMoe, ExpertsWithoutTokensAndOneHotExpert) {
  // Every token picks experts 0 and 5: six experts get nothing, two get all B tokens.
  const std::int64_t b = 16;
  std::vector<std::int32_t> picks;
  for (std::int64_t t = 0; t < b; ++t) {
    picks.push_back(5);
    picks.push_back(0);
  }
  const Routing r = group_by_expert(picks, b, kSmall.experts, kSmall.top_k);
  check_all(r, GemmDtype::bf16);
  check_all(r, GemmDtype::fp16);
}

TEST_F(GpuMoe, DenseEquivalentMatchesTheReference) {
  const MoeConfig& c = kSmall;
  for (std::int64_t b : {1, 3, 16}) {
    const auto B = static_cast<std::size_t>(b), H = static_cast<std::size_t>(c.hidden),
               W = static_cast<std::size_t>(c.top_k * c.intermediate);
    DeviceBuffer w1(2 * W * H * 2), w2(H * W * 2), x(B * H * 2), y1(B * 2 * W * 2), y2(B * H * 2);
    fill_uniform(w1.get(), CUDA_R_16BF, 2 * W * H, kSeed, 1.0f, stream_);
    fill_uniform(w2.get(), CUDA_R_16BF, H * W, kSeed + 1, 1.0f, stream_);
    fill_uniform(x.get(), CUDA_R_16BF, B * H, kSeed + 2, 1.0f, stream_);
    auto dense = make_dense_runner(
        DenseLayer{c, GemmDtype::bf16, b, w1.get(), w2.get(), x.get(), y1.get(), y2.get()}, handle_,
        stream_);
    EXPECT_EQ(check_runner(*dense, GemmDtype::bf16, 1 << 20, stream_), "") << "B=" << b;
  }
}

TEST_F(GpuMoe, TheCheckFailsAWrongResult) {
  // A runner whose output is poisoned and never written must fail: the check is not vacuous.
  const Routing r = route(RoutingSpec{}, 4, kSmall.experts, kSmall.top_k, kSeed);
  const std::size_t rows = 8, H = 64, I = 32, eb = 2;
  DeviceBuffer w1(8 * 2 * I * H * eb), w2(8 * H * I * eb), xg(rows * H * eb), y1(rows * 2 * I * eb),
      y2(rows * H * eb);
  fill_uniform(w1.get(), CUDA_R_16BF, 8 * 2 * I * H, kSeed, 1.0f, stream_);
  fill_uniform(w2.get(), CUDA_R_16BF, 8 * H * I, kSeed, 1.0f, stream_);
  fill_uniform(xg.get(), CUDA_R_16BF, rows * H, kSeed, 1.0f, stream_);
  const MoeLayer layer{kSmall,   GemmDtype::bf16, w1.get(), w2.get(), xg.get(),
                       y1.get(), y2.get(),        r.counts, r.offsets};
  auto runner = make_expert_runner(MoeStrategy::per_expert_loop, layer, handle_, stream_);
  runner->poison_outputs();
  for (const CheckedProjection& p : runner->projections(64)) {
    EXPECT_FALSE(sampled_relative_error(p.gemm, p.rows, stream_) <= 1.0) << p.name;
  }
}

}  // namespace
}  // namespace batchcost
