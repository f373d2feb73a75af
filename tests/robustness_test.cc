// Host tests of what every reader and writer shares (core/input_file.h, core/atomic_file.h) and
// of the bounds of the LLM configuration reader: a depth limit and duplicate keys refused while
// parsing, errno messages, counts checked in 64 bits before narrowing, and the atomic writer
// (unique temporaries, concurrent writers, a symbolic link at the old fixed name, SIGTERM).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/atomic_file.h"
#include "core/input_file.h"
#include "predict/model_config.h"
#include "tests/scratch.h"

namespace batchcost {
namespace {

namespace fs = std::filesystem;

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

class Scratch : public ::testing::Test {
 protected:
  std::string at(const std::string& name) const { return (dir_ / name).string(); }
  size_t entries() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }
  batchcost::testing::Scratch scratch_{"robust"};
  fs::path dir_ = scratch_.path();
};

TEST(ParseJsonInput, RefusesADuplicateKeyNamingItsPath) {
  EXPECT_EQ(message_of([] { parse_json_input(R"({"a": {"b": 1, "b": 2}})", "f.json"); }),
            "f.json: a.b: duplicate key in one object");
  EXPECT_EQ(message_of([] { parse_json_input(R"({"a": [{"b": 1}, {"b": 2}]})", "f.json"); }), "");
}

TEST(ParseJsonInput, LimitsTheDepthWhileParsing) {
  auto nested = [](int levels) {
    return std::string(static_cast<size_t>(levels), '[') +
           std::string(static_cast<size_t>(levels), ']');
  };
  EXPECT_EQ(message_of([&] { parse_json_input(nested(kMaxJsonDepth), "f.json"); }), "");
  EXPECT_EQ(message_of([&] { parse_json_input(nested(kMaxJsonDepth + 1), "f.json"); }),
            "f.json: [0][0][0][0][0][0]...: nested deeper than 64 levels");
  // 100k levels: refused at level 65, long before any recursion could overflow the stack.
  EXPECT_NE(message_of([&] { parse_json_input("{\"x\": " + nested(100000) + "}", "f.json"); }), "");
}

TEST(ParseJsonInput, NamesTheEntryOfANumberTooLargeForADouble) {
  EXPECT_EQ(message_of([] { parse_json_input(R"({"b": [1, 2, 1e400]})", "f.json"); }),
            "f.json: b[2]: a number too large for a double");
}

TEST(ParseJsonInput, GivesTypesNotValues) {
  EXPECT_EQ(json_type_of(nlohmann::json::object()), "an object");
  EXPECT_EQ(json_type_of(nlohmann::json("x")), "a string");
  EXPECT_EQ(json_type_of(nlohmann::json(1.5)), "a number");
}

TEST_F(Scratch, ReadInputFileSaysWhy) {
  EXPECT_EQ(message_of([&] { read_input_file(at("none")); }),
            at("none") + ": cannot be read: no such file or folder");
  EXPECT_EQ(message_of([&] { read_input_file(dir_.string()); }),
            dir_.string() + ": is a folder, not a file");
  fs::create_symlink(at("loop"), at("loop"));
  EXPECT_EQ(message_of([&] { read_input_file(at("loop")); }),
            at("loop") +
                ": cannot be read: too many levels of symbolic links (a symbolic link "
                "loop?)");
  std::ofstream(at("empty")).close();
  EXPECT_EQ(message_of([&] { read_input_file(at("empty")); }), at("empty") + ": empty file");
  EXPECT_EQ(read_input_file(at("empty"), /*allow_empty=*/true), "");
  if (geteuid() != 0) {  // root reads anything
    std::ofstream(at("secret")) << "x";
    fs::permissions(at("secret"), fs::perms::none);
    EXPECT_EQ(message_of([&] { read_input_file(at("secret")); }),
              at("secret") + ": cannot be read: permission denied");
  }
}

TEST_F(Scratch, AtomicWriteReplacesAndLeavesNothingBehind) {
  write_file_atomic(at("m.json"), "one\n");
  write_file_atomic(at("m.json"), "two\n");
  EXPECT_EQ(slurp(at("m.json")), "two\n");
  EXPECT_EQ(entries(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(at("m.json").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & S_IRGRP, 0u) << "mkstemp's 0600 was kept (umask allows group read)";
}

TEST_F(Scratch, AtomicWriteNeverFollowsALinkAtATemporaryName) {
  std::ofstream(at("victim")) << "keep";
  fs::create_symlink(at("victim"), at("m.json.partial"));  // the old fixed temporary name
  fs::create_symlink(at("victim"), at(".m.json.XXXXXX"));
  write_file_atomic(at("m.json"), "new");
  EXPECT_EQ(slurp(at("victim")), "keep");
  EXPECT_EQ(slurp(at("m.json")), "new");
}

TEST_F(Scratch, AtomicWriteFailsNamingThePathAndTheCause) {
  EXPECT_EQ(message_of([&] { write_file_atomic(at("no/m.json"), "x"); }),
            at("no/m.json") + ": cannot be written: cannot create a temporary file in " +
                at("no/") + ": No such file or directory");
  EXPECT_EQ(message_of([&] { write_file_atomic(dir_.string(), "x"); }),
            dir_.string() + ": cannot be written: is a folder");
  EXPECT_EQ(entries(), 0u);
}

TEST_F(Scratch, ConcurrentWritersLeaveOneWholeFile) {
  // Two processes write the same path 100 times each with texts of 1 MB; each read sees one of
  // them whole (a shared temporary name interleaved them).
  const std::string a(1 << 20, 'a'), b(1 << 20, 'b');
  pid_t children[2];
  for (int i = 0; i < 2; ++i) {
    children[i] = fork();
    ASSERT_GE(children[i], 0);
    if (children[i] == 0) {
      for (int n = 0; n < 100; ++n) write_file_atomic(at("m.json"), i == 0 ? a : b);
      _exit(0);
    }
  }
  int torn = 0, reads = 0;
  for (int alive = 2; alive > 0;) {
    if (fs::exists(at("m.json"))) {
      const std::string got = slurp(at("m.json"));
      ++reads;
      torn += got != a && got != b;
    }
    alive = 0;
    for (pid_t c : children) alive += waitpid(c, nullptr, WNOHANG) == 0;
  }
  EXPECT_EQ(torn, 0) << "of " << reads << " reads";
  const std::string last = slurp(at("m.json"));
  EXPECT_TRUE(last == a || last == b);
  EXPECT_EQ(entries(), 1u);
}

TEST_F(Scratch, SigtermRemovesARegisteredTemporaryAndChainsToTheHandlerBefore) {
  const std::string tmp = at(".m.json.abc123");
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::signal(SIGTERM, [](int) { _exit(42); });  // a handler installed before the registry
    std::ofstream(tmp) << "partial";
    TemporaryFileGuard guard(tmp);
    ::raise(SIGTERM);
    _exit(0);  // not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42);
  EXPECT_FALSE(fs::exists(tmp));

  child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::signal(SIGINT, SIG_DFL);
    std::ofstream(tmp) << "partial";
    TemporaryFileGuard guard(tmp);
    ::raise(SIGINT);
    _exit(0);
  }
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the default action (end by the signal) was not kept";
  EXPECT_EQ(WTERMSIG(status), SIGINT);
  EXPECT_FALSE(fs::exists(tmp));
}

// A shipped configuration with one field replaced.
nlohmann::json llama_with(const std::string& pointer, const nlohmann::json& value) {
  nlohmann::json doc = parse_json_input(
      read_input_file(std::string(std::getenv("BATCHCOST_SOURCE_DIR")) + "/models/llama-3-8b.json"),
      "llama-3-8b.json");
  doc[nlohmann::json::json_pointer(pointer)] = value;
  return doc;
}

TEST(LlmConfigBounds, ChecksCountsIn64BitsBeforeNarrowing) {
  auto why = [](const std::string& pointer, const nlohmann::json& value) {
    return message_of([&] { llm_config_from_json(llama_with(pointer, value), "m.json"); });
  };
  EXPECT_EQ(why("/layers", (std::int64_t{1} << 32) + 1), "m.json: layers: above 100000");
  EXPECT_EQ(why("/attention/heads", std::int64_t{1} << 32),
            "m.json: attention.heads: above 1048576");
  EXPECT_EQ(why("/attention/heads", 2147483647), "m.json: attention.heads: above 1048576");
  EXPECT_EQ(why("/hidden", std::uint64_t{18446744073709551615u}), "m.json: hidden: above 16777216");
  EXPECT_EQ(why("/vocab", -1), "m.json: vocab: below 1");
  EXPECT_EQ(why("/layers", 1e20), "m.json: layers: not an integer but a number");
  EXPECT_EQ(why("/layers", "32"), "m.json: layers: not an integer but a string");
  EXPECT_EQ(why("/layers", 32), "");
}

}  // namespace
}  // namespace batchcost
