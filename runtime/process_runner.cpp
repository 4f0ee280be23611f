#include "runtime/process_runner.hpp"

#include "runtime/child_spawn.hpp"
#include "runtime/descendant_sweep.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

// How it works
// - Children are created on the I/O thread only (no Boost.Process: its 1.74 SIGCHLD service
//   loses exit callbacks and its child destructor kills), each under a guardian process that
//   leads the child's process group and hands the command's exit status on unchanged
//   (child_spawn.hpp). Failures before the command's exec are reported as spawn_failed.
// - No orphans: every child carries CLAUDE_POOL_RUN_TOKEN=<runner>-<id>; the guardian sweeps
//   its carriers when the command ends or the runner's process dies, and the runner sweeps
//   again after reaping a child (descendant_sweep.hpp), coalescing children reaped together.
// - Exit detection: a pidfd per child (Linux >= 5.3), watched by the reactor; when it becomes
//   readable the child is a zombie and waitpid(pid, WNOHANG) reaps exactly that pid. No signal
//   handler is installed, so no other thread sees EINTR and nobody else's children are reaped.
//   Where pidfd_open is unavailable (old kernel, seccomp; or CLAUDE_POOL_NO_PIDFD set, for
//   tests) an asio signal_set on SIGCHLD is the fallback; each SIGCHLD rescans those pids with
//   waitpid(pid, WNOHANG), so coalesced signals lose nothing. (Asio 1.74 installs that handler
//   without SA_RESTART, hence only a fallback.)
// - SIGPIPE: the stdin pipe is a pipe, not a socket, so MSG_NOSIGNAL does not apply. SIGPIPE is
//   blocked in the I/O thread only (all writes happen there); a write to a closed pipe then
//   fails with EPIPE and the pending thread-directed SIGPIPE is consumed with sigtimedwait.
//   The process-wide disposition is left alone; children get an empty mask and SIG_DFL for all.

namespace claude_pool::runtime {

namespace asio = boost::asio;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;
using detail::unique_fd;

const char* to_string(process_end e) {
  switch (e) {
    case process_end::exited: return "exited";
    case process_end::signaled: return "signaled";
    case process_end::timed_out: return "timed_out";
    case process_end::cancelled: return "cancelled";
    case process_end::spawn_failed: return "spawn_failed";
  }
  return "unknown";
}

namespace {

// Pipes still held open by a descendant that escaped both the group kill and the sweep (it
// left the group and exec'd without the run token) are closed this long after the reap.
constexpr std::chrono::milliseconds pipe_drain_bound{500};

void consume_pending_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  timespec zero{0, 0};
  while (::sigtimedwait(&set, nullptr, &zero) > 0) {
  }
}

enum class stop_reason { none, timeout, cancel, shutdown };

struct capture {
  explicit capture(asio::io_context& io) : sd(io) {}
  asio::posix::stream_descriptor sd;
  std::vector<char> buf;
  std::string data;
  std::size_t limit = 0;
  bool truncated = false;
  bool open = false;
};

struct child {
  child(asio::io_context& io, std::uint64_t id, process_request r, process_runner::completion d)
      : id(id), req(std::move(r)), done(std::move(d)), in(io), out(io), err(io), exit_watch(io),
        deadline(io), grace(io), drain(io) {}
  std::uint64_t id;
  process_request req;  // owns stdin_data while it is written
  process_runner::completion done;
  clock_type::time_point started = clock_type::now();
  pid_t pid = 0;
  asio::posix::stream_descriptor in;
  capture out, err;
  asio::posix::stream_descriptor exit_watch;  // the pidfd
  asio::steady_timer deadline, grace, drain;
  std::string token_entry;  // CLAUDE_POOL_RUN_TOKEN=<runner>-<id>
  stop_reason stop = stop_reason::none;
  bool reaped = false, finished = false, status_known = false;
  int status = 0;
  // keep_stdin_open children: queued writes, sent one after the other.
  std::deque<std::string> writes;
  bool writing = false, in_open = false, close_requested = false;
};
using child_ptr = std::shared_ptr<child>;

} // namespace

struct process_runner::impl {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(ioc);
  std::optional<asio::signal_set> sigchld;               // fallback exit detection only
  std::unordered_map<pid_t, child_ptr> sigchld_watched;  // I/O thread only
  std::unordered_map<std::uint64_t, child_ptr> children;  // I/O thread only
  bool use_pidfd = std::getenv("CLAUDE_POOL_NO_PIDFD") == nullptr;
  std::atomic<bool> shutting_down{false};
  std::atomic<std::uint64_t> next_id{0};
  mutable std::mutex mutex;
  std::unordered_set<std::uint64_t> active;  // started, completion not yet run
  const std::string instance = random_instance();  // the runner part of every run token
  std::vector<std::string> sweep_pending;           // I/O thread only
  std::thread thread;

