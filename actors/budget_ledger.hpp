#pragma once
/// The budget's bookkeeping as a value type: admission reserves an allowance per task, the
/// CLI's reported cost settles it. The pool's future budget actor applies it; tests use it
/// directly.
///
/// With a cap, a task is admitted only if its allowance fits in what is neither spent nor
/// reserved: the task's own `max_budget_usd` when it sets one (refused when larger than what
/// remains), otherwise `default_reservation` shrunk to what remains. The allowance is what
/// the CLI gets as `--max-budget-usd`. The CLI checks its cap after each turn, so one task can
/// overshoot its allowance by at most one turn; that is the only way spend can pass the cap.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "messages/ids.hpp"

namespace claude_pool {

/// Why a task was not admitted, with the figures.
struct budget_refusal {
  std::string code; ///< `budget_exhausted` or `task_budget_exceeds_remaining`
  std::uint64_t cap = 0;
  std::uint64_t spent = 0;
  std::uint64_t reserved = 0;
  std::uint64_t requested = 0;
  std::string message() const;
};

class budget_ledger {
public:
  budget_ledger(std::optional<std::uint64_t> cap_microdollars,
                std::uint64_t default_reservation_microdollars);

  /// Reserves the task's allowance; `task_allowance` is its max_budget_usd in microdollars.
  /// Returns the refusal when it does not fit.
  std::optional<budget_refusal> reserve(const task_id& task,
                                        std::optional<std::uint64_t> task_allowance);

  /// The allowance reserved for the task (0 if none).
  std::uint64_t allowance(const task_id& task) const;

  /// Books the task's real cost and frees its reservation. Returns the warning thresholds
  /// (50, 80, 100 percent of the cap) this spend crossed, in order.
  std::vector<int> settle(const task_id& task, std::uint64_t cost);

  /// Frees a reservation that was never used (the task was cancelled before it ran).
  void release(const task_id& task);

  std::optional<std::uint64_t> cap() const { return cap_; }
  std::uint64_t spent() const { return spent_; }
  std::uint64_t reserved() const { return reserved_; }
  /// What is neither spent nor reserved (0 once the cap is reached or passed).
  std::uint64_t available() const;

private:
  std::optional<std::uint64_t> cap_;
  std::uint64_t default_reservation_;
  std::uint64_t spent_ = 0;
  std::uint64_t reserved_ = 0;
  std::map<task_id, std::uint64_t> reservations_;
  int warned_up_to_ = 0; ///< the highest threshold already reported
};

} // namespace claude_pool
