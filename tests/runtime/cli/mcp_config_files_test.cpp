#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>

#include "runtime/cli/cli_command.hpp"
#include "runtime/cli/mcp_config_files.hpp"
#include "runtime/cli/resolved_config.hpp"

using namespace claude_pool;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace

TEST_CASE("MCP servers go to a 0600 file per slot in a 0700 directory, removed at the end",
          "[mcp]") {
  std::string dir, path;
  {
    mcp_config_files files;
    mcp_server_map servers{{"files", {{"command", "mcp-files"}, {"env", {{"TOKEN", "s3cret"}}}}}};
    path = files.path_for(slot_id{"slot-0"}, servers);
    dir = files.directory();
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(path) == 0600);
    auto j = nlohmann::json::parse(read(path));
    CHECK(j["mcpServers"]["files"]["env"]["TOKEN"] == "s3cret");
    // Same servers: same file; changed servers: rewritten in place, still 0600.
    CHECK(files.path_for(slot_id{"slot-0"}, servers) == path);
    servers["other"] = {{"command", "x"}};
    CHECK(files.path_for(slot_id{"slot-0"}, servers) == path);
    CHECK(nlohmann::json::parse(read(path))["mcpServers"].size() == 2);
    CHECK(mode_of(path) == 0600);
    auto other = files.path_for(slot_id{"slot-1"}, servers);
    CHECK(other != path);
    files.remove(slot_id{"slot-1"});
    CHECK_FALSE(fs::exists(other));
    CHECK(fs::exists(path));
  }
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("with a file, --mcp-config names it instead of carrying the JSON", "[mcp]") {
  resolved_config c;
  c.mcp_servers = {{"files", {{"command", "mcp-files"}}}};
  c.mcp_config_path = "/tmp/x/slot-0.mcp.json";
  auto args = build_cli_args(c, std::nullopt);
  CHECK(std::find(args.begin(), args.end(), "--mcp-config=/tmp/x/slot-0.mcp.json") != args.end());
  CHECK(std::find(args.begin(), args.end(), "--strict-mcp-config") != args.end());
}

TEST_CASE("unattended mode makes the default permission mode dontAsk unless one is chosen",
          "[mcp][config]") {
  pool_config pool;
  slot_config slot;
  pool.unattended_mode = true;
  CHECK(resolve_config(pool, slot, nullptr).permission_mode == permission_mode::dont_ask);
  task_overrides task;
  task.permission_mode = permission_mode::accept_edits;
  CHECK(resolve_config(pool, slot, &task).permission_mode == permission_mode::accept_edits);
  slot.permission_mode = permission_mode::plan;
  CHECK(resolve_config(pool, slot, nullptr).permission_mode == permission_mode::plan);
  slot.permission_mode.reset();
  pool.permission_mode = permission_mode::bypass_permissions;
  CHECK(resolve_config(pool, slot, nullptr).permission_mode
        == permission_mode::bypass_permissions);
  pool.unattended_mode = false;
  pool.permission_mode = permission_mode::plan;
  CHECK(resolve_config(pool, slot, nullptr).permission_mode == permission_mode::plan);
  CHECK(cli_spelling(permission_mode::dont_ask) == "dontAsk");
}
