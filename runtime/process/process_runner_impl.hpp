#pragma once
// Internal to runtime/process_runner*.cpp, not part of the API and not installed (see
// CMakeLists.txt): the state of a process_runner's I/O loop and of each child it watches.
// process_runner.cpp runs the loop and spawns children; process_runner_io.cpp feeds their
// stdin and drains stdout/stderr; process_runner_exit.cpp notices exits, stops children and
// reports them.
//
// How it works
// - With a spawner (process_runner_spawner.cpp): the request goes to the spawner without
//   waiting, the child is wired into the loop at once, and its start, failure and exit come
//   back as the spawner's replies; the spawner reaps and sweeps. What follows is the path
//   without one (CLAUDE_POOL_SPAWNER=none, or none found).
// - Children are created on the I/O thread only (no Boost.Process: its 1.74 SIGCHLD service
//   loses exit callbacks and its child destructor kills), each under a guardian process that
//   leads the child's process group and hands the command's exit status on unchanged
//   (spawn.hpp, child_spawn.hpp). Failures before the command's exec are reported as
//   spawn_failed.
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

#include "runtime/process/process_runner.hpp"

#include "runtime/process/descriptors.hpp"
#include "runtime/process/spawner_link.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace claude_pool::runtime {

struct spawn_spec;

namespace asio = boost::asio;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace detail {

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
  // Started by the spawner: pid is 0 until its "exited" (signals go through the spawner).
  bool by_spawner = false;
  std::string path;  // what execve got (for the wording of a failure the spawner reports)
  stop_reason stop = stop_reason::none;
  bool reaped = false, finished = false, status_known = false;
  int status = 0;
  // keep_stdin_open children: queued writes, sent one after the other.
  std::deque<std::string> writes;
  bool writing = false, in_open = false, close_requested = false;
};
using child_ptr = std::shared_ptr<child>;

} // namespace detail

using detail::capture;
using detail::child;
using detail::child_ptr;
using detail::stop_reason;

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
  // The spawner (spawner_link.hpp), I/O thread only: started on the first launch; unset
  // after it failed to start (then children are forked under a guardian) or while none runs.
  std::unique_ptr<detail::spawner_link> spawner;
  std::optional<asio::posix::stream_descriptor> spawner_sd;
  std::string spawner_path;       // found once; empty: the guardian path
  bool spawner_looked_up = false;
  std::string spawner_in;         // reply bytes not parsed yet
  std::vector<char> spawner_buf;
  std::unordered_map<std::uint64_t, child_ptr> spawned;  // by id, until "exited"
  std::thread thread;

  impl();

  // Running the loop and spawning (process_runner.cpp).
  void shutdown();
  void release_if_idle();
  void deliver(std::uint64_t id, completion& done, process_outcome outcome);
  void spawn(std::uint64_t id, process_request req, completion done);
  bool launch(const child_ptr& c, std::string& error);
  /// What both ways of starting a child share: its pipes, output buffers, run token and start
  /// time, and the spec of its command (stdio left to the caller).
  struct child_pipes {
    unique_fd in_r, in_w, out_r, out_w, err_r, err_w;
  };
  bool prepare_child(const child_ptr& c, child_pipes& p, spawn_spec& spec, std::string& error);

  // The spawner (process_runner_spawner.cpp).
  /// True when children go through a spawner (starting it if need be).
  bool use_spawner(std::string& error);
  bool launch_by_spawner(const child_ptr& c, std::string& error);
  void read_spawner();
  void on_spawner_reply(const char* payload, std::size_t size);
  /// The spawner died: its children are reported as killed (a crash, retryable), their groups
  /// and run-token carriers SIGKILLed; the next launch starts a new spawner.
  void on_spawner_lost(const std::string& why);
  void close_spawner();
  /// A signal for a spawner's child (whose pid the spawner knows).
  void signal_by_spawner(const child_ptr& c, int sig);
  static std::string random_instance();

  // stdin and the output pipes (process_runner_io.cpp).
  static void adopt(asio::posix::stream_descriptor& sd, unique_fd& fd);
  /// Wires a freshly exec'd child into the loop: stdin writer, output readers, exit watch, timer.
  void attach(const child_ptr& c, unique_fd& in_w, unique_fd& out_r, unique_fd& err_r);
  /// Sends the next queued write of a keep_stdin_open child, or closes stdin when asked to.
  void pump(const child_ptr& c);
  void read_more(const child_ptr& c, capture& cap);

  // Exit, stop and report (process_runner_exit.cpp).
  void watch_exit(const child_ptr& c);
  void watch_by_sigchld(const child_ptr& c);
  void arm_sigchld();
  void scan_sigchld_watched();
  /// True once the child is reaped (or is known to be gone); then on_reaped has run.
  bool try_reap(const child_ptr& c);
  void signal_group(const child_ptr& c, int sig);
  /// Second line of defence after the guardian's own sweep (which a guardian killed by SIGKILL
  /// never ran). Children reaped in one burst share one /proc pass.
  void sweep_later(const std::string& token_entry);
  void on_reaped(const child_ptr& c);
  void begin_stop(const child_ptr& c, stop_reason why);
  /// Marks the child finished and cancels everything pending for it; its handlers then return.
  static void close_all(child& c);
  void maybe_finish(const child_ptr& c);
};

} // namespace claude_pool::runtime
