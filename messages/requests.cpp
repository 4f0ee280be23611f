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
  j = json{{"prompt", x.prompt}, {"tags", x.tags}, {"max_attempts", x.max_attempts}};
  j["config"] = x.config ? json(*x.config) : json(nullptr);
}

void from_json(const json& j, task_submission& x) {
  object_reader r(j, "task_submission", false);
  r.required("prompt", x.prompt);
  r.defaulted("tags", x.tags);
  r.optional("config", x.config);
  r.defaulted("max_attempts", x.max_attempts);
}

void to_json(json& j, const pool_status& x) {
  j = json{{"slots", x.slots},         {"pending", x.pending},
           {"running", x.running},     {"completed", x.completed},
           {"failed", x.failed},       {"cancelled", x.cancelled},
           {"pending_review", x.pending_review}, {"draining", x.draining},
           {"events", x.events}};
  if (x.cooldown_until_ms)
    j["cooldown_until_ms"] = *x.cooldown_until_ms;
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
}

void from_json(const json& j, task_assignment& x) {
  object_reader r(j, "task_assignment", false);
  r.required("id", x.id);
  r.required("prompt", x.prompt);
  r.optional("overrides", x.overrides);
}

} // namespace claude_pool
