#pragma once
/// The budget's bookkeeping as a value type; the budget actor applies it, tests use it
/// directly. See the README's "Budget" section for the guarantee it gives.
///
/// With a cap, every execution of a task needs a grant before it starts: an allowance that
/// fits in what is neither spent nor reserved. The allowance is the task's own
/// `max_budget_usd` when it sets one, otherwise the expected cost of a task: the configured
/// default reservation, raised to 25 % above the highest cost an execution has had so far
/// when `reserve_observed` is on (the CLI stops a task whose cost reaches its allowance). The allowance is what the CLI gets as `--max-budget-usd`; the
/// CLI's reported cost then settles it. An allowance that does not fit while other
/// executions hold reservations waits for them to settle; one that cannot fit even then is
/// refused.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "messages/requests.hpp"

namespace claude_pool {

/// Why a task was refused, with the figures.
struct budget_refusal {
  std::string code; ///< `budget_exhausted` or `task_budget_exceeds_remaining`
  std::uint64_t cap = 0;
  std::uint64_t spent = 0;
  std::uint64_t reserved = 0;
  std::uint64_t requested = 0;
  std::string message() const;
};

/// What `reserve` decided.
struct budget_grant {
  enum kind { granted, wait, refused } what = granted;
  std::uint64_t allowance = 0;           ///< when granted
  std::optional<budget_refusal> refusal; ///< when refused
};

class budget_ledger {
public:
  budget_ledger(std::optional<std::uint64_t> cap_microdollars,
                std::uint64_t default_reservation_microdollars, bool reserve_observed = false);

  /// May a task with this own allowance (none: the expected cost) be accepted at all? It is
  /// refused when even the whole unspent budget could not hold it.
  std::optional<budget_refusal> admit(std::optional<std::uint64_t> task_allowance) const;

  /// Grants the allowance for one execution of the task, or says to wait for running
  /// executions to settle, or refuses.
  budget_grant reserve(const task_id& task, std::optional<std::uint64_t> task_allowance);

  /// Books an execution's real cost and frees its reservation (if any). Returns the warning
  /// thresholds (50, 80, 100 percent of the cap) this spend crossed, in order.
  std::vector<int> settle(const task_id& task, std::uint64_t cost);

  /// The allowance a task without its own budget gets now.
  std::uint64_t expected_cost() const;

  std::optional<std::uint64_t> cap() const { return cap_; }
  std::uint64_t spent() const { return spent_; }

  /// At start, what earlier runs of the pool spent (from its store).
  void restore_spent(std::uint64_t microdollars) { spent_ = microdollars; }
  std::uint64_t reserved() const { return reserved_; }
  /// What is neither spent nor reserved (0 once the cap is reached or passed).
  std::uint64_t available() const;

  budget_status status() const;

private:
  budget_refusal refusal(const char* code, std::uint64_t requested) const;

  std::optional<std::uint64_t> cap_;
  std::uint64_t default_reservation_;
  bool reserve_observed_;
  std::uint64_t observed_max_ = 0;
  std::uint64_t spent_ = 0;
  std::uint64_t reserved_ = 0;
  std::map<task_id, std::uint64_t> reservations_;
  std::uint64_t grants_ = 0;
  std::uint64_t refusals_ = 0;
  std::uint64_t settled_ = 0;
  std::vector<int> warned_; ///< thresholds already reported
};

} // namespace claude_pool
