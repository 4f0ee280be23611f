#include "runtime/cli/cli_command.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace claude_pool;
using nlohmann::json;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

using strings = std::vector<std::string>;

resolved_config full_config() {
  resolved_config c;
  c.model = "claude-sonnet-4-5";
  c.permission_mode = permission_mode::accept_edits;
  c.max_turns = 7;
  c.system_prompt = "Answer in French.";
  c.allowed_tools = {"Read", "Bash(git *)"};
  c.disallowed_tools = {"WebFetch", "Write"};
  c.tools = strings{"Bash", "Edit", "Read"};
  c.mcp_servers = {{"files", json{{"command", "mcp-files"}, {"args", {"--root", "/srv"}}}}};
  c.strict_mcp_config = true;
  c.effort = effort::high;
  c.fallback_model = "claude-haiku-4-5";
  c.json_schema = json{{"type", "object"},
                       {"properties", {{"name", {{"type", "string"}}}}},
                       {"required", {"name"}}};
  c.max_budget_usd = 0.25;
  c.slot_name = "rev-1";
  c.slot_role = "reviewer";
  c.slot_description = "Reviews diffs for safety.";
  c.bare = true;
  return c;
}

/// The arguments starting with `prefix`.
strings with_prefix(const strings& args, const std::string& prefix) {
  strings out;
  for (auto& a : args)
    if (a.rfind(prefix, 0) == 0)
      out.push_back(a);
  return out;
}

/// The single argument starting with `prefix` (fails the test when there is not exactly one).
std::string the_arg(const strings& args, const std::string& prefix) {
  auto found = with_prefix(args, prefix);
  INFO("prefix " << prefix);
  REQUIRE(found.size() == 1);
  return found.front();
}

std::size_t count_of(const strings& args, const std::string& exact) {
  return static_cast<std::size_t>(std::count(args.begin(), args.end(), exact));
}

/// Every long option name (`--name`) and `-p` mentioned in the pinned CLI's --help.
std::set<std::string> help_flags() {
  std::ifstream in(std::string(CLAUDE_POOL_TEST_FIXTURES) + "/claude_help.txt");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  std::set<std::string> flags;
  std::regex flag(R"((^|[\s,(])(--[A-Za-z][A-Za-z0-9-]*|-[A-Za-z])\b)");
  for (std::sregex_iterator it(text.begin(), text.end(), flag), end; it != end; ++it)
    flags.insert((*it)[2].str());
  return flags;
}

std::string flag_name(const std::string& arg) { return arg.substr(0, arg.find('=')); }

} // namespace

TEST_CASE("the argv is print mode with JSON output and never contains the prompt",
          "[cli_command]") {
  const std::string prompt = "UNIQUE-PROMPT-TEXT: delete nothing";
  auto args = build_cli_args(full_config(), std::string("sess-123"));
  REQUIRE(args.size() >= 2);
  CHECK(args[0] == "-p");
  CHECK(args[1] == "--output-format=json");
  CHECK(count_of(args, "-p") == 1);
  for (auto& a : args) {
    CHECK(a.find(prompt) == std::string::npos);
    CHECK((a.rfind("--", 0) == 0 || a == "-p")); // no positional argument at all
  }
}

TEST_CASE("a fully populated config emits every flag in its --flag=value form",
          "[cli_command]") {
  auto cfg = full_config();
  auto args = build_cli_args(cfg, std::string("0b731784-3016-4ce8-bb90-ecf919f02e55"));

  CHECK(count_of(args, "--bare") == 1);
  CHECK(the_arg(args, "--model=") == "--model=claude-sonnet-4-5");
  CHECK(the_arg(args, "--permission-mode=") == "--permission-mode=acceptEdits");
  CHECK(the_arg(args, "--max-turns=") == "--max-turns=7");
  CHECK(the_arg(args, "--allowedTools=") == "--allowedTools=Read,Bash(git *)");
  CHECK(the_arg(args, "--disallowedTools=") == "--disallowedTools=WebFetch,Write");
  CHECK(the_arg(args, "--tools=") == "--tools=Bash,Edit,Read");
  CHECK(the_arg(args, "--effort=") == "--effort=high");
  CHECK(the_arg(args, "--fallback-model=") == "--fallback-model=claude-haiku-4-5");
  CHECK(the_arg(args, "--max-budget-usd=") == "--max-budget-usd=0.25");
  CHECK(the_arg(args, "--resume=") == "--resume=0b731784-3016-4ce8-bb90-ecf919f02e55");
  // Resuming forks, so a failed task never ends up in the session the slot continues.
  CHECK(std::count(args.begin(), args.end(), "--fork-session") == 1);

  auto schema = the_arg(args, "--json-schema=").substr(std::string("--json-schema=").size());
  CHECK(json::parse(schema) == *cfg.json_schema);
  CHECK(schema == cfg.json_schema->dump()); // compact: no spaces or newlines
  CHECK(schema.find('\n') == std::string::npos);
  CHECK(schema.find(": ") == std::string::npos);

  auto mcp = json::parse(the_arg(args, "--mcp-config=").substr(std::string("--mcp-config=").size()));
  CHECK(mcp == json{{"mcpServers",
                     {{"files", {{"command", "mcp-files"}, {"args", {"--root", "/srv"}}}}}}});
  CHECK(count_of(args, "--strict-mcp-config") == 1);

  auto sp = the_arg(args, "--append-system-prompt=");
  CHECK_THAT(sp, Contains("Answer in French."));
  CHECK_THAT(sp, Contains("rev-1"));
  CHECK_THAT(sp, Contains("reviewer"));
  CHECK_THAT(sp, Contains("Reviews diffs for safety."));
  CHECK(with_prefix(args, "--system-prompt").empty());
}

