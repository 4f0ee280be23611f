#include "runtime/cli/credential_env.hpp"

#include <cstdlib>

namespace claude_pool {

namespace {

const char* read_env(const env_lookup& lookup, const std::string& name) {
  return lookup ? lookup(name.c_str()) : std::getenv(name.c_str());
}

/// The login variables the CLI looks at; a profile sets one and hides the others.
constexpr const char* api_key_var = "ANTHROPIC_API_KEY";
constexpr const char* oauth_var = "CLAUDE_CODE_OAUTH_TOKEN";
constexpr const char* config_dir_var = "CLAUDE_CONFIG_DIR";

} // namespace

credential_environment environment_for(const credential_profile& profile,
                                       const env_lookup& lookup) {
  credential_environment out;
  auto from_env = [&](const std::string& var, const char* target, const char* hidden) {
    auto value = read_env(lookup, var);
    if (!value || !*value) {
      out.problem = "credential \"" + profile.name + "\": the environment variable " + var
                    + " is " + (value ? "empty" : "not set");
      return;
    }
    out.set.emplace_back(target, value);
    out.unset.emplace_back(hidden);
  };
  if (profile.api_key_env)
    from_env(*profile.api_key_env, api_key_var, oauth_var);
  else if (profile.oauth_token_env)
    from_env(*profile.oauth_token_env, oauth_var, api_key_var);
  else if (profile.config_dir) {
    out.set.emplace_back(config_dir_var, *profile.config_dir);
    // A key or token in the pool's environment would win over the directory's login.
    out.unset.emplace_back(api_key_var);
    out.unset.emplace_back(oauth_var);
  }
  for (auto& [name, value] : profile.env)
    out.set.emplace_back(name, value);
  return out;
}

std::string check_credentials(const pool_config& cfg, const env_lookup& lookup) {
  std::string problems;
  for (auto& profile : cfg.credentials) {
    auto env = environment_for(profile, lookup);
    if (!env.problem.empty())
      problems += (problems.empty() ? "" : "; ") + env.problem;
  }
  return problems;
}

std::string describe_credential(const credential_profile& profile) {
  auto text = "credential \"" + profile.name + "\"";
  if (profile.api_key_env)
    return text + " (the API key in $" + *profile.api_key_env + ")";
  if (profile.oauth_token_env)
    return text + " (the OAuth token in $" + *profile.oauth_token_env
           + "; make a new one with `claude setup-token`)";
  if (profile.config_dir)
    return text + " (the login in " + *profile.config_dir + "; renew it with `CLAUDE_CONFIG_DIR="
           + *profile.config_dir + " claude /login`)";
  return text + " (the pool's environment: ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, or "
                "`claude /login` for the pool's user)";
}

} // namespace claude_pool
