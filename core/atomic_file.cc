// Atomic file writes and the signal-time removal of their temporary files (see atomic_file.h).
#include "core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

namespace batchcost {
namespace {

constexpr std::size_t kMaxPath = 4096;

// The registry: fixed storage, so that the handler touches no allocator. A slot's path is written
// while it is free (state 0) and published by the release store of state 2; the handler only
// unlinks slots whose state it reads as 2.
struct Slot {
  std::atomic<int> state{0};  // 0 free, 1 being filled or emptied, 2 registered
  char path[kMaxPath];
};
Slot g_slots[TemporaryFileGuard::kMaxTemporaries];
static_assert(std::atomic<int>::is_always_lock_free);

struct sigaction g_previous[2];  // SIGINT, SIGTERM: what was installed before us
constexpr int kSignals[2] = {SIGINT, SIGTERM};

extern "C" void remove_temporaries_and_chain(int sig, siginfo_t* info, void* context) {
  for (Slot& s : g_slots) {
    if (s.state.load(std::memory_order_acquire) == 2) ::unlink(s.path);
  }
  const struct sigaction& prev = g_previous[sig == SIGINT ? 0 : 1];
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) {
      prev.sa_sigaction(sig, info, context);
      return;
    }
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // The default action: end the process as the signal would have.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
}

// Puts our handler in front of whatever SIGINT and SIGTERM have now, unless it is there already
// or the signal is ignored (nohup). Run at each registration, so that a handler installed after
// an earlier registration is chained to, not lost.
void install_handlers() {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  sigset_t block, old;
  sigemptyset(&block);
  for (int s : kSignals) sigaddset(&block, s);
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  for (int i = 0; i < 2; ++i) {
    struct sigaction now {};
    ::sigaction(kSignals[i], nullptr, &now);
    if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == remove_temporaries_and_chain) continue;
    if (!(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_IGN) continue;
    g_previous[i] = now;
    struct sigaction ours {};
    ours.sa_sigaction = remove_temporaries_and_chain;
    ours.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&ours.sa_mask);
    for (int s : kSignals) sigaddset(&ours.sa_mask, s);
    ::sigaction(kSignals[i], &ours, nullptr);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw WriteError(path + ": cannot be written: " + what + ": " + std::strerror(err));
}

}  // namespace

TemporaryFileGuard::TemporaryFileGuard(const std::string& path) {
  install_handlers();
  if (path.size() >= kMaxPath) throw WriteError(path + ": cannot be written: the name is too long");
  for (int i = 0; i < kMaxTemporaries; ++i) {
    int expected = 0;
    if (g_slots[i].state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].state.store(2, std::memory_order_release);
      slot_ = i;
      return;
    }
  }
  throw WriteError(path + ": cannot be written: too many temporary files at once");
}

void TemporaryFileGuard::release() {
  if (slot_ >= 0) g_slots[slot_].state.store(0, std::memory_order_release);
  slot_ = -1;
}

TemporaryFileGuard::~TemporaryFileGuard() { release(); }

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::size_t slash = path.find_last_of('/');
  const std::string prefix = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string name = path.substr(prefix.size());
  const std::string folder = prefix.empty() ? "." : prefix;
  if (name.empty()) throw WriteError(path + ": cannot be written: names a folder, not a file");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw WriteError(path + ": cannot be written: is a folder");
  }
  // A hidden name beside the destination: the same file system, so that rename is atomic.
  std::string tmp = prefix + "." + name + ".XXXXXX";
  if (tmp.size() >= kMaxPath) throw WriteError(path + ": cannot be written: the name is too long");
  std::vector<char> tmpl(tmp.begin(), tmp.end());
  tmpl.push_back('\0');
  // SIGINT and SIGTERM wait while the file is created and registered: none can come between.
  sigset_t block, old;
  sigemptyset(&block);
  for (int s : kSignals) sigaddset(&block, s);
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  int fd = ::mkstemp(tmpl.data());
  const int mkstemp_errno = errno;
  std::optional<TemporaryFileGuard> guard;
  try {
    if (fd >= 0) guard.emplace(std::string(tmpl.data()));
  } catch (...) {
    ::close(fd);
    ::unlink(tmpl.data());
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (fd < 0) fail(path, "cannot create a temporary file in " + folder, mkstemp_errno);
  tmp.assign(tmpl.data());
  auto abandon = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, what, err);
  };
  // mkstemp makes the file 0600; a result or model file is as readable as any other (umask).
  mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd, 0666 & ~mask) != 0) abandon("chmod", errno);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) abandon("write", errno);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) abandon("fsync", errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "close", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "rename", err);
  }
  guard->release();
  // The rename itself is durable once the folder is.
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace batchcost
