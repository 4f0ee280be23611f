#pragma once
/// What `GET /v1/events` streams: the pool's events and its tasks' changes, numbered, in a
/// ring of the latest ones, so a client that reconnects with `Last-Event-ID` gets what it
/// missed (as long as it is still kept).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace claude_pool::http_api {

class event_feed {
public:
  struct entry {
    std::uint64_t id = 0;
    std::string kind; ///< the SSE event name: "task", or a pool event's kind
    std::string data; ///< one line of JSON
    std::string task; ///< the task it is about (a submit-role stream shows only its own)
    std::chrono::steady_clock::time_point at; ///< when it was published
  };

  explicit event_feed(std::size_t capacity = 4096) : capacity_(capacity) {}

  /// Adds an event (from any thread) and wakes the streams.
  void publish(std::string kind, std::string data, std::string task = {});

  /// The events after `id`, waiting up to `wait` for one when there is none; empty on
  /// timeout or once closed. `lost` is set when events after `id` were dropped already.
  std::vector<entry> after(std::uint64_t id, std::chrono::milliseconds wait, bool& lost);

  /// The number of the latest event (0: none yet).
  std::uint64_t last_id() const;

  /// Wakes every stream for good (the server is stopping).
  void close();
  bool closed() const;

private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<entry> kept_;
  std::uint64_t next_ = 0;
  bool closed_ = false;
};

} // namespace claude_pool::http_api
