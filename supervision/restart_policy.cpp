#include "supervision/restart_policy.hpp"

#include <algorithm>
#include <cmath>

namespace claude_pool {

restart_policy restart_policy::from(const pool_config& cfg) {
  restart_policy p;
  p.max_restarts = cfg.max_restarts;
  if (cfg.restart_window_secs)
    p.window = std::chrono::seconds(*cfg.restart_window_secs);
  p.backoff_min = std::chrono::milliseconds(cfg.restart_backoff_min_ms);
  p.backoff_max = std::chrono::milliseconds(cfg.restart_backoff_max_ms);
  p.reset_after = std::chrono::seconds(cfg.restart_reset_after_secs);
  return p;
}

std::uint32_t counted_restarts(const restart_policy& policy, const restart_history& history,
                               std::uint64_t now_ms) {
  if (!policy.window)
    return static_cast<std::uint32_t>(history.restarts_ms.size());
  auto span = static_cast<std::uint64_t>(policy.window->count());
  return static_cast<std::uint32_t>(
    std::count_if(history.restarts_ms.begin(), history.restarts_ms.end(),
                  [&](std::uint64_t t) { return t + span > now_ms; }));
}

restart_decision decide_restart(const restart_policy& policy, restart_history& history,
                                std::uint64_t now_ms, double jitter) {
  // Healthy long enough since the last restart: a fresh start, as if never restarted.
  if (!history.restarts_ms.empty()
      && history.restarts_ms.back() + static_cast<std::uint64_t>(policy.reset_after.count())
           <= now_ms) {
    history.restarts_ms.clear();
    history.consecutive = 0;
  }
  auto counted = counted_restarts(policy, history, now_ms);
  if (counted >= policy.max_restarts) {
    restart_decision no;
    no.reason = "restarted " + std::to_string(counted) + " times"
                + (policy.window ? " within " + std::to_string(policy.window->count() / 1000) + " s"
                                 : std::string())
                + " (max_restarts " + std::to_string(policy.max_restarts) + ")";
    return no;
  }
  auto exponent = std::min<std::uint32_t>(history.consecutive, 30);
  double full = static_cast<double>(policy.backoff_min.count()) * std::ldexp(1.0, static_cast<int>(exponent));
  full = std::min(full, static_cast<double>(policy.backoff_max.count()));
  double j = std::clamp(jitter, 0.0, 1.0);
  auto delay = static_cast<std::int64_t>(full / 2 + j * full / 2);
  delay = std::max<std::int64_t>(delay, policy.backoff_min.count() / 2);
  history.restarts_ms.push_back(now_ms);
  ++history.consecutive;
  restart_decision yes;
  yes.restart = true;
  yes.delay = std::chrono::milliseconds(delay);
  return yes;
}

bool may_retry(const restart_policy& policy, const restart_history& history,
               std::uint64_t now_ms) {
  if (!policy.window)
    return false;
  return counted_restarts(policy, history, now_ms) < policy.max_restarts;
}

} // namespace claude_pool
