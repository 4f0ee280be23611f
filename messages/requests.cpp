#include "messages/requests.hpp"

#include "messages/json.hpp"
#include "messages/json_fields.hpp"

namespace claude_pool {

using nlohmann::json;

namespace {

// -- field lists (in reading order; see messages/json_fields.hpp) -----------------------------

template <class W>
void fields(W& w, pool_event& x) {
  w.required("at_ms", x.at_ms);
  w.required("kind", x.kind);
  w.nullable("slot_id", x.slot_id);
  w.required("message", x.message);
  w.omitted("failure_class", x.failure_class);
}

template <class W>
void fields(W& w, task_submission& x) {
  w.required("prompt", x.prompt);
  w.defaulted("tags", x.tags);
  w.nullable("config", x.config);
  w.defaulted("max_attempts", x.max_attempts);
  w.defaulted("review_required", x.review_required);
  w.defaulted("max_rejections", x.max_rejections);
  w.omitted("live_progress", x.live_progress, false);
  w.omitted("working_dir", x.working_dir);
}

/// A batch file line is a task submission cut down to what a batch sets per task (no review
/// gate, no working directory), hence its own, shorter list.
template <class W>
void batch_line_fields(W& w, task_submission& x) {
  w.required("prompt", x.prompt);
  w.defaulted("tags", x.tags);
  w.defaulted("max_attempts", x.max_attempts);
  w.defaulted("live_progress", x.live_progress);
  w.nullable("config", x.config);
}

template <class W>
void fields(W& w, budget_reservation& x) {
  w.required("task", x.task);
  w.required("reserved_microdollars", x.reserved_microdollars);
  w.defaulted("allowance_microdollars", x.allowance_microdollars);
  w.defaulted("cost_so_far_microdollars", x.cost_so_far_microdollars);
}

template <class W>
void fields(W& w, budget_scope_status& x) {
  w.required("name", x.name);
  w.required("cap_microdollars", x.cap_microdollars);
  w.defaulted("spent_microdollars", x.spent_microdollars);
  w.defaulted("reserved_microdollars", x.reserved_microdollars);
  w.defaulted("remaining_microdollars", x.remaining_microdollars);
  w.omitted("resets_at_ms", x.resets_at_ms);
}

template <class W>
void fields(W& w, budget_status& x) {
  w.nullable("cap_microdollars", x.cap_microdollars);
  w.required("spent_microdollars", x.spent_microdollars);
  w.defaulted("reserved_microdollars", x.reserved_microdollars);
  w.nullable("available_microdollars", x.available_microdollars);
  w.defaulted("reservation_microdollars", x.reservation_microdollars);
  w.defaulted("grants", x.grants);
  w.defaulted("refusals", x.refusals);
  w.defaulted("settled", x.settled);
  w.defaulted("running", x.running);
  w.defaulted("warnings", x.warnings);
  w.omitted("policy", x.policy, std::string());
  w.omitted("remaining_microdollars", x.remaining_microdollars);
  w.defaulted("stopped", x.stopped);
  w.omitted("reservations", x.reservations);
  w.omitted("scopes", x.scopes);
}

template <class W>
void fields(W& w, credential_status& x) {
  w.required("name", x.name);
  w.defaulted("slots", x.slots);
  w.defaulted("running", x.running);
  w.omitted("max_concurrent", x.max_concurrent);
  w.omitted("waiting_until_ms", x.waiting_until_ms);
  w.omitted("wait_reason", x.wait_reason);
  w.defaulted("login_refused", x.login_refused);
}

template <class W>
void fields(W& w, pool_status& x) {
  w.required("slots", x.slots);
  w.required("pending", x.pending);
  w.required("running", x.running);
  w.required("completed", x.completed);
  w.required("failed", x.failed);
  w.required("cancelled", x.cancelled);
  w.defaulted("pending_review", x.pending_review);
  w.required("draining", x.draining);
  w.omitted("cooldown_until_ms", x.cooldown_until_ms);
  w.omitted("cooldown_reason", x.cooldown_reason);
  w.omitted("credentials", x.credentials);
  w.defaulted("events", x.events);
  w.omitted("budget", x.budget);
  w.defaulted("target_slots", x.target_slots);
  w.defaulted("records_in_memory", x.records_in_memory);
  w.omitted("progress", x.progress);
}

template <class W>
void fields(W& w, pool_load& x) {
  w.required("slots", x.slots);
  w.required("busy", x.busy);
  w.required("pending", x.pending);
  w.defaulted("idle_since_ms", x.idle_since_ms);
}

template <class W>
void fields(W& w, drain_summary& x) {
  w.required("completed", x.completed);
  w.required("failed", x.failed);
  w.required("cancelled_at_deadline", x.cancelled_at_deadline);
  w.required("deadline_reached", x.deadline_reached);
  w.required("elapsed_ms", x.elapsed_ms);
}

template <class W>
void fields(W& w, task_assignment& x) {
  w.required("id", x.id);
  w.required("prompt", x.prompt);
  w.nullable("overrides", x.overrides);
  w.defaulted("live_progress", x.live_progress);
  w.nullable("working_dir", x.working_dir);
  w.defaulted("watch_cost", x.watch_cost);
}

template <class W>
void fields(W& w, submit_answer& x) {
  w.nullable("id", x.id);
  w.defaulted("error_code", x.error_code);
  w.defaulted("error", x.error);
}

} // namespace

CLAUDE_POOL_JSON_OBJECT(pool_event)
CLAUDE_POOL_JSON_OBJECT(task_submission)
CLAUDE_POOL_JSON_OBJECT(budget_reservation)
CLAUDE_POOL_JSON_OBJECT(budget_scope_status)
CLAUDE_POOL_JSON_OBJECT(budget_status)
CLAUDE_POOL_JSON_OBJECT(credential_status)
CLAUDE_POOL_JSON_OBJECT(pool_status)
CLAUDE_POOL_JSON_OBJECT(pool_load)
CLAUDE_POOL_JSON_OBJECT(drain_summary)
CLAUDE_POOL_JSON_OBJECT(task_assignment)
CLAUDE_POOL_JSON_OBJECT(submit_answer)

task_submission parse_batch_line(const json& j) {
  task_submission sub;
  detail::field_reader r(j, "line", true);
  batch_line_fields(r, sub);
  r.finish();
  if (sub.prompt.empty())
    throw json_error("line.prompt: must not be empty");
  return sub;
}

} // namespace claude_pool
