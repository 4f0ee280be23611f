#include "runtime/node/node_tokens.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace claude_pool;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed with everything in it.
struct scratch_dir {
  std::string path;

  scratch_dir() {
    char pattern[] = "/tmp/claude-pool-tokens-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, ec);
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

// The umask is per process: set for one test, restored after it.
struct umask_set {
  mode_t old;
  explicit umask_set(mode_t mask) : old(::umask(mask)) {}
  ~umask_set() { ::umask(old); }
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string contents(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void put(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

bool is_hex_token(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

TEST_CASE("a token is 64 hex digits and no two are alike", "[node_tokens]") {
  auto a = generate_token();
  auto b = generate_token();
  CHECK(is_hex_token(a));
  CHECK(is_hex_token(b));
  CHECK(a != b);
}

TEST_CASE("a node role is spelled submit or admin", "[node_tokens]") {
  CHECK(to_string(node_role::submit) == "submit");
  CHECK(to_string(node_role::admin) == "admin");
  CHECK(parse_node_role("submit") == node_role::submit);
  CHECK(parse_node_role("admin") == node_role::admin);
  CHECK_FALSE(parse_node_role("root").has_value());
  CHECK_FALSE(parse_node_role("").has_value());
}

TEST_CASE("a token file is mode 0600 and its new directory 0700 even with umask 0",
          "[node_tokens]") {
  scratch_dir scratch;
  umask_set mask(0);
  auto dir = scratch / "nested/tokens";
  auto file = dir + "/admin.token";
  auto token = generate_token();
  write_token_file(file, token);
  CHECK(mode_of(file) == 0600);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(scratch / "nested") == 0700);
  CHECK(contents(file) == token + "\n");
  CHECK(read_token_file(file) == token);
}

TEST_CASE("a token file is readable by its owner even with umask 0777", "[node_tokens]") {
  scratch_dir scratch;
  umask_set mask(0777);
  auto file = scratch / "new/token";
  auto token = generate_token();
  write_token_file(file, token);
  CHECK(mode_of(file) == 0600);
  CHECK(mode_of(scratch / "new") == 0700);
  CHECK(read_token_file(file) == token);
}

TEST_CASE("writing a token over another replaces it and leaves no temporary file",
          "[node_tokens]") {
  scratch_dir scratch;
  auto file = scratch / "token";
  write_token_file(file, generate_token());
  auto second = generate_token();
  write_token_file(file, second);
  CHECK(read_token_file(file) == second);
  std::vector<std::string> names;
  for (auto& entry : fs::directory_iterator(scratch.path))
    names.push_back(entry.path().filename().string());
  CHECK(names == std::vector<std::string>{"token"});
}

TEST_CASE("writing a token over a symlink replaces the link and never writes through it",
          "[node_tokens]") {
  scratch_dir scratch;
  auto victim = scratch / "victim";
  put(victim, "precious\n", 0600);
  auto file = scratch / "token";
  REQUIRE(::symlink(victim.c_str(), file.c_str()) == 0);
  auto token = generate_token();
  write_token_file(file, token);
  CHECK(contents(victim) == "precious\n");
  CHECK(fs::is_regular_file(fs::symlink_status(file)));
  CHECK(read_token_file(file) == token);
}

TEST_CASE("a token is not written into a directory others may write to", "[node_tokens]") {
  scratch_dir scratch;
  auto dir = scratch / "shared";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(dir.c_str(), 0770) == 0);
  REQUIRE_THROWS_WITH(write_token_file(dir + "/token", generate_token()),
                      Contains(dir) && Contains("0770") && Contains("chmod go-w"));
  REQUIRE(::chmod(dir.c_str(), 0703) == 0);
  REQUIRE_THROWS_AS(write_token_file(dir + "/token", generate_token()), token_error);
  CHECK_FALSE(fs::exists(dir + "/token"));
}

TEST_CASE("something that is not a token is not written", "[node_tokens]") {
  scratch_dir scratch;
  REQUIRE_THROWS_AS(write_token_file(scratch / "token", "secret"), token_error);
  CHECK_FALSE(fs::exists(scratch / "token"));
}

TEST_CASE("a token file readable by others is refused with the chmod that fixes it",
          "[node_tokens]") {
  scratch_dir scratch;
  auto file = scratch / "token";
  put(file, generate_token() + "\n", 0644);
  REQUIRE_THROWS_WITH(read_token_file(file),
                      Contains("0644") && Contains("chmod 600 " + file));
  REQUIRE(::chmod(file.c_str(), 0620) == 0);
  REQUIRE_THROWS_WITH(read_token_file(file), Contains("chmod 600 " + file));
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  CHECK_NOTHROW(read_token_file(file));
}

TEST_CASE("a token file that holds no token is refused", "[node_tokens]") {
  scratch_dir scratch;
  auto file = scratch / "token";
  auto token = generate_token();
  auto refused = [&](const std::string& text, const std::string& why) {
    put(file, text, 0600);
    REQUIRE_THROWS_WITH(read_token_file(file), Contains(file) && Contains(why));
  };
  refused("", "is empty");
  refused("\n", "holds 0 characters");
  refused(token.substr(1) + "\n", "holds 63 characters");
  refused(token + "0\n", "holds 65 characters");
  refused(token + "\n\n", "holds 65 characters");
  refused(" " + token.substr(1), "not a hex digit");
  refused(token.substr(1) + "g", "not a hex digit");
  put(file, token, 0600);  // the newline is optional
  CHECK(read_token_file(file) == token);
}

TEST_CASE("a missing token file is refused naming its path", "[node_tokens]") {
  scratch_dir scratch;
  auto file = scratch / "absent/token";
  REQUIRE_THROWS_WITH(read_token_file(file),
                      Contains("cannot read token file " + file) &&
                          Contains("No such file or directory") &&
                          Contains("CLAUDE_POOL_TOKEN_FILE"));
  REQUIRE_THROWS_WITH(read_token_file(scratch.path), Contains("not a regular file"));
}

TEST_CASE("ensuring a token file creates it once and then reads it back", "[node_tokens]") {
  scratch_dir scratch;
  auto file = scratch / "node/token";
  auto first = ensure_token_file(file);
  CHECK(is_hex_token(first));
  CHECK(mode_of(file) == 0600);
  CHECK(ensure_token_file(file) == first);
  CHECK(read_token_file(file) == first);
}

TEST_CASE("ensuring a token file refuses an existing bad one instead of replacing it",
          "[node_tokens]") {
  scratch_dir scratch;
  auto file = scratch / "token";
  put(file, generate_token() + "\n", 0644);
  REQUIRE_THROWS_WITH(ensure_token_file(file), Contains("chmod 600"));
  CHECK(mode_of(file) == 0644);
}

TEST_CASE("processes ensuring the same token file at once all get the same token",
          "[node_tokens]") {
  scratch_dir scratch;
  auto file = scratch / "token";
  std::vector<std::string> tokens(8);
  std::vector<std::thread> threads;
  for (auto& token : tokens) threads.emplace_back([&] { token = ensure_token_file(file); });
  for (auto& t : threads) t.join();
  for (auto& token : tokens) CHECK(token == tokens.front());
  CHECK(read_token_file(file) == tokens.front());
}

TEST_CASE("tokens are equal only when every byte and the length agree", "[node_tokens]") {
  auto token = generate_token();
  auto other = token;
  other.back() = other.back() == '0' ? '1' : '0';
  CHECK(tokens_equal(token, token));
  CHECK(tokens_equal(token, std::string(token)));
  CHECK(tokens_equal("", ""));
  CHECK_FALSE(tokens_equal(token, other));
  CHECK_FALSE(tokens_equal(token, "x" + token.substr(1)));
  CHECK_FALSE(tokens_equal(token, token.substr(0, 63)));
  CHECK_FALSE(tokens_equal(token, token + "0"));
  CHECK_FALSE(tokens_equal(token, ""));
}

TEST_CASE("the default token directory is under XDG_RUNTIME_DIR, else under HOME",
          "[node_tokens]") {
  scratch_dir scratch;
  auto saved = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
  };
  auto restore = [](const char* name, const std::optional<std::string>& v) {
    if (v)
      ::setenv(name, v->c_str(), 1);
    else
      ::unsetenv(name);
  };
  auto runtime = saved("XDG_RUNTIME_DIR");
  auto home = saved("HOME");
  auto token_file = saved("CLAUDE_POOL_TOKEN_FILE");
  ::setenv("XDG_RUNTIME_DIR", scratch.path.c_str(), 1);
  ::setenv("HOME", "/nonexistent", 1);
  CHECK(default_token_dir() == scratch / "claude-pool");
  ::setenv("XDG_RUNTIME_DIR", (scratch / "missing").c_str(), 1);
  ::setenv("HOME", scratch.path.c_str(), 1);
  CHECK(default_token_dir() == scratch / ".claude-pool");
  ::unsetenv("XDG_RUNTIME_DIR");
  CHECK(default_token_dir() == scratch / ".claude-pool");
  ::unsetenv("HOME");
  CHECK_THROWS_AS(default_token_dir(), token_error);
  ::unsetenv("CLAUDE_POOL_TOKEN_FILE");
  CHECK(token_file_from_env().empty());
  ::setenv("CLAUDE_POOL_TOKEN_FILE", "/etc/claude-pool/admin.token", 1);
  CHECK(token_file_from_env() == "/etc/claude-pool/admin.token");
  restore("XDG_RUNTIME_DIR", runtime);
  restore("HOME", home);
  restore("CLAUDE_POOL_TOKEN_FILE", token_file);
}
