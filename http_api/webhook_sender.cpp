#include "http_api/webhook_sender.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http_api/recent_ends.hpp"
#include "messages/json.hpp"

namespace claude_pool::http_api {

namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

const std::set<std::string>& task_kinds() {
  static const std::set<std::string> kinds{"task_completed", "task_failed", "task_cancelled",
                                           "task_pending_review"};
  return kinds;
}

std::string random_node_id() {
  std::random_device rd;
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i)
    out += digits[rd() % 16];
  return out;
}

std::uint64_t unix_seconds() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
}

/// "https://host:8443/a/b?c" → {"https://host:8443", "/a/b?c"}.
std::pair<std::string, std::string> split_url(const std::string& url) {
  auto scheme_end = url.find("://");
  auto path_at = url.find('/', scheme_end + 3);
  if (path_at == std::string::npos)
    return {url, "/"};
  return {url.substr(0, path_at), url.substr(path_at)};
}

std::string one_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

std::string hmac_sha256_hex(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += digits[mac[i] >> 4];
    hex += digits[mac[i] & 15];
  }
  return hex;
}

std::string webhook_kind(task_state state) {
  switch (state) {
    case task_state::completed: return "task_completed";
    case task_state::failed: return "task_failed";
    case task_state::cancelled: return "task_cancelled";
    case task_state::pending_review: return "task_pending_review";
    default: return {};
  }
}

/// One URL: its queue and the thread that delivers it.
struct webhook_sender::hook {
  struct delivery {
    std::string id, kind, body;
  };

  webhook_config cfg;
  std::string secret;
  std::string origin, path;
  webhook_sender::log_fn log;
  std::atomic<std::uint64_t>* delivered;
  std::atomic<std::uint64_t>* retried;
  std::atomic<std::uint64_t>* failed;
  std::atomic<std::uint64_t>* dropped;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<delivery> queue;
  bool stopping = false;
  clock_type::time_point deadline; ///< once stopping: when to give up on the rest
  std::thread worker;

  bool wants(const std::string& kind) const {
    if (cfg.events.empty())
      return task_kinds().count(kind) > 0;
    for (auto& k : cfg.events)
      if (k == "*" || k == kind)
        return true;
    return false;
  }

  void push(delivery d) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (queue.size() >= webhook_sender::max_queued) {
        ++*dropped;
        if (log)
          log("webhook " + cfg.url + ": " + std::to_string(queue.size())
              + " deliveries waiting; dropped the oldest (" + queue.front().id + ", "
              + queue.front().kind + ")");
        queue.pop_front();
      }
      queue.push_back(std::move(d));
    }
    wake.notify_one();
  }

  /// One try: the HTTP status, or 0 with `error` set when no answer came.
  int post(httplib::Client& client, const delivery& d, std::string& error) {
    auto ts = std::to_string(unix_seconds());
    httplib::Headers headers{{"X-Claude-Pool-Event", d.kind},
                             {"X-Claude-Pool-Delivery", d.id},
                             {"X-Claude-Pool-Timestamp", ts},
                             {"User-Agent", std::string("claude-pool/") + CLAUDE_POOL_VERSION}};
    if (!secret.empty())
      headers.emplace("X-Claude-Pool-Signature", "sha256=" + hmac_sha256_hex(secret, ts + "." + d.body));
    auto res = client.Post(path.c_str(), headers, d.body, "application/json");
    if (!res) {
      error = httplib::to_string(res.error());
      return 0;
    }
    return res->status;
  }

  /// Waits `delay`, or less once stopping (until the deadline). False: stop trying.
  bool back_off(std::chrono::milliseconds delay) {
    std::unique_lock<std::mutex> lock(mutex);
    auto until = clock_type::now() + delay;
    wake.wait_until(lock, until, [&] { return stopping; });
    if (!stopping)
      return true;
    if (clock_type::now() >= deadline)
      return false;
    wake.wait_until(lock, std::min(until, deadline));
    return clock_type::now() < deadline;
  }

  void deliver(httplib::Client& client, const delivery& d) {
    auto delay = std::chrono::milliseconds(cfg.backoff_ms);
    std::string why;
    for (std::uint32_t attempt = 1;; ++attempt) {
      std::string error;
      int status = post(client, d, error);
      if (status >= 200 && status < 300) {
        ++*delivered;
        return;
      }
      why = status ? "answered " + std::to_string(status) : error;
      bool refused = status >= 400 && status < 500 && status != 408 && status != 429;
      if (refused || attempt >= cfg.max_attempts) {
        ++*failed;
        if (log)
          log("webhook " + cfg.url + ": gave up on " + d.kind + " delivery " + d.id + " after "
              + std::to_string(attempt) + (attempt == 1 ? " try" : " tries") + " (" + why + ")");
        return;
      }
      if (!back_off(delay)) {
        ++*failed;
        if (log)
          log("webhook " + cfg.url + ": gave up on " + d.kind + " delivery " + d.id
              + ": the pool is stopping (" + why + ")");
        return;
      }
      ++*retried;
      delay = std::min(delay * 2, std::chrono::milliseconds(cfg.backoff_max_ms));
    }
  }

  void run() {
    httplib::Client client(origin);
    auto timeout = std::chrono::milliseconds(cfg.timeout_ms);
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    client.set_write_timeout(timeout);
    client.set_keep_alive(true);
    for (;;) {
      delivery d;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty())
          return; // stopping with nothing left
        if (stopping && clock_type::now() >= deadline) {
          *failed += queue.size();
          if (log)
            log("webhook " + cfg.url + ": the pool stopped with " + std::to_string(queue.size())
                + " deliveries not made");
          queue.clear();
          return;
        }
        d = queue.front();
      }
      deliver(client, d);
      std::lock_guard<std::mutex> lock(mutex);
      queue.pop_front();
    }
  }
};

