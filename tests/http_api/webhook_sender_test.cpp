// Webhooks: deliveries reach a local receiver signed (HMAC-SHA256 over "timestamp.body"),
// a failing endpoint is tried again with backoff under the same delivery id, a refusing one
// is given up at once, and each task entry into a wanted state is told once.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

#include "http_api/webhook_sender.hpp"
#include "messages/json.hpp"

using namespace claude_pool;
using namespace std::chrono_literals;

namespace {

/// A loopback HTTP server that records what it is sent and answers with `statuses` in turn
/// (then 200).
struct receiver {
  struct hit {
    std::string path, body, event, delivery, timestamp, signature;
  };
  httplib::Server http;
  std::thread thread;
  int port = 0;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<hit> hits;
  std::vector<int> statuses;

  receiver() {
    http.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex);
      hits.push_back(hit{req.path, req.body, req.get_header_value("X-Claude-Pool-Event"),
                         req.get_header_value("X-Claude-Pool-Delivery"),
                         req.get_header_value("X-Claude-Pool-Timestamp"),
                         req.get_header_value("X-Claude-Pool-Signature")});
      res.status = statuses.empty() ? 200 : statuses.front();
      if (!statuses.empty())
        statuses.erase(statuses.begin());
      changed.notify_all();
    });
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
  }
  ~receiver() {
    http.stop();
    thread.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
  /// Waits (generously) for `n` requests; returns them.
  std::vector<hit> wait_for(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait_for(lock, 30s, [&] { return hits.size() >= n; });
    return hits;
  }
};

task_record task(const char* id, task_state state) {
  task_record t;
  t.id = task_id{id};
  t.state = state;
  t.prompt = "say hi";
  return t;
}

webhook_config hook(const std::string& url) {
  webhook_config w;
  w.url = url;
  w.backoff_ms = 20;
  w.backoff_max_ms = 40;
  w.timeout_ms = 5000;
  return w;
}

} // namespace

TEST_CASE("hmac_sha256_hex gives RFC 4231's test vector", "[http_api][webhooks]") {
  CHECK(http_api::hmac_sha256_hex("Jefe", "what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("a webhook is signed, names its kind and carries the task record",
          "[http_api][webhooks]") {
  receiver r;
  ::setenv("CP_TEST_HOOK_SECRET", "s3cret", 1);
  auto w = hook(r.url("/hooks/pool?x=1"));
  w.secret_env = "CP_TEST_HOOK_SECRET";
  {
    http_api::webhook_sender sender({w}, nullptr);
    sender.task_changed(task("t-1", task_state::running)); // not a kind the hook wants
    sender.task_changed(task("t-1", task_state::completed));
    auto hits = r.wait_for(1);
    REQUIRE(hits.size() == 1);
    auto& h = hits[0];
    CHECK(h.path == "/hooks/pool");
    CHECK(h.event == "task_completed");
    CHECK(h.signature == "sha256=" + http_api::hmac_sha256_hex("s3cret", h.timestamp + "." + h.body));
    auto body = nlohmann::json::parse(h.body);
    CHECK(body["kind"] == "task_completed");
    CHECK(body["id"] == h.delivery);
    CHECK(body["task"]["id"] == "t-1");
    CHECK(body["task"]["state"] == "completed");
  }
  ::unsetenv("CP_TEST_HOOK_SECRET");
}

TEST_CASE("a failing endpoint is tried again with the same delivery id, a refusing one is "
          "given up at once",
          "[http_api][webhooks]") {
  receiver r;
  r.statuses = {503, 500}; // two failures, then 200
  std::vector<std::string> log;
  std::mutex log_mutex;
  {
    http_api::webhook_sender sender({hook(r.url("/flaky"))}, [&](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mutex);
      log.push_back(line);
    });
    sender.task_changed(task("t-1", task_state::failed));
    auto hits = r.wait_for(3);
    REQUIRE(hits.size() == 3);
    CHECK(hits[0].delivery == hits[2].delivery);
    // Wait for the worker to count the third answer before reading the totals.
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (sender.totals().delivered < 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    CHECK(sender.totals().delivered == 1);
    CHECK(sender.totals().retried == 2);
  }
  receiver refusing;
  refusing.statuses = {410};
  {
    http_api::webhook_sender sender({hook(refusing.url("/gone"))}, [&](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mutex);
      log.push_back(line);
    });
    sender.task_changed(task("t-2", task_state::failed));
    sender.task_changed(task("t-3", task_state::cancelled)); // the next one still goes
    auto hits = refusing.wait_for(2);
    CHECK(hits.size() == 2);
  } // the destructor waits for the worker: the totals are final
  std::lock_guard<std::mutex> lock(log_mutex);
  REQUIRE(log.size() == 1);
  CHECK(log[0].find("gave up") != std::string::npos);
  CHECK(log[0].find("410") != std::string::npos);
}

TEST_CASE("each entry into a wanted state is told once, and event kinds are chosen per hook",
          "[http_api][webhooks]") {
  receiver r;
  auto tasks_only = hook(r.url("/tasks"));
  auto budget_only = hook(r.url("/budget"));
  budget_only.events = {"budget_stop"};
  {
    http_api::webhook_sender sender({tasks_only, budget_only}, nullptr);
    sender.task_changed(task("t-1", task_state::pending_review));
    sender.task_changed(task("t-1", task_state::pending_review)); // announced again: no news
    sender.task_changed(task("t-1", task_state::running));        // rejected: runs again
    sender.task_changed(task("t-1", task_state::pending_review)); // a second review
    sender.task_changed(task("t-1", task_state::completed));
    sender.task_changed(task("t-1", task_state::completed));      // no second end
    sender.event(pool_event{1, "budget_stop", std::nullopt, "cap reached"});
    sender.event(pool_event{2, "slot_restarting", slot_id{"slot-0"}, "crashed"});
    auto hits = r.wait_for(4);
    // Nothing more comes: the destructor below flushes, then the count is final.
  }
  // Each URL gets its own deliveries in order (the two URLs' threads interleave freely).
  std::vector<std::string> tasks_seen, budget_seen;
  std::lock_guard<std::mutex> lock(r.mutex);
  for (auto& h : r.hits)
    (h.path == "/tasks" ? tasks_seen : budget_seen).push_back(h.event);
  CHECK(tasks_seen
        == std::vector<std::string>{"task_pending_review", "task_pending_review", "task_completed"});
  CHECK(budget_seen == std::vector<std::string>{"budget_stop"});
}

TEST_CASE("a hook whose secret variable is unset is refused, naming it", "[http_api][webhooks]") {
  ::unsetenv("CP_TEST_MISSING_SECRET");
  auto w = hook("http://127.0.0.1:9/x");
  w.secret_env = "CP_TEST_MISSING_SECRET";
  CHECK_THROWS_WITH(http_api::webhook_sender({w}, nullptr),
                    Catch::Contains("CP_TEST_MISSING_SECRET is not set"));
}
