#pragma once
/// When may a failed slot be restarted, and after how long? A value type with pure functions,
/// in the spirit of OTP's restart intensity: at most `max_restarts` restarts within `window`
/// (unset: the slot's lifetime, as the reference), exponential backoff with jitter between
/// restarts, and a clean history for a slot that stayed healthy for `reset_after`.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "messages/config.hpp"

namespace claude_pool {

struct restart_policy {
  std::uint32_t max_restarts = 3;
  std::optional<std::chrono::milliseconds> window;
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds reset_after{300000};

  static restart_policy from(const pool_config& cfg);
};

/// One slot's restart history (what the policy decides from).
struct restart_history {
  std::vector<std::uint64_t> restarts_ms; ///< when each counted restart happened
  std::uint32_t consecutive = 0;          ///< restarts since the slot was last healthy
};

struct restart_decision {
  bool restart = false;
  std::chrono::milliseconds delay{0};
  std::string reason; ///< why not, when restart is false
};

/// A slot failed at `now_ms`: restart it (recording the restart in `history`) or give up.
/// `jitter` in [0, 1) spreads restarts of many slots ("equal jitter": half the backoff is
/// fixed, half random).
restart_decision decide_restart(const restart_policy& policy, restart_history& history,
                                std::uint64_t now_ms, double jitter);

/// For the periodic pass: may an errored slot be retried now (older restarts have left the
/// window)? Always false with a lifetime window.
bool may_retry(const restart_policy& policy, const restart_history& history,
               std::uint64_t now_ms);

/// Restarts that still count against `max_restarts` at `now_ms`.
std::uint32_t counted_restarts(const restart_policy& policy, const restart_history& history,
                               std::uint64_t now_ms);

} // namespace claude_pool
