#include "runtime/node/node_transport.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/doorman.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/interfaces.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>
#include <caf/policy/tcp.hpp>
#include <caf/scoped_actor.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <climits>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/node/basp_inbound_filter.hpp"

namespace claude_pool {

namespace {

namespace net = caf::io::network;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t token_chars = 64;
constexpr auto preamble_deadline = std::chrono::seconds(5);
constexpr std::size_t max_waiting = 64; ///< connections presenting a token at once

std::size_t preamble_size() { return std::strlen(auth_preamble_prefix) + token_chars + 1; }

using ssl_ptr = std::shared_ptr<SSL>;

/// OpenSSL writes to the socket with write(2), which raises SIGPIPE when the peer has gone,
/// and an embedding program may not ignore SIGPIPE. So it is blocked around every TLS call,
/// and one that call raised is taken back before it is unblocked.
class sigpipe_guard {
public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &saved_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~sigpipe_guard() {
    if (!was_pending_) {
      timespec zero{};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

private:
  sigset_t pipe_{};
  sigset_t saved_{};
  bool was_pending_ = false;
};

/// One TLS read or write on a nonblocking socket, in CAF's terms: "wants to read/write"
/// is success with no bytes (CAF then waits for the socket), anything else a failure.
template <class Op>
net::rw_state tls_some(SSL* ssl, std::size_t& result, std::size_t len, Op op) {
  result = 0;
  if (len == 0)
    return net::rw_state::indeterminate;
  sigpipe_guard guard;
  ERR_clear_error();
  int n = op(static_cast<int>(std::min<std::size_t>(len, INT_MAX)));
  if (n > 0) {
    result = static_cast<std::size_t>(n);
    return net::rw_state::success;
  }
  switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return net::rw_state::success;
    default:
      ERR_clear_error();
      return net::rw_state::failure;
  }
}

/// How an adopted (or connected) socket carries bytes: plain TCP or TLS, and on the node's
/// side every byte read passes the BASP filter; a breach fails the read, and CAF then closes
/// the connection as for any I/O error.
struct guarded_stream {
  std::shared_ptr<basp_inbound_filter> filter; ///< null on the connecting side
  ssl_ptr ssl;                                 ///< null without TLS
  std::function<void(const std::string&)> on_breach;

  net::rw_state read_some(std::size_t& result, net::native_socket fd, void* buf,
                          std::size_t len) {
    auto state = ssl ? tls_some(ssl.get(), result, len,
                                [&](int n) { return SSL_read(ssl.get(), buf, n); })
                     : caf::policy::tcp::read_some(result, fd, buf, len);
    if (filter && state == net::rw_state::success && result > 0
        && !filter->feed(buf, result)) {
      on_breach(filter->why());
      return net::rw_state::failure;
    }
    return state;
  }
  net::rw_state write_some(std::size_t& result, net::native_socket fd, const void* buf,
                           std::size_t len) {
    if (ssl)
      return tls_some(ssl.get(), result, len,
                      [&](int n) { return SSL_write(ssl.get(), buf, n); });
    return caf::policy::tcp::write_some(result, fd, buf, len);
  }
  /// Bytes OpenSSL already decrypted do not wake the socket's poll: read them now.
  bool must_read_more(net::native_socket, std::size_t) {
    return ssl && SSL_pending(ssl.get()) > 0;
  }
};

/// CAF's TCP scribe, but over a guarded stream (TLS, the inbound filter).
class filtered_scribe : public caf::io::scribe {
public:
  filtered_scribe(net::default_multiplexer& mpx, net::native_socket fd, guarded_stream policy)
    : caf::io::scribe(net::conn_hdl_from_socket(fd)), stream_(mpx, fd, std::move(policy)) {}

  void configure_read(caf::io::receive_policy::config config) override {
    stream_.configure_read(config);
    if (!launched_) {
      launched_ = true;
      stream_.start(this);
    }
  }
  void ack_writes(bool enable) override { stream_.ack_writes(enable); }
  std::vector<char>& wr_buf() override { return stream_.wr_buf(); }
  std::vector<char>& rd_buf() override { return stream_.rd_buf(); }
  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }
  void flush() override { stream_.flush(this); }
  std::string addr() const override {
    auto x = net::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string();
  }
  std::uint16_t port() const override {
    auto x = net::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }
  void add_to_loop() override { stream_.activate(this); }
  void remove_from_loop() override { stream_.passivate(); }

private:
  bool launched_ = false;
  net::stream_impl<guarded_stream> stream_;
};

/// A doorman that listens on nothing: the listener's thread hands it sockets that passed
/// the token check. Its port number only names its published actor inside BASP.
class door : public caf::io::doorman {
public:
  door(net::default_multiplexer& mpx, std::int64_t id, std::uint16_t port)
    : caf::io::doorman(caf::io::accept_handle::from_int(id)), mpx_(mpx), port_(port) {}

