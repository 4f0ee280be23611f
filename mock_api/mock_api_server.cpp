#include "mock_api/mock_api_server.hpp"

#include "mock_api/replies.hpp"

#include <httplib.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace claude_pool::mock_api {

using nlohmann::json;

std::string credential_fingerprint(std::string_view credential) {
  if (credential.empty()) return "none";
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a: stable across builds and runs
  for (unsigned char c : credential) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return std::string{hex, 8};
}

namespace {

// The secret a request authenticates with: the API key, else the OAuth bearer token.
std::string presented_credential(const httplib::Request& req) {
  auto key = req.get_header_value("x-api-key");
  if (!key.empty()) return key;
  auto authorization = req.get_header_value("authorization");
  constexpr std::string_view bearer = "bearer ";
  const bool is_bearer =
      authorization.size() >= bearer.size() &&
      std::equal(bearer.begin(), bearer.end(), authorization.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      });
  return is_bearer ? authorization.substr(bearer.size()) : authorization;
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct server::impl {
  options opts;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  std::uint16_t bound_port = 0;
  std::atomic<std::uint64_t> sequence{0};
  std::mutex failures_mutex;
  std::map<std::string, int> failures_by_text;  ///< for [[mock:status_times=N]]

  mutable std::mutex log_mutex;  // guards log and log_fd writes
  std::vector<logged_request> log;
  int log_fd = -1;

  std::mutex lifecycle_mutex;  // serialises start() and stop()
  std::mutex state_mutex;      // guards the flags below
  std::condition_variable state_changed;
  bool stopping = false;
  bool finished = false;  // the serving thread has returned

  explicit impl(options o) : opts(std::move(o)) {}

  ~impl() {
    if (log_fd >= 0) ::close(log_fd);
  }

  // Sleeps `ms`, cut short by stop(); false if stopping.
  bool pause(std::chrono::milliseconds ms) {
    std::unique_lock lock{state_mutex};
    if (ms.count() > 0) state_changed.wait_for(lock, ms, [&] { return stopping; });
    return !stopping;
  }

  // Logs a request on arrival, with the status it is going to be answered with.
  void record(const httplib::Request& req, json body, bool is_title, int status) {
    logged_request entry;
    entry.at_ms = unix_ms();
    entry.method = req.method;
    entry.path = req.path;
    entry.session_header = req.get_header_value("x-claude-code-session-id");
    entry.body = std::move(body);
    entry.is_title_request = is_title;
    entry.credential = credential_fingerprint(presented_credential(req));
    entry.status = status;
    std::lock_guard lock{log_mutex};
    if (log_fd >= 0) {
      json line = {{"at_ms", entry.at_ms},
                   {"method", entry.method},
                   {"path", entry.path},
                   {"session_header", entry.session_header},
                   {"is_title_request", entry.is_title_request},
                   {"credential", entry.credential},
                   {"status", entry.status},
                   {"body", entry.body}};
      auto text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
      const char* data = text.data();
      auto left = text.size();
      while (left > 0) {
        auto n = ::write(log_fd, data, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // a full disk must not take the mock down
        data += n;
        left -= static_cast<std::size_t>(n);
      }
    }
    log.push_back(std::move(entry));
  }

  static json parse_body(const std::string& text) {
    if (text.empty()) return nullptr;
    auto parsed = json::parse(text, nullptr, false);
    return parsed.is_discarded() ? json(text) : parsed;
  }

  static void send_error(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(detail::error_body(status, message).dump(), "application/json");
  }

  void handle_messages(const httplib::Request& req, httplib::Response& res) {
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      record(req, parse_body(req.body), false, 400);
      return send_error(res, 400, "mock API: the request body is not a JSON object");
    }
    const bool title = detail::is_title_request(body);
    const bool stream = body.contains("stream") && body["stream"].is_boolean() &&
                        body["stream"].get<bool>();
    const auto seq = ++sequence;
    const auto count_failure = [this](const std::string& key, int times) {
      std::lock_guard<std::mutex> lock(failures_mutex);
      return failures_by_text[key]++ < times;
    };
    auto reply = detail::plan_reply(body, opts.model, seq, unix_ms() / 1000, count_failure,
                                    credential_fingerprint(presented_credential(req)));
    record(req, std::move(body), title, reply.status);
    res.set_header("request-id", "req_mock" + std::to_string(seq));
    if (!pause(reply.delay)) return send_error(res, 529, "Overloaded");
    for (const auto& [name, value] : reply.headers) res.set_header(name, value);
    if (reply.status != 200) {
      res.status = reply.status;
      if (reply.retry_after) res.set_header("retry-after", std::to_string(*reply.retry_after));
      res.set_content(reply.error_body.dump(), "application/json");
      return;
    }
    if (!stream) {
      res.set_content(detail::render_message(reply).dump(), "application/json");
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    auto events = std::make_shared<std::vector<std::string>>(detail::render_events(reply));
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, events, gap = reply.chunk_delay](std::size_t, httplib::DataSink& sink) {
          for (std::size_t i = 0; i < events->size(); ++i) {
            if (i > 0 && !pause(gap)) return false;
            const auto& e = (*events)[i];
            if (!sink.write(e.data(), e.size())) return false;
          }
          sink.done();
          return true;
        });
  }