TEST_CASE("every permission mode is passed in the CLI's own spelling", "[cli_command]") {
  const std::vector<std::pair<permission_mode, std::string>> all{
    {permission_mode::accept_edits, "acceptEdits"},
    {permission_mode::auto_mode, "auto"},
    {permission_mode::bypass_permissions, "bypassPermissions"},
    {permission_mode::default_mode, "default"},
    {permission_mode::dont_ask, "dontAsk"},
    {permission_mode::plan, "plan"}};
  for (auto& [mode, spelling] : all) {
    resolved_config c;
    c.permission_mode = mode;
    CHECK(the_arg(build_cli_args(c, std::nullopt), "--permission-mode=")
          == "--permission-mode=" + spelling);
  }
}

TEST_CASE("a default config emits only what the defaults imply", "[cli_command]") {
  CHECK(build_cli_args(resolved_config{}, std::nullopt) == strings{"-p", "--output-format=json"});

  // The pool's default config implies plan mode and nothing else.
  auto from_defaults = resolve_config(pool_config{}, slot_config{}, nullptr);
  CHECK(build_cli_args(from_defaults, std::nullopt)
        == strings{"-p", "--output-format=json", "--permission-mode=plan"});
}

TEST_CASE("the bare flag appears only when bare is set", "[cli_command]") {
  resolved_config c;
  CHECK(count_of(build_cli_args(c, std::nullopt), "--bare") == 0);
  c.bare = true;
  CHECK(count_of(build_cli_args(c, std::nullopt), "--bare") == 1);
}

TEST_CASE("the strict MCP flag accompanies the MCP config only when strict and servers exist",
          "[cli_command]") {
  resolved_config c;
  c.strict_mcp_config = true;
  auto none = build_cli_args(c, std::nullopt);
  CHECK(with_prefix(none, "--mcp-config").empty());
  CHECK(count_of(none, "--strict-mcp-config") == 0);

  c.mcp_servers = {{"x", json{{"command", "x"}}}};
  c.strict_mcp_config = false;
  auto lax = build_cli_args(c, std::nullopt);
  CHECK(with_prefix(lax, "--mcp-config=").size() == 1);
  CHECK(count_of(lax, "--strict-mcp-config") == 0);
}

TEST_CASE("an explicitly empty tools list is passed as an empty --tools value",
          "[cli_command]") {
  resolved_config c;
  c.tools = strings{};
  CHECK(the_arg(build_cli_args(c, std::nullopt), "--tools") == "--tools=");
}

TEST_CASE("the appended system prompt joins the configured prompt and the slot identity",
          "[cli_command]") {
  resolved_config c;
  CHECK_FALSE(appended_system_prompt(c));

  c.system_prompt = "Be terse.";
  CHECK(appended_system_prompt(c) == std::optional<std::string>("Be terse."));

  resolved_config identity_only;
  identity_only.slot_role = "coder";
  auto text = appended_system_prompt(identity_only);
  REQUIRE(text);
  CHECK_THAT(*text, Contains("coder"));

  c.slot_name = "w-2";
  c.slot_description = "Writes tests.";
  auto both = appended_system_prompt(c);
  REQUIRE(both);
  CHECK_THAT(*both, StartsWith("Be terse."));
  CHECK_THAT(*both, Contains("w-2"));
  CHECK_THAT(*both, Contains("Writes tests."));
}

