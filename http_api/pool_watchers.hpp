#pragma once
/// What hears a pool for the node's HTTP side: the event stream of `GET /v1/events`, the
/// counters of `GET /metrics` and the webhooks. Each is optional; `watch` hooks the ones
/// given to the pool's callbacks before the pool is made.

#include <memory>

#include "claude_pool/pool.hpp"

namespace claude_pool::http_api {

class event_feed;
class prometheus_metrics;
class webhook_sender;

struct watchers {
  std::shared_ptr<event_feed> events;
  std::shared_ptr<prometheus_metrics> metrics;
  std::shared_ptr<webhook_sender> webhooks;
};

/// A progress event per task at most this often (the CLI reports every text delta; the
/// stream's ring would otherwise fill with them and lose task changes).
inline constexpr std::uint64_t progress_event_interval_ms = 250;

/// Hooks `pool.on_event` (keeping what it did), `on_task_change`, `on_task_progress` and
/// `on_store_write` to the watchers.
void watch(pool_options& pool, const watchers& w);

} // namespace claude_pool::http_api
