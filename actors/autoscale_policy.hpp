#pragma once
/// When to add or stop slots by themselves (`scaling.autoscale`), as a value type: tests
/// check it without actors. Grow fast (all waiting tasks at once, or `scale_up_step`) when
/// no slot is idle and tasks wait; shrink slowly (`scale_down_step` at a time, only slots
/// idle for `scale_down_idle_secs`); never outside `min_slots..max_slots`.

#include <cstdint>
#include <string>

#include "messages/requests.hpp"

namespace claude_pool {

struct autoscale_decision {
  std::int64_t delta = 0; ///< slots to add (> 0) or stop (< 0)
  std::string why;
};

/// `target` is the current target slot count; slots already asked for but not yet up
/// (target above `load.slots`) count as coming capacity, so one burst is not answered twice.
autoscale_decision decide_autoscale(const scaling_config& scaling, std::uint64_t target,
                                    const pool_load& load, std::uint64_t now_ms);

} // namespace claude_pool
