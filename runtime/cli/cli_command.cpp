#include "runtime/cli/cli_command.hpp"

#include <cstdio>

namespace claude_pool {

namespace {

std::string join(const std::vector<std::string>& xs, char sep) {
  std::string out;
  for (auto& x : xs) {
    if (!out.empty())
      out += sep;
    out += x;
  }
  return out;
}

} // namespace

std::string format_usd(double usd) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6f", usd);
  std::string s = buf;
  while (!s.empty() && s.back() == '0')
    s.pop_back();
  if (!s.empty() && s.back() == '.')
    s.pop_back();
  return s;
}

std::optional<std::string> appended_system_prompt(const resolved_config& cfg) {
  std::string identity;
  if (cfg.slot_name)
    identity += "You are pool slot \"" + *cfg.slot_name + "\".";
  if (cfg.slot_role)
    identity += (identity.empty() ? "" : " ") + std::string("Your role: ") + *cfg.slot_role + ".";
  if (cfg.slot_description)
    identity += (identity.empty() ? "" : " ") + *cfg.slot_description;
  if (!cfg.system_prompt && identity.empty())
    return std::nullopt;
  if (!cfg.system_prompt)
    return identity;
  if (identity.empty())
    return *cfg.system_prompt;
  return *cfg.system_prompt + "\n\n" + identity;
}

std::vector<std::string> build_cli_args(const resolved_config& cfg,
                                        const std::optional<std::string>& resume_session,
                                        cli_output output) {
  std::vector<std::string> args{"-p"};
  if (output == cli_output::result_json)
    args.emplace_back("--output-format=json");
  else // stream-json needs --verbose
    args.insert(args.end(), {"--output-format=stream-json", "--verbose"});
  if (output == cli_output::event_stream) // partial messages add the stream_event lines
    args.emplace_back("--include-partial-messages");
  if (cfg.bare)
    args.emplace_back("--bare");
  if (cfg.model)
    args.push_back("--model=" + *cfg.model);
  if (cfg.permission_mode)
    args.push_back("--permission-mode=" + std::string(cli_spelling(*cfg.permission_mode)));
  if (cfg.max_turns)
    args.push_back("--max-turns=" + std::to_string(*cfg.max_turns));
  if (auto prompt = appended_system_prompt(cfg))
    args.push_back("--append-system-prompt=" + *prompt);
  if (!cfg.allowed_tools.empty())
    args.push_back("--allowedTools=" + join(cfg.allowed_tools, ','));
  if (!cfg.disallowed_tools.empty())
    args.push_back("--disallowedTools=" + join(cfg.disallowed_tools, ','));
  if (cfg.tools)
    args.push_back("--tools=" + join(*cfg.tools, ','));
  if (!cfg.mcp_servers.empty()) {
    nlohmann::json servers = nlohmann::json::object();
    for (auto& [name, server] : cfg.mcp_servers)
      servers[name] = server;
    if (cfg.mcp_config_path)
      args.push_back("--mcp-config=" + *cfg.mcp_config_path);
    else
      args.push_back("--mcp-config=" + nlohmann::json{{"mcpServers", servers}}.dump());
    if (cfg.strict_mcp_config)
      args.emplace_back("--strict-mcp-config");
  }
  if (cfg.effort)
    args.push_back("--effort=" + std::string(to_string(*cfg.effort)));
  if (cfg.fallback_model)
    args.push_back("--fallback-model=" + *cfg.fallback_model);
  if (cfg.json_schema)
    args.push_back("--json-schema=" + cfg.json_schema->dump());
  if (cfg.max_budget_usd)
    args.push_back("--max-budget-usd=" + format_usd(*cfg.max_budget_usd));
  if (resume_session) {
    // Fork: the task continues the conversation in a new session, so if it fails, its prompt
    // stays out of the session the slot resumes next time.
    args.push_back("--resume=" + *resume_session);
    args.emplace_back("--fork-session");
  }
  return args;
}

std::string describe_command(const std::string& executable,
                             const std::vector<std::string>& args) {
  constexpr std::size_t max_value = 200;
  std::string out = executable;
  for (auto& arg : args) {
    auto shown = arg.size() > max_value ? arg.substr(0, max_value) + "…" : arg;
    out += ' ';
    if (shown.find_first_of(" \t\n\"'") != std::string::npos)
      out += nlohmann::json(shown).dump();
    else
      out += shown;
  }
  out += " < (prompt on stdin)";
  return out;
}

} // namespace claude_pool
