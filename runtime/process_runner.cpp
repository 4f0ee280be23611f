#include "runtime/process_runner.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

extern char** environ;

// How it works
// - Children are created with fork/execve on the I/O thread only (no Boost.Process: its 1.74
//   SIGCHLD service loses exit callbacks and its child destructor kills). Between fork and exec
//   the child calls only async-signal-safe functions; failures before exec travel back through
//   a close-on-exec pipe as (stage, errno), so start() reports them as spawn_failed.
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

// Pipes still held open by a descendant outside the process group are closed this long after
// the leader was reaped and its group killed.
constexpr std::chrono::milliseconds pipe_drain_bound{500};

enum class child_stage : int { setup = 1, chdir = 2, exec = 3 };
struct child_failure {
  int stage;
  int error;
};

[[maybe_unused]] const char* strerror_result(int rc, const char* buf) { return rc == 0 ? buf : "unknown error"; }
[[maybe_unused]] const char* strerror_result(const char* msg, const char*) { return msg; }
std::string errno_text(int e) {
  char buf[256] = {};
  return strerror_result(::strerror_r(e, buf, sizeof buf), buf);
}

class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);  // never retried: on Linux the fd is gone even on EINTR
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

// A close-on-exec pipe whose ends are >= 3, so dup2 onto 0/1/2 in the child cannot clobber.
bool open_pipe(unique_fd& read_end, unique_fd& write_end, int& err) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return err = errno, false;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  for (unique_fd* end : {&read_end, &write_end}) {
    if (end->get() >= 3) continue;
    int moved = ::fcntl(end->get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0) return err = errno, false;
    end->reset(moved);
  }
  return true;
}

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string current_dir() {
  std::string buf(4096, '\0');
  while (::getcwd(buf.data(), buf.size()) == nullptr) {
    if (errno != ERANGE) return {};
    buf.resize(buf.size() * 2);
  }
  return buf.c_str();
}

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  std::string cwd = current_dir();
  return cwd.empty() ? path : cwd + "/" + path;
}

// Everything the child needs, prepared before fork: after it, no allocation is allowed.
struct launch_plan {
  std::string path;  // what execve gets
  std::vector<std::string> argv_storage, env_storage;
  std::vector<char*> argv, envp;
  const char* working_dir = nullptr;
  pid_t parent = 0;
};

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Fills `plan`; on a problem found before forking returns false with `error` set.
bool prepare(const process_request& req, launch_plan& plan, std::string& error) {
  if (req.executable.empty()) return error = "cannot start a process: the executable name is empty", false;
  // Reading environ races with setenv() in other threads, as any exec does.
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) plan.env_storage.emplace_back(*e);
  auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  auto erase_key = [&](const std::string& key) {
    auto& env = plan.env_storage;
    env.erase(std::remove_if(env.begin(), env.end(), [&](const std::string& kv) { return key_of(kv) == key; }),
              env.end());
  };
  for (const auto& key : req.env_unset) erase_key(key);
  for (const auto& [key, value] : req.env_set) {
    if (key.empty() || key.find('=') != std::string::npos)
      return error = "cannot start " + req.executable + ": invalid environment variable name '" + key + "'", false;
    erase_key(key);
    plan.env_storage.push_back(key + "=" + value);
  }

  if (req.executable.find('/') != std::string::npos) {
    plan.path = absolute(req.executable);
  } else {
    std::string search = "/usr/local/bin:/usr/bin:/bin";
    for (const auto& kv : plan.env_storage)
      if (kv.compare(0, 5, "PATH=") == 0) search = kv.substr(5);
    std::size_t begin = 0;
    while (plan.path.empty() && begin <= search.size()) {
      std::size_t end = search.find(':', begin);
      if (end == std::string::npos) end = search.size();
      std::string dir = search.substr(begin, end - begin);
      std::string candidate = absolute((dir.empty() ? std::string(".") : dir) + "/" + req.executable);
      if (is_executable_file(candidate)) plan.path = candidate;
      begin = end + 1;
    }
    if (plan.path.empty()) return error = "executable not found in PATH: " + req.executable, false;
  }

  plan.argv_storage.reserve(req.args.size() + 1);
  plan.argv_storage.push_back(req.executable);
  plan.argv_storage.insert(plan.argv_storage.end(), req.args.begin(), req.args.end());
  plan.argv = pointers_to(plan.argv_storage);
  plan.envp = pointers_to(plan.env_storage);
  plan.working_dir = req.working_dir.empty() ? nullptr : req.working_dir.c_str();
  plan.parent = ::getpid();
  return true;
}