/// Which tasks were last seen in which state, so each entry into a state is told once.
struct webhook_sender::tracker {
  std::mutex mutex;
  std::map<std::string, task_state> live;
  recent_ends ended;
  std::atomic<std::uint64_t> delivered{0}, retried{0}, failed{0}, dropped{0};

  /// True when `t` entered its state now (not seen in it before).
  bool entered(const task_record& t) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = live.find(t.id.value);
    if (it == live.end() && ended.contains(t.id.value))
      return false; // an end told already
    if (it != live.end() && it->second == t.state)
      return false;
    if (is_terminal(t.state)) {
      if (it != live.end())
        live.erase(it);
      ended.add(t.id.value);
    } else {
      live[t.id.value] = t.state;
    }
    return true;
  }
};

webhook_sender::webhook_sender(std::vector<webhook_config> hooks, log_fn log)
  : log_(std::move(log)), node_(random_node_id()), tracker_(std::make_unique<tracker>()) {
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    auto h = std::make_unique<hook>();
    h->cfg = std::move(hooks[i]);
    if (h->cfg.secret_env) {
      const char* value = std::getenv(h->cfg.secret_env->c_str());
      if (!value || !*value)
        throw std::runtime_error("pool_config.webhooks[" + std::to_string(i)
                                 + "].secret_env: the environment variable "
                                 + *h->cfg.secret_env + " is not set");
      h->secret = value;
    }
    std::tie(h->origin, h->path) = split_url(h->cfg.url);
    h->log = log_;
    h->delivered = &tracker_->delivered;
    h->retried = &tracker_->retried;
    h->failed = &tracker_->failed;
    h->dropped = &tracker_->dropped;
    hooks_.push_back(std::move(h));
  }
  for (auto& h : hooks_)
    h->worker = std::thread([p = h.get()] { p->run(); });
}

webhook_sender::~webhook_sender() {
  auto deadline = clock_type::now() + std::chrono::milliseconds(flush_ms);
  for (auto& h : hooks_) {
    {
      std::lock_guard<std::mutex> lock(h->mutex);
      h->stopping = true;
      h->deadline = deadline;
    }
    h->wake.notify_all();
  }
  for (auto& h : hooks_)
    if (h->worker.joinable())
      h->worker.join();
}

void webhook_sender::enqueue(const std::string& kind, const std::string& body_json) {
  bool any = false;
  for (auto& h : hooks_)
    any = any || h->wants(kind);
  if (!any)
    return;
  auto id = node_ + "-" + std::to_string(++next_);
  // The delivery's id and kind lead its body, so a receiver that logs bodies has both.
  std::string body = "{\"id\":" + json(id).dump() + ",\"kind\":" + json(kind).dump() + ","
                     + body_json.substr(1);
  for (auto& h : hooks_)
    if (h->wants(kind))
      h->push(hook::delivery{id, kind, body});
}

void webhook_sender::task_changed(const task_record& task) {
  auto kind = webhook_kind(task.state);
  if (!tracker_->entered(task) || kind.empty())
    return;
  enqueue(kind, one_line(json{{"at_ms", now_ms()}, {"task", json(task)}}));
}

void webhook_sender::event(const pool_event& ev) {
  if (task_kinds().count(ev.kind))
    return; // those names are the tasks'
  enqueue(ev.kind, one_line(json{{"at_ms", ev.at_ms}, {"event", json(ev)}}));
}

webhook_sender::counts webhook_sender::totals() const {
  return counts{tracker_->delivered, tracker_->retried, tracker_->failed, tracker_->dropped};
}

} // namespace claude_pool::http_api
