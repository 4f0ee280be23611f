// The pool's answers to API limits and refused logins, free of messaging (see
// actors/limit_policy.hpp for the rules and pool_actor.hpp for the breaker's state).
#include <algorithm>

#include "actors/limit_policy.hpp"
#include "actors/pool_actor.hpp"
#include "actors/pool_task_transitions.hpp"

namespace claude_pool {

using namespace pool_task_transitions;
using outcome = pool_actor_state::outcome;

namespace {

/// Back in the queue, waiting for `until`: no attempt is used.
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

void pause_until(pool_actor_state& st, std::uint64_t until, const std::string& why) {
  if (!st.cooldown_until || until >= *st.cooldown_until) {
    st.cooldown_until = until;
    st.cooldown_reason = why;
  }
}

std::string auth_advice(const task_result& r) {
  return "the CLI's login was refused (" + (r.api_error_status
                                               ? "API " + std::to_string(*r.api_error_status)
                                               : std::string("no credentials"))
         + "): " + r.output
         + " — fix the credential (a valid ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, or "
           "`claude /login` for the pool's user)";
}

std::uint64_t next_probe(const pool_actor_state& st, std::uint64_t now) {
  return now + st.config->auth_probe_secs * 1000;
}

bool parks(const pool_actor_state& st) { return st.config->auth_failure == "park"; }

} // namespace

bool pool_actor_state::paused(std::uint64_t now) const {
  if (cooldown_until && now < *cooldown_until)
    return true;
  return auth.open && auth.probe.has_value(); // one probe at a time
}

void pool_actor_state::trip_auth(const task_result& result, const std::optional<slot_id>& slot,
                                 std::uint64_t now) {
  bool was_open = auth.open;
  auth.open = true;
  auth.probe.reset();
  auth.reason = auth_advice(result);
  cooldown_until = next_probe(*this, now);
  cooldown_reason = "credentials refused; next check " + describe_time_utc(*cooldown_until);
  if (was_open) {
    record_event(pool_event{now, "auth_probe_failed", slot,
                            "still refused; next check in "
                              + describe_duration(config->auth_probe_secs * 1000) + ": "
                              + auth.reason});
    return;
  }
  // Every other running task uses the same login: stop them now rather than let each
  // retry against a refusing API.
  for (auto& [id, entry] : slots)
    if (entry.record.state == slot_state::busy && entry.record.current_task
        && (!slot || id != *slot)) {
      preempted.insert(*entry.record.current_task);
      to_preempt.emplace_back(id, *entry.record.current_task);
    }
  record_event(pool_event{now, "auth_failed", slot,
                          "credential \"default\": " + auth.reason + "; no task starts until "
                            "it works again (checked every "
                            + describe_duration(config->auth_probe_secs * 1000) + "); "
                            + std::to_string(to_preempt.size()) + " running task(s) stopped; "
                            "waiting tasks are "
                            + (parks(*this) ? "kept (auth_failure: park)"
                                            : "failed (auth_failure: fail)")});
}

std::vector<task_id> pool_actor_state::fail_parked(std::uint64_t now) {
  std::vector<task_id> out;
  if (!auth.open || parks(*this) || !paused(now))
    return out;
  for (auto& id : queue) {
    auto it = tasks.find(id);
    if (it == tasks.end() || it->second.state != task_state::pending)
      continue;
    queued_at.erase(id);
    fail_task(*this, it->second, task_result::failure(auth.reason, "auth_failed"));
    out.push_back(id);
  }
  queue.clear();
  return out;
}

namespace pool_task_transitions {

outcome settle_limit(pool_actor_state& st, task_record& task, task_result result,
                     std::uint64_t now) {
  ++st.consecutive_rate_limits;
  auto v = judge_limit(result, task, *st.config, st.consecutive_rate_limits, now);
  pause_until(st, v.pause_until_ms, v.reason);
  st.record_event(pool_event{now, "rate_limited", task.slot_id,
                             v.reason + ": no task starts until "
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
  // A task that was already under way when the breaker opened says nothing new.
  bool probe_failed = st.auth.open && st.auth.probe == task.id;
  if (!st.auth.open || probe_failed)
    st.trip_auth(result, task.slot_id, now);
  if (parks(st))
    return wait(st, task, *st.cooldown_until, "credentials refused: " + st.auth.reason, now);
  result.output = st.auth.reason;
  fail_task(st, task, std::move(result));
  return outcome::settled;
}

outcome settle_preempted(pool_actor_state& st, task_record& task, task_result result,
                         std::uint64_t now) {
  if (parks(st) && st.auth.open)
    return wait(st, task, st.cooldown_until.value_or(now),
                "stopped while running: credentials refused on another slot", now);
  result.output = "stopped while running: " + st.auth.reason;
  result.subtype = "auth_failed";
  fail_task(st, task, std::move(result));
  return outcome::settled;
}

void note_usage_warning(pool_actor_state& st, const task_result& result, const slot_id& slot,
                        std::uint64_t now) {
  if (!result.rate_limit || result.rate_limit->status != "allowed_warning")
    return;
  auto& w = *result.rate_limit;
  auto headroom = st.config->window_headroom;
  if (headroom > 0 && w.utilization && w.resets_at_ms && *w.utilization >= 1 - headroom
      && *w.resets_at_ms > now) {
    auto why = "keeping " + std::to_string(static_cast<int>(headroom * 100 + 0.5)) + " % of the "
               + w.window.value_or("usage") + " window free (window_headroom); resets "
               + describe_time_utc(*w.resets_at_ms);
    pause_until(st, *w.resets_at_ms, why);
    st.record_event(pool_event{now, "window_headroom", slot, why});
  }
  if (st.warned_window && w.resets_at_ms && *st.warned_window == *w.resets_at_ms)
    return; // this window was reported already
  st.warned_window = w.resets_at_ms.value_or(0);
  std::string text = "the " + w.window.value_or("usage") + " window is";
  if (w.utilization)
    text += " " + std::to_string(static_cast<int>(*w.utilization * 100 + 0.5)) + " %";
  text += " used";
  if (w.resets_at_ms)
    text += "; it resets " + describe_time_utc(*w.resets_at_ms);
  text += "; tasks will wait once it is exhausted";
  st.record_event(pool_event{now, "usage_warning", slot, text});
}

void close_auth(pool_actor_state& st, const task_result& result, std::uint64_t now) {
  st.auth.probe.reset();
  // A crash or a garbled answer says nothing about the login: let the next task probe.
  bool login_works = result.success || (result.api_error_status && !auth_refused(result));
  if (!login_works)
    return;
  st.auth.open = false;
  st.cooldown_until.reset();
  st.cooldown_reason.reset();
  st.record_event(pool_event{now, "auth_recovered", std::nullopt,
                             "credential \"default\" works again; routing resumes"});
}

} // namespace pool_task_transitions

} // namespace claude_pool
