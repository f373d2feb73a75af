// The one way batchcost writes a file: a unique temporary file in the destination's folder
// (mkstemp: two writers never share it, and a symbolic link there is never followed), the whole
// text written and fsync'ed, renamed over the destination, and the folder fsync'ed. A reader sees
// the old file or the new one, never a part; a failure leaves the old file as it was. While the
// temporary file exists, SIGINT and SIGTERM remove it before the process ends (an async-signal-
// safe registry; a handler that was installed before is still called). Host C++ only, POSIX.
#pragma once

#include <stdexcept>
#include <string>

namespace batchcost {

// A file that could not be written; the message names it and says why (errno's text).
class WriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes `text` to `path` as above. Throws WriteError naming `path`.
void write_file_atomic(const std::string& path, const std::string& text);

// Keeps `path` in the registry of files that SIGINT and SIGTERM remove, from construction until
// destruction (or release()). At most kMaxTemporaries at once; beyond that, throws WriteError.
// Installs the signal handlers on first use, unless a signal is ignored (nohup).
class TemporaryFileGuard {
 public:
  static constexpr int kMaxTemporaries = 16;
  explicit TemporaryFileGuard(const std::string& path);
  ~TemporaryFileGuard();
  TemporaryFileGuard(const TemporaryFileGuard&) = delete;
  TemporaryFileGuard& operator=(const TemporaryFileGuard&) = delete;
  void release();  // the file is gone (renamed or removed): forget it

 private:
  int slot_ = -1;
};

}  // namespace batchcost