TEST_CASE("every flag name the builder can emit appears in the pinned CLI's --help",
          "[cli_command]") {
  auto documented = help_flags();
  // Sanity: the parser found the help's options.
  REQUIRE(documented.count("--output-format") == 1);
  REQUIRE(documented.count("-p") == 1);

  // --max-turns works but is hidden from --help (CLI_FACTS.md, "Permissions in -p mode").
  // If the CLI ever documents it, this exception can go.
  const std::set<std::string> hidden_but_accepted{"--max-turns"};
  CHECK(documented.count("--max-turns") == 0);

  auto args = build_cli_args(full_config(), std::string("sess"));
  std::set<std::string> emitted;
  for (auto& a : args)
    emitted.insert(flag_name(a));
  // The full config exercises every flag the builder knows.
  CHECK(emitted
        == std::set<std::string>{"-p", "--output-format", "--bare", "--model",
                                 "--permission-mode", "--max-turns", "--append-system-prompt",
                                 "--allowedTools", "--disallowedTools", "--tools",
                                 "--mcp-config", "--strict-mcp-config", "--effort",
                                 "--fallback-model", "--json-schema", "--max-budget-usd",
                                 "--resume", "--fork-session"});
  for (auto& name : emitted) {
    if (hidden_but_accepted.count(name))
      continue;
    INFO("flag " << name);
    CHECK(documented.count(name) == 1);
  }
}

TEST_CASE("format_usd prints dollars without float noise", "[cli_command]") {
  CHECK(format_usd(0.25) == "0.25");
  CHECK(format_usd(0.1 + 0.2) == "0.3");
  CHECK(format_usd(1.0) == "1");
  CHECK(format_usd(10.0) == "10");
  CHECK(format_usd(0.0001) == "0.0001");
  CHECK(format_usd(2.5) == "2.5");
  CHECK(format_usd(0.123456) == "0.123456");
}

TEST_CASE("describe_command shortens long values, quotes spaced ones and leaves out the prompt",
          "[cli_command]") {
  auto cfg = full_config();
  cfg.system_prompt = std::string(5000, 'S');
  auto args = build_cli_args(cfg, std::nullopt);
  auto text = describe_command("/usr/bin/claude", args);
  CHECK_THAT(text, StartsWith("/usr/bin/claude -p --output-format=json"));
  CHECK(text.size() < 2000);
  CHECK(text.find(std::string(300, 'S')) == std::string::npos);
  CHECK_THAT(text, Contains(std::string(100, 'S')));
  CHECK_THAT(text, Contains("…"));
  CHECK_THAT(text, Contains("--model=claude-sonnet-4-5"));
  CHECK_THAT(text, Contains("\"--allowedTools=Read,Bash(git *)\""));
  CHECK_THAT(text, Contains("(prompt on stdin)"));

  // The prompt is only ever stdin: describing any argv built for it cannot reveal it.
  const std::string prompt = "PROMPT-THAT-MUST-NOT-LEAK";
  CHECK(text.find(prompt) == std::string::npos);
}

TEST_CASE("an event-stream run asks for stream-json with verbose and partial messages",
          "[cli_command][progress]") {
  auto json_args = build_cli_args(full_config(), std::string("sess"));
  auto args = build_cli_args(full_config(), std::string("sess"), cli_output::event_stream);
  CHECK(strings(args.begin(), args.begin() + 4)
        == strings{"-p", "--output-format=stream-json", "--verbose",
                   "--include-partial-messages"});
  CHECK(count_of(args, "--output-format=json") == 0);
  // Everything after the output flags is the same as for a JSON run.
  CHECK(strings(args.begin() + 4, args.end()) == strings(json_args.begin() + 2, json_args.end()));
  // The pinned CLI documents each of them.
  auto documented = help_flags();
  for (auto& a : strings(args.begin(), args.begin() + 4)) {
    INFO("flag " << a);
    CHECK(documented.count(flag_name(a)) == 1);
  }
}

TEST_CASE("a default config in event-stream mode emits only the output flags",
          "[cli_command][progress]") {
  CHECK(build_cli_args(resolved_config{}, std::nullopt, cli_output::event_stream)
        == strings{"-p", "--output-format=stream-json", "--verbose",
                   "--include-partial-messages"});
}

TEST_CASE("a one-shot run asks for the events without the text deltas",
          "[cli_command][limits]") {
  auto args = build_cli_args(resolved_config{}, std::nullopt, cli_output::events);
  CHECK(args == strings{"-p", "--output-format=stream-json", "--verbose"});
  CHECK(count_of(args, "--include-partial-messages") == 0);
}
