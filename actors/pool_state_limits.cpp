// The pool's answers to API limits and refused logins, free of messaging (see
// actors/limit_policy.hpp for the rules and pool_actor.hpp for the breaker's state).
#include <algorithm>
#include <set>

#include "actors/limit_policy.hpp"
#include "actors/pool_actor.hpp"
#include "actors/pool_task_transitions.hpp"
#include "runtime/cli/credential_env.hpp"

namespace claude_pool {

using namespace pool_task_transitions;
using outcome = pool_actor_state::outcome;

namespace {

/// Back in the queue, waiting for `until`: no attempt is used. Another credential may take
/// it before then; `waiting_until_ms` says when this one can.
outcome wait(pool_actor_state& st, task_record& task, std::uint64_t until, std::string why,
             std::uint64_t now) {
  ++task.rate_limit_waits;
  if (!task.waiting_since_ms)
    task.waiting_since_ms = now;
  task.waiting_until_ms = until;
  task.wait_reason = std::move(why);
  requeue(st, task, now);
  return outcome::requeued;
}

void pause_until(credential_state& c, std::uint64_t until, const std::string& why) {
  if (!c.cooldown_until || until >= *c.cooldown_until) {
    c.cooldown_until = until;
    c.cooldown_reason = why;
  }
}

std::string who(const credential_state& c) {
  return c.profile ? describe_credential(*c.profile)
                   : "credential \"" + c.name + "\" (" +
                       (c.name == default_credential_name
                          ? std::string("the pool's environment: ANTHROPIC_API_KEY, "
                                        "CLAUDE_CODE_OAUTH_TOKEN, or `claude /login` for the "
                                        "pool's user")
                          : std::string("a slot host's own login")) + ")";
}

std::string auth_advice(const credential_state& c, const task_result& r) {
  return "the CLI's login was refused (" + (r.api_error_status
                                               ? "API " + std::to_string(*r.api_error_status)
                                               : std::string("no credentials"))
         + "): " + r.output + " — fix " + who(c);
}

std::uint64_t next_probe(const pool_actor_state& st, std::uint64_t now) {
  return now + st.config->auth_probe_secs * 1000;
}

bool parks(const pool_actor_state& st) { return st.config->auth_failure == "park"; }

/// The credentials that have a slot.
std::vector<std::string> slotted(const pool_actor_state& st) {
  std::vector<std::string> keys;
  for (auto& [key, n] : st.slots_per_credential)
    keys.push_back(key);
  return keys;
}

/// True when `pred` holds for every credential that has a slot (false without slots).
template <class Pred>
bool every_slotted(const pool_actor_state& st, Pred pred) {
  return !st.slots_per_credential.empty()
         && std::all_of(st.slots_per_credential.begin(), st.slots_per_credential.end(),
                        [&](const auto& kv) {
                          auto it = st.credentials.find(kv.first);
                          return it != st.credentials.end() && pred(it->second);
                        });
}

} // namespace

credential_state& pool_actor_state::credential_of(const std::optional<slot_id>& slot) {
  if (slot)
    if (auto it = slots.find(*slot); it != slots.end())
      return credential_named(it->second.credential);
  return credential_named(std::string(default_credential_name));
}

credential_state& pool_actor_state::credential_named(const std::string& key) {
  auto [it, made] = credentials.try_emplace(key);
  if (made) {
    it->second.name = key;
    for (auto& profile : config->credentials)
      if (profile.name == key) {
        it->second.profile = profile;
        it->second.max_concurrent = profile.max_concurrent;
        it->second.start_stagger_ms = profile.start_stagger_ms;
      }
  }
  return it->second;
}

bool pool_actor_state::paused(std::uint64_t now) const {
  return every_slotted(*this, [&](const credential_state& c) { return c.held(now); });
}

bool pool_actor_state::all_refused() const {
  return every_slotted(*this, [](const credential_state& c) { return c.auth.open; });
}

std::optional<std::uint64_t> pool_actor_state::next_resume(std::uint64_t now) const {
  std::optional<std::uint64_t> first;
  for (auto& [key, c] : credentials)
    if (auto at = c.free_at(now); at && (!first || *at < *first))
      first = at;
  return first;
}

void pool_actor_state::trip_auth(const task_result& result, const std::optional<slot_id>& slot,
                                 std::uint64_t now) {
  auto& c = credential_of(slot);
  bool was_open = c.auth.open;
  c.auth.open = true;
  c.auth.probe.reset();
  c.auth.reason = auth_advice(c, result);
  c.cooldown_until = next_probe(*this, now);
  c.cooldown_reason = "credential \"" + c.name + "\" refused; next check "
                      + describe_time_utc(*c.cooldown_until);
  if (was_open) {
    record_event(pool_event{now, "auth_probe_failed", slot,
                            "still refused; next check in "
                              + describe_duration(config->auth_probe_secs * 1000) + ": "
                              + c.auth.reason});
    return;
  }
  // Every other running task of this credential uses the same login: stop them now rather
  // than let each retry against a refusing API. Other credentials are not concerned.
  std::size_t stopped = 0;
  for (auto& [id, entry] : slots)
    if (entry.record.state == slot_state::busy && entry.record.current_task
        && (!slot || id != *slot) && credential_key(entry.record) == c.name) {
      preempted.insert(*entry.record.current_task);
      to_preempt.emplace_back(id, *entry.record.current_task);
      ++stopped;
    }
  bool others = !all_refused();
  record_event(pool_event{now, "auth_failed", slot,
                          c.auth.reason + "; no task starts on it until it works again (checked "
                            "every " + describe_duration(config->auth_probe_secs * 1000) + "); "
                            + std::to_string(stopped) + " of its running task(s) stopped; "
                            + (others ? std::string("its tasks run on the other credentials")
                                      : std::string("waiting tasks are ")
                                          + (parks(*this) ? "kept (auth_failure: park)"
                                                          : "failed (auth_failure: fail)"))});
}

std::vector<task_id> pool_actor_state::fail_parked(std::uint64_t now) {
  if (parks(*this) || !all_refused() || !paused(now))
    return {};
  std::string reason;
  for (auto& key : slotted(*this))
    reason += (reason.empty() ? "" : "; ") + credentials.at(key).auth.reason;
  return fail_queued(*this, reason, "auth_failed");
}

namespace pool_task_transitions {

outcome settle_limit(pool_actor_state& st, task_record& task, task_result result,
                     std::uint64_t now) {
  auto& c = st.credential_of(task.slot_id);
  ++c.consecutive_rate_limits;
  auto v = judge_limit(result, task, *st.config, c.consecutive_rate_limits, now);
  pause_until(c, v.pause_until_ms, v.reason);
  st.record_event(pool_event{now, "rate_limited", task.slot_id,
                             "credential \"" + c.name + "\": " + v.reason
                               + ": no task starts on it until "
                               + describe_time_utc(v.pause_until_ms)});
  if (v.task_fails) {
    result.output = v.failure;
    task.waiting_since_ms.reset();
    fail_task(st, task, std::move(result));
    return outcome::settled;
  }
  return wait(st, task, v.pause_until_ms, v.reason, now);
}

outcome settle_auth_failure(pool_actor_state& st, task_record& task, task_result result,
                            std::uint64_t now) {
  auto& c = st.credential_of(task.slot_id);
  // A task that was already under way when the breaker opened says nothing new.
  bool probe_failed = c.auth.open && c.auth.probe == task.id;
  if (!c.auth.open || probe_failed)
    st.trip_auth(result, task.slot_id, now);
  // Another credential may run it; else it waits for this one's probe, or fails.
  if (parks(st) || !st.all_refused())
    return wait(st, task, *c.cooldown_until, "credentials refused: " + c.auth.reason, now);
  result.output = c.auth.reason;
  fail_task(st, task, std::move(result));
  return outcome::settled;
}

outcome settle_preempted(pool_actor_state& st, task_record& task, task_result result,
                         std::uint64_t now) {
  auto& c = st.credential_of(task.slot_id);
  if (c.auth.open && (parks(st) || !st.all_refused()))
    return wait(st, task, c.cooldown_until.value_or(now),
                "stopped while running: credentials refused on another slot of credential \""
                  + c.name + "\"",
                now);
  result.output = "stopped while running: " + c.auth.reason;
  result.subtype = "auth_failed";
  fail_task(st, task, std::move(result));
  return outcome::settled;
}

void note_usage_warning(pool_actor_state& st, const task_result& result, const slot_id& slot,
                        std::uint64_t now) {
  if (!result.rate_limit || result.rate_limit->status != "allowed_warning")
    return;
  auto& c = st.credential_of(slot);
  auto& w = *result.rate_limit;
  auto headroom = st.config->window_headroom;
  if (headroom > 0 && w.utilization && w.resets_at_ms && *w.utilization >= 1 - headroom
      && *w.resets_at_ms > now) {
    auto why = "keeping " + std::to_string(static_cast<int>(headroom * 100 + 0.5)) + " % of the "
               + w.window.value_or("usage") + " window free (window_headroom); resets "
               + describe_time_utc(*w.resets_at_ms);
    pause_until(c, *w.resets_at_ms, why);
    st.record_event(pool_event{now, "window_headroom", slot,
                               "credential \"" + c.name + "\": " + why});
  }
  if (c.warned_window && w.resets_at_ms && *c.warned_window == *w.resets_at_ms)
    return; // this window was reported already
  c.warned_window = w.resets_at_ms.value_or(0);
  std::string text = "credential \"" + c.name + "\": the " + w.window.value_or("usage")
                     + " window is";
  if (w.utilization)
    text += " " + std::to_string(static_cast<int>(*w.utilization * 100 + 0.5)) + " %";
  text += " used";
  if (w.resets_at_ms)
    text += "; it resets " + describe_time_utc(*w.resets_at_ms);
  text += "; its tasks will wait once it is exhausted";
  st.record_event(pool_event{now, "usage_warning", slot, text});
}

void close_auth(pool_actor_state& st, const slot_id& slot, const task_result& result,
                std::uint64_t now) {
  auto& c = st.credential_of(slot);
  c.auth.probe.reset();
  // A crash or a garbled answer says nothing about the login: let the next task probe.
  bool login_works = result.success || (result.api_error_status && !auth_refused(result));
  if (!login_works)
    return;
  c.auth.open = false;
  c.cooldown_until.reset();
  c.cooldown_reason.reset();
  st.record_event(pool_event{now, "auth_recovered", slot,
                             "credential \"" + c.name + "\" works again; routing resumes"});
}

} // namespace pool_task_transitions

} // namespace claude_pool
