#pragma once
/// Webhooks (`pool_config.webhooks`): each configured URL gets a POST per event of the kinds
/// it asked for — a task that completed, failed, was cancelled or waits for review, or a pool
/// event — with a JSON body, retried with doubling backoff, signed with HMAC-SHA256 when it
/// has a secret. One worker thread per URL, so a slow or dead endpoint delays only its own
/// deliveries; each URL gets its deliveries in order. See README "Webhooks".
///
/// Headers of a delivery:
///   X-Claude-Pool-Event: task_completed          (the kind)
///   X-Claude-Pool-Delivery: <node>-<n>           (the same on every retry of it)
///   X-Claude-Pool-Timestamp: 1786000000          (Unix seconds when it was signed)
///   X-Claude-Pool-Signature: sha256=<hex>        (HMAC-SHA256 with the secret of
///                                                 "<timestamp>.<body>"; only with a secret)

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "messages/config.hpp"
#include "messages/records.hpp"
#include "messages/requests.hpp"

namespace claude_pool::http_api {

/// HMAC-SHA256 of `data` with `key`, as lowercase hex (what the signature header carries).
std::string hmac_sha256_hex(const std::string& key, const std::string& data);

/// The webhook kind a task in `state` is announced as ("" for states no hook hears).
std::string webhook_kind(task_state state);

class webhook_sender {
public:
  /// What happened to deliveries: given up after every try, dropped from a full queue.
  using log_fn = std::function<void(const std::string&)>;

  /// Reads each hook's secret from the environment now; throws std::runtime_error naming
  /// the variable when one is unset or empty.
  webhook_sender(std::vector<webhook_config> hooks, log_fn log);
  /// Delivers what is queued for up to `flush_ms` (a stopping node still tells of its last
  /// tasks), then gives up on the rest, saying so through the log.
  ~webhook_sender();
  webhook_sender(const webhook_sender&) = delete;
  webhook_sender& operator=(const webhook_sender&) = delete;

  /// A task record changed (the pool's on_task_change): announced when it enters a state a
  /// hook wants, once per entry. Thread-safe, never blocks on the network.
  void task_changed(const task_record& task);
  /// A pool event (on_event), for hooks that asked for its kind (or "*").
  void event(const pool_event& ev);

  struct counts {
    std::uint64_t delivered = 0; ///< answered 2xx
    std::uint64_t retried = 0;   ///< tries after a first one
    std::uint64_t failed = 0;    ///< given up (tries exhausted, or refused with a 4xx)
    std::uint64_t dropped = 0;   ///< queue full
  };
  counts totals() const;

  /// How long the destructor keeps delivering.
  static constexpr std::uint64_t flush_ms = 5000;
  /// Deliveries waiting per URL before the oldest is dropped.
  static constexpr std::size_t max_queued = 10000;

private:
  struct hook;
  void enqueue(const std::string& kind, const std::string& body);
  std::vector<std::unique_ptr<hook>> hooks_;
  log_fn log_;
  std::string node_; ///< the delivery ids' prefix: random per process
  std::atomic<std::uint64_t> next_{0};
  struct tracker;
  std::unique_ptr<tracker> tracker_;
};

} // namespace claude_pool::http_api
