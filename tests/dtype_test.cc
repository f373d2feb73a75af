// core/dtype: the one table of data types.
#include "core/dtype.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace batchcost {
namespace {

TEST(DtypeTable, NamesAreUniqueAndSizesPositive) {
  std::set<std::string_view> names, nccl;
  for (const DtypeInfo& d : kDtypeTable) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    EXPECT_GT(d.bytes, 0) << d.name;
    for (std::string_view n : d.nccl_tests) {
      if (!n.empty()) {
        EXPECT_TRUE(nccl.insert(n).second) << n;
      }
    }
  }
}

TEST(DtypeTable, ComputeTypesRoundTripThroughTheirNames) {
  for (Dtype d : kComputeDtypes) {
    Dtype back{};
    ASSERT_TRUE(parse_compute_dtype(dtype_name(d), &back)) << dtype_name(d);
    EXPECT_EQ(back, d);
  }
  EXPECT_EQ(dtype_name(Dtype::fp8_e4m3), "fp8_e4m3");
  EXPECT_EQ(dtype_bytes(Dtype::bf16), 2);
  EXPECT_EQ(dtype_bytes(Dtype::tf32), 4);
  EXPECT_EQ(dtype_bytes(Dtype::fp8_e4m3), 1);
  Dtype unchanged = Dtype::fp16;
  EXPECT_FALSE(parse_compute_dtype("fp64", &unchanged));  // in the table, not a compute type
  EXPECT_EQ(unchanged, Dtype::fp16);
}

TEST(DtypeTable, NcclTestsNames) {
  // nccl-tests' src/common.cu, test_typenames.
  EXPECT_EQ(find_nccl_tests_type("float")->name, "fp32");
  EXPECT_EQ(find_nccl_tests_type("bfloat16")->name, "bf16");
  EXPECT_EQ(find_nccl_tests_type("half")->name, "fp16");
  EXPECT_EQ(find_nccl_tests_type("f8e4m3")->name, "fp8_e4m3");
  EXPECT_EQ(find_nccl_tests_type("int")->bytes, 4);
  EXPECT_EQ(find_nccl_tests_type("double")->bytes, 8);
  EXPECT_EQ(find_nccl_tests_type("fp32"), nullptr);  // ours, not nccl-tests'
  EXPECT_EQ(find_nccl_tests_type(""), nullptr);
}

TEST(DtypeTable, BytesOfUnknownNamesAreZero) {
  EXPECT_EQ(dtype_bytes_or_zero("bf16"), 2);
  EXPECT_EQ(dtype_bytes_or_zero("fp8"), 1);
  EXPECT_EQ(dtype_bytes_or_zero("int4"), 0);
  EXPECT_EQ(find_dtype("nope"), nullptr);
}

}  // namespace
}  // namespace batchcost
