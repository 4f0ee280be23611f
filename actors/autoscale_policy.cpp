#include "actors/autoscale_policy.hpp"

#include <algorithm>

namespace claude_pool {

autoscale_decision decide_autoscale(const scaling_config& scaling, std::uint64_t target,
                                    const pool_load& load, std::uint64_t now) {
  autoscale_decision d;
  if (!scaling.autoscale)
    return d;
  auto& cfg = *scaling.autoscale;
  auto starting = target > load.slots ? target - load.slots : 0;
  if (load.pending > starting && load.idle_since_ms.empty() && target < scaling.max_slots) {
    auto want = load.pending - starting;
    if (cfg.scale_up_step > 0)
      want = std::min(want, cfg.scale_up_step);
    want = std::min(want, scaling.max_slots - target);
    d.delta = static_cast<std::int64_t>(want);
    d.why = std::to_string(load.pending) + " task(s) wait and no slot is idle";
    return d;
  }
  if (load.pending > 0 || target <= scaling.min_slots)
    return d;
  auto idle_for = cfg.scale_down_idle_secs * 1000;
  auto long_idle = static_cast<std::uint64_t>(
    std::count_if(load.idle_since_ms.begin(), load.idle_since_ms.end(),
                  [&](std::uint64_t since) { return since + idle_for <= now; }));
  auto n = std::min({long_idle, cfg.scale_down_step, target - scaling.min_slots});
  if (n > 0) {
    d.delta = -static_cast<std::int64_t>(n);
    d.why = std::to_string(long_idle) + " slot(s) idle for at least "
            + std::to_string(cfg.scale_down_idle_secs) + " s";
  }
  return d;
}

} // namespace claude_pool
