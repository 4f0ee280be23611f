#pragma once
/// The scaler: owns the target slot count within `scaling.min_slots..max_slots`. It asks the
/// pool for new slots (the pool places them on slot hosts with room, or has its supervisor
/// start them) and to take slots out of service (the pool knows which are idle). With `scaling.autoscale` it looks at the
/// pool's load every `interval_ms` and applies `decide_autoscale`.

#include <memory>

#include "actors/autoscale_policy.hpp"
#include "messages/interfaces.hpp"

namespace claude_pool {

struct scaler_state {
  static inline const char* name = "claude_pool.scaler";
  std::shared_ptr<const pool_config> config;
  pool_actor pool;
  std::uint64_t target = 0;

  /// Empty when `n` slots are within bounds, else why not (names the bound).
  std::string out_of_bounds(const std::string& request, std::uint64_t n) const;
};

scaler_actor::behavior_type scaler_behavior(scaler_actor::stateful_pointer<scaler_state> self,
                                            std::shared_ptr<const pool_config> config,
                                            pool_actor pool);

} // namespace claude_pool
