// libFuzzer target for the readers of results: Google Benchmark JSON, model.json and nccl-tests
// logs (text and -J JSON). Any input must either read or be refused with InputError (ReadError
// for nccl-tests); any other exception, crash, leak or undefined
// behaviour is a bug. Built and run by tools/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/model_file.h"
#include "model/nccl_tests.h"
#include "model/results.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    batchcost::ResultFile file = batchcost::parse_google_benchmark(text, "fuzz.json");
    for (const batchcost::Sample& s : file.samples) {
      if (!(s.time_s > 0)) __builtin_trap();  // the reader promised a positive time
    }
  } catch (const batchcost::InputError&) {
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  try {
    batchcost::model_from_json(doc, "fuzz.json");
  } catch (const batchcost::InputError&) {
  }
  try {
    batchcost::NcclTestsLog log = batchcost::parse_nccl_tests(text, "fuzz.log", {});
    for (const batchcost::Sample& s : log.samples) {
      if (!(s.time_s > 0) || !(s.work.net_bytes >= 0)) __builtin_trap();
    }
  } catch (const batchcost::ReadError&) {
  }
  return 0;
}
