// libFuzzer targets for the readers of results, one per reader (built four times with
// BATCHCOST_FUZZ_READER set): 1 Google Benchmark JSON, 2 model.json, 3 nccl-tests text logs,
// 4 nccl-tests -J JSON. Any input must either read or be refused with InputError (ReadError for
// nccl-tests); any other exception, crash, leak or undefined behaviour is a bug. Built and run by
// tools/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/input_file.h"
#include "core/model_file.h"
#include "model/nccl_tests.h"
#include "model/results.h"

#ifndef BATCHCOST_FUZZ_READER
#error "set BATCHCOST_FUZZ_READER to 1 (results), 2 (model.json), 3 (nccl-tests text), 4 (-J)"
#endif

namespace {

void check(bool promise) {
  if (!promise) __builtin_trap();  // a reader accepted what it promised to refuse
}

void check_samples(const std::vector<batchcost::Sample>& samples) {
  for (const batchcost::Sample& s : samples) {
    check(s.time_s > 0 && std::isfinite(s.time_s));
    for (auto counter : batchcost::kWorkCounterNames) {
      double v = batchcost::work_field(s.work, counter);
      check(v >= 0 && std::isfinite(v));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
#if BATCHCOST_FUZZ_READER == 1
  try {
    batchcost::ResultFile file = batchcost::parse_google_benchmark(text, "fuzz.json");
    check_samples(file.samples);
    for (const batchcost::Sample& s : file.samples) {
      check(batchcost::work_field(s.work, "bytes") <= batchcost::kMaxWorkPerIteration);
    }
  } catch (const batchcost::InputError&) {
  }
#elif BATCHCOST_FUZZ_READER == 2
  try {
    batchcost::ModelFile m =
        batchcost::model_from_json(batchcost::parse_json_input(text, "fuzz.json"), "fuzz.json");
    (void)batchcost::model_to_json(m).dump();  // what was read can be written again
  } catch (const batchcost::InputError&) {
  }
#else  // 3, 4: the same reader, which tells a log from -J JSON by content; seeded apart
  try {
    batchcost::NcclTestsLog log = batchcost::parse_nccl_tests(text, "fuzz.log", {});
    check_samples(log.samples);
    check(log.ranks >= 1 || log.samples.empty());
  } catch (const batchcost::ReadError&) {
  }
#endif
  return 0;
}
