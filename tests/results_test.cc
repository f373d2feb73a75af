// Readers of results (model/results.h): what Google Benchmark JSON becomes, and every rejection
// with its message (file and entry named).
#include "model/results.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/scratch.h"

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

// The harness's own form (harness/harness.h finalize_output): skips in the context, times in ns.
TEST(GoogleBenchmarkReader, ReadsTheContextsSkippedListAndNanoseconds) {
  ResultFile f = parse_google_benchmark(
      R"({"context": {"gpu_name": "g", "skipped": [
          {"name": "memory/big", "reason": "needs 8 GiB, 3 GiB free", "repetitions": 5},
          {"name": "memory/huge", "reason": "needs 80 GiB"}]},
        "benchmarks": [)" +
          entry("launch/a", R"("real_time": 2475.5, "time_unit": "ns", "launches": 1)") + "]}",
      "r.json");
  EXPECT_EQ(f.skipped, 6);  // as many as the entries Google Benchmark wrote
  ASSERT_EQ(f.skips.size(), 2u);
  EXPECT_EQ(f.skips[0].name, "memory/big");
  EXPECT_EQ(f.skips[0].reason, "needs 8 GiB, 3 GiB free");
  EXPECT_EQ(f.skips[0].repetitions, 5);
  EXPECT_EQ(f.skips[1].repetitions, 1);
  EXPECT_FALSE(f.context.contains("skipped"));  // read into skips, not a context value
  ASSERT_EQ(f.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(f.samples[0].time_s, 2475.5e-9);
  const std::string e = entry("launch/a", R"("real_time": 2, "time_unit": "ns", "launches": 1)");
  auto with = [&](const std::string& skipped) {
    return R"({"context": {"skipped": )" + skipped + R"(}, "benchmarks": [)" + e + "]}";
  };
  EXPECT_EQ(rejection(with("{}")), "r.json: context \"skipped\" is not an array but an object");
  EXPECT_EQ(rejection(with("[3]")), "r.json: context \"skipped\" entry 0: not a JSON object");
  EXPECT_EQ(rejection(with(R"([{"name": "x"}])")),
            "r.json: context \"skipped\" entry 0: no \"reason\" string");
  EXPECT_EQ(rejection(with(R"([{"name": "x", "reason": "r", "repetitions": 1.5}])")),
            "r.json: context \"skipped\" entry 0: benchmark 'x': \"repetitions\" is not a count");
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
                  "r.json: malformed JSON at benchmarks[0].real_time: parse error at line 1, "
                  "column 45: syntax error while parsing object - unexpected end of input; "
                  "expected '}'"},
        Rejection{"no benchmarks", R"({"context": {}})",
                  "r.json: not Google Benchmark JSON: no \"benchmarks\""},
        Rejection{"zero time", doc(entry("launch/a", R"("real_time": 0, )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): time is zero"},
        Rejection{"negative time", doc(entry("launch/a", R"("real_time": -1, )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): time is negative"},
        Rejection{"overflowing time", doc(entry("launch/a", R"("real_time": 1e999, )" + kGood)),
                  "r.json: benchmarks[0].real_time: a number too large for a double"},
        Rejection{"deeply nested counter",
                  doc(entry("launch/a", R"("real_time": 1, "bytes": )" + std::string(100000, '[') +
                                            std::string(100000, ']') + ", " + kGood)),
                  "r.json: benchmarks[0].bytes[0][0][0]...: nested deeper than 64 levels"},
        Rejection{"duplicate key",
                  doc(entry("launch/a", R"("real_time": 1, "real_time": 2, )" + kGood)),
                  "r.json: benchmarks[0].real_time: duplicate key in one object"},
        Rejection{"non-physical work",
                  doc(entry("launch/a", R"("real_time": 1, "bytes": 1e308, )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): work counter \"bytes\" is above 1e18 "
                  "per iteration: not a physical count"},
        Rejection{"NaN time", doc(entry("launch/a", R"("real_time": NaN, )" + kGood)),
                  "r.json: benchmark 'launch/a': \"real_time\" is not finite (NaN)"},
        Rejection{"infinite counter",
                  doc(entry("launch/a", R"("real_time": 1, "bytes_per_s": -Infinity, )" + kGood)),
                  "r.json: benchmark 'launch/a': \"bytes_per_s\" is not finite (-Infinity)"},
        Rejection{"time not a number", doc(entry("launch/a", R"("real_time": "fast", )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): \"real_time\" is not a number but "
                  "a string"},
        Rejection{"unknown unit",
                  doc(entry("launch/a", R"("real_time": 1, "time_unit": "min", "launches": 1)")),
                  "r.json: benchmark 'launch/a' (entry 0): unknown time unit 'min' (expected ns, "
                  "us, ms or s)"},
        Rejection{"counter not a number",
                  doc(entry("launch/a", R"("real_time": 1, "bytes": "8 KiB", )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): counter \"bytes\" is not a number but "
                  "a string"},
        Rejection{"other counter not a number",
                  doc(entry("launch/a", R"("real_time": 1, "algbw": null, )" + kGood)),
                  "r.json: benchmark 'launch/a' (entry 0): counter \"algbw\" is not a number but "
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
  batchcost::testing::Scratch scratch_{"reader"};
  std::filesystem::path dir_ = scratch_.path();
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

TEST_F(InputsTest, AByteOrderMarkIsNotContent) {
  // Windows editors and PowerShell's Out-File write a UTF-8 BOM before the '{'; the file is still
  // Google Benchmark JSON, not an nccl-tests log ("no nccl-tests result rows").
  const std::string bom = "\xEF\xBB\xBF";
  Inputs in =
      read_inputs({write("bom.json", bom + doc(entry("launch/a", R"("real_time": 1, )" + kGood)))});
  ASSERT_EQ(in.samples.size(), 1u);
  EXPECT_EQ(in.context["gpu_name"], "test GPU");
  EXPECT_EQ(rejection({write("only.json", bom)}), "only.json: empty file");
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
            "t.json: malformed JSON at benchmarks[0]: parse error at line 1, "
            "column 17: syntax error while parsing value - unexpected end of input; expected "
            "'[', '{', or a literal");
  EXPECT_EQ(rejection({(dir_ / "missing.json").string()}), "missing.json: no such file or folder");
}

TEST_F(InputsTest, SkipsOfEveryFileAreKeptAndCounted) {
  const std::string good =
      entry("launch/a", R"("real_time": 2000, "time_unit": "ns", "launches": 1)");
  write("a.json", R"({"context": {"skipped": [{"name": "memory/big", "reason": "needs 8 GiB",
      "repetitions": 5}]}, "benchmarks": [)" + good + "]}");
  write("b.json", doc(entry("memory/old", R"("error_occurred": true,
      "error_message": "skipped: needs 9 GiB", "real_time": 0, "time_unit": "us")")));
  Inputs in = read_inputs({dir_.string()});
  EXPECT_EQ(in.skipped, 6);  // 5 repetitions from the context, 1 zero-time entry
  ASSERT_EQ(in.skips.size(), 1u);
  EXPECT_EQ(in.skips[0].name, "memory/big");
  EXPECT_FALSE(in.context.contains("skipped"));
  ASSERT_EQ(in.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(in.samples[0].time_s, 2e-6);
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

TEST_F(InputsTest, RejectsFilesWhoseRepetitionsDifferWithTheSameMedian) {
  auto reps = [](const char* t0, const char* t1, const char* t2) {
    const std::string r = R"("repetition_index": )";
    return doc(entry("launch/a", r + "0, \"real_time\": " + t0 + ", " + kGood) + "," +
               entry("launch/a", r + "1, \"real_time\": " + t1 + ", " + kGood) + "," +
               entry("launch/a", r + "2, \"real_time\": " + t2 + ", " + kGood));
  };
  write("a.json", reps("1", "2", "3"));
  write("b.json", reps("0.5", "2", "3"));  // the same median, 2
  EXPECT_EQ(rejection({dir_.string()}),
            "b.json: benchmark 'launch/a': contradictory duplicates: repetition 0 differs from "
            "the one in a.json");
  write("b.json", reps("1", "2", "3"));  // the same file twice is one sample
  EXPECT_EQ(rejection({dir_.string()}), "");
}

TEST_F(InputsTest, SaysWhyAFileCannotBeRead) {
  std::filesystem::create_directories(dir_ / "sub.json");
  EXPECT_EQ(rejection({(dir_ / "sub.json").string() + "/"}),
            "sub.json/: no result files (*.json, or nccl-tests *.log) in this folder");
  Inputs in;
  try {
    read_file_into((dir_ / "sub.json").string(), in);
    ADD_FAILURE() << "a folder was read as a file";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sub.json: is a folder, not a file"), std::string::npos)
        << e.what();
  }
  std::filesystem::create_symlink(dir_ / "loop.json", dir_ / "loop.json");
  EXPECT_EQ(rejection({(dir_ / "loop.json").string()}),
            "loop.json: too many levels of symbolic links (a symbolic link loop?)");
  EXPECT_EQ(rejection({write("empty.json", "")}), "empty.json: empty file");
}

TEST_F(InputsTest, RefusesAnOutputThatIsAnInput) {
  const std::string a = write("a.json", doc(entry("launch/a", R"("real_time": 1, )" + kGood)));
  auto refusal = [&](const std::string& out) {
    try {
      check_output_path(out, {dir_.string()});
    } catch (const InputError& e) {
      std::string m = e.what();
      for (size_t at; (at = m.find(dir_.string())) != std::string::npos;) {
        m.replace(at, dir_.string().size(), "D");
      }
      return m;
    }
    return std::string();
  };
  EXPECT_EQ(refusal(a),
            "--out D/a.json: is in the input folder D, whose *.json and *.log files "
            "are read (model.json is not)");
  EXPECT_EQ(refusal((dir_ / "new.json").string()),
            "--out D/new.json: is in the input folder D, whose *.json and *.log files are read "
            "(model.json is not)");
  EXPECT_EQ(refusal((dir_ / "model.json").string()), "");
  EXPECT_EQ(refusal(dir_.string()), "--out D: is a folder");
  EXPECT_EQ(refusal((dir_ / "no" / "model.json").string()),
            "--out D/no/model.json: its folder D/no: no such file or folder");
  // The same file by another name: a hard link outside the folder.
  std::filesystem::create_directories(dir_ / "out");
  std::filesystem::create_hard_link(a, dir_ / "out" / "m.json");
  try {
    check_output_path((dir_ / "out" / "m.json").string(), {a});
    ADD_FAILURE() << "a hard link to the input was accepted as --out";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("is the input"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace batchcost
