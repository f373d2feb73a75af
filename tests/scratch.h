// The one scratch folder of the tests: a folder of its own under the temporary directory (TMPDIR,
// else /tmp), made unique by mkdtemp, so that tests running at once (ctest -j runs every test of
// a file as its own process, and two build trees may test at the same time) never share a file;
// removed, with everything in it, when the Scratch goes out of scope.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace batchcost::testing {

class Scratch {
 public:
  // `what` names the folder (batchcost_<what>_XXXXXX), for whoever finds one a crash left behind.
  explicit Scratch(const std::string& what = "test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("batchcost_" + what + "_XXXXXX")).string();
    if (!mkdtemp(pattern.data()))
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    path_ = pattern;
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::filesystem::path& path() const { return path_; }
  operator const std::filesystem::path&() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  std::string string() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace batchcost::testing
