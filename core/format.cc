#include "core/format.h"

#include <cmath>
#include <cstdio>

namespace batchcost {

std::string format_number(double value, int significant) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*g", significant, value);
  return text;
}

std::string format_bytes(double bytes, int significant) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(bytes) >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char text[48];
  if (bytes == std::floor(bytes)) {
    std::snprintf(text, sizeof text, "%.0f %s", bytes, units[u]);
  } else {
    std::snprintf(text, sizeof text, "%.*g %s", significant, bytes, units[u]);
  }
  return text;
}

}  // namespace batchcost
