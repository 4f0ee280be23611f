#include "benchmarks/common/cli_invocation.hpp"

#include <algorithm>

#include "runtime/cli/cli_command.hpp"
#include "runtime/cli/cli_executor.hpp"
#include "runtime/process/process_runner.hpp"

extern char** environ;

namespace claude_pool::bench {

cli_invocation invocation_for(const pool_config& cfg, const std::string& default_claude_bin) {
  // The executor's own base request, so the two cannot drift apart.
  auto base = cli_base_request(cfg, cfg.claude_bin.value_or(default_claude_bin), std::nullopt);
  cli_invocation inv;
  inv.executable = base.executable;
  inv.args = build_cli_args(resolve_config(cfg, slot_config{}, nullptr), std::nullopt);
  inv.env_set = std::move(base.env_set);
  inv.env_unset = std::move(base.env_unset);
  inv.working_dir = std::move(base.working_dir);
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

pool_config cli_pool_config(const std::string& claude_bin, const std::string& working_dir,
                            std::uint64_t slots) {
  pool_config cfg;
  cfg.claude_bin = claude_bin;
  cfg.working_dir = working_dir;
  cfg.slot_mode = slot_mode::ephemeral;
  cfg.initial_slots = slots;
  cfg.scaling.max_slots = std::max<std::uint64_t>(slots, cfg.scaling.max_slots);
  return cfg;
}

} // namespace claude_pool::bench
