// Readers of results (model/results.h): what Google Benchmark JSON becomes, and every rejection
// with its message (file and entry named).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "model/results.h"

namespace batchcost {
namespace {

std::string doc(const std::string& entries) {
  return R"({"context": {"gpu_name": "test GPU"}, "benchmarks": [)" + entries + "]}";
}

std::string entry(const std::string& name, const std::string& extra) {
  return R"({"name": ")" + name + R"(", "run_type": "iteration", "iterations": 10, )" + extra + "}";
}

// The message of the InputError that reading `text` throws; "" when it does not throw.
std::string rejection(const std::string& text) {
  try {
    parse_google_benchmark(text, "r.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(GoogleBenchmarkReader, ReadsTimeCountersLabelsAndContext) {
  ResultFile f = parse_google_benchmark(
      doc(entry("memory/copy/bytes:4096", R"("real_time": 4.5, "time_unit": "us",
          "label": "cache=cold timing=device", "bytes": 8192, "launches": 1,
          "bytes_per_s": 1.8e9)")),
      "r.json");
  ASSERT_EQ(f.samples.size(), 1u);
  const Sample& s = f.samples[0];
  EXPECT_EQ(s.source, "r.json");
  EXPECT_EQ(s.family, "memory");
  EXPECT_DOUBLE_EQ(s.time_s, 4.5e-6);
  EXPECT_EQ(s.work, (Work{.bytes = 8192, .launches = 1}));
  EXPECT_EQ(s.labels.at("cache"), "cold");
  EXPECT_EQ(s.ranks, 0);
  EXPECT_EQ(f.context["gpu_name"], "test GPU");
}

TEST(GoogleBenchmarkReader, EveryTimeUnit) {
  for (auto [unit, scale] : {std::pair{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1.0}}) {
    ResultFile f = parse_google_benchmark(
        doc(entry("launch/x",
                  R"("real_time": 3, "launches": 1, "time_unit": ")" + std::string(unit) + "\"")),
        "r.json");
    EXPECT_DOUBLE_EQ(f.samples.at(0).time_s, 3 * scale) << unit;
  }
}

TEST(GoogleBenchmarkReader, PrefersTheMedianAggregateAndTakesItsCv) {
  std::string reps;
  for (int i = 0; i < 3; ++i) {
    reps += entry("gemm/a/manual_time",
                  R"("run_name": "gemm/a/manual_time", "repetitions": 3,
        "repetition_index": )" +
                      std::to_string(i) + R"(, "real_time": )" + std::to_string(10 + i) +
                      R"(, "time_unit": "ms", "flops": 1e12, "label": "dtype=bf16")") +
            ",";
  }
  reps += R"({"name": "gemm/a/manual_time_median", "run_name": "gemm/a/manual_time",
      "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "real_time": 10.5,
      "time_unit": "ms", "flops": 1e12, "label": "dtype=bf16"},
      {"name": "gemm/a/manual_time_cv", "run_name": "gemm/a/manual_time", "run_type": "aggregate",
      "aggregate_name": "cv", "aggregate_unit": "percentage", "repetitions": 3,
      "real_time": 0.04, "time_unit": "ms", "flops": 1e12, "label": "dtype=bf16"})";
  ResultFile f = parse_google_benchmark(doc(reps), "r.json");
  ASSERT_EQ(f.samples.size(), 1u);
  EXPECT_EQ(f.samples[0].name, "gemm/a/manual_time");
  EXPECT_DOUBLE_EQ(f.samples[0].time_s, 10.5e-3);
  EXPECT_DOUBLE_EQ(f.samples[0].cv, 0.04);
  EXPECT_EQ(f.samples[0].repetitions, 3);
}

TEST(GoogleBenchmarkReader, RepetitionsWithoutAggregatesGiveTheirMedianAndCv) {
  std::string reps;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) reps += ",";
    reps += entry("launch/a", R"("repetition_index": )" + std::to_string(i) + R"(, "real_time": )" +
                                  std::to_string(1 + i) + R"(, "time_unit": "us", "launches": 1)");
  }
  ResultFile f = parse_google_benchmark(doc(reps), "r.json");
  ASSERT_EQ(f.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(f.samples[0].time_s, 2e-6);
  EXPECT_DOUBLE_EQ(f.samples[0].cv, 0.5);  // stddev 1 over mean 2
  EXPECT_EQ(f.samples[0].repetitions, 3);
}