[[noreturn]] void report_and_exit(int status_fd, child_stage stage, int err) {
  child_failure f{static_cast<int>(stage), err};
  const char* p = reinterpret_cast<const char*>(&f);
  std::size_t left = sizeof f;
  while (left > 0) {
    ssize_t n = ::write(status_fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::_exit(127);
}

// Runs in the forked child: async-signal-safe calls only.
[[noreturn]] void exec_child(const launch_plan& plan, int in_fd, int out_fd, int err_fd, int status_fd) {
  if (::setpgid(0, 0) != 0) report_and_exit(status_fd, child_stage::setup, errno);
  // Die with the parent. Note: the "parent" for PR_SET_PDEATHSIG is the creating *thread*, here
  // the runner's I/O thread, which lives exactly as long as the runner (whose destructor kills
  // and reaps every child first). getppid() catches a parent that died before the prctl.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) report_and_exit(status_fd, child_stage::setup, errno);
  if (::getppid() != plan.parent) ::_exit(127);

  // Dispositions set to SIG_IGN (e.g. SIGPIPE) and the signal mask survive exec: reset both.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // EINVAL for some: fine
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // All three sources are >= 3, so each dup2 creates a fresh descriptor without FD_CLOEXEC.
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0)
    report_and_exit(status_fd, child_stage::setup, errno);
  if (plan.working_dir != nullptr && ::chdir(plan.working_dir) != 0)
    report_and_exit(status_fd, child_stage::chdir, errno);
#ifdef SYS_close_range
  // Descriptors leaked by other code without O_CLOEXEC must not reach the child (they could
  // hold someone else's pipe open). Best effort: needs Linux 5.11.
  ::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
#endif
  ::execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  report_and_exit(status_fd, child_stage::exec, errno);
}

std::string describe_failure(const process_request& req, const launch_plan& plan, child_failure f) {
  const std::string& exe = req.executable;
  switch (static_cast<child_stage>(f.stage)) {
    case child_stage::chdir:
      return "cannot change to working directory " + req.working_dir + " for " + exe + ": " + errno_text(f.error);
    case child_stage::exec: {
      struct stat st;
      bool exists = ::stat(plan.path.c_str(), &st) == 0;
      if (f.error == ENOENT && exists)
        return "cannot execute " + exe + ": its #! interpreter was not found";
      if (f.error == ENOENT) return "executable not found: " + exe;
      if (f.error == EACCES && exists && S_ISDIR(st.st_mode)) return "permission denied: " + exe + " is a directory";
      if (f.error == EACCES) return "permission denied: " + exe + " is not executable";
      if (f.error == ENOEXEC) return "not an executable format: " + exe;
      return "cannot execute " + exe + ": " + errno_text(f.error);
    }
    case child_stage::setup: break;
  }
  return "cannot set up the child process for " + exe + ": " + errno_text(f.error);
}

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
  stop_reason stop = stop_reason::none;
  bool reaped = false, finished = false, status_known = false;
  int status = 0;
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
    launch_plan plan;
    if (!prepare(c->req, plan, error)) return false;
    unique_fd in_r, in_w, out_r, out_w, err_r, err_w, status_r, status_w;
    int e = 0;
    if (!open_pipe(in_r, in_w, e) || !open_pipe(out_r, out_w, e) || !open_pipe(err_r, err_w, e) ||
        !open_pipe(status_r, status_w, e))
      return error = "cannot create pipes for " + c->req.executable + ": " + errno_text(e), false;

    c->out.limit = c->req.stdout_limit;
    c->out.buf.resize(64 * 1024);
    c->err.limit = c->req.stderr_limit;
    c->err.buf.resize(8 * 1024);

    c->started = clock_type::now();
    pid_t pid = ::fork();
    if (pid < 0) {
      int fork_errno = errno;
      return error = "cannot fork to start " + c->req.executable + ": " + errno_text(fork_errno), false;
    }
    if (pid == 0) exec_child(plan, in_r.get(), out_w.get(), err_w.get(), status_w.get());

    ::setpgid(pid, pid);  // also done in the child; whichever runs first wins, errors are moot
    in_r.reset();
    out_w.reset();
    err_w.reset();
    status_w.reset();
    // Blocks only until the child has exec'd (EOF through O_CLOEXEC) or reported a failure.
    child_failure failure{};
    std::size_t got = 0;
    while (got < sizeof failure) {
      ssize_t n = ::read(status_r.get(), reinterpret_cast<char*>(&failure) + got, sizeof failure - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got == sizeof failure) {
      int st = 0;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      return error = describe_failure(c->req, plan, failure), false;
    }

    c->pid = pid;
    try {
      attach(c, in_w, out_r, err_r);
    } catch (const std::exception& e) {
      // Running but unwatchable (e.g. epoll refused a descriptor): do not leave it behind.
      ::kill(-pid, SIGKILL);
      int st = 0;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      children.erase(c->id);
      close_all(*c);
      return error = "cannot watch the child process of " + c->req.executable + ": " + e.what(), false;
    }
    return true;
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
    if (c->req.stdin_data.empty()) {
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

  void read_more(const child_ptr& c, capture& cap) {
    cap.sd.async_read_some(asio::buffer(cap.buf), [this, c, &cap](const error_code& ec, std::size_t n) {
      if (c->finished || !cap.open) return;
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

std::size_t process_runner::running() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->active.size();
}

} // namespace claude_pool::runtime
