// The benchmark/fitter contract: counter names, labels, families, derived rates.
#include "core/contract.h"

#include <gtest/gtest.h>

#include <limits>

namespace batchcost {
namespace {

TEST(Contract, WorkFieldsByNameRoundTrip) {
  Work w;
  double v = 1;
  for (auto name : kWorkCounterNames) work_field(w, name) = v++;
  EXPECT_EQ(w.flops, 1);
  EXPECT_EQ(w.bytes, 2);
  EXPECT_EQ(w.net_bytes, 3);
  EXPECT_EQ(w.launches, 4);
  EXPECT_EQ(w.kernels, 5);
  EXPECT_EQ(w.graph_nodes, 6);
  EXPECT_EQ(w.syncs, 7);
  EXPECT_EQ(w.collectives, 8);
  EXPECT_THROW(work_field(w, "flop"), std::invalid_argument);
}

TEST(Contract, DeclaresNothingOnlyForEmptyWork) {
  EXPECT_TRUE(declares_nothing(Work{}));
  EXPECT_FALSE(declares_nothing(Work{.syncs = 1}));
  EXPECT_FALSE(declares_nothing(Work{.bytes = 4096}));
}

TEST(Contract, RatesAreWorkOverTime) {
  Rates r = derive_rates(Work{.flops = 2e12, .bytes = 3e9, .net_bytes = 5e6}, 1e-3);
  EXPECT_DOUBLE_EQ(r.flops_per_s, 2e15);
  EXPECT_DOUBLE_EQ(r.bytes_per_s, 3e12);
  EXPECT_DOUBLE_EQ(r.net_bytes_per_s, 5e9);
  EXPECT_THROW(derive_rates(Work{}, 0), std::invalid_argument);
  EXPECT_THROW(derive_rates(Work{}, -1), std::invalid_argument);
  EXPECT_THROW(derive_rates(Work{}, std::numeric_limits<double>::infinity()), std::invalid_argument);
  EXPECT_THROW(derive_rates(Work{}, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

TEST(Contract, LabelFormatIsSortedAndParsesBack) {
  Labels l{{"dtype", "bf16"}, {"cache", "cold"}, {"timing", "device"}};
  std::string s = format_label(l);
  EXPECT_EQ(s, "cache=cold dtype=bf16 timing=device");
  EXPECT_EQ(parse_label(s), l);
  EXPECT_EQ(format_label({}), "");
  EXPECT_TRUE(parse_label("").empty());
  EXPECT_EQ(parse_label("  op=h2d   cache=cold "), (Labels{{"op", "h2d"}, {"cache", "cold"}}));
}

TEST(Contract, MalformedLabelsAreRejectedWithTheToken) {
  EXPECT_THROW(format_label({{"dtype", "b f16"}}), std::invalid_argument);
  EXPECT_THROW(format_label({{"", "x"}}), std::invalid_argument);
  EXPECT_THROW(format_label({{"a=b", "x"}}), std::invalid_argument);
  EXPECT_THROW(parse_label("dtype"), std::invalid_argument);
  EXPECT_THROW(parse_label("dtype="), std::invalid_argument);
  EXPECT_THROW(parse_label("=bf16"), std::invalid_argument);
  EXPECT_THROW(parse_label("a=b=c"), std::invalid_argument);
  try {
    parse_label("dtype=bf16 dtype=fp16");
    FAIL() << "duplicate key accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'dtype' appears twice"), std::string::npos);
  }
}

TEST(Contract, FamilyIsTheNameUpToTheFirstSlash) {
  EXPECT_EQ(family_of("memory/copy_kernel/bytes:4096/manual_time"), "memory");
  EXPECT_EQ(family_of("launch"), "launch");
  EXPECT_EQ(family_of(""), "");
}

}  // namespace
}  // namespace batchcost
