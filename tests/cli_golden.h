// Shared by the golden tests of the batchcost command line: run it in a fixture folder (so the
// paths it prints are relative and stable), read files, and compare its output byte for byte
// with an expected file. BATCHCOST_UPDATE_GOLDEN=1 rewrites the expected files instead; review
// the diff after an intended change.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace batchcost::testing {

struct Result {
  int status = -1;
  std::string out;
};

// The fixture folder tests/data/<name> of the source tree.
inline std::filesystem::path fixture_dir(const std::string& name) {
  const char* root = std::getenv("BATCHCOST_SOURCE_DIR");
  return std::filesystem::path(root ? root : ".") / "tests" / "data" / name;
}

inline std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `exe args` in `dir`; stdout is captured, stderr goes to `stderr_to`.
inline Result run_in(const std::filesystem::path& dir, const std::string& exe,
                     const std::string& args, const std::string& stderr_to = "/dev/null") {
  std::string command = "cd '" + dir.string() + "' && '" + exe + "' " + args + " 2>" + stderr_to;
  Result run;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.out.append(buffer.data(), n);
  int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// The parts of model.json's `batchcost` object that differ from build to build (the commit, the
// build type) become placeholders; its version, from CMake's project(), is compared as it is.
inline std::string without_build_identity(std::string text) {
  static const std::regex sha(R"re("git_sha": "[^"]*")re"), type(R"re("build_type": "[^"]*")re");
  text = std::regex_replace(text, sha, R"("git_sha": "<git_sha>")");
  return std::regex_replace(text, type, R"("build_type": "<build_type>")");
}

// Runs `exe args` in `dir`, expects exit status 0 and stdout equal to dir/expected_file.
inline void expect_golden(const std::filesystem::path& dir, const std::string& exe,
                          const std::string& args, const std::string& expected_file) {
  Result run = run_in(dir, exe, args);
  run.out = without_build_identity(run.out);
  ASSERT_EQ(run.status, 0) << exe << " " << args;
  std::filesystem::path expected = dir / expected_file;
  if (std::getenv("BATCHCOST_UPDATE_GOLDEN")) std::ofstream(expected, std::ios::binary) << run.out;
  EXPECT_EQ(run.out, read(expected)) << args << " differs from " << expected_file;
}

}  // namespace batchcost::testing