TEST(GoogleBenchmarkReader, SkipsAndCountsErroredEntries) {
  ResultFile f = parse_google_benchmark(
      doc(entry("memory/big", R"("error_occurred": true,
              "error_message": "skipped: needs 8 GiB, 3 GiB free", "real_time": 0, "time_unit": "us")") +
          "," + entry("launch/a", R"("real_time": 2, "time_unit": "us", "launches": 1)")),
      "r.json");
  EXPECT_EQ(f.skipped, 1);
  ASSERT_EQ(f.samples.size(), 1u);
  EXPECT_EQ(f.samples[0].name, "launch/a");
}

TEST(GoogleBenchmarkReader, OpLabelledSamplesWithoutRanksRunOnOneRank) {
  ResultFile f = parse_google_benchmark(
      doc(entry("collective/h2d", R"("real_time": 9, "time_unit": "us", "label": "op=h2d",
              "net_bytes": 4096, "collectives": 1)") +
          "," +
          entry("collective/ar", R"("real_time": 9, "time_unit": "us", "label": "op=all_reduce",
              "net_bytes": 4096, "collectives": 1, "ranks": 8)")),
      "r.json");
  ASSERT_EQ(f.samples.size(), 2u);
  EXPECT_EQ(f.samples[0].ranks, 8);  // sorted by name: ar before h2d
  EXPECT_EQ(f.samples[1].ranks, 1);
}

TEST(GoogleBenchmarkReader, IdenticalDuplicatesCountOnce) {
  std::string e = entry("launch/a", R"("real_time": 2, "time_unit": "us", "launches": 1)");
  EXPECT_EQ(parse_google_benchmark(doc(e + "," + e), "r.json").samples.size(), 1u);
}

struct Rejection {
  const char* what;
  std::string text;
  const char* message;
};

class GoogleBenchmarkRejection : public ::testing::TestWithParam<Rejection> {};

TEST_P(GoogleBenchmarkRejection, NamesTheFileAndTheEntry) {
  EXPECT_EQ(rejection(GetParam().text), GetParam().message);
}

const std::string kGood = R"("time_unit": "us", "launches": 1)";

INSTANTIATE_TEST_SUITE_P(
    Readers, GoogleBenchmarkRejection,
    ::testing::Values(
        Rejection{"truncated", R"({"benchmarks": [{"name": "a", "real_time": 1)",
                  "r.json: malformed JSON: [json.exception.parse_error.101] parse error at line 1, "
                  "column 45: syntax error while parsing object - unexpected end of input; "
                  "expected '}'"},
        Rejection{"no benchmarks", R"({"context": {}})",
                  "r.json: not Google Benchmark JSON: no \"benchmarks\""},
        Rejection{"zero time", doc(entry("launch/a", R"("real_time": 0, )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): time is zero"},
        Rejection{"negative time", doc(entry("launch/a", R"("real_time": -1, )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): time is negative"},
        Rejection{"overflowing time", doc(entry("launch/a", R"("real_time": 1e999, )" + kGood)),
                  "r.json: malformed JSON: [json.exception.out_of_range.406] number overflow "
                  "parsing '1e999'"},
        Rejection{"NaN time", doc(entry("launch/a", R"("real_time": NaN, )" + kGood)),
                  "r.json: benchmark 'launch/a': \"real_time\" is not finite (NaN)"},
        Rejection{"infinite counter",
                  doc(entry("launch/a", R"("real_time": 1, "bytes_per_s": -Infinity, )" + kGood)),
                  "r.json: benchmark 'launch/a': \"bytes_per_s\" is not finite (-Infinity)"},
        Rejection{"time not a number", doc(entry("launch/a", R"("real_time": "fast", )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): \"real_time\" is not a number: "
                  "\"fast\""},
        Rejection{"unknown unit",
                  doc(entry("launch/a", R"("real_time": 1, "time_unit": "min", "launches": 1)")),
                  "r.json: benchmark 'launch/a' (entry 0): unknown time unit 'min' (expected ns, "
                  "us, ms or s)"},
        Rejection{"counter not a number",
                  doc(entry("launch/a", R"("real_time": 1, "bytes": "8 KiB", )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): counter \"bytes\" is not a number: "
                  "\"8 KiB\""},
        Rejection{"other counter not a number",
                  doc(entry("launch/a", R"("real_time": 1, "algbw": null, )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): counter \"algbw\" is not a number: "
                  "null"},
        Rejection{"negative work",
                  doc(entry("launch/a", R"("real_time": 1, "flops": -5, )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): work counter \"flops\" is negative"},
        Rejection{"malformed label",
                  doc(entry("launch/a", R"("real_time": 1, "label": "dtype", )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): malformed label 'dtype': 'dtype' is "
                  "not key=value"},
        Rejection{"no name", doc(R"({"real_time": 1})"), "r.json: entry 0: no \"name\""},
        Rejection{
            "contradictory repetitions",
            doc(entry("launch/a", R"("repetition_index": 0, "real_time": 1, )" + kGood) + "," +
                entry("launch/a", R"("repetition_index": 0, "real_time": 2, )" + kGood)),
            "r.json: benchmark 'launch/a': contradictory duplicates: repetition 0 appears "
            "twice, differing"},
        Rejection{
            "repetitions with different work",
            doc(entry("launch/a", R"("repetition_index": 0, "real_time": 1, )" + kGood) + "," +
                entry("launch/a", R"("repetition_index": 1, "real_time": 1, "launches": 2,
                          "time_unit": "us")")),
            "r.json: benchmark 'launch/a': contradictory duplicates: repetitions declare "
            "different work or labels"}),
    [](const ::testing::TestParamInfo<Rejection>& param_info) {
      std::string name = param_info.param.what;
      for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

// Files on disk: the dispatch by content, folders, and the rejections that need several files.
class InputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("batchcost_reader_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::string rejection(const std::vector<std::string>& paths) {
    try {
      read_inputs(paths);
    } catch (const InputError& e) {
      std::string m = e.what();
      for (size_t at; (at = m.find(dir_.string() + "/")) != std::string::npos;) {
        m.erase(at, dir_.string().size() + 1);
      }
      return m;
    }
    return "";
  }
  std::filesystem::path dir_;
};

TEST_F(InputsTest, AFolderIsItsJsonFilesButModelJsonSortedByName) {
  write("b.json", doc(entry("launch/b", R"("real_time": 2, )" + kGood)));
  write("a.json", doc(entry("launch/a", R"("real_time": 1, )" + kGood)));
  write("model.json", "not even JSON");
  write("notes.txt", "not JSON");
  Inputs in = read_inputs({dir_.string()});
  ASSERT_EQ(in.sources.size(), 2u);
  EXPECT_TRUE(in.sources[0].ends_with("a.json"));
  EXPECT_TRUE(in.sources[1].ends_with("b.json"));
  ASSERT_EQ(in.samples.size(), 2u);
  EXPECT_EQ(in.context["gpu_name"], "test GPU");
}

TEST_F(InputsTest, RecognisesModelJson) {
  std::string m = write("m.json", R"({"schema": "batchcost.model/1", "constants": {}})");
  Inputs in = read_inputs({m}, /*allow_models=*/true);
  EXPECT_EQ(in.models.size(), 1u);
  EXPECT_EQ(rejection({m}), "m.json: no usable samples");
  std::string m2 = write("m2.json", R"({"schema": "batchcost.model/2", "constants": {}})");
  EXPECT_EQ(read_inputs({m2}, /*allow_models=*/true).models.size(), 1u);
}

TEST_F(InputsTest, RejectsWhatItDoesNotRecognise) {
  EXPECT_EQ(rejection({write("x.json", R"({"results": []})")}),
            "x.json: neither Google Benchmark JSON (\"benchmarks\") nor a batchcost model.json "
            "(\"schema\": \"batchcost.model/2\" or /1)");
  EXPECT_EQ(rejection({write("t.json", R"({"benchmarks": [)")}),
            "t.json: malformed JSON: [json.exception.parse_error.101] parse error at line 1, "
            "column 17: syntax error while parsing value - unexpected end of input; expected "
            "'[', '{', or a literal");
  EXPECT_EQ(rejection({(dir_ / "missing.json").string()}), "missing.json: no such file or folder");
}

TEST_F(InputsTest, RejectsAnInputWithNoUsableSamples) {
  std::string f = write("s.json", doc(entry("memory/big", R"("error_occurred": true,
      "error_message": "skipped", "real_time": 0, "time_unit": "us")")));
  EXPECT_EQ(rejection({f}), "s.json: no usable samples (1 skipped by the harness)");
  EXPECT_EQ(rejection({write("e.json", doc(""))}), "e.json: no usable samples");
}

TEST_F(InputsTest, RejectsContradictoryDuplicatesAcrossFiles) {
  write("a.json", doc(entry("launch/a", R"("real_time": 1, )" + kGood)));
  write("b.json", doc(entry("launch/a", R"("real_time": 3, )" + kGood)));
  write("c.json", doc(entry("launch/c", R"("real_time": 1, )" + kGood)));
  EXPECT_EQ(rejection({dir_.string()}),
            "b.json: benchmark 'launch/a': contradictory duplicates: also in a.json with a "
            "different time");
}

}  // namespace
}  // namespace batchcost