  void install_routes() {
    auto& s = *http;
    s.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
      record(req, nullptr, false, 200);
      res.set_content("ok", "text/plain");
    });
    s.Post("/v1/messages", [this](const httplib::Request& req, httplib::Response& res) {
      handle_messages(req, res);
    });
    s.Post("/v1/messages/count_tokens",
           [this](const httplib::Request& req, httplib::Response& res) {
             auto body = json::parse(req.body, nullptr, false);
             if (body.is_discarded() || !body.is_object()) {
               record(req, parse_body(req.body), false, 400);
               return send_error(res, 400, "mock API: the request body is not a JSON object");
             }
             auto answer = detail::count_tokens(body);
             record(req, std::move(body), false, 200);
             res.set_content(answer.dump(), "application/json");
           });
    auto not_found = [this](const httplib::Request& req, httplib::Response& res) {
      record(req, parse_body(req.body), false, 404);
      send_error(res, 404, "mock API: no route for " + req.method + " " + req.path);
    };
    s.Get(".*", not_found);
    s.Post(".*", not_found);
    s.Put(".*", not_found);
    s.Patch(".*", not_found);
    s.Delete(".*", not_found);
    s.Options(".*", not_found);
    s.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown exception";
          try {
            if (ep) std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          send_error(res, 500, "mock API: " + what);
        });
  }
};

server::server(options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}

server::~server() { stop(); }

void server::start() {
  std::lock_guard lifecycle{impl_->lifecycle_mutex};
  auto& m = *impl_;
  if (m.http) throw std::runtime_error("mock API: server already started");
  const auto where = m.opts.host + ":" + std::to_string(m.opts.port);
  if (!m.opts.log_path.empty()) {
    m.log_fd = ::open(m.opts.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (m.log_fd < 0)
      throw std::runtime_error("mock API: cannot open log " + m.opts.log_path + ": " +
                               std::strerror(errno));
  }
  auto http = std::make_unique<httplib::Server>();
  const auto threads = std::max<std::size_t>(1, m.opts.threads);
  http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default adds SO_REUSEPORT, which lets a second server share a taken port.
  http->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  m.http = std::move(http);
  m.install_routes();
  int port = -1;
  if (m.opts.port == 0)
    port = m.http->bind_to_any_port(m.opts.host);
  else if (m.http->bind_to_port(m.opts.host, m.opts.port))
    port = m.opts.port;
  if (port <= 0) {
    m.http.reset();
    throw std::runtime_error("mock API: cannot bind " + where);
  }
  m.bound_port = static_cast<std::uint16_t>(port);
  m.thread = std::thread{[&m] {
    m.http->listen_after_bind();
    std::lock_guard lock{m.state_mutex};
    m.finished = true;
    m.state_changed.notify_all();
  }};
  // httplib's stop() is a no-op until its loop runs: wait for it so stop() always works.
  while (!m.http->is_running()) {
    std::unique_lock lock{m.state_mutex};
    if (m.state_changed.wait_for(lock, std::chrono::milliseconds{1}, [&] { return m.finished; }))
      break;
  }
}

std::uint16_t server::port() const { return impl_->bound_port; }

std::string server::base_url() const {
  const auto& host = impl_->opts.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->bound_port);
}

void server::stop() {
  if (!impl_) return;
  std::lock_guard lifecycle{impl_->lifecycle_mutex};
  auto& m = *impl_;
  {
    std::lock_guard lock{m.state_mutex};
    m.stopping = true;
  }
  m.state_changed.notify_all();
  if (m.http) m.http->stop();
  if (m.thread.joinable()) m.thread.join();
  {
    std::lock_guard lock{m.state_mutex};
    m.finished = true;
  }
  m.state_changed.notify_all();
}

std::vector<logged_request> server::requests() const {
  std::lock_guard lock{impl_->log_mutex};
  return impl_->log;
}

void server::wait_until_stopped() {
  auto& m = *impl_;
  std::unique_lock lock{m.state_mutex};
  m.state_changed.wait(lock, [&] { return m.finished; });
}

}  // namespace claude_pool::mock_api
