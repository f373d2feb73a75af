// The one table of data types, host C++ only: our `dtype=` label names (DESIGN.md), their storage
// bytes, and the names nccl-tests gives the same types (src/common.cu, test_typenames). Every
// bytes-per-element question in the tree is answered here, and the enum of the types batchcost
// computes in (GEMMs, collectives) converts to and from its name through this table alone.
#pragma once

#include <array>
#include <string_view>

namespace batchcost {

struct DtypeInfo {
  std::string_view name;                         // our label: "bf16", "fp8_e4m3", "int32", ...
  int bytes = 0;                                 // storage bytes per element
  std::array<std::string_view, 2> nccl_tests{};  // nccl-tests' names of the same type, if any
};

// The first five rows are Dtype's, in its order. tf32 is fp32 storage with tensor-core math.
// fp8_e4m3 and fp8_e5m2 are OCP FP8.
inline constexpr std::array<DtypeInfo, 14> kDtypeTable = {{
    {"bf16", 2, {"bfloat16", ""}},
    {"fp16", 2, {"half", "float16"}},
    {"tf32", 4, {"", ""}},
    {"fp32", 4, {"float", "float32"}},
    {"fp8_e4m3", 1, {"f8e4m3", ""}},
    {"fp64", 8, {"double", "float64"}},
    {"fp8_e5m2", 1, {"f8e5m2", ""}},
    {"int8", 1, {"int8", "char"}},
    {"uint8", 1, {"uint8", ""}},
    {"int32", 4, {"int32", "int"}},
    {"uint32", 4, {"uint32", ""}},
    {"int64", 8, {"int64", ""}},
    {"uint64", 8, {"uint64", ""}},
    {"fp8", 1, {"", ""}},  // an fp8 type not named further (a model config's dispatch precision)
}};

// The entry of our label `name`, or nullptr.
const DtypeInfo* find_dtype(std::string_view name);
// The entry whose nccl-tests name is `type` ("float", "bfloat16", ...), or nullptr.
const DtypeInfo* find_nccl_tests_type(std::string_view type);
// Storage bytes of our label `name`; 0 for a name the table does not hold.
int dtype_bytes_or_zero(std::string_view name);

// The types batchcost computes in: the GEMMs sweep all five, the collectives fp32 and bf16.
enum class Dtype { bf16, fp16, tf32, fp32, fp8_e4m3 };
inline constexpr std::array<Dtype, 5> kComputeDtypes = {Dtype::bf16, Dtype::fp16, Dtype::tf32,
                                                        Dtype::fp32, Dtype::fp8_e4m3};
// Its label ("bf16", ...) and storage bytes, from the table.
std::string_view dtype_name(Dtype dtype);
int dtype_bytes(Dtype dtype);
// The Dtype whose label is `name`, into *out; false (and *out unchanged) for any other name.
bool parse_compute_dtype(std::string_view name, Dtype* out);

}  // namespace batchcost
