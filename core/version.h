// Which batchcost wrote a file: project()'s version, the git commit at configure time and the
// build type (cmake/BatchcostVersion.cmake). `batchcost --version` prints it; model.json and
// every benchmark result's context carry it as the `batchcost` object. Link batchcost_version.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "batchcost_version.h"

#ifndef BATCHCOST_BUILD_TYPE
#error "link the batchcost_version target: it defines BATCHCOST_BUILD_TYPE"
#endif

namespace batchcost {

inline constexpr const char* kVersion = BATCHCOST_VERSION_STRING;
inline constexpr const char* kGitSha = BATCHCOST_GIT_SHA_STRING;  // "unknown" outside git
inline constexpr const char* kBuildType = BATCHCOST_BUILD_TYPE;   // "Release", "Debug", ...

// "batchcost 0.1.0 (git 0b7a539c1d2e, Release)"
inline std::string version_line() {
  return std::string("batchcost ") + kVersion + " (git " + kGitSha + ", " + kBuildType + ")";
}

// {"version": "0.1.0", "git_sha": "0b7a539c1d2e", "build_type": "Release"}
inline nlohmann::ordered_json version_json() {
  return {{"version", kVersion}, {"git_sha", kGitSha}, {"build_type", kBuildType}};
}

}  // namespace batchcost
