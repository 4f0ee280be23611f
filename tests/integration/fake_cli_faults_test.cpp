// Faults the real CLI cannot be made to produce, through the whole pool with the fake CLI.
#include <catch2/catch.hpp>

#include "real_cli_fixture.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;

namespace {

pool_config fake_config(const std::string& mode) {
  pool_config cfg;
  cfg.initial_slots = 1;
  cfg.claude_bin = CLAUDE_POOL_FAKE_CLI;
  cfg.cli_env["FAKE_CLAUDE_MODE"] = mode;
  return cfg;
}

} // namespace

TEST_CASE("a CLI that crashes fails the task with the signal and stderr", "[integration]") {
  claude_pool::pool p(fake_config("crash"));
  auto rec = p.run("x");
  REQUIRE(rec.state == task_state::failed);
  CHECK(rec.result->subtype == "crashed");
  CHECK(rec.result->exit_code == 128 + 6);
  CHECK(rec.result->stderr_text);
}

TEST_CASE("garbage on stdout fails the task as unparsable and the slot keeps working",
          "[integration]") {
  auto cfg = fake_config("garbage");
  claude_pool::pool p(cfg);
  auto rec = p.run("x");
  REQUIRE(rec.state == task_state::failed);
  CHECK(rec.result->subtype == "unparsable_output");
  CHECK(p.run("y").state == task_state::failed); // still answered, not stuck
}

TEST_CASE("output larger than max_output_bytes fails clearly instead of eating memory",
          "[integration]") {
  auto cfg = fake_config("huge");
  cfg.cli_env["FAKE_CLAUDE_BYTES"] = std::to_string(8 << 20);
  cfg.max_output_bytes = 1 << 20;
  claude_pool::pool p(cfg);
  auto rec = p.run("x");
  REQUIRE(rec.state == task_state::failed);
  CHECK(rec.result->subtype == "output_too_large");
}

TEST_CASE("a CLI that ignores SIGINT is killed at its timeout", "[integration]") {
  auto cfg = fake_config("hang_ignore_int");
  cfg.task_timeout_secs = 1;
  claude_pool::pool p(cfg);
  auto rec = p.run("x");
  REQUIRE(rec.state == task_state::failed);
  CHECK(rec.result->subtype == "timeout");
}

TEST_CASE("the prompt reaches the CLI byte-exact on stdin, never in argv", "[integration]") {
  auto cfg = fake_config("stdin_echo");
  claude_pool::pool p(cfg);
  std::string prompt = "--help\n$(whoami) \"q\" 'q' \xF0\x9F\x9A\x80\n";
  auto rec = p.run(prompt);
  REQUIRE(rec.state == task_state::completed);
  CHECK(rec.result->output == prompt);
}

TEST_CASE("a permission prompt on stderr is reported as such", "[integration]") {
  claude_pool::pool p(fake_config("permission_prompt"));
  auto rec = p.run("x");
  REQUIRE(rec.state == task_state::failed);
  CHECK(rec.result->subtype == "permission_prompt");
  CHECK_THAT(rec.result->output, Catch::Contains("allowed_tools"));
}

TEST_CASE("the CLI child gets the pool's environment without the nested-session variables",
          "[integration]") {
  ::setenv("CLAUDECODE", "1", 1);
  ::setenv("CLAUDE_CODE_ENTRYPOINT", "cli", 1);
  auto cfg = fake_config("env");
  cfg.cli_max_retries = 5;
  cfg.cli_env["EXTRA_FOR_CLI"] = "yes";
  claude_pool::pool p(cfg);
  auto rec = p.run("x");
  ::unsetenv("CLAUDECODE");
  ::unsetenv("CLAUDE_CODE_ENTRYPOINT");
  REQUIRE(rec.state == task_state::completed);
  auto& env = rec.result->output;
  CHECK(env.find("\nCLAUDECODE=") == std::string::npos);
  CHECK(env.rfind("CLAUDECODE=", 0) == std::string::npos);
  CHECK(env.find("CLAUDE_CODE_ENTRYPOINT=") == std::string::npos);
  CHECK(env.find("CLAUDE_CODE_MAX_RETRIES=5\n") != std::string::npos);
  CHECK(env.find("EXTRA_FOR_CLI=yes\n") != std::string::npos);
}
