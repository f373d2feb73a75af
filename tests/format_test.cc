// core/format: the one number and byte formatter.
#include "core/format.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace batchcost {
namespace {

TEST(FormatNumber, SignificantDigits) {
  EXPECT_EQ(format_number(2.99e12), "2.99e+12");
  EXPECT_EQ(format_number(1234.5678), "1235");
  EXPECT_EQ(format_number(0.007), "0.007");
  EXPECT_EQ(format_number(3.14159, 2), "3.1");
}

TEST(FormatBytes, WholeUnitsAreWholeOthersToSignificantDigits) {
  EXPECT_EQ(format_bytes(100), "100 B");
  EXPECT_EQ(format_bytes(1000), "1000 B");  // whole: never 1e+03
  EXPECT_EQ(format_bytes(4096), "4 KiB");
  EXPECT_EQ(format_bytes(1.5 * (1 << 20)), "1.5 MiB");
  EXPECT_EQ(format_bytes(static_cast<double>(std::int64_t{4} << 30)), "4 GiB");
  EXPECT_EQ(format_bytes(21e9), "19.6 GiB");      // the harness's messages: 3 digits
  EXPECT_EQ(format_bytes(21e9, 4), "19.56 GiB");  // tables: 4 digits
  EXPECT_EQ(format_bytes(-2048, 4), "-2 KiB");
  EXPECT_EQ(format_bytes(3.0 * (std::int64_t{1} << 50)), "3072 TiB");  // TiB is the largest
}

}  // namespace
}  // namespace batchcost
