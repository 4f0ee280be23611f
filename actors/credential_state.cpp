#include "actors/credential_state.hpp"

#include <algorithm>

namespace claude_pool {

bool credential_state::held(std::uint64_t now) const {
  if (cooldown_until && now < *cooldown_until)
    return true;
  return auth.open && auth.probe.has_value(); // one probe at a time
}

bool credential_state::may_start(std::uint64_t running, std::uint64_t now) const {
  if (held(now))
    return false;
  if (max_concurrent && running >= *max_concurrent)
    return false;
  return !(start_stagger_ms && last_start_ms && now < *last_start_ms + start_stagger_ms);
}

std::optional<std::uint64_t> credential_state::free_at(std::uint64_t now) const {
  std::optional<std::uint64_t> at;
  if (cooldown_until && *cooldown_until > now)
    at = *cooldown_until;
  if (start_stagger_ms && last_start_ms && *last_start_ms + start_stagger_ms > now)
    at = std::max(at.value_or(0), *last_start_ms + start_stagger_ms);
  return at;
}

std::optional<std::string> choose_credential(const pool_config& cfg,
                                             const std::vector<const slot_config*>& siblings) {
  if (cfg.credentials.empty())
    return std::nullopt;
  auto bound = [&](const std::string& name) {
    return static_cast<std::uint64_t>(
      std::count_if(siblings.begin(), siblings.end(),
                    [&](const slot_config* s) { return s->credential == name; }));
  };
  const credential_profile* best = nullptr;
  std::uint64_t best_bound = 0;
  for (auto& c : cfg.credentials) { // room under the cap, fewest slots
    auto n = bound(c.name);
    if (c.max_concurrent && n >= *c.max_concurrent)
      continue;
    if (!best || n < best_bound) {
      best = &c;
      best_bound = n;
    }
  }
  if (best)
    return best->name;
  double best_share = 0; // all full: fewest slots per unit of cap
  for (auto& c : cfg.credentials) {
    auto share = static_cast<double>(bound(c.name)) / static_cast<double>(*c.max_concurrent);
    if (!best || share < best_share) {
      best = &c;
      best_share = share;
    }
  }
  return best->name;
}

std::string credential_key(const slot_record& slot) {
  std::string name = slot.config->credential.value_or(std::string(default_credential_name));
  return slot.node ? *slot.node + ":" + name : name;
}

} // namespace claude_pool
