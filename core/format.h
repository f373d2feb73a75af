// The one formatter of numbers and byte sizes for every table, message and report, host C++ only.
#pragma once

#include <string>

namespace batchcost {

// `value` to `significant` significant digits (printf's %g: "1.5", "2.99e+12").
std::string format_number(double value, int significant = 4);

// Bytes in binary units (B, KiB, MiB, GiB, TiB): a whole number of its unit as a whole number
// ("4 KiB", "1000 B"), any other to `significant` significant digits ("1.5 MiB", "19.56 GiB").
std::string format_bytes(double bytes, int significant = 3);

}  // namespace batchcost
