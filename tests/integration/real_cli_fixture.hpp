#pragma once
// Shared set-up for tests that run the real pinned `claude` CLI against the loopback mock
// API: a mock server, a private HOME, and a pool config pointing the CLI at both.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <unistd.h>

#include "../support/eventually.hpp"
#include "mock_api/mock_api_server.hpp"
#include "claude_pool/pool.hpp"

namespace claude_pool::testing {

/// Environment variables to remove for a `claude-pool` child: without a key the program uses
/// its bundled mock API and the CLI scripts/setup installed.
inline const std::vector<std::string> no_api = {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
                                                "CLAUDE_POOL_CLAUDE_BIN"};

/// The CLI that scripts/setup installs (tests fail, not skip, when it is missing: CI
/// installs it).
inline std::string real_cli() { return CLAUDE_POOL_BUNDLED_CLI; }

/// Live (non-zombie) processes whose environment contains `marker`, with their names.
inline std::vector<std::pair<int, std::string>> pids_with_marker(const std::string& marker) {
  std::vector<std::pair<int, std::string>> out;
  auto dir = ::opendir("/proc");
  if (!dir)
    return out;
  while (auto entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream stat("/proc/" + name + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] == 'Z')
      continue;
    std::ifstream env("/proc/" + name + "/environ");
    std::string content((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    if (content.find(marker) != std::string::npos) {
      auto open = line.find('(');
      out.emplace_back(std::stoi(name), line.substr(open + 1, close - open - 1));
    }
  }
  ::closedir(dir);
  return out;
}

/// How many live processes carry `marker` in their environment.
inline int processes_with_marker(const std::string& marker) {
  return static_cast<int>(pids_with_marker(marker).size());
}

struct real_cli_fixture {
  mock_api::server mock;
  std::filesystem::path home;
  std::string marker;

  real_cli_fixture() {
    mock.start();
    char pattern[] = "/tmp/claude-pool-test-home-XXXXXX";
    home = ::mkdtemp(pattern);
    std::random_device rd;
    marker = "CLAUDE_POOL_TEST_MARKER=" + std::to_string(rd()) + std::to_string(rd());
  }

  ~real_cli_fixture() {
    mock.stop();
    std::error_code ignored;
    std::filesystem::remove_all(home, ignored);
  }

  /// A pool config that runs the real CLI against this fixture's mock.
  pool_config config(std::uint64_t slots) const {
    pool_config cfg;
    cfg.initial_slots = slots;
    cfg.scaling.max_slots = std::max<std::uint64_t>(slots, 16);
    cfg.claude_bin = real_cli();
    cfg.working_dir = home.string();
    cfg.cli_max_retries = 0; // error tests should fail at once, not after the CLI's backoff
    cfg.cli_env["ANTHROPIC_BASE_URL"] = mock.base_url();
    cfg.cli_env["ANTHROPIC_API_KEY"] = "test-key";
    cfg.cli_env["HOME"] = home.string();
    cfg.cli_env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
    auto eq = marker.find('=');
    cfg.cli_env[marker.substr(0, eq)] = marker.substr(eq + 1);
    return cfg;
  }

  /// Main (non-title) requests the mock has seen.
  std::vector<mock_api::logged_request> model_requests() const {
    std::vector<mock_api::logged_request> out;
    for (auto& r : mock.requests())
      if (r.path == "/v1/messages" && !r.is_title_request)
        out.push_back(r);
    return out;
  }
};

/// Every text of every user message in a logged request body, in order.
inline std::vector<std::string> user_texts(const nlohmann::json& body) {
  std::vector<std::string> out;
  if (!body.contains("messages"))
    return out;
  for (auto& m : body["messages"]) {
    if (m.value("role", "") != "user")
      continue;
    auto& c = m["content"];
    if (c.is_string()) {
      out.push_back(c.get<std::string>());
    } else if (c.is_array()) {
      for (auto& block : c)
        if (block.value("type", "") == "text")
          out.push_back(block.value("text", ""));
    }
  }
  return out;
}

} // namespace claude_pool::testing
