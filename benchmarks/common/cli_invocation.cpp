#include "benchmarks/common/cli_invocation.hpp"

#include <algorithm>

#include "runtime/cli_command.hpp"
#include "runtime/cli_executor.hpp"

extern char** environ;

namespace claude_pool::bench {

cli_invocation invocation_for(const pool_config& cfg, const std::string& default_claude_bin) {
  cli_invocation inv;
  inv.executable = cfg.claude_bin.value_or(default_claude_bin);
  inv.args = build_cli_args(resolve_config(cfg, slot_config{}, nullptr), std::nullopt);
  for (auto& [name, value] : cfg.cli_env)
    inv.env_set.emplace_back(name, value);
  inv.env_set.emplace_back("CLAUDE_CODE_MAX_RETRIES", std::to_string(cfg.cli_max_retries));
  for (auto name : stripped_cli_env)
    inv.env_unset.emplace_back(name);
  inv.working_dir = cfg.working_dir.value_or("");
  return inv;
}

runtime::process_request cli_invocation::process_request(std::string prompt) const {
  runtime::process_request req;
  req.executable = executable;
  req.args = args;
  req.stdin_data = std::move(prompt);
  req.env_set = env_set;
  req.env_unset = env_unset;
  req.working_dir = working_dir;
  return req;
}

std::vector<std::string> cli_invocation::environment() const {
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  auto overridden = [&](const std::string& name) {
    return std::find(env_unset.begin(), env_unset.end(), name) != env_unset.end()
           || std::any_of(env_set.begin(), env_set.end(),
                          [&](auto& kv) { return kv.first == name; });
  };
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e)
    if (!overridden(name_of(*e)))
      out.emplace_back(*e);
  for (auto& [name, value] : env_set)
    out.push_back(name + "=" + value);
  return out;
}

} // namespace claude_pool::bench