  impl() {
    thread = std::thread([this] {
      sigset_t pipe_only;
      sigemptyset(&pipe_only);
      sigaddset(&pipe_only, SIGPIPE);
      ::pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (...) {
          // Only allocation failures can get here; keep serving the other children.
        }
      }
    });
  }

  void shutdown() {
    shutting_down = true;
    asio::post(ioc, [this] {
      for (auto& [id, c] : children) begin_stop(c, stop_reason::shutdown);
      release_if_idle();
    });
    thread.join();
  }

  void release_if_idle() {
    if (!shutting_down || !children.empty()) return;
    guard.reset();
    if (sigchld) sigchld->cancel();
  }

  void deliver(std::uint64_t id, completion& done, process_outcome outcome) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      active.erase(id);
    }
    try {
      if (done) done(std::move(outcome));
    } catch (...) {
      // A completion must not throw; swallowing keeps the loop alive for the other children.
    }
  }

  void spawn(std::uint64_t id, process_request req, completion done) {
    if (shutting_down) {
      process_outcome o;
      o.end = process_end::cancelled;
      deliver(id, done, std::move(o));
      return;
    }
    auto c = std::make_shared<child>(ioc, id, std::move(req), std::move(done));
    std::string error;
    try {
      if (launch(c, error)) return;
    } catch (const std::exception& e) {
      error = "cannot start " + c->req.executable + ": " + e.what();
    }
    process_outcome o;
    o.end = process_end::spawn_failed;
    o.spawn_error = std::move(error);
    o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - c->started);
    deliver(id, c->done, std::move(o));
  }

  bool launch(const child_ptr& c, std::string& error) {
    unique_fd in_r, in_w, out_r, out_w, err_r, err_w;
    int e = 0;
    if (!detail::open_pipe(in_r, in_w, e) || !detail::open_pipe(out_r, out_w, e) || !detail::open_pipe(err_r, err_w, e))
      return error = "cannot create pipes for " + c->req.executable + ": " + detail::errno_text(e), false;

    c->out.limit = c->req.stdout_limit;
    c->out.buf.resize(64 * 1024);
    c->err.limit = c->req.stderr_limit;
    c->err.buf.resize(8 * 1024);
    c->token_entry = std::string(run_token_variable) + "=" + instance + "-" + std::to_string(c->id);

    c->started = clock_type::now();
    pid_t pid = detail::spawn_guarded(c->req, c->token_entry, {in_r.get(), out_w.get(), err_w.get()}, error);
    in_r.reset();
    out_w.reset();
    err_w.reset();
    if (pid <= 0) return false;

    c->pid = pid;
    try {
      attach(c, in_w, out_r, err_r);
    } catch (const std::exception& e) {
      // Running but unwatchable (e.g. epoll refused a descriptor): do not leave it behind.
      ::kill(-pid, SIGKILL);
      int st = 0;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      kill_processes_with_env(c->token_entry, 0);
      children.erase(c->id);
      close_all(*c);
      return error = "cannot watch the child process of " + c->req.executable + ": " + e.what(), false;
    }
    return true;
  }

  static std::string random_instance() {
    std::random_device rd;
    std::uint64_t bits = (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ static_cast<std::uint64_t>(::getpid()) ^
                         static_cast<std::uint64_t>(clock_type::now().time_since_epoch().count());
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i, bits >>= 4) out += hex[bits & 0xf];
    return out;
  }

  // Second line of defence after the guardian's own sweep (which a guardian killed by SIGKILL
  // never ran). Children reaped in one burst share one /proc pass.
  void sweep_later(const std::string& token_entry) {
    sweep_pending.push_back(token_entry);
    if (sweep_pending.size() > 1) return;
    asio::post(ioc, [this] {
      std::vector<std::string> entries;
      entries.swap(sweep_pending);
      try {
        kill_processes_with_env(entries, 0);
      } catch (...) {
        // Only allocation failures; the guardians swept already.
      }
    });
  }

  static void adopt(asio::posix::stream_descriptor& sd, unique_fd& fd) {
    error_code ec;
    sd.assign(fd.get(), ec);
    if (ec) throw boost::system::system_error(ec);
    fd.release();
  }

  // Wires a freshly exec'd child into the loop: stdin writer, output readers, exit watch, timer.
  void attach(const child_ptr& c, unique_fd& in_w, unique_fd& out_r, unique_fd& err_r) {
    children.emplace(c->id, c);
    if (c->req.keep_stdin_open) {
      adopt(c->in, in_w);
      c->in_open = true;
      if (!c->req.stdin_data.empty()) c->writes.push_back(std::move(c->req.stdin_data));
      pump(c);
    } else if (c->req.stdin_data.empty()) {
      in_w.reset();
    } else {
      adopt(c->in, in_w);
      asio::async_write(c->in, asio::buffer(c->req.stdin_data), [c](const error_code& ec, std::size_t) {
        if (ec == asio::error::broken_pipe) consume_pending_sigpipe();
        error_code ignored;
        c->in.close(ignored);
        std::string().swap(c->req.stdin_data);  // may be large; no longer needed
      });
    }
    adopt(c->out.sd, out_r);
    adopt(c->err.sd, err_r);
    for (capture* cap : {&c->out, &c->err}) {
      cap->open = true;
      read_more(c, *cap);
    }
    watch_exit(c);
    if (c->req.timeout.count() > 0) {
      c->deadline.expires_after(c->req.timeout);
      c->deadline.async_wait([this, c](const error_code& ec) {
        if (!ec && !c->finished) begin_stop(c, stop_reason::timeout);
      });
    }
  }

  // Sends the next queued write of a keep_stdin_open child, or closes stdin when asked to.
  void pump(const child_ptr& c) {
    if (c->writing || !c->in_open || c->finished) return;
    if (c->writes.empty()) {
      if (c->close_requested) {
        error_code ignored;
        c->in.close(ignored);
        c->in_open = false;
      }
      return;
    }
    c->writing = true;
    asio::async_write(c->in, asio::buffer(c->writes.front()), [this, c](const error_code& ec, std::size_t) {
      c->writing = false;
      if (c->finished) return;
      if (ec) {
        if (ec == asio::error::broken_pipe) consume_pending_sigpipe();
        error_code ignored;
        c->in.close(ignored);
        c->in_open = false;
        c->writes.clear();
        return;
      }
      c->writes.pop_front();
      pump(c);
    });
  }

  void read_more(const child_ptr& c, capture& cap) {
    cap.sd.async_read_some(asio::buffer(cap.buf), [this, c, &cap](const error_code& ec, std::size_t n) {
      if (c->finished || !cap.open) return;
      if (&cap == &c->out && c->req.on_stdout) {
        if (n > 0) {
          try {
            c->req.on_stdout(std::string_view(cap.buf.data(), n));
          } catch (...) {
            // A stdout handler must not throw; the child is still watched and reported.
          }
        }
        if (!ec) return read_more(c, cap);
        cap.open = false;
        error_code ignored;
        cap.sd.close(ignored);
        return maybe_finish(c);
      }
      std::size_t keep = std::min(n, cap.limit - std::min(cap.limit, cap.data.size()));
      cap.data.append(cap.buf.data(), keep);
      if (keep < n) cap.truncated = true;
      if (!ec) return read_more(c, cap);
      cap.open = false;  // EOF, or an error that ends this stream just the same
      error_code ignored;
      cap.sd.close(ignored);
      maybe_finish(c);
    });
  }

  void watch_exit(const child_ptr& c) {
    unique_fd pidfd(use_pidfd ? static_cast<int>(::syscall(SYS_pidfd_open, c->pid, 0)) : -1);
    error_code assign_error;
    if (pidfd.get() >= 0) c->exit_watch.assign(pidfd.get(), assign_error);
    if (pidfd.get() < 0 || assign_error) return watch_by_sigchld(c);
    pidfd.release();
    c->exit_watch.async_wait(asio::posix::stream_descriptor::wait_read, [this, c](const error_code& ec) {
      if (c->finished || c->reaped) return;
      // Readable pidfd means the child is a zombie; should waitpid still say "running", the
      // edge is spent, so hand the child to the SIGCHLD watch instead of losing it.
      if (ec || !try_reap(c)) watch_by_sigchld(c);
    });
  }

  void watch_by_sigchld(const child_ptr& c) {
    if (!sigchld) {
      sigchld.emplace(ioc, SIGCHLD);
      arm_sigchld();
    }
    sigchld_watched[c->pid] = c;
    scan_sigchld_watched();  // catches an exit that happened before the handler existed
  }

  void arm_sigchld() {
    sigchld->async_wait([this](const error_code& ec, int) {
      if (ec) return;
      scan_sigchld_watched();
      arm_sigchld();
    });
  }

  void scan_sigchld_watched() {
    std::vector<child_ptr> candidates;
    for (auto& [pid, c] : sigchld_watched) candidates.push_back(c);
    for (auto& c : candidates)
      if (c->reaped || try_reap(c)) sigchld_watched.erase(c->pid);
  }

  // True once the child is reaped (or is known to be gone); then on_reaped has run.
  bool try_reap(const child_ptr& c) {
    int st = 0;
    pid_t r;
    do r = ::waitpid(c->pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    c->status_known = r == c->pid;  // ECHILD: reaped by someone else (SIGCHLD ignored?)
    c->status = st;
    on_reaped(c);
    return true;
  }

  void signal_group(const child_ptr& c, int sig) {
    if (::kill(-c->pid, sig) != 0 && errno == ESRCH && !c->reaped) ::kill(c->pid, sig);
  }

  void on_reaped(const child_ptr& c) {
    c->reaped = true;
    // The group id cannot be reused while any member lives, and we fork nothing in between:
    // this reaches only stragglers of this child's group.
    ::kill(-c->pid, SIGKILL);
    sweep_later(c->token_entry);
    c->deadline.cancel();
    c->grace.cancel();
    error_code ignored;
    c->exit_watch.close(ignored);
    if (c->out.open || c->err.open) {
      c->drain.expires_after(pipe_drain_bound);
      c->drain.async_wait([this, c](const error_code& ec) {
        if (ec || c->finished) return;
        c->out.open = c->err.open = false;  // a descendant in another session holds them
        maybe_finish(c);
      });
    }
    maybe_finish(c);
  }

  void begin_stop(const child_ptr& c, stop_reason why) {
    if (c->finished || c->reaped) return;
    if (c->stop == stop_reason::none) c->stop = why;
    if (why == stop_reason::shutdown || c->req.kill_grace.count() <= 0) {
      c->grace.cancel();
      return signal_group(c, SIGKILL);
    }
    if (c->stop != why) return;  // already stopping gracefully
    signal_group(c, SIGINT);
    c->grace.expires_after(c->req.kill_grace);
    c->grace.async_wait([this, c](const error_code& ec) {
      if (!ec && !c->finished && !c->reaped) signal_group(c, SIGKILL);
    });
  }

  // Marks the child finished and cancels everything pending for it; its handlers then return.
  static void close_all(child& c) {
    c.finished = true;
    error_code ignored;
    c.deadline.cancel();
    c.grace.cancel();
    c.drain.cancel();
    c.in.close(ignored);
    c.out.sd.close(ignored);
    c.err.sd.close(ignored);
    c.exit_watch.close(ignored);
  }

  void maybe_finish(const child_ptr& c) {
    if (c->finished || !c->reaped || c->out.open || c->err.open) return;
    close_all(*c);
    sigchld_watched.erase(c->pid);

    process_outcome o;
    o.pid = c->pid;
    if (c->status_known && WIFEXITED(c->status)) o.exit_code = WEXITSTATUS(c->status);
    if (c->status_known && WIFSIGNALED(c->status)) o.signal = WTERMSIG(c->status);
    switch (c->stop) {
      case stop_reason::timeout: o.end = process_end::timed_out; break;
      case stop_reason::cancel:
      case stop_reason::shutdown: o.end = process_end::cancelled; break;
      case stop_reason::none: o.end = o.signal != 0 ? process_end::signaled : process_end::exited; break;
    }
    o.stdout_data = std::move(c->out.data);
    o.stdout_truncated = c->out.truncated;
    o.stderr_data = std::move(c->err.data);
    o.stderr_truncated = c->err.truncated;
    o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - c->started);
    children.erase(c->id);
    deliver(c->id, c->done, std::move(o));
    release_if_idle();
  }
};

