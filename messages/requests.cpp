#include "messages/requests.hpp"

#include "messages/json.hpp"
#include "messages/json_reader.hpp"

namespace claude_pool {

using nlohmann::json;
using detail::object_reader;

void to_json(json& j, const pool_event& x) {
  j = json{{"at_ms", x.at_ms}, {"kind", x.kind}, {"message", x.message}};
  j["slot_id"] = x.slot_id ? json(*x.slot_id) : json(nullptr);
}

void from_json(const json& j, pool_event& x) {
  object_reader r(j, "pool_event", false);
  r.required("at_ms", x.at_ms);
  r.required("kind", x.kind);
  r.optional("slot_id", x.slot_id);
  r.required("message", x.message);
}

void to_json(json& j, const task_submission& x) {
  j = json{{"prompt", x.prompt},
           {"tags", x.tags},
           {"max_attempts", x.max_attempts},
           {"review_required", x.review_required},
           {"max_rejections", x.max_rejections}};
  j["config"] = x.config ? json(*x.config) : json(nullptr);
  if (x.live_progress)
    j["live_progress"] = true;
  if (x.working_dir)
    j["working_dir"] = *x.working_dir;
}

void from_json(const json& j, task_submission& x) {
  object_reader r(j, "task_submission", false);
  r.required("prompt", x.prompt);
  r.defaulted("tags", x.tags);
  r.optional("config", x.config);
  r.defaulted("max_attempts", x.max_attempts);
  r.defaulted("review_required", x.review_required);
  r.defaulted("max_rejections", x.max_rejections);
  r.defaulted("live_progress", x.live_progress);
  r.optional("working_dir", x.working_dir);
}

void to_json(json& j, const budget_status& x) {
  j = json{{"cap_microdollars", x.cap_microdollars ? json(*x.cap_microdollars) : json()},
           {"spent_microdollars", x.spent_microdollars},
           {"reserved_microdollars", x.reserved_microdollars},
           {"available_microdollars",
            x.available_microdollars ? json(*x.available_microdollars) : json()},
           {"reservation_microdollars", x.reservation_microdollars},
           {"grants", x.grants},
           {"refusals", x.refusals},
           {"settled", x.settled},
           {"running", x.running},
           {"warnings", x.warnings}};
}

void from_json(const json& j, budget_status& x) {
  object_reader r(j, "budget_status", false);
  r.optional("cap_microdollars", x.cap_microdollars);
  r.required("spent_microdollars", x.spent_microdollars);
  r.defaulted("reserved_microdollars", x.reserved_microdollars);
  r.optional("available_microdollars", x.available_microdollars);
  r.defaulted("reservation_microdollars", x.reservation_microdollars);
  r.defaulted("grants", x.grants);
  r.defaulted("refusals", x.refusals);
  r.defaulted("settled", x.settled);
  r.defaulted("running", x.running);
  r.defaulted("warnings", x.warnings);
}

void to_json(json& j, const pool_status& x) {
  j = json{{"slots", x.slots},         {"pending", x.pending},
           {"running", x.running},     {"completed", x.completed},
           {"failed", x.failed},       {"cancelled", x.cancelled},
           {"pending_review", x.pending_review}, {"draining", x.draining},
           {"events", x.events}};
  if (x.cooldown_until_ms)
    j["cooldown_until_ms"] = *x.cooldown_until_ms;
  if (x.budget)
    j["budget"] = *x.budget;
  j["target_slots"] = x.target_slots;
  if (!x.progress.empty())
    j["progress"] = x.progress;
}

void from_json(const json& j, pool_status& x) {
  object_reader r(j, "pool_status", false);
  r.required("slots", x.slots);
  r.required("pending", x.pending);
  r.required("running", x.running);
  r.required("completed", x.completed);
  r.required("failed", x.failed);
  r.required("cancelled", x.cancelled);
  r.defaulted("pending_review", x.pending_review);
  r.required("draining", x.draining);
  r.optional("cooldown_until_ms", x.cooldown_until_ms);
  r.defaulted("events", x.events);
  r.optional("budget", x.budget);
  r.defaulted("target_slots", x.target_slots);
  r.defaulted("progress", x.progress);
}

void to_json(json& j, const pool_load& x) {
  j = json{{"slots", x.slots},
           {"busy", x.busy},
           {"pending", x.pending},
           {"idle_since_ms", x.idle_since_ms}};
}

void from_json(const json& j, pool_load& x) {
  object_reader r(j, "pool_load", false);
  r.required("slots", x.slots);
  r.required("busy", x.busy);
  r.required("pending", x.pending);
  r.defaulted("idle_since_ms", x.idle_since_ms);
}

void to_json(json& j, const drain_summary& x) {
  j = json{{"completed", x.completed},
           {"failed", x.failed},
           {"cancelled_at_deadline", x.cancelled_at_deadline},
           {"deadline_reached", x.deadline_reached},
           {"elapsed_ms", x.elapsed_ms}};
}

void from_json(const json& j, drain_summary& x) {
  object_reader r(j, "drain_summary", false);
  r.required("completed", x.completed);
  r.required("failed", x.failed);
  r.required("cancelled_at_deadline", x.cancelled_at_deadline);
  r.required("deadline_reached", x.deadline_reached);
  r.required("elapsed_ms", x.elapsed_ms);
}

void to_json(json& j, const task_assignment& x) {
  j = json{{"id", x.id}, {"prompt", x.prompt}};
  j["overrides"] = x.overrides ? json(*x.overrides) : json(nullptr);
  j["live_progress"] = x.live_progress;
  j["working_dir"] = x.working_dir ? json(*x.working_dir) : json(nullptr);
}

void from_json(const json& j, task_assignment& x) {
  object_reader r(j, "task_assignment", false);
  r.required("id", x.id);
  r.required("prompt", x.prompt);
  r.optional("overrides", x.overrides);
  r.defaulted("live_progress", x.live_progress);
  r.optional("working_dir", x.working_dir);
}

} // namespace claude_pool
