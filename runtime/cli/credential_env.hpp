#pragma once
/// How a `credential_profile` becomes a CLI process's environment: which login variables it
/// gets and which it must not inherit, so a slot bound to one credential never falls back
/// to another (an API key in the pool's environment would win over an OAuth token).

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "messages/config.hpp"

namespace claude_pool {

/// The environment changes for one credential; `problem` names what is missing instead.
struct credential_environment {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;
  std::string problem;
};

/// Reads a variable of the pool's environment (null when unset); tests pass their own.
using env_lookup = std::function<const char*(const char*)>;

/// The changes for `profile`, reading the variables it names through `lookup` (getenv by
/// default). A named variable that is unset or empty is a problem ("credential \"team-a\":
/// the environment variable TEAM_A_KEY is not set").
credential_environment environment_for(const credential_profile& profile,
                                       const env_lookup& lookup = {});

/// Every configured credential's problem, one sentence each joined by "; " (empty: all
/// usable). A pool checks this before it starts, so a typo fails at once, not per task.
std::string check_credentials(const pool_config& cfg, const env_lookup& lookup = {});

/// What to tell a user whose login `profile` was refused: which credential and where it
/// comes from ("credential \"team-a\" (the API key in $TEAM_A_KEY)").
std::string describe_credential(const credential_profile& profile);

} // namespace claude_pool
