#include "core/dtype.h"

#include <stdexcept>
#include <string>

namespace batchcost {

const DtypeInfo* find_dtype(std::string_view name) {
  for (const DtypeInfo& d : kDtypeTable) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

const DtypeInfo* find_nccl_tests_type(std::string_view type) {
  if (type.empty()) return nullptr;
  for (const DtypeInfo& d : kDtypeTable) {
    for (std::string_view n : d.nccl_tests) {
      if (n == type) return &d;
    }
  }
  return nullptr;
}

int dtype_bytes_or_zero(std::string_view name) {
  const DtypeInfo* d = find_dtype(name);
  return d != nullptr ? d->bytes : 0;
}

std::string_view dtype_name(Dtype dtype) {
  const auto i = static_cast<std::size_t>(dtype);
  if (i >= kComputeDtypes.size()) throw std::invalid_argument("dtype_name: not a Dtype");
  return kDtypeTable[i].name;
}

int dtype_bytes(Dtype dtype) { return dtype_bytes_or_zero(dtype_name(dtype)); }

bool parse_compute_dtype(std::string_view name, Dtype* out) {
  for (Dtype d : kComputeDtypes) {
    if (dtype_name(d) == name) {
      *out = d;
      return true;
    }
  }
  return false;
}

static_assert(kDtypeTable[0].name == "bf16" && kDtypeTable[1].name == "fp16" &&
                  kDtypeTable[2].name == "tf32" && kDtypeTable[3].name == "fp32" &&
                  kDtypeTable[4].name == "fp8_e4m3",
              "Dtype's order is the table's first rows");

}  // namespace batchcost
