// Reading a user's file and parsing it as JSON, with the checks every reader needs: an errno
// message that says what went wrong (permission, symlink loop, a folder given as a file, a read
// error, an empty file), a depth limit while parsing (deeply nested JSON would otherwise overflow
// the stack of anything that walks the document recursively: copies, dumps, comparisons), a
// duplicate key inside one object refused (JSON leaves its meaning open; nlohmann keeps the last),
// and errors that name the file and the path of the entry ("benchmarks[3].bytes"). Host C++ only.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/input_error.h"

namespace batchcost {

// Our files nest a handful of levels; anything deeper than this is not one of them.
inline constexpr int kMaxJsonDepth = 64;

// Malformed JSON; `byte` is where the parser stopped (for readers that recognise a token there).
class JsonSyntaxError : public InputError {
 public:
  JsonSyntaxError(const std::string& message, std::size_t at) : InputError(message), byte(at) {}
  std::size_t byte;
};

// What an errno says about a path, in words ("permission denied", "a symbolic link loop", ...).
std::string errno_text(int err);

// The whole content of a regular file. Throws InputError naming `path` and the cause: no such
// file, permission denied, too many symbolic links, a folder, a read error (with errno's text),
// or an empty file when `allow_empty` is false. A leading UTF-8 byte-order mark is dropped.
std::string read_input_file(const std::string& path, bool allow_empty = false);

// Parses `text` as one JSON document. Throws InputError "SOURCE: PATH: why" for malformed JSON
// (with the line and column), nesting deeper than kMaxJsonDepth, a duplicate key in one object,
// or a number too large for a double; PATH is the entry where it happened ("benchmarks[2].flops").
nlohmann::json parse_json_input(const std::string& text, const std::string& source);

// The JSON type of a value for messages ("a string", "an object"): messages never dump values,
// which may be arbitrarily large or deep.
std::string json_type_of(const nlohmann::json& value);

}  // namespace batchcost