process_runner::process_runner() : impl_(std::make_unique<impl>()) {}

process_runner::~process_runner() { impl_->shutdown(); }

std::uint64_t process_runner::start(process_request req, completion done) {
  std::uint64_t id = ++impl_->next_id;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->active.insert(id);
  }
  asio::post(impl_->ioc, [this, id, req = std::move(req), done = std::move(done)]() mutable {
    impl_->spawn(id, std::move(req), std::move(done));
  });
  return id;
}

bool process_runner::cancel(std::uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->active.count(id) == 0) return false;
  }
  asio::post(impl_->ioc, [this, id] {
    auto it = impl_->children.find(id);
    if (it != impl_->children.end()) impl_->begin_stop(it->second, stop_reason::cancel);
  });
  return true;
}

bool process_runner::write(std::uint64_t id, std::string data) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->active.count(id) == 0) return false;
  }
  asio::post(impl_->ioc, [this, id, data = std::move(data)]() mutable {
    auto it = impl_->children.find(id);
    if (it == impl_->children.end() || !it->second->in_open) return;
    it->second->writes.push_back(std::move(data));
    impl_->pump(it->second);
  });
  return true;
}

bool process_runner::close_stdin(std::uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->active.count(id) == 0) return false;
  }
  asio::post(impl_->ioc, [this, id] {
    auto it = impl_->children.find(id);
    if (it == impl_->children.end()) return;
    it->second->close_requested = true;
    impl_->pump(it->second);
  });
  return true;
}

std::size_t process_runner::running() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->active.size();
}

} // namespace claude_pool::runtime
