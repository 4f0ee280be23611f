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

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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

/// Reads of an adopted connection go through its filter; a breach fails the read, and CAF
/// then closes the connection as for any I/O error.
struct filtered_tcp {
  std::shared_ptr<basp_inbound_filter> filter;
  std::function<void(const std::string&)> on_breach;

  net::rw_state read_some(std::size_t& result, net::native_socket fd, void* buf,
                          std::size_t len) {
    auto state = caf::policy::tcp::read_some(result, fd, buf, len);
    if (state == net::rw_state::success && result > 0 && !filter->feed(buf, result)) {
      on_breach(filter->why());
      return net::rw_state::failure;
    }
    return state;
  }
  net::rw_state write_some(std::size_t& result, net::native_socket fd, const void* buf,
                           std::size_t len) {
    return caf::policy::tcp::write_some(result, fd, buf, len);
  }
  bool must_read_more(net::native_socket, std::size_t) { return false; }
};

/// CAF's plain TCP scribe, but reading through a filter.
class filtered_scribe : public caf::io::scribe {
public:
  filtered_scribe(net::default_multiplexer& mpx, net::native_socket fd, filtered_tcp policy)
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
  net::stream_impl<filtered_tcp> stream_;
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
  void adopt(net::native_socket fd, filtered_tcp policy) {
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
  std::string received;
};

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
  /// Shared with the adopted connections, which may outlive the listener.
  std::shared_ptr<refusal_log> log;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::uint16_t port = 0;
  std::thread thread;
  /// By principal: its door and its gate's actor id.
  std::map<std::string, std::pair<caf::intrusive_ptr<door>, std::uint64_t>> doors;

  impl(caf::actor_system& s, listener_hooks h)
    : sys(s),
      mpx(static_cast<net::default_multiplexer&>(s.middleman().backend())),
      basp(s.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"))),
      hooks(std::move(h)),
      log(std::make_shared<refusal_log>(hooks.on_refused)) {}

  void refuse(waiting_peer& p, const std::string& why, bool answer) {
    if (answer) {
      char no = auth_refused;
      send_all(p.fd, &no, 1);
    }
    ::close(p.fd);
    p.fd = -1;
    (*log)("refused a connection from " + p.from + ": " + why);
  }

  /// The principal's door, published on first use (waits until BASP has it).
  std::pair<caf::intrusive_ptr<door>, std::uint64_t> door_of(const peer_credential& who) {
    auto i = doors.find(who.principal);
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
    doors.emplace(who.principal, entry);
    return entry;
  }

  void admit(waiting_peer& p) {
    auto prefix = std::string(auth_preamble_prefix);
    auto& got = p.received;
    if (got.compare(0, prefix.size(), prefix) != 0 || got.back() != '\n')
      return refuse(p, "it sent no claude-pool credentials", false);
    auto token = got.substr(prefix.size(), token_chars);
    auto who = hooks.authenticate(token);
    if (!who)
      return refuse(p, "wrong token", true);
    auto [d, gate_id] = door_of(*who);
    if (!d)
      return refuse(p, "no gate for " + who->principal, true);
    char yes = auth_accepted;
    send_all(p.fd, &yes, 1);
    auto filter = std::make_shared<basp_inbound_filter>(
      who->role == node_role::submit ? std::optional<std::uint64_t>(gate_id) : std::nullopt);
    auto from = p.from + " (" + who->principal + ")";
    filtered_tcp policy{filter, [log = log, from](const std::string& why) {
                          (*log)("dropped the connection of " + from + ": it " + why);
                        }};
    int fd = p.fd;
    p.fd = -1;
    mpx.post([d = d, fd, policy]() mutable { d->adopt(fd, std::move(policy)); });
  }

  void run() {
    std::vector<waiting_peer> waiting;
    for (;;) {
      std::vector<pollfd> fds;
      fds.push_back({wake[0], POLLIN, 0});
      fds.push_back({waiting.size() < max_waiting ? listen_fd : -1, POLLIN, 0});
      for (auto& p : waiting)
        fds.push_back({p.fd, POLLIN, 0});
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
      if ((fds[1].revents & POLLIN) != 0) {
        int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
          waiting.push_back({fd, peer_name(fd), clock_type::now() + preamble_deadline, {}});
      }
      for (std::size_t i = 0; i < waiting.size(); ++i) {
        auto& p = waiting[i];
        if ((fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
          continue;
        char buf[256];
        auto want = std::min(sizeof buf, preamble_size() - p.received.size());
        auto n = ::recv(p.fd, buf, want, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
          continue;
        if (n <= 0) {
          refuse(p, "it closed the connection before presenting a token", false);
          continue;
        }
        p.received.append(buf, static_cast<std::size_t>(n));
        if (p.received.size() == preamble_size())
          admit(p);
      }
      now = clock_type::now();
      for (auto& p : waiting)
        if (p.fd >= 0 && now >= p.deadline)
          refuse(p, "it presented no token within 5 s", false);
      waiting.erase(std::remove_if(waiting.begin(), waiting.end(),
                                   [](const waiting_peer& p) { return p.fd < 0; }),
                    waiting.end());
    }
    for (auto& p : waiting)
      ::close(p.fd);
  }
};

node_listener::node_listener(caf::actor_system& sys, const std::string& bind, std::uint16_t port,
                             listener_hooks hooks)
  : impl_(std::make_unique<impl>(sys, std::move(hooks))) {
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

connect_result connect_authenticated(caf::actor_system& sys, const std::string& host,
                                     std::uint16_t port, const std::string& token) {
  using kind = connect_failure::kind;
  auto where = host + ":" + std::to_string(port);
  auto fail = [](kind k, std::string why) {
    connect_result r;
    r.failure = connect_failure{k, std::move(why)};
    return r;
  };
  auto fd = net::new_tcp_connection(host, port);
  if (!fd)
    return fail(kind::unreachable, "cannot connect to " + where + " (" + sys.render(fd.error())
                                     + ")");
  auto preamble = std::string(auth_preamble_prefix) + token + "\n";
  send_all(*fd, preamble.data(), preamble.size());
  pollfd pfd{*fd, POLLIN, 0};
  char verdict = 0;
  auto ready = ::poll(&pfd, 1, 10000);
  auto n = ready > 0 ? ::recv(*fd, &verdict, 1, 0) : -1;
  if (n != 1 || verdict != auth_accepted) {
    ::close(*fd);
    if (n == 1 && verdict == auth_refused)
      return fail(kind::refused, "the node at " + where + " refused the token");
    return fail(kind::handshake, "the peer at " + where
                                   + (ready == 0 ? " did not answer the credentials within 10 s"
                                                 : " closed the connection without answering "
                                                   "the credentials")
                                   + " (is it a claude-pool node? does it serve with TLS?)");
  }
  net::nonblocking(*fd, true);
  ::fcntl(*fd, F_SETFD, FD_CLOEXEC);
  auto& mpx = sys.middleman().backend();
  auto scribe = mpx.new_scribe(*fd);
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

} // namespace claude_pool
