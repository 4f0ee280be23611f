#include "http_api/pool_watchers.hpp"

#include <map>
#include <mutex>

#include "http_api/event_feed.hpp"
#include "http_api/prometheus_metrics.hpp"
#include "http_api/webhook_sender.hpp"
#include "messages/json.hpp"

namespace claude_pool::http_api {

namespace {

using nlohmann::json;

std::string one_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// A task change as the event stream tells it: enough to follow it; the record is a GET away.
json task_event(const task_record& t) {
  json j{{"id", t.id}, {"state", t.state}};
  if (t.slot_id)
    j["slot_id"] = *t.slot_id;
  if (!t.tags.empty())
    j["tags"] = t.tags;
  if (t.waiting_until_ms) {
    j["waiting_until_ms"] = *t.waiting_until_ms;
    j["wait_reason"] = t.wait_reason.value_or("");
  }
  if (t.result) {
    j["cost_microdollars"] = t.result->cost_microdollars;
    if (t.result->subtype)
      j["subtype"] = *t.result->subtype;
  }
  if (!t.attempts.empty())
    j["attempts"] = t.attempts.size();
  return j;
}

/// Lets a task's progress through at most every progress_event_interval_ms, but at once when
/// a turn or a tool call began (what a watcher most wants to see).
struct progress_throttle {
  struct seen {
    std::uint64_t at = 0;
    std::uint32_t turns = 0, tool_uses = 0;
  };
  std::mutex mutex;
  std::map<std::string, seen> last; ///< running tasks only

  bool pass(const std::string& id, const task_progress& p, std::uint64_t now) {
    std::lock_guard<std::mutex> lock(mutex);
    auto& s = last[id];
    bool news = s.at == 0 || p.turns != s.turns || p.tool_uses != s.tool_uses;
    if (!news && now < s.at + progress_event_interval_ms)
      return false;
    s = seen{now, p.turns, p.tool_uses};
    return true;
  }
  void forget(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex);
    last.erase(id);
  }
};

} // namespace

void watch(pool_options& pool, const watchers& w) {
  auto before = std::move(pool.on_event);
  pool.on_event = [before, w](const pool_event& ev) {
    if (before)
      before(ev);
    if (w.events)
      w.events->publish(ev.kind, one_line(json(ev)));
    if (w.metrics)
      w.metrics->event(ev);
    if (w.webhooks)
      w.webhooks->event(ev);
  };
  auto throttle = std::make_shared<progress_throttle>();
  auto task_before = std::move(pool.on_task_change);
  pool.on_task_change = [task_before, w, throttle](const task_record& t) {
    if (task_before)
      task_before(t);
    if (t.state != task_state::running)
      throttle->forget(t.id.value);
    if (w.events)
      w.events->publish("task", one_line(task_event(t)), t.id.value);
    if (w.metrics)
      w.metrics->task_changed(t);
    if (w.webhooks)
      w.webhooks->task_changed(t);
  };
  if (w.events) {
    auto progress_before = std::move(pool.on_task_progress);
    pool.on_task_progress = [progress_before, w, throttle](const task_id& id,
                                                          const task_progress& p) {
      if (progress_before)
        progress_before(id, p);
      if (!throttle->pass(id.value, p, now_ms()))
        return;
      json j = json(p);
      j["id"] = id;
      w.events->publish("progress", one_line(j), id.value);
    };
  }
  if (w.metrics) {
    auto store_before = std::move(pool.on_store_write);
    pool.on_store_write = [store_before, w](std::chrono::microseconds took, std::size_t n,
                                            bool ok) {
      if (store_before)
        store_before(took, n, ok);
      w.metrics->store_write(took, n, ok);
    };
  }
}

} // namespace claude_pool::http_api
