#pragma once
/// The pool's figures in Prometheus' text exposition format (GET /metrics), written with
/// prometheus-cpp (its registry and text serializer: names, label escaping and histogram
/// buckets as Prometheus parses them). Counters and histograms accumulate from the pool's
/// hooks as things happen — a task's end, a slot's restart, a store write — so a scrape costs
/// the same with ten tasks or a million, and a counter never goes down while the process
/// lives (records leaving memory do not take their counts with them). Gauges come from the
/// status at scrape time. Labels never carry task ids.

#include <chrono>
#include <cstddef>
#include <set>
#include <memory>
#include <mutex>
#include <string>

#include "http_api/recent_ends.hpp"
#include "messages/records.hpp"
#include "messages/requests.hpp"

namespace prometheus {
class Registry;
}

namespace claude_pool::http_api {

class prometheus_metrics {
public:
  prometheus_metrics();
  ~prometheus_metrics();
  prometheus_metrics(const prometheus_metrics&) = delete;
  prometheus_metrics& operator=(const prometheus_metrics&) = delete;

  /// A task record changed (the pool's on_task_change): a task that ends is counted once,
  /// with its model, cost, tokens, run time and queue wait. Thread-safe.
  void task_changed(const task_record& task);
  /// A pool event (on_event): slot restarts by failure class, rate-limit pauses.
  void event(const pool_event& ev);
  /// A write of `records` changed records to the durable store (on_store_write).
  void store_write(std::chrono::microseconds took, std::size_t records, bool ok);

  /// Every metric of one scrape: the collected ones and the status' gauges.
  std::string exposition(const pool_status& status) const;

private:
  struct families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<families> f_;
  std::mutex mutex_;
  /// Tasks seen and not ended yet, and the latest that ended (a record announced again after
  /// its end is not counted twice).
  std::set<std::string> live_;
  recent_ends ended_;
};

} // namespace claude_pool::http_api
