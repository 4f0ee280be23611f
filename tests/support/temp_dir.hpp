#pragma once
// A scratch directory under /tmp for one test, removed with everything in it (worktrees,
// stores, logs). Its path is canonical, as git and the CLI report paths.

#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

namespace claude_pool::testing {

struct temp_dir {
  std::string path;

  /// `/tmp/<prefix>-XXXXXX`.
  explicit temp_dir(const std::string& prefix = "claude-pool-test") {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = std::filesystem::canonical(pattern).string();
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// The path of `name` inside it.
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

} // namespace claude_pool::testing
