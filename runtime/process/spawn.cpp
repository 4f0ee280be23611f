#include "runtime/process/spawn.hpp"

#include "runtime/process/child_spawn.hpp"
#include "runtime/process/launch_plan.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace claude_pool::runtime {

namespace {

using detail::child_stage;
using detail::launch_plan;
using detail::report_and_exit;

// Where a child that closes every other descriptor keeps its status pipe until the exec.
constexpr int status_fd_in_child = 3;

// ---- after fork: async-signal-safe calls only ----------------------------------------------

// A child without a guardian: set up as the plan says, then exec.
[[noreturn]] void run_command(const launch_plan& plan, int status_fd) {
  if (plan.parent_death_signal != 0) {
    if (::prctl(PR_SET_PDEATHSIG, plan.parent_death_signal) != 0)
      report_and_exit(status_fd, child_stage::setup, errno);
    // The caller may have died before the prctl; then nothing would ever send the signal.
    if (::getppid() != plan.parent) ::_exit(127);
  }
  if (plan.new_process_group && ::setpgid(0, 0) != 0) report_and_exit(status_fd, child_stage::setup, errno);
  // Every signal is blocked since before the fork: dispositions first, then the mask, so no
  // handler of the caller's can run here.
  detail::reset_dispositions();
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!detail::attach_stdio(plan)) report_and_exit(status_fd, child_stage::setup, errno);
  if (plan.close_other_descriptors) {
    if (status_fd != status_fd_in_child) {
      if (::dup3(status_fd, status_fd_in_child, O_CLOEXEC) < 0) report_and_exit(status_fd, child_stage::setup, errno);
      status_fd = status_fd_in_child;
    }
    detail::close_from(status_fd_in_child + 1);
  }
  detail::exec_or_report(plan, status_fd);
}

// ---- back in the caller ---------------------------------------------------------------------

void reap_blocking(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

} // namespace

spawn_result spawn(const spawn_spec& spec) {
  spawn_result result;
  launch_plan plan;
  if (!detail::prepare(spec, plan, result.error)) return result;
  unique_fd status_r, status_w;
  int e = 0;
  if (!open_pipe(status_r, status_w, e)) {
    result.error = "cannot create pipes for " + spec.executable + ": " + errno_text(e);
    return result;
  }
  const bool guarded = !spec.guardian_token.empty();

  // Blocked in this thread across the fork, so that until the child has reset its
  // dispositions no handler of this process runs in it (the caller's mask comes back after).
  sigset_t all, caller_mask;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &caller_mask);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (guarded) detail::run_guardian(plan, status_w.get());
    run_command(plan, status_w.get());
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &caller_mask, nullptr);
  if (pid < 0) {
    result.error = "cannot fork to start " + spec.executable + ": " + errno_text(fork_errno);
    return result;
  }
  // Also done in the child; whichever runs first wins, errors are moot.
  if (guarded || spec.new_process_group) ::setpgid(pid, pid);
  status_w.reset();
  plan.opened.clear();  // the child has its own copies
  // Blocks only until the command has exec'd (EOF through O_CLOEXEC; a guardian closes its
  // copy) or the child reported a failure.
  detail::child_failure failure{};
  if (detail::failed_before_exec(status_r.get(), failure)) {
    reap_blocking(pid);  // it exits at once (a guardian: as soon as its command did)
    result.error = detail::describe_failure(plan, failure);
    return result;
  }
  result.pid = pid;
  return result;
}

} // namespace claude_pool::runtime
