// Golden tests of `batchcost report` on the checked-in results of tests/data/fit/ (two GPUs):
// the Markdown page and the terminal summary, compared byte for byte with the expected files
// beside them; the plots' links; no page at all on a bad input.
//
// After an intended change of the output, regenerate the expected files and review the diff:
//   BATCHCOST_UPDATE_GOLDEN=1 ctest --preset ci -R ReportGolden
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/cli_golden.h"
#include "tests/scratch.h"

namespace {

namespace fs = std::filesystem;

using batchcost::testing::read;
using batchcost::testing::Result;

fs::path data_dir() { return batchcost::testing::fixture_dir("fit"); }

class ReportGolden : public ::testing::Test {
 protected:
  // Runs batchcost in tests/data/fit, so that the paths it prints are relative.
  Result batchcost(const std::string& args, const std::string& stderr_to = "/dev/null") {
    return batchcost::testing::run_in(data_dir(), BATCHCOST_EXE, args, stderr_to);
  }

  // `report PATHS --out PAGE`: the page equals expected_md, stdout (but its last line, which
  // names the temporary page) equals expected_txt.
  void expect_page(const std::string& paths, const std::string& expected_md,
                   const std::string& expected_txt) {
    fs::path page = dir_ / "report.md";
    Result run = batchcost("report " + paths + " --out '" + page.string() + "'");
    ASSERT_EQ(run.status, 0) << paths;
    std::string last = "wrote " + page.string() + "\n";
    ASSERT_TRUE(run.out.ends_with(last)) << run.out;
    std::string summary = run.out.substr(0, run.out.size() - last.size());
    if (std::getenv("BATCHCOST_UPDATE_GOLDEN")) {
      std::ofstream(data_dir() / expected_md, std::ios::binary) << read(page);
      std::ofstream(data_dir() / expected_txt, std::ios::binary) << summary;
    }
    EXPECT_EQ(read(page), read(data_dir() / expected_md))
        << "the page differs from " << expected_md;
    EXPECT_EQ(summary, read(data_dir() / expected_txt)) << "stdout differs from " << expected_txt;
  }

  batchcost::testing::Scratch scratch_{"report"};
  fs::path dir_ = scratch_.path();
};

TEST_F(ReportGolden, OneGpu) { expect_page("h100", "report_h100.md", "report_h100.txt"); }

TEST_F(ReportGolden, TwoGpusCompared) {
  expect_page("h100 h200", "report_h100_h200.md", "report_h100_h200.txt");
}

TEST_F(ReportGolden, LinksThePlotsRelativeToThePage) {
  fs::create_directories(dir_ / "plots");
  std::ofstream(dir_ / "plots" / "roofline.png") << "not really a PNG";
  std::ofstream(dir_ / "plots" / "notes.txt") << "not a plot";
  fs::path page = dir_ / "report.md";
  Result run = batchcost("report h100 --out '" + page.string() + "' --plots '" +
                         (dir_ / "plots").string() + "'");
  ASSERT_EQ(run.status, 0);
  std::string text = read(page);
  EXPECT_NE(text.find("![roofline](plots/roofline.png)"), std::string::npos) << text;
  EXPECT_EQ(text.find("notes"), std::string::npos);
}

TEST_F(ReportGolden, NoPageOnABadInput) {
  fs::path page = dir_ / "report.md", err = dir_ / "stderr.txt";
  Result bad = batchcost("report h100 zero_time.json --out '" + page.string() + "'", err.string());
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(read(err), "batchcost: zero_time.json: benchmark 'launch/a' (entry 0): time is zero\n");
  EXPECT_FALSE(fs::exists(page));
  EXPECT_EQ(batchcost("report h100").status, 2);                           // no --out
  EXPECT_EQ(batchcost("report --out '" + page.string() + "'").status, 2);  // no path
  EXPECT_EQ(batchcost("report h100 --out '" + page.string() + "' --plots no_such_folder").status,
            2);
  EXPECT_FALSE(fs::exists(page));
  for (const auto& item : fs::directory_iterator(dir_)) {
    EXPECT_EQ(item.path().filename(), "stderr.txt") << "left behind: " << item.path();
  }
}

}  // namespace
