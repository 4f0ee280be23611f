#include "messages/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace claude_pool {

namespace {

std::string validate(const remote_policy& r) {
  if (!std::isfinite(r.max_task_budget_usd) || r.max_task_budget_usd < 0)
    return "pool_config.remote.max_task_budget_usd: must be a finite number of US dollars, "
           "0 or more";
  if (r.max_prompt_bytes == 0)
    return "pool_config.remote.max_prompt_bytes: must be at least 1";
  if (r.max_pending_per_client == 0)
    return "pool_config.remote.max_pending_per_client: must be at least 1";
  if (r.max_attempts == 0)
    return "pool_config.remote.max_attempts: must be at least 1";
  for (const auto& name : r.allow_overrides)
    if (std::find(remote_override_names.begin(), remote_override_names.end(), name)
        == remote_override_names.end())
      return "pool_config.remote.allow_overrides: unknown field name \"" + name
             + "\" (known: mcp_servers, working_dir, system_prompt, permission_mode, tools, "
               "model)";
  return {};
}

std::string validate_credentials(const pool_config& cfg) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < cfg.credentials.size(); ++i) {
    auto& c = cfg.credentials[i];
    auto at = "pool_config.credentials[" + std::to_string(i) + "]";
    if (c.name.empty())
      return at + ".name: must not be empty";
    at = "pool_config.credentials \"" + c.name + "\"";
    if (!names.insert(c.name).second)
      return at + ": the name is used twice";
    int sources = c.api_key_env.has_value() + c.oauth_token_env.has_value()
                  + c.config_dir.has_value();
    if (sources > 1)
      return at + ": give at most one of api_key_env, oauth_token_env, config_dir";
    for (auto* var : {&c.api_key_env, &c.oauth_token_env})
      if (*var && var->value().empty())
        return at + ": an empty environment variable name";
    if (c.config_dir && c.config_dir->empty())
      return at + ".config_dir: must not be empty";
    if (cfg.bare && (c.oauth_token_env || c.config_dir))
      return at + ": an OAuth login (oauth_token_env, config_dir) does not work with bare: "
                  "true (--bare turns OAuth off); use api_key_env or set bare to false";
    if (c.max_concurrent && *c.max_concurrent == 0)
      return at + ".max_concurrent: must be at least 1 (leave it out for no cap)";
  }
  return {};
}

std::string validate_watching(const pool_config& cfg) {
  for (std::size_t i = 0; i < cfg.webhooks.size(); ++i) {
    auto& w = cfg.webhooks[i];
    auto at = "pool_config.webhooks[" + std::to_string(i) + "]";
    if (w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0)
      return at + ".url: \"" + w.url + "\" is not an http:// or https:// URL";
    if (w.url.find_first_of(" \t\r\n") != std::string::npos)
      return at + ".url: must not hold spaces or line breaks";
    for (auto& kind : w.events)
      if (kind.empty())
        return at + ".events: an empty event kind (use \"*\" for all)";
    if (w.secret_env && w.secret_env->empty())
      return at + ".secret_env: an empty environment variable name";
    if (w.max_attempts == 0)
      return at + ".max_attempts: must be at least 1";
    if (w.timeout_ms == 0)
      return at + ".timeout_ms: must be at least 1";
    if (w.backoff_max_ms < w.backoff_ms)
      return at + ".backoff_max_ms: must be at least backoff_ms";
  }
  if (cfg.cli_telemetry)
    for (auto& [name, value] : cfg.cli_telemetry->env)
      if (name.rfind("OTEL_", 0) != 0 || name.find('=') != std::string::npos)
        return "pool_config.cli_telemetry.env: \"" + name
               + "\" is not an OTEL_ variable (other variables go in cli_env)";
  return {};
}

} // namespace

std::uint64_t retained_ended_records(const pool_config& cfg, bool durable) {
  if (cfg.retain_ended_records)
    return *cfg.retain_ended_records;
  return durable ? 10000 : UINT64_MAX;
}

bool has_budget(const pool_config& cfg) {
  return cfg.budget_microdollars || !cfg.budget_tag_microdollars.empty()
         || cfg.budget_chain_microdollars || cfg.budget_daily_microdollars;
}

std::optional<std::uint64_t> daily_reset_seconds(const std::string& text) {
  unsigned h = 0, m = 0, sec = 0;
  char rest = 0;
  int n = std::sscanf(text.c_str(), "%2u:%2u:%2u%c", &h, &m, &sec, &rest);
  bool shape = text.size() == 5 ? n == 2 : text.size() == 8 && n == 3;
  if (!shape || h > 23 || m > 59 || sec > 59)
    return std::nullopt;
  return std::uint64_t{h} * 3600 + m * 60 + sec;
}

