#include "benchmarks/harness/child_process.hpp"

#include "runtime/process/spawn.hpp"

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace claude_pool::bench {

namespace {

std::string self_exe() {
  char buf[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "/proc/self/exe";
}

/// What ended the wait for a child.
enum class wait_end { exited, timed_out, interrupted };

/// Waits for `pid` to end, for `timeout_s` to pass, or for SIGINT/SIGTERM (taken through
/// `signal_fd`, the signals being blocked): one poll, no loop of sleeps. Without pidfd
/// support it reports `exited` at once and the caller's wait4 blocks.
wait_end wait_for(pid_t pid, int signal_fd, double timeout_s, int& signal) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0)
    return wait_end::exited;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  auto end = wait_end::timed_out;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0)
      break;
    pollfd p[2] = {{fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    int rc = ::poll(p, signal_fd >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0 || (p[0].revents & POLLIN)) {
      end = wait_end::exited; // or cannot watch: the blocking wait4 follows
      break;
    }
    if (signal_fd >= 0 && (p[1].revents & POLLIN)) {
      signalfd_siginfo info{};
      if (::read(signal_fd, &info, sizeof info) == sizeof info)
        signal = static_cast<int>(info.ssi_signo);
      end = wait_end::interrupted;
      break;
    }
  }
  ::close(fd);
  return end;
}

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

} // namespace

child_outcome run_self(const std::vector<std::string>& args, const std::string& tmpdir,
                       double timeout_s) {
  child_outcome out;
  runtime::spawn_spec spec;
  spec.executable = self_exe();
  spec.args = args;
  // Everything the step leaves in temporary directories lives under one directory.
  spec.env_unset = {"TMPDIR"};
  spec.env_set = {{"TMPDIR", tmpdir}};
  // Dies with this process, even if it is gone by the time the child asks.
  spec.parent_death_signal = SIGKILL;

  // SIGINT/SIGTERM are taken through a signalfd while the child runs, so a Ctrl-C kills the
  // step and lets the caller clean up instead of ending this process on the spot.
  sigset_t stop, old_mask;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &stop, &old_mask);
  int signal_fd = ::signalfd(-1, &stop, SFD_CLOEXEC);

  auto t0 = std::chrono::steady_clock::now();
  // spawn() starts the child with no blocked signals whatever the parent blocked
  // (claude-pool blocks SIGINT/SIGTERM for its drain thread, and so do we just above).
  auto started = runtime::spawn(spec);
  const pid_t pid = started.pid;
  if (!started) {
    out.error = started.error;
  } else {
    auto end = wait_for(pid, signal_fd, timeout_s, out.interrupted_by);
    if (end != wait_end::exited) {
      out.timed_out = end == wait_end::timed_out;
      ::kill(pid, SIGKILL); // its own children are guarded (parent-death signals, sweeps)
    }
    int status = 0;
    rusage ru{};
    while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (WIFEXITED(status))
      out.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status))
      out.signal = WTERMSIG(status);
    // A Ctrl-C reaches the child too and may end it before the poll saw our own copy.
    if (out.interrupted_by == 0 && signal_fd >= 0) {
      pollfd p{signal_fd, POLLIN, 0};
      signalfd_siginfo info{};
      if (::poll(&p, 1, 0) > 0 && ::read(signal_fd, &info, sizeof info) == sizeof info)
        out.interrupted_by = static_cast<int>(info.ssi_signo);
    }
    out.user_s = seconds(ru.ru_utime);
    out.sys_s = seconds(ru.ru_stime);
    out.maxrss_kib = ru.ru_maxrss;
  }
  if (signal_fd >= 0)
    ::close(signal_fd);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return out;
}

} // namespace claude_pool::bench
