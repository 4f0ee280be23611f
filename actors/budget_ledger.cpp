#include "actors/budget_ledger.hpp"

#include <algorithm>
#include <array>

namespace claude_pool {

std::string budget_refusal::message() const {
  auto left = cap > spent + reserved ? cap - spent - reserved : 0;
  if (code == "budget_exhausted")
    return "budget exhausted: " + format_microdollars(spent) + " spent and " + format_microdollars(reserved)
           + " reserved of a " + format_microdollars(cap) + " cap leave " + format_microdollars(left)
           + ", less than the " + format_microdollars(requested)
           + " a task reserves (budget_default_reservation_microdollars, or 125 % of the "
             "costliest task so far)";
  return "the task's budget of " + format_microdollars(requested) + " exceeds what remains ("
         + format_microdollars(left) + " of a " + format_microdollars(cap) + " cap, " + format_microdollars(spent)
         + " spent)";
}

budget_ledger::budget_ledger(std::optional<std::uint64_t> cap,
                             std::uint64_t default_reservation, bool reserve_observed)
  : cap_(cap), default_reservation_(default_reservation), reserve_observed_(reserve_observed) {
}

std::uint64_t budget_ledger::available() const {
  if (!cap_)
    return UINT64_MAX;
  auto used = spent_ + reserved_;
  return used >= *cap_ ? 0 : *cap_ - used;
}

std::uint64_t budget_ledger::expected_cost() const {
  // The CLI stops a task whose cost *reaches* its allowance (and drops the answer), so the
  // allowance must stay above what similar tasks cost: 25 % above the costliest so far.
  return std::max(default_reservation_, observed_max_ + observed_max_ / 4);
}

budget_refusal budget_ledger::refusal(const char* code, std::uint64_t requested) const {
  return budget_refusal{code, cap_.value_or(0), spent_, reserved_, requested};
}

std::optional<budget_refusal> budget_ledger::admit(std::optional<std::uint64_t> wanted) const {
  if (!cap_)
    return std::nullopt;
  auto unspent = spent_ >= *cap_ ? 0 : *cap_ - spent_;
  auto need = wanted.value_or(expected_cost());
  if (need <= unspent)
    return std::nullopt;
  auto r = refusal(wanted ? "task_budget_exceeds_remaining" : "budget_exhausted", need);
  r.reserved = 0; // admission compares with the unspent budget, reservations aside
  return r;
}

budget_grant budget_ledger::reserve(const task_id& task, std::optional<std::uint64_t> wanted) {
  budget_grant g;
  auto need = wanted.value_or(expected_cost());
  if (!cap_ || need <= available()) {
    g.allowance = need;
    reservations_[task] += need;
    reserved_ += need;
    ++grants_;
    return g;
  }
  if (reserved_ > 0) {
    g.what = budget_grant::wait; // running executions may give part of theirs back
    return g;
  }
  g.what = budget_grant::refused;
  g.refusal = refusal(wanted ? "task_budget_exceeds_remaining" : "budget_exhausted", need);
  ++refusals_;
  return g;
}

std::vector<int> budget_ledger::settle(const task_id& task, std::uint64_t cost) {
  if (auto it = reservations_.find(task); it != reservations_.end()) {
    reserved_ -= it->second;
    reservations_.erase(it);
  }
  spent_ += cost;
  ++settled_;
  if (reserve_observed_)
    observed_max_ = std::max(observed_max_, cost);
  std::vector<int> crossed;
  if (!cap_ || *cap_ == 0)
    return crossed;
  for (int threshold : std::array<int, 3>{50, 80, 100}) {
    bool reported = std::find(warned_.begin(), warned_.end(), threshold) != warned_.end();
    if (!reported && spent_ * 100 >= *cap_ * static_cast<std::uint64_t>(threshold)) {
      crossed.push_back(threshold);
      warned_.push_back(threshold);
    }
  }
  return crossed;
}

budget_status budget_ledger::status() const {
  budget_status s;
  s.cap_microdollars = cap_;
  s.spent_microdollars = spent_;
  s.reserved_microdollars = reserved_;
  s.available_microdollars = cap_ ? std::optional<std::uint64_t>(available()) : std::nullopt;
  s.reservation_microdollars = expected_cost();
  s.grants = grants_;
  s.refusals = refusals_;
  s.settled = settled_;
  s.running = reservations_.size();
  s.warnings = warned_;
  return s;
}

} // namespace claude_pool
