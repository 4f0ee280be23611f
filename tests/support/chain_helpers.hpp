#pragma once
// Shared by the chain tests: a step in one line, and test pools with a scripted executor.

#include <map>
#include <memory>
#include <string>

#include "messages/chain.hpp"
#include "claude_pool/pool.hpp"

namespace claude_pool::testing {

inline chain_step make_step(std::string name, std::string prompt,
                            std::map<std::string, std::string> vars = {}) {
  chain_step s;
  s.name = std::move(name);
  s.prompt = std::move(prompt);
  s.output_vars = std::move(vars);
  return s;
}

/// Facade options that run tasks on `exec` instead of the CLI.
inline pool_options with(std::shared_ptr<task_executor> exec) {
  pool_options o;
  o.executor = std::move(exec);
  return o;
}

/// A pool config with `n` slots to start with.
inline pool_config slots(std::uint64_t n) {
  pool_config cfg;
  cfg.initial_slots = n;
  cfg.scaling.max_slots = std::max<std::uint64_t>(n, 16);
  return cfg;
}

} // namespace claude_pool::testing
