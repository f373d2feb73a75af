// The published nccl-tests logs (tests/data/nccl-tests/) read through the fitter's dispatch and
// fitted: the lower envelope of latency-bandwidth regimes must reproduce what the small and the
// large sizes show, with a median error of a few percent across sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "model/fit.h"
#include "model/results.h"

namespace batchcost {
namespace {

std::string fixture(const std::string& name) {
  const char* dir = std::getenv("BATCHCOST_SOURCE_DIR");
  return std::string(dir ? dir : ".") + "/tests/data/nccl-tests/" + name;
}

struct Case {
  const char* file;
  const char* op;
  int ranks;
  // The all_gather log's in-place and out-of-place times differ by 10-15% at the same size,
  // which one time per size cannot follow: its median error is bounded by that spread.
  double max_median_err = 0.05;
};

// The published logs both suites run on.
const Case kPublished[] = {{"all_reduce_h100_8gpu.txt", "all_reduce", 8},
                           {"all_reduce_h100_16gpu_srun_label.txt", "all_reduce", 16},
                           {"all_reduce_h100_16gpu_mpirun.txt", "all_reduce", 16},
                           {"all_gather_bf16_2gpu.txt", "all_gather", 2, 0.08}};

// A test's name: its log's file name without the extension ("all_reduce_h100_8gpu").
std::string case_name(const ::testing::TestParamInfo<Case>& test) {
  std::string n = test.param.file;
  n = n.substr(0, n.find('.'));
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

class NcclTestsFit : public ::testing::TestWithParam<Case> {};

TEST_P(NcclTestsFit, EnvelopeMatchesSmallAndLargeSizes) {
  const Case c = GetParam();
  Inputs in = read_inputs({fixture(c.file)});
  ASSERT_FALSE(in.samples.empty());
  FitResult r = fit(in.samples);
  ASSERT_EQ(r.constants.network.size(), 1u);
  const auto& [key, regimes] = *r.constants.network.begin();
  EXPECT_EQ(key, (NetKey{c.op, c.ranks}));
  ASSERT_FALSE(regimes.empty());

  const Sample* smallest = nullptr;
  const Sample* largest = nullptr;
  double fastest = std::numeric_limits<double>::infinity();
  for (const Sample& s : in.samples) {
    fastest = std::min(fastest, s.time_s);
    if (!smallest || s.work.net_bytes < smallest->work.net_bytes) smallest = &s;
    if (!largest || s.work.net_bytes > largest->work.net_bytes) largest = &s;
  }
  double min_latency = std::numeric_limits<double>::infinity(), max_bandwidth = 0;
  for (const Regime& g : regimes) {
    min_latency = std::min(min_latency, g.latency_s.value);
    max_bandwidth = std::max(max_bandwidth, g.bytes_per_s.value);
    EXPECT_LE(g.latency_s.low, g.latency_s.value);
    EXPECT_GE(g.latency_s.high, g.latency_s.value);
  }
  // The envelope reproduces the smallest and the largest size: within 15% of the nearer of the
  // in-place and out-of-place times there (the model has one time per size; in these multi-node
  // logs the two sides differ by up to 20% at the same size).
  for (const Sample* end : {smallest, largest}) {
    double predicted = predict(r.constants, *end).time_s, nearest = 1e9;
    for (const Sample& s : in.samples) {
      if (s.work.net_bytes == end->work.net_bytes) {
        nearest = std::min(nearest, std::fabs(predicted / s.time_s - 1));
      }
    }
    EXPECT_LT(nearest, 0.15) << c.file << " " << end->name;
  }
  // Where the log reaches latency-bound sizes, the smallest latency is the fastest time.
  if (smallest->work.net_bytes <= 65536) {
    EXPECT_GT(min_latency, 0.5 * fastest) << c.file;
    EXPECT_LT(min_latency, 1.1 * fastest) << c.file;
  }
  // The largest bandwidth is at least nccl-tests' bus bandwidth at the largest size (which
  // still carries some latency).
  double busbw_largest = largest->work.net_bytes / largest->time_s;
  EXPECT_GT(max_bandwidth, 0.9 * busbw_largest) << c.file;

  const Quality& q = r.quality.at("collective");
  EXPECT_EQ(q.n, static_cast<int>(in.samples.size()));
  EXPECT_LT(q.median_abs_rel_err, c.max_median_err) << c.file;
  std::printf(
      "%s: %zu regimes, latency %.2f us (fastest %.2f us), bandwidth %.1f GB/s (busbw at "
      "largest %.1f GB/s), median |err| %.1f%%, p90 %.1f%%\n",
      c.file, regimes.size(), min_latency * 1e6, fastest * 1e6, max_bandwidth / 1e9,
      busbw_largest / 1e9, 100 * q.median_abs_rel_err, 100 * q.p90_abs_rel_err);
}

INSTANTIATE_TEST_SUITE_P(Published, NcclTestsFit, ::testing::ValuesIn(kPublished), case_name);

}  // namespace
}  // namespace batchcost

namespace batchcost {
namespace {

// Issue 12: every published log fits whatever it is named, and predicts sizes it was not fitted
// on. Every other size is held out (the "validate" role by a family of its own), the rest fitted;
// no sample may be unpriced, the fit may neither warn nor refuse, and every constant must be
// physical for a Hopper node (a latency of 0.5 us .. 1 ms, a per-GPU bandwidth under 1 TB/s:
// NVLink 4 is 450 GB/s each way, NVLS all-reduce busbw about 480 GB/s).
class PublishedHeldOut : public ::testing::TestWithParam<Case> {};

TEST_P(PublishedHeldOut, PredictsHeldOutSizes) {
  const Case c = GetParam();
  Inputs in = read_inputs({fixture(c.file)});
  std::vector<double> sizes;
  for (const Sample& s : in.samples) sizes.push_back(s.work.net_bytes);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  for (Sample& s : in.samples) {
    const size_t rank = static_cast<size_t>(
        std::lower_bound(sizes.begin(), sizes.end(), s.work.net_bytes) - sizes.begin());
    // Held out: the odd sizes strictly inside the sweep (the ends stay fitted).
    if (rank % 2 == 1 && rank + 1 < sizes.size()) s.family = "collective_held_out";
  }
  FitOptions options;
  options.validate_families.insert("collective_held_out");
  FitResult r = fit(in.samples, options);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  EXPECT_TRUE(r.refusals.empty()) << r.refusals.front();
  int priced = 0;
  for (const auto& [family, q] : r.quality) priced += q.n;
  EXPECT_EQ(priced, static_cast<int>(in.samples.size()));  // none unpriced
  for (const auto& [key, regimes] : r.constants.network) {
    for (const Regime& g : regimes) {
      EXPECT_GT(g.latency_s.value, 0.5e-6) << c.file;
      EXPECT_LT(g.latency_s.value, 1e-3) << c.file;
      EXPECT_GT(g.bytes_per_s.value, 1e8) << c.file;
      EXPECT_LT(g.bytes_per_s.value, 1e12) << c.file;
    }
  }
  const Quality& fitted = r.quality.at("collective");
  const Quality& held = r.quality.at("collective_held_out");
  EXPECT_GT(held.n, 0);
  EXPECT_LT(held.median_abs_rel_err, c.max_median_err * 2) << c.file;
  std::printf(
      "%s: fitted %d (median %.1f%%, p90 %.1f%%), held out %d sizes' samples: median "
      "%.1f%%, p90 %.1f%%\n",
      c.file, fitted.n, 100 * fitted.median_abs_rel_err, 100 * fitted.p90_abs_rel_err, held.n,
      100 * held.median_abs_rel_err, 100 * held.p90_abs_rel_err);
}

INSTANTIATE_TEST_SUITE_P(Published, PublishedHeldOut, ::testing::ValuesIn(kPublished), case_name);

}  // namespace
}  // namespace batchcost