  bool new_connection() override { return false; }
  void launch() override { launched_.set_value(); }
  std::uint16_t port() const override { return port_; }
  std::string addr() const override { return "authenticated door " + std::to_string(port_); }
  void graceful_shutdown() override { detach(&mpx_, false); }
  void add_to_loop() override {}
  void remove_from_loop() override {}

  std::future<void> published() { return launched_.get_future(); }

  /// In the multiplexer's thread: the socket becomes one of BASP's connections, which
  /// then sends its handshake with this door's published actor.
  void adopt(net::native_socket fd, guarded_stream policy) {
    if (detached()) {
      ::close(fd);
      return;
    }
    auto s = caf::make_counted<filtered_scribe>(mpx_, fd, std::move(policy));
    auto hdl = s->hdl();
    parent()->add_scribe(std::move(s));
    caf::io::doorman::new_connection(&mpx_, hdl);
  }

private:
  net::default_multiplexer& mpx_;
  std::uint16_t port_;
  std::promise<void> launched_;
};

/// Door port numbers: below 1024, where nothing of ours listens, unique in the process.
std::atomic<std::uint16_t> next_door_port{1};
/// Accept handles of doors: far above any file descriptor.
std::atomic<std::int64_t> next_door_id{std::int64_t{1} << 40};

struct waiting_peer {
  int fd;
  std::string from;
  clock_type::time_point deadline;
  std::string received; ///< of the token preamble
  ssl_ptr ssl;          ///< with TLS: the handshake in progress
  short events = POLLIN;
};

ssl_ptr new_ssl(const tls_context& tls, int fd) {
  ssl_ptr ssl(SSL_new(tls.get()), SSL_free);
  if (ssl && SSL_set_fd(ssl.get(), fd) == 1)
    return ssl;
  return nullptr;
}

/// OpenSSL's reason for the last failure of this thread, and a clean queue.
std::string tls_reason() {
  auto code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "the connection closed";
}

/// At most one line per window, then a count of what it held back.
class refusal_log {
public:
  explicit refusal_log(std::function<void(const std::string&)> sink) : sink_(std::move(sink)) {}
  void operator()(const std::string& what) {
    auto now = clock_type::now();
    std::string line;
    {
      std::lock_guard<std::mutex> lock(m_);
      ++total_;
      if (now < window_end_) {
        ++held_back_;
        return;
      }
      line = what;
      if (held_back_ > 0)
        line += " (and " + std::to_string(held_back_) + " more refused in the last "
                + std::to_string(window_secs) + " s)";
      held_back_ = 0;
      window_end_ = now + std::chrono::seconds(window_secs);
    }
    if (sink_)
      sink_(line);
  }
  std::uint64_t total() const {
    std::lock_guard<std::mutex> lock(m_);
    return total_;
  }

private:
  static constexpr int window_secs = 10;
  std::function<void(const std::string&)> sink_;
  mutable std::mutex m_;
  clock_type::time_point window_end_{};
  std::uint64_t held_back_ = 0;
  std::uint64_t total_ = 0;
};

void send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; // the peer is gone; the caller closes or hands over what is left
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::string peer_name(int fd) {
  auto a = net::remote_addr_of_fd(fd);
  auto p = net::remote_port_of_fd(fd);
  return (a ? *a : std::string("?")) + ":" + (p ? std::to_string(*p) : std::string("?"));
}

} // namespace

struct node_listener::impl {
  caf::actor_system& sys;
  net::default_multiplexer& mpx;
  caf::actor basp;
  listener_hooks hooks;
  tls_context tls; ///< null: peers present tokens
  /// Shared with the adopted connections, which may outlive the listener.
  std::shared_ptr<refusal_log> log;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::uint16_t port = 0;
  std::thread thread;
  /// By principal and role: its door and its gate's actor id.
  std::map<std::string, std::pair<caf::intrusive_ptr<door>, std::uint64_t>> doors;

