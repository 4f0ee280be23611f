#include "actors/budget_ledger.hpp"

#include <algorithm>
#include <array>

namespace claude_pool {

namespace {

std::string usd(std::uint64_t micro) {
  auto whole = micro / 1000000, frac = micro % 1000000;
  auto digits = std::to_string(frac);
  return "$" + std::to_string(whole) + "." + std::string(6 - digits.size(), '0') + digits;
}

} // namespace

std::string budget_refusal::message() const {
  if (code == "budget_exhausted")
    return "budget exhausted: " + usd(spent) + " spent and " + usd(reserved)
           + " reserved of a " + usd(cap) + " cap";
  return "the task's budget of " + usd(requested) + " exceeds what remains ("
         + usd(cap > spent + reserved ? cap - spent - reserved : 0) + " of a " + usd(cap)
         + " cap)";
}

budget_ledger::budget_ledger(std::optional<std::uint64_t> cap,
                             std::uint64_t default_reservation)
  : cap_(cap), default_reservation_(default_reservation) {
}

std::uint64_t budget_ledger::available() const {
  if (!cap_)
    return UINT64_MAX;
  auto used = spent_ + reserved_;
  return used >= *cap_ ? 0 : *cap_ - used;
}

std::optional<budget_refusal> budget_ledger::reserve(const task_id& task,
                                                     std::optional<std::uint64_t> wanted) {
  auto refuse = [&](const char* code, std::uint64_t requested) {
    return budget_refusal{code, cap_.value_or(0), spent_, reserved_, requested};
  };
  std::uint64_t amount = wanted.value_or(default_reservation_);
  if (cap_) {
    auto left = available();
    if (left == 0)
      return refuse("budget_exhausted", amount);
    if (wanted && *wanted > left)
      return refuse("task_budget_exceeds_remaining", *wanted);
    amount = std::min(amount, left);
  }
  reservations_[task] = amount;
  reserved_ += amount;
  return std::nullopt;
}

std::uint64_t budget_ledger::allowance(const task_id& task) const {
  auto it = reservations_.find(task);
  return it == reservations_.end() ? 0 : it->second;
}

std::vector<int> budget_ledger::settle(const task_id& task, std::uint64_t cost) {
  release(task);
  spent_ += cost;
  std::vector<int> crossed;
  if (!cap_ || *cap_ == 0)
    return crossed;
  for (int threshold : std::array<int, 3>{50, 80, 100}) {
    if (threshold > warned_up_to_ && spent_ * 100 >= *cap_ * static_cast<std::uint64_t>(threshold)) {
      crossed.push_back(threshold);
      warned_up_to_ = threshold;
    }
  }
  return crossed;
}

void budget_ledger::release(const task_id& task) {
  auto it = reservations_.find(task);
  if (it == reservations_.end())
    return;
  reserved_ -= it->second;
  reservations_.erase(it);
}

} // namespace claude_pool