std::string validate(const pool_config& cfg) {
  auto& s = cfg.scaling;
  // min_slots 0 is allowed: a pool that only routes to slot hosts' slots (a cluster
  // coordinator), or one scaled up later; its tasks wait for a slot meanwhile.
  if (s.max_slots < s.min_slots)
    return "pool_config.scaling.max_slots: " + std::to_string(s.max_slots)
           + " is below scaling.min_slots " + std::to_string(s.min_slots);
  if (cfg.initial_slots
      && (*cfg.initial_slots < s.min_slots || *cfg.initial_slots > s.max_slots))
    return "pool_config.initial_slots: " + std::to_string(*cfg.initial_slots)
           + " is outside scaling bounds " + std::to_string(s.min_slots) + ".."
           + std::to_string(s.max_slots);
  if (s.autoscale) {
    if (s.autoscale->interval_ms < 10)
      return "pool_config.scaling.autoscale.interval_ms: must be at least 10";
    if (s.autoscale->scale_down_step == 0)
      return "pool_config.scaling.autoscale.scale_down_step: must be at least 1";
  }
  if (cfg.budget_microdollars && cfg.budget_default_reservation_microdollars == 0)
    return "pool_config.budget_default_reservation_microdollars: must be at least 1 when "
           "budget_microdollars is set";
  if (cfg.slot_assignment_timeout_secs == 0)
    return "pool_config.slot_assignment_timeout_secs: must be at least 1";
  if (cfg.task_timeout_secs && *cfg.task_timeout_secs == 0)
    return "pool_config.task_timeout_secs: must be at least 1 (leave it out for no limit)";
  if (cfg.supervisor_interval_secs == 0)
    return "pool_config.supervisor_interval_secs: must be at least 1";
  if (cfg.max_output_bytes < 1024)
    return "pool_config.max_output_bytes: must be at least 1024";
  if (cfg.max_turns && *cfg.max_turns == 0)
    return "pool_config.max_turns: must be at least 1";
  if (cfg.restart_backoff_max_ms < cfg.restart_backoff_min_ms)
    return "pool_config.restart_backoff_max_ms: must not be below restart_backoff_min_ms";
  if (cfg.restart_window_secs && *cfg.restart_window_secs == 0)
    return "pool_config.restart_window_secs: must be at least 1 (leave it out for lifetime)";
  if (cfg.warm_max_tasks == 0)
    return "pool_config.warm_max_tasks: must be at least 1";
  if (cfg.claude_bin && cfg.claude_bin->empty())
    return "pool_config.claude_bin: must not be empty";
  if (!daily_reset_seconds(cfg.budget_daily_reset_utc))
    return "pool_config.budget_daily_reset_utc: \"" + cfg.budget_daily_reset_utc
           + "\" is not a time of day (HH:MM or HH:MM:SS, UTC)";
  for (auto& [tag, cap] : cfg.budget_tag_microdollars)
    if (tag.empty() || cap == 0)
      return "pool_config.budget_tag_microdollars: \"" + tag
             + "\": a tag must be named and its cap at least 1";
  if ((cfg.budget_chain_microdollars && *cfg.budget_chain_microdollars == 0)
      || (cfg.budget_daily_microdollars && *cfg.budget_daily_microdollars == 0))
    return "pool_config.budget_chain_microdollars / budget_daily_microdollars: must be at "
           "least 1 (leave it out for no cap)";
  if (cfg.budget_policy != "learn" && cfg.budget_policy != "fixed")
    return "pool_config.budget_policy: \"" + cfg.budget_policy + "\" is not learn or fixed";
  if (cfg.auth_failure != "park" && cfg.auth_failure != "fail")
    return "pool_config.auth_failure: \"" + cfg.auth_failure + "\" is not park or fail";
  if (!(cfg.window_headroom >= 0 && cfg.window_headroom <= 0.5))
    return "pool_config.window_headroom: must be between 0 and 0.5 (a share of the window)";
  if (cfg.auth_probe_secs == 0)
    return "pool_config.auth_probe_secs: must be at least 1";
  if (cfg.rate_limit_cooldown_secs == 0)
    return "pool_config.rate_limit_cooldown_secs: must be at least 1";
  if (auto problem = validate_credentials(cfg); !problem.empty())
    return problem;
  if (auto problem = validate_watching(cfg); !problem.empty())
    return problem;
  return validate(cfg.remote);
}

std::string validate(const task_overrides& cfg) {
  // The CLI takes dollars with six decimals: anything below a microdollar would become 0.
  if (cfg.max_budget_usd
      && (!std::isfinite(*cfg.max_budget_usd) || *cfg.max_budget_usd < 0.000001))
    return "max_budget_usd: must be at least 0.000001 US dollars (one microdollar)";
  if (cfg.max_turns && *cfg.max_turns == 0)
    return "max_turns: must be at least 1";
  if (cfg.json_schema && !cfg.json_schema->is_object())
    return "json_schema: must be a JSON object (a JSON Schema)";
  return {};
}

} // namespace claude_pool