  impl(caf::actor_system& s, listener_hooks h, tls_context t)
    : sys(s),
      mpx(static_cast<net::default_multiplexer&>(s.middleman().backend())),
      basp(s.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"))),
      hooks(std::move(h)),
      tls(std::move(t)),
      log(std::make_shared<refusal_log>(hooks.on_refused)) {}

  /// The verdict byte: inside TLS when the connection speaks it.
  void answer(waiting_peer& p, char verdict) {
    if (!p.ssl) {
      send_all(p.fd, &verdict, 1);
      return;
    }
    sigpipe_guard guard;
    ERR_clear_error();
    // One byte on a fresh connection: the socket's buffer takes it at once.
    if (SSL_write(p.ssl.get(), &verdict, 1) != 1)
      ERR_clear_error();
  }

  void refuse(waiting_peer& p, const std::string& why, bool tell) {
    // Counted before the peer hears of it, so that whoever it tells sees the count.
    (*log)("refused a connection from " + p.from + ": " + why);
    if (tell)
      answer(p, auth_refused);
    p.ssl.reset();
    ::close(p.fd);
    p.fd = -1;
  }

  /// The principal's door, published on first use (waits until BASP has it).
  std::pair<caf::intrusive_ptr<door>, std::uint64_t> door_of(const peer_credential& who) {
    auto key = who.principal + "." + std::string(to_string(who.role));
    auto i = doors.find(key);
    if (i != doors.end())
      return i->second;
    auto [gate, interface] = hooks.gate_for(who);
    if (!gate)
      return {nullptr, 0};
    auto d = caf::make_counted<door>(mpx, next_door_id++, next_door_port++);
    auto published = d->published();
    caf::anon_send(basp, caf::publish_atom_v, caf::io::doorman_ptr{d}, d->port(), gate,
                   std::move(interface));
    if (published.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      return {nullptr, 0};
    auto entry = std::make_pair(d, static_cast<std::uint64_t>(gate->id()));
    doors.emplace(key, entry);
    return entry;
  }

  /// `who` proved itself: its connection becomes one of BASP's, behind its door.
  void hand_over(waiting_peer& p, const peer_credential& who) {
    auto [d, gate_id] = door_of(who);
    if (!d)
      return refuse(p, "no gate for " + who.principal, true);
    answer(p, auth_accepted);
    auto filter = std::make_shared<basp_inbound_filter>(
      who.role == node_role::submit ? std::optional<std::uint64_t>(gate_id) : std::nullopt);
    auto from = p.from + " (" + who.principal + ")";
    guarded_stream policy{filter, std::move(p.ssl),
                          [log = log, from](const std::string& why) {
                            (*log)("dropped the connection of " + from + ": it " + why);
                          }};
    int fd = p.fd;
    p.fd = -1;
    mpx.post([d = d, fd, policy]() mutable { d->adopt(fd, std::move(policy)); });
  }

  void check_token(waiting_peer& p) {
    auto prefix = std::string(auth_preamble_prefix);
    auto& got = p.received;
    if (got.compare(0, prefix.size(), prefix) != 0 || got.back() != '\n')
      return refuse(p, "it sent no claude-pool credentials", false);
    auto who = hooks.authenticate(got.substr(prefix.size(), token_chars));
    if (!who)
      return refuse(p, "wrong token", true);
    hand_over(p, *who);
  }

  void read_token(waiting_peer& p) {
    char buf[256];
    auto want = std::min(sizeof buf, preamble_size() - p.received.size());
    auto n = ::recv(p.fd, buf, want, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0)
      return refuse(p, "it closed the connection before presenting a token", false);
    p.received.append(buf, static_cast<std::size_t>(n));
    if (p.received.size() == preamble_size())
      check_token(p);
  }

  /// One step of the server's TLS handshake; done, the certificate names the peer.
  void step_tls(waiting_peer& p) {
    int r = 0;
    {
      sigpipe_guard guard;
      ERR_clear_error();
      r = SSL_accept(p.ssl.get());
    }
    if (r != 1) {
      switch (SSL_get_error(p.ssl.get(), r)) {
        case SSL_ERROR_WANT_READ:
          p.events = POLLIN;
          return;
        case SSL_ERROR_WANT_WRITE:
          p.events = POLLOUT;
          return;
        default:
          return refuse(p, "the TLS handshake failed (" + tls_reason() + ")", false);
      }
    }
    std::unique_ptr<X509, void (*)(X509*)> cert(SSL_get_peer_certificate(p.ssl.get()),
                                                X509_free);
    try {
      auto id = identity_of(cert.get());
      hand_over(p, peer_credential{id.principal, id.role});
    } catch (const tls_error& e) {
      refuse(p, e.what(), true);
    }
  }

  void accept_one() {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    waiting_peer p{fd, peer_name(fd), clock_type::now() + preamble_deadline, {}, nullptr, POLLIN};
    if (tls && !(p.ssl = new_ssl(tls, fd))) {
      ERR_clear_error();
      ::close(fd);
      return;
    }
    if (p.ssl)
      SSL_set_accept_state(p.ssl.get());
    waiting.push_back(std::move(p));
  }

  std::vector<waiting_peer> waiting;

  void run() {
    for (;;) {
      std::vector<pollfd> fds;
      fds.push_back({wake[0], POLLIN, 0});
      fds.push_back({waiting.size() < max_waiting ? listen_fd : -1, POLLIN, 0});
      for (auto& p : waiting)
        fds.push_back({p.fd, p.events, 0});
      int timeout = -1;
      auto now = clock_type::now();
      for (auto& p : waiting) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now);
        auto left = static_cast<int>(std::max<long long>(0, ms.count()) + 1);
        timeout = timeout < 0 ? left : std::min(timeout, left);
      }
      if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR)
        return;
      if (fds[0].revents != 0)
        break;
      // Peers accepted now are polled from the next round on.
      auto polled = waiting.size();
      if ((fds[1].revents & POLLIN) != 0)
        accept_one();
      for (std::size_t i = 0; i < polled; ++i) {
        auto& p = waiting[i];
        if ((fds[i + 2].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)) == 0)
          continue;
        if (p.ssl)
          step_tls(p);
        else
          read_token(p);
      }
      now = clock_type::now();
      for (auto& p : waiting)
        if (p.fd >= 0 && now >= p.deadline)
          refuse(p, tls ? "it did not complete the TLS handshake within 5 s"
                        : "it presented no token within 5 s",
                 false);
      waiting.erase(std::remove_if(waiting.begin(), waiting.end(),
                                   [](const waiting_peer& p) { return p.fd < 0; }),
                    waiting.end());
    }
    for (auto& p : waiting)
      ::close(p.fd);
    waiting.clear();
  }
};

