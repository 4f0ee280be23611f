#include "actors/budget_ledger.hpp"

#include <algorithm>
#include <array>

namespace claude_pool {

namespace {

constexpr std::uint64_t day_ms = 24ull * 3600 * 1000;

/// "tag \"research\"", "chain c-12", "the daily": how a message names a scope.
std::string scope_words(const std::string& scope) {
  if (scope.rfind("tag:", 0) == 0)
    return "tag \"" + scope.substr(4) + "\"";
  if (scope.rfind("chain:", 0) == 0)
    return "chain " + scope.substr(6);
  return scope;
}

} // namespace

std::string budget_refusal::message() const {
  auto left = cap > spent + reserved ? cap - spent - reserved : 0;
  auto whose = scope.empty() ? std::string() : " for " + scope_words(scope);
  if (code == "budget_exhausted")
    return "budget exhausted" + whose + ": " + format_microdollars(spent) + " spent and "
           + format_microdollars(reserved) + " reserved of a " + format_microdollars(cap)
           + " cap leave " + format_microdollars(left) + ", less than the "
           + format_microdollars(requested)
           + " a task needs (the costliest task so far, or the task's own max_budget_usd)";
  return "the task's budget of " + format_microdollars(requested) + " exceeds what remains"
         + whose + " (" + format_microdollars(left) + " of a " + format_microdollars(cap)
         + " cap, " + format_microdollars(spent) + " spent)";
}

budget_ledger::budget_ledger(std::optional<std::uint64_t> cap,
                             std::uint64_t default_reservation, bool reserve_observed,
                             budget_policy policy)
  : cap_(cap), default_reservation_(default_reservation), reserve_observed_(reserve_observed),
    policy_(policy) {
}

void budget_ledger::set_scopes(budget_scope_caps caps, std::function<std::uint64_t()> clock) {
  scope_caps_ = std::move(caps);
  clock_ = std::move(clock);
}

std::uint64_t budget_ledger::available() const {
  if (!cap_)
    return UINT64_MAX;
  auto used = spent_ + reserved_;
  return used >= *cap_ ? 0 : *cap_ - used;
}

std::uint64_t budget_ledger::expected_cost() const {
  if (policy_ == budget_policy::learn)
    return observed_max_;
  // The CLI stops a task whose cost *reaches* its allowance (and drops the answer), so the
  // allowance must stay above what similar tasks cost: 25 % above the costliest so far.
  return std::max(default_reservation_, observed_max_ + observed_max_ / 4);
}

void budget_ledger::roll_daily() {
  if (!scope_caps_.daily)
    return;
  auto now = clock_();
  auto& day = accounts_["daily"];
  day.cap = *scope_caps_.daily;
  if (!day.resets_at_ms) {
    // The next reset time of day after now (UTC).
    auto midnight = now / day_ms * day_ms;
    auto at = midnight + scope_caps_.daily_reset_secs * 1000;
    day.resets_at_ms = at > now ? at : at + day_ms;
    return;
  }
  if (now < *day.resets_at_ms)
    return;
  day.spent = 0; // a new day: what runs now still holds its reservation
  while (*day.resets_at_ms <= now)
    *day.resets_at_ms += day_ms;
}

std::vector<std::string> budget_ledger::scopes_of(const std::vector<std::string>& tags) {
  std::vector<std::string> out;
  for (auto& tag : tags) {
    if (auto cap = scope_caps_.per_tag.find(tag); cap != scope_caps_.per_tag.end()) {
      out.push_back("tag:" + tag);
      accounts_[out.back()].cap = cap->second;
    }
    if (scope_caps_.per_chain && tag.rfind("chain:", 0) == 0) {
      out.push_back(tag);
      accounts_[tag].cap = *scope_caps_.per_chain;
    }
  }
  if (scope_caps_.daily)
    out.push_back("daily");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::pair<std::uint64_t, std::string>
budget_ledger::free_in(const std::vector<std::string>& scopes) const {
  std::pair<std::uint64_t, std::string> least{available(), ""};
  for (auto& scope : scopes) {
    auto free = accounts_.at(scope).free();
    if (free < least.first)
      least = {free, scope};
  }
  return least;
}

void budget_ledger::reheld(const hold& h, std::uint64_t before) {
  auto after = h.held();
  reserved_ = reserved_ - before + after;
  for (auto& scope : h.scopes) {
    auto& a = accounts_[scope];
    a.held = a.held - before + after;
  }
}

budget_refusal budget_ledger::refusal(const char* code, std::uint64_t requested) const {
  return budget_refusal{code, "", cap_.value_or(0), spent_, reserved_, requested};
}

budget_refusal budget_ledger::refusal_in(const std::string& scope, const char* code,
                                         std::uint64_t requested) const {
  if (scope.empty())
    return refusal(code, requested);
  auto& a = accounts_.at(scope);
  return budget_refusal{code, scope, a.cap, a.spent, a.held, requested};
}

std::optional<budget_refusal> budget_ledger::admit(std::optional<std::uint64_t> wanted,
                                                   const std::vector<std::string>& tags) {
  roll_daily();
  auto scopes = scopes_of(tags);
  // learn: a task needs more than the costliest so far leaves (it must stay below its
  // allowance), and at least a microdollar before anything was seen.
  auto need = wanted.value_or(expected_cost());
  bool strict = policy_ == budget_policy::learn && !wanted;
  auto fits = [&](std::uint64_t cap, std::uint64_t spent) {
    auto unspent = spent >= cap ? 0 : cap - spent;
    return strict ? need < unspent : need <= unspent;
  };
  const char* code = wanted ? "task_budget_exceeds_remaining" : "budget_exhausted";
  auto refuse = [&](std::string scope, std::uint64_t cap, std::uint64_t spent) {
    // Admission compares with the unspent budget, reservations aside.
    return budget_refusal{code, std::move(scope), cap, spent, 0, std::max<std::uint64_t>(need, 1)};
  };
  if (cap_ && !fits(*cap_, spent_))
    return refuse("", *cap_, spent_);
  for (auto& scope : scopes) {
    auto& a = accounts_.at(scope);
    if (scope != "daily" && !fits(a.cap, a.spent)) // the day's cap resets: tasks wait for it
      return refuse(scope, a.cap, a.spent);
  }
  return std::nullopt;
}

budget_grant budget_ledger::grant(const task_id& task, std::uint64_t reservation,
                                  std::uint64_t allowance, bool learning,
                                  std::vector<std::string> scopes) {
  budget_grant g;
  g.reservation = reservation;
  g.allowance = allowance;
  auto& h = reservations_[task];
  auto before = h.held(); // a task holds one reservation (a fresh one replaces an old)
  for (auto& scope : h.scopes)
    accounts_[scope].held -= before;
  reserved_ -= before;
  h = hold{reservation, allowance, 0, learning, std::move(scopes)};
  reheld(h, 0);
  ++grants_;
  return g;
}

budget_grant budget_ledger::blocked(const std::string& scope, std::uint64_t need, bool own) {
  budget_grant g;
  if (scope == "daily") {
    g.what = budget_grant::wait; // the day's cap resets: wait for it, never refuse
    g.retry_at_ms = accounts_.at("daily").resets_at_ms;
    return g;
  }
  // Executions running in the scope that is short may give part of theirs back.
  bool may_free = scope.empty() ? reserved_ > 0 : accounts_.at(scope).held > 0;
  if (may_free) {
    g.what = budget_grant::wait;
    return g;
  }
  g.what = budget_grant::refused;
  g.refusal = refusal_in(scope, own ? "task_budget_exceeds_remaining" : "budget_exhausted", need);
  ++refusals_;
  return g;
}

budget_grant budget_ledger::learn_reserve(const task_id& task, std::vector<std::string> scopes) {
  auto [free, tightest] = free_in(scopes);
  if (observed_max_ == 0) {
    // Slow start: nothing was seen, so no guess is made. One execution runs alone with
    // everything free; the others wait for its cost.
    bool learning = std::any_of(reservations_.begin(), reservations_.end(),
                                [](auto& r) { return r.second.learning; });
    if (!learning && free > 0)
      return grant(task, free, free, true, std::move(scopes));
    if (learning) {
      budget_grant g;
      g.what = budget_grant::wait;
      return g;
    }
    return blocked(tightest, 1, false);
  }
  if (observed_max_ < free)
    // It holds the costliest so far; its CLI may use all that is free now, so a dearer task
    // is not stopped while the budget has room (track() stops it when there is none).
    return grant(task, observed_max_, free, false, std::move(scopes));
  return blocked(tightest, observed_max_ + 1, false);
}

budget_grant budget_ledger::reserve(const task_id& task, std::optional<std::uint64_t> wanted,
                                    const std::vector<std::string>& tags) {
  roll_daily();
  auto scopes = scopes_of(tags);
  if (!cap_ && scopes.empty()) // nothing caps this task: no allowance unless its own
    return grant(task, 0, wanted.value_or(no_allowance), false, {});
  if (policy_ == budget_policy::learn && !wanted)
    return learn_reserve(task, std::move(scopes));
  auto need = wanted.value_or(expected_cost());
  auto [free, tightest] = free_in(scopes);
  if (need <= free)
    return grant(task, need, need, false, std::move(scopes));
  return blocked(tightest, need, wanted.has_value());
}

std::string budget_ledger::track(const task_id& task, std::uint64_t cost) {
  auto it = reservations_.find(task);
  if (it == reservations_.end())
    return {};
  auto& h = it->second;
  if (cost <= h.seen)
    return {};
  auto before = h.held();
  h.seen = cost;
  reheld(h, before);
  if (policy_ != budget_policy::learn)
    return {};
  // What it has cost already is a lower bound of what a task like it costs.
  observed_max_ = std::max(observed_max_, cost);
  if (h.seen <= h.reservation)
    return {}; // within its reservation: never stopped
  // Over its reservation: stopped only when one of its caps cannot hold it any more.
  std::string over;
  std::uint64_t cap = 0, spent = 0, held = 0;
  if (cap_ && spent_ + reserved_ > *cap_) {
    cap = *cap_, spent = spent_, held = reserved_;
    over = "the budget";
  }
  for (auto& scope : h.scopes) {
    auto& a = accounts_.at(scope);
    if (over.empty() && a.spent + a.held > a.cap) {
      cap = a.cap, spent = a.spent, held = a.held;
      over = "the budget for " + scope_words(scope);
    }
  }
  if (over.empty())
    return {};
  ++stops_;
  return "stopped after its cost reached " + format_microdollars(cost) + ", more than the "
         + format_microdollars(h.reservation) + " it reserved: " + over
         + " cannot take another turn (" + format_microdollars(spent) + " spent and "
         + format_microdollars(held) + " held of a " + format_microdollars(cap) + " cap)";
}

std::uint64_t budget_ledger::unknown_cost(const task_id& task) const {
  auto it = reservations_.find(task);
  return it == reservations_.end() ? 0 : it->second.held();
}

std::vector<int> budget_ledger::settle(const task_id& task, std::uint64_t cost) {
  roll_daily();
  std::vector<std::string> scopes;
  if (auto it = reservations_.find(task); it != reservations_.end()) {
    auto held = it->second.held();
    reserved_ -= held;
    for (auto& scope : it->second.scopes)
      accounts_[scope].held -= held;
    scopes = std::move(it->second.scopes);
    reservations_.erase(it);
  }
  spent_ += cost;
  for (auto& scope : scopes)
    accounts_[scope].spent += cost;
  ++settled_;
  if (reserve_observed_ || policy_ == budget_policy::learn)
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
  s.policy = policy_ == budget_policy::learn ? "learn" : "fixed";
  s.remaining_microdollars = s.available_microdollars;
  s.stopped = stops_;
  for (auto& [task, h] : reservations_)
    s.reservations.push_back(budget_reservation{task, h.held(), h.allowance, h.seen});
  for (auto& [name, a] : accounts_)
    s.scopes.push_back(
      budget_scope_status{name, a.cap, a.spent, a.held, a.free(), a.resets_at_ms});
  return s;
}

} // namespace claude_pool
