#pragma once
/// The budget's bookkeeping as a value type; the budget actor applies it, tests use it
/// directly. See the README's "Budget" section for the guarantee it gives.
///
/// With a cap, every execution of a task needs a grant before it starts. A grant has two
/// figures: the *reservation*, what the budget holds back for the execution while it runs
/// (others start only in what is neither spent nor held), and the *allowance*, the CLI's
/// `--max-budget-usd`, its hard stop. A task's own `max_budget_usd` is both. Otherwise the
/// policy decides (`budget_policy`):
///
/// - **learn** (the default): until one execution's cost has been seen, one execution at a
///   time runs alone and may use everything unspent (slow start: no guess to be wrong);
///   afterwards each reserves the costliest execution seen so far, and its allowance is all
///   that is free when it starts, so a task a little dearer than those before is not killed
///   while the budget has room. While it runs its cost after every turn is tracked (`track`):
///   an execution that outruns its reservation holds its real cost instead, and is stopped
///   only when the budget cannot hold it (spent + held > cap).
/// - **fixed** (before issue 18): every execution reserves the default reservation, raised to
///   125 % of the costliest seen (with `reserve_observed`), and that is its allowance too.
///
/// An allowance that does not fit while other executions hold reservations waits for them to
/// settle; one that cannot fit even then is refused.
///
/// **Scopes.** Besides the pool's cap, a task spends from the cap of each tag it carries that
/// has one (`budget_tag_microdollars`), from its chain's (`budget_chain_microdollars`, tag
/// `chain:<id>`), and from the day's (`budget_daily_microdollars`). A grant must fit in every
/// one of them, with the same rules; a full daily scope makes tasks wait for its reset
/// instead of refusing them.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "messages/requests.hpp"

namespace claude_pool {

/// Why a task was refused, with the figures (of the scope that refused it).
struct budget_refusal {
  std::string code; ///< `budget_exhausted` or `task_budget_exceeds_remaining`
  std::string scope; ///< empty for the pool's cap, else "tag:X", "chain:ID"
  std::uint64_t cap = 0;
  std::uint64_t spent = 0;
  std::uint64_t reserved = 0;
  std::uint64_t requested = 0;
  std::string message() const;
};

/// What `reserve` decided.
struct budget_grant {
  enum kind { granted, wait, refused } what = granted;
  std::uint64_t allowance = 0;           ///< when granted: the CLI's --max-budget-usd
  std::uint64_t reservation = 0;         ///< when granted: what the budget holds back
  std::optional<budget_refusal> refusal; ///< when refused
  /// When waiting for a daily scope: its reset (nothing may settle before it).
  std::optional<std::uint64_t> retry_at_ms;
};

/// The caps besides the pool's (see "Scopes" above).
struct budget_scope_caps {
  std::map<std::string, std::uint64_t> per_tag;
  std::optional<std::uint64_t> per_chain;
  std::optional<std::uint64_t> daily;
  std::uint64_t daily_reset_secs = 0; ///< seconds after midnight UTC
};

/// A grant's allowance when nothing caps the task (no --max-budget-usd for its CLI).
inline constexpr std::uint64_t no_allowance = UINT64_MAX;

/// How the budget sizes a grant (see above).
enum class budget_policy { learn, fixed };

class budget_ledger {
public:
  budget_ledger(std::optional<std::uint64_t> cap_microdollars,
                std::uint64_t default_reservation_microdollars, bool reserve_observed = false,
                budget_policy policy = budget_policy::fixed);

  /// Adds the scoped caps; `clock` (epoch ms) is when the daily scope resets by.
  void set_scopes(budget_scope_caps caps, std::function<std::uint64_t()> clock = now_ms);

  /// May a task with this own allowance (none: the expected cost) and these tags be accepted
  /// at all? It is refused when even the whole unspent budget of one of its scopes (the
  /// daily one aside: that one resets) could not hold it.
  std::optional<budget_refusal> admit(std::optional<std::uint64_t> task_allowance,
                                      const std::vector<std::string>& tags = {});

  /// Grants the allowance for one execution of the task, or says to wait for running
  /// executions to settle (or for the daily reset), or refuses.
  budget_grant reserve(const task_id& task, std::optional<std::uint64_t> task_allowance,
                       const std::vector<std::string>& tags = {});

  /// Books an execution's real cost and frees its reservation (if any). Returns the warning
  /// thresholds (50, 80, 100 percent of the cap) this spend crossed, in order.
  std::vector<int> settle(const task_id& task, std::uint64_t cost);

  /// A running execution's cost so far (after a turn). Empty while it may go on, else why it
  /// must stop: it outran its reservation and the budget cannot hold it (learn policy).
  std::string track(const task_id& task, std::uint64_t cost_so_far);

  /// What an execution whose real cost is unknown (its process lost) is booked at: its
  /// reservation, or more if it was seen to cost more.
  std::uint64_t unknown_cost(const task_id& task) const;

  /// What a task without its own budget reserves now (learn: 0 until a cost was seen).
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
  /// One running execution.
  struct hold {
    std::uint64_t reservation = 0;
    std::uint64_t allowance = 0;
    std::uint64_t seen = 0;  ///< its cost so far, as tracked
    bool learning = false;   ///< granted before any cost was seen (runs alone)
    std::vector<std::string> scopes; ///< besides the pool's
    std::uint64_t held() const { return seen > reservation ? seen : reservation; }
  };

  /// A scoped cap and what is spent and held in it.
  struct account {
    std::uint64_t cap = 0;
    std::uint64_t spent = 0;
    std::uint64_t held = 0;
    std::optional<std::uint64_t> resets_at_ms; ///< the daily scope
    std::uint64_t free() const { return spent + held >= cap ? 0 : cap - spent - held; }
  };

  budget_refusal refusal(const char* code, std::uint64_t requested) const;
  budget_refusal refusal_in(const std::string& scope, const char* code,
                            std::uint64_t requested) const;
  budget_grant grant(const task_id& task, std::uint64_t reservation, std::uint64_t allowance,
                     bool learning, std::vector<std::string> scopes);
  budget_grant learn_reserve(const task_id& task, std::vector<std::string> scopes);
  /// The scopes a task with these tags spends from (made on first use).
  std::vector<std::string> scopes_of(const std::vector<std::string>& tags);
  /// What is free for a task of these scopes, and the scope that leaves the least ("" for
  /// the pool's own cap).
  std::pair<std::uint64_t, std::string> free_in(const std::vector<std::string>& scopes) const;
  /// Moves a hold's held() amount from `before` to its current value everywhere it counts.
  void reheld(const hold& h, std::uint64_t before);
  /// Starts a new day in the daily scope once its reset time has passed.
  void roll_daily();
  /// Waiting on the daily scope, or refused in `scope`.
  budget_grant blocked(const std::string& scope, std::uint64_t need, bool own);

  std::optional<std::uint64_t> cap_;
  std::uint64_t default_reservation_;
  bool reserve_observed_;
  budget_policy policy_;
  std::uint64_t observed_max_ = 0;
  std::uint64_t spent_ = 0;
  std::uint64_t reserved_ = 0; ///< the sum of every running execution's held()
  std::map<task_id, hold> reservations_;
  budget_scope_caps scope_caps_;
  std::function<std::uint64_t()> clock_ = now_ms;
  std::map<std::string, account> accounts_;
  std::uint64_t stops_ = 0;
  std::uint64_t grants_ = 0;
  std::uint64_t refusals_ = 0;
  std::uint64_t settled_ = 0;
  std::vector<int> warned_; ///< thresholds already reported
};

} // namespace claude_pool
