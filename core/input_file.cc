// Reading and parsing user files with errno messages, a depth limit and duplicate keys refused
// (see input_file.h).
#include "core/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

namespace batchcost {
namespace {

using nlohmann::json;

// The largest file a reader takes: results and models are kilobytes to a few megabytes.
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 30;

// Where the parser is: one frame per open object or array.
struct Frame {
  bool array = false;
  std::size_t index = 0;       // arrays: the element being read
  std::string key;             // objects: the key whose value is being read
  std::set<std::string> keys;  // objects: the keys seen so far
};

// The path of the entry being read; past a few levels, "..." (a deep path is no help).
std::string path_of(const std::vector<Frame>& frames) {
  constexpr std::size_t kShown = 6;
  std::string out;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (i == kShown) {
      out += "...";
      break;
    }
    const Frame& f = frames[i];
    if (f.array) {
      out += "[" + std::to_string(f.index) + "]";
    } else if (!f.key.empty()) {
      out += (out.empty() ? "" : ".") + f.key;
    }
  }
  return out.empty() ? "top level" : out;
}

// A parser message without its "[json.exception.parse_error.101] " prefix, and not longer than
// a line: its "last read" part may quote a long token.
std::string short_message(const char* what) {
  std::string m = what;
  if (m.rfind("[json.exception.", 0) == 0 && m.find("] ") != std::string::npos) {
    m.erase(0, m.find("] ") + 2);
  }
  if (m.size() > 200) m = m.substr(0, 200) + "...";
  return m;
}

}  // namespace

std::string errno_text(int err) {
  switch (err) {
    case ENOENT:
      return "no such file or folder";
    case EACCES:
    case EPERM:
      return "permission denied";
    case ELOOP:
      return "too many levels of symbolic links (a symbolic link loop?)";
    case ENOTDIR:
      return "a part of the path is not a folder";
    case EISDIR:
      return "is a folder, not a file";
    case ENAMETOOLONG:
      return "the name is too long";
    default:
      return std::strerror(err);
  }
}

std::string read_input_file(const std::string& path, bool allow_empty) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path + ": cannot be read: " + errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError(path + ": cannot be read: " + errno_text(errno));
  if (S_ISDIR(st.st_mode)) throw InputError(path + ": is a folder, not a file");
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(path + ": read error: " + errno_text(errno));
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) throw InputError(path + ": larger than 1 GiB: not an input");
  }
  // A UTF-8 byte-order mark (Windows editors, PowerShell's Out-File) is not content: drop it here,
  // once, so that every reader sees the text after it and JSON is not taken for a log.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  if (text.empty() && !allow_empty) throw InputError(path + ": empty file");
  return text;
}

json parse_json_input(const std::string& text, const std::string& source) {
  std::vector<Frame> frames;
  auto fail = [&](const std::string& why) -> bool {
    throw InputError(source + ": " + path_of(frames) + ": " + why);
  };
  json::parser_callback_t callback = [&](int /*depth*/, json::parse_event_t event,
                                         json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (frames.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
          fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }
        frames.push_back(Frame{event == json::parse_event_t::array_start, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        Frame& top = frames.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) fail("duplicate key in one object");
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        if (!frames.empty() && frames.back().array) ++frames.back().index;
        break;
      case json::parse_event_t::value:
        if (!frames.empty() && frames.back().array) ++frames.back().index;
        break;
    }
    return true;
  };
  try {
    return json::parse(text, callback);
  } catch (const json::parse_error& e) {
    throw JsonSyntaxError(
        source + ": malformed JSON at " + path_of(frames) + ": " + short_message(e.what()), e.byte);
  } catch (const json::out_of_range&) {  // 406: a number beyond the range of double
    throw InputError(source + ": " + path_of(frames) + ": a number too large for a double");
  } catch (const json::exception& e) {
    throw InputError(source + ": " + path_of(frames) + ": " + short_message(e.what()));
  }
}

std::string json_type_of(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::binary:
      return "binary";
    case json::value_t::discarded:
      return "discarded";
    default:
      return "a number";
  }
}

}  // namespace batchcost