node_listener::node_listener(caf::actor_system& sys, const std::string& bind, std::uint16_t port,
                             listener_hooks hooks, tls_context tls)
  : impl_(std::make_unique<impl>(sys, std::move(hooks), std::move(tls))) {
  auto fd = net::new_tcp_acceptor_impl(port, bind.c_str(), true);
  if (!fd)
    throw std::runtime_error("cannot listen on " + bind + ":" + std::to_string(port) + ": "
                             + sys.render(fd.error()));
  impl_->listen_fd = *fd;
  ::fcntl(impl_->listen_fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(impl_->listen_fd, F_SETFL, ::fcntl(impl_->listen_fd, F_GETFL) | O_NONBLOCK);
  auto actual = net::local_port_of_fd(impl_->listen_fd);
  impl_->port = actual ? *actual : port;
  if (::pipe2(impl_->wake, O_CLOEXEC) != 0) {
    ::close(impl_->listen_fd);
    throw std::runtime_error("cannot create the listener's wake-up pipe");
  }
  impl_->thread = std::thread([this] { impl_->run(); });
}

node_listener::~node_listener() {
  char x = 0;
  (void) !::write(impl_->wake[1], &x, 1);
  impl_->thread.join();
  ::close(impl_->listen_fd);
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

std::uint16_t node_listener::port() const { return impl_->port; }

std::uint64_t node_listener::refused() const { return impl_->log->total(); }

namespace {

using kind = connect_failure::kind;

connect_result failed(kind k, std::string why) {
  connect_result r;
  r.failure = connect_failure{k, std::move(why)};
  return r;
}

constexpr int verdict_wait_ms = 10000;

std::string no_verdict(const std::string& where, bool timed_out) {
  return "the peer at " + where
         + (timed_out ? " did not answer the credentials within 10 s"
                      : " closed the connection without answering the credentials")
         + " (is it a claude-pool node? does it serve with TLS, or with tokens?)";
}

/// The connection, proven and answered `+`, becomes one of BASP's; its handshake names the
/// node's published actor.
connect_result join_basp(caf::actor_system& sys, int fd, guarded_stream policy,
                         std::uint16_t port, const std::string& where) {
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  auto& mpx = static_cast<net::default_multiplexer&>(sys.middleman().backend());
  caf::io::scribe_ptr scribe = caf::make_counted<filtered_scribe>(mpx, fd, std::move(policy));
  auto basp = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  connect_result out;
  caf::scoped_actor self{sys};
  self->request(basp, std::chrono::seconds(30), caf::connect_atom_v, std::move(scribe), port)
    .receive(
      [&](caf::node_id&, caf::strong_actor_ptr& actor, std::set<std::string>& ifs) {
        out.actor = std::move(actor);
        out.interface = std::move(ifs);
        if (!out.actor)
          out.failure = connect_failure{kind::handshake, "the node at " + where
                                                           + " publishes nothing"};
      },
      [&](caf::error& err) {
        out.failure = connect_failure{kind::handshake, "the BASP handshake with " + where
                                                         + " failed: " + sys.render(err)};
      });
  return out;
}

/// Drives one blocking-looking TLS call on a nonblocking socket until it is done, fails,
/// or the deadline passes. Returns the call's result (1 or a byte count) or <= 0.
template <class Call>
int tls_until_done(SSL* ssl, int fd, clock_type::time_point deadline, Call call,
                   bool& timed_out) {
  timed_out = false;
  for (;;) {
    int r = 0;
    {
      sigpipe_guard guard;
      ERR_clear_error();
      r = call();
    }
    if (r > 0)
      return r;
    short events = 0;
    switch (SSL_get_error(ssl, r)) {
      case SSL_ERROR_WANT_READ:
        events = POLLIN;
        break;
      case SSL_ERROR_WANT_WRITE:
        events = POLLOUT;
        break;
      default:
        return r;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline
                                                                      - clock_type::now());
    pollfd pfd{fd, events, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) == 0) {
      timed_out = true;
      return 0;
    }
  }
}

} // namespace

connect_result connect_authenticated(caf::actor_system& sys, const std::string& host,
                                     std::uint16_t port, const std::string& token) {
  auto where = host + ":" + std::to_string(port);
  auto fd = net::new_tcp_connection(host, port);
  if (!fd)
    return failed(kind::unreachable,
                  "cannot connect to " + where + " (" + sys.render(fd.error()) + ")");
  auto preamble = std::string(auth_preamble_prefix) + token + "\n";
  send_all(*fd, preamble.data(), preamble.size());
  pollfd pfd{*fd, POLLIN, 0};
  char verdict = 0;
  auto ready = ::poll(&pfd, 1, verdict_wait_ms);
  auto n = ready > 0 ? ::recv(*fd, &verdict, 1, 0) : -1;
  if (n != 1 || verdict != auth_accepted) {
    ::close(*fd);
    if (n == 1 && verdict == auth_refused)
      return failed(kind::refused, "the node at " + where + " refused the token");
    return failed(kind::handshake, no_verdict(where, ready == 0));
  }
  net::nonblocking(*fd, true);
  return join_basp(sys, *fd, guarded_stream{}, port, where);
}

connect_result connect_authenticated(caf::actor_system& sys, const std::string& host,
                                     std::uint16_t port, const tls_context& tls) {
  auto where = host + ":" + std::to_string(port);
  if (!tls)
    return failed(kind::handshake, "no TLS context to connect to " + where + " with");
  auto fd = net::new_tcp_connection(host, port);
  if (!fd)
    return failed(kind::unreachable,
                  "cannot connect to " + where + " (" + sys.render(fd.error()) + ")");
  net::nonblocking(*fd, true);
  auto ssl = new_ssl(tls, *fd);
  if (!ssl) {
    ::close(*fd);
    return failed(kind::handshake, "cannot start TLS to " + where + " (" + tls_reason() + ")");
  }
  SSL_set_connect_state(ssl.get());
  auto deadline = clock_type::now() + std::chrono::milliseconds(verdict_wait_ms);
  bool timed_out = false;
  if (tls_until_done(ssl.get(), *fd, deadline, [&] { return SSL_connect(ssl.get()); },
                     timed_out)
      != 1) {
    auto why = timed_out ? std::string("no answer within 10 s") : tls_reason();
    ::close(*fd);
    return failed(kind::handshake, "the TLS handshake with " + where + " failed (" + why
                                     + "; check both sides' certificates and CA)");
  }
  // With TLS 1.3 the node checks this side's certificate after the handshake ends here: a
  // refused certificate shows as a failed read of the verdict.
  char verdict = 0;
  int n = tls_until_done(ssl.get(), *fd, deadline,
                         [&] { return SSL_read(ssl.get(), &verdict, 1); }, timed_out);
  if (n != 1 || verdict != auth_accepted) {
    auto why = timed_out ? std::string() : tls_reason();
    ::close(*fd);
    if (n == 1 && verdict == auth_refused)
      return failed(kind::refused,
                    "the node at " + where + " refused this certificate (its subject needs "
                    "OU=admin or OU=submit; the node's log says why)");
    if (timed_out)
      return failed(kind::handshake, no_verdict(where, true));
    return failed(kind::refused, "the node at " + where + " refused this certificate ("
                                   + why + "; is it signed by the node's CA?)");
  }
  return join_basp(sys, *fd, guarded_stream{nullptr, std::move(ssl), {}}, port, where);
}

} // namespace claude_pool
