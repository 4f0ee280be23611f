#include "runtime/process/child_spawn.hpp"

#include "runtime/process/descendant_sweep.hpp"
#include "runtime/process/launch_plan.hpp"
#include "runtime/process/process_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace claude_pool::runtime::detail {

namespace {

// What the guardian takes for "the runner's process died" (PR_SET_PDEATHSIG).
constexpr int parent_death_signal = SIGTERM;
// Where the guardian keeps the status pipe while the command is forked and exec'd.
constexpr int status_fd_in_guardian = 3;

// ---- after fork: async-signal-safe calls only ----------------------------------------------

void set_disposition(int sig, void (*handler)(int)) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  ::sigaction(sig, &sa, nullptr);
}

// A guardian is a fork of the runner's process, so /proc/<guardian>/environ shows the runner's
// own initial environment, with the run token of an *outer* runner when this process is itself
// someone's child (a pool run by a pool, or by a tool of a pooled CLI). That outer runner's
// sweep must not SIGKILL this guardian before it has swept its own command's descendants (they
// carry our token, not the outer one; the guardian dies soon enough with this process).
// Renames such entries in the guardian's private copy of that memory:
// CLAUDE_POOL_RUN_TOKEN=... becomes CLAUDE_POOL_RUN_GUARD=... (same length).
void hide_outer_token() {
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[1024];
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0) return;
  buf[n] = '\0';
  const char* p = nullptr;
  for (ssize_t i = n - 1; i >= 0 && p == nullptr; --i)
    if (buf[i] == ')') p = buf + i + 1;
  if (p == nullptr) return;
  // Fields 50 and 51 of proc(5) are env_start and env_end; the one after ')' is field 3.
  std::uintptr_t values[2] = {0, 0};
  for (int field = 3; field <= 51 && *p != '\0'; ++field) {
    while (*p == ' ') ++p;
    std::uintptr_t v = 0;
    for (; *p >= '0' && *p <= '9'; ++p) v = v * 10 + static_cast<std::uintptr_t>(*p - '0');
    while (*p != ' ' && *p != '\0') ++p;
    if (field >= 50) values[field - 50] = v;
  }
  if (values[0] == 0 || values[1] <= values[0]) return;
  char* at = reinterpret_cast<char*>(values[0]);
  char* const end = reinterpret_cast<char*>(values[1]);
  const std::size_t name_len = std::strlen(run_token_variable);
  while (at < end) {
    if (static_cast<std::size_t>(end - at) > name_len && std::memcmp(at, run_token_variable, name_len) == 0 &&
        at[name_len] == '=' && name_len >= 5)
      std::memcpy(at + name_len - 5, "GUARD", 5);
    while (at < end && *at != '\0') ++at;
    ++at;
  }
}

// The command: a child of the guardian, in the guardian's process group.
[[noreturn]] void exec_command(const launch_plan& plan, pid_t guardian) {
  const int status_fd = status_fd_in_guardian;
  // Dies with the guardian; getppid() catches a guardian that died before the prctl.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) report_and_exit(status_fd, child_stage::setup, errno);
  if (::getppid() != guardian) ::_exit(127);
  // Dispositions are all SIG_DFL (the guardian ignores SIGINT only after this fork); a signal
  // that arrived meanwhile is delivered here, as it would have been to the command.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  exec_or_report(plan, status_fd);
}

void sweep(const launch_plan& plan, pid_t self) {
  sweep_target t;
  t.entries = plan.token_entries;
  t.entry_count = 1;
  t.pgid = self;  // the guardian leads the group
  t.except = self;
  sweep_pass(t);
}

// The command ended with `status`: kill what it left behind, then end the same way.
[[noreturn]] void finish(const launch_plan& plan, pid_t self, int status) {
  sweep(plan, self);
  if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);  // a re-raised SIGABRT/SIGSEGV must not dump our image
  set_disposition(sig, SIG_DFL);
  ::kill(self, sig);  // pending while blocked...
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  ::sigprocmask(SIG_UNBLOCK, &only, nullptr);  // ...and delivered here
  ::_exit(128 + sig);
}

// The runner's process is gone: nobody will reap, stop or sweep for us any more.
[[noreturn]] void orphaned(const launch_plan& plan, pid_t self) {
  sweep(plan, self);
  ::kill(0, SIGKILL);  // the whole group, ourselves included, as the very last act
  ::_exit(137);
}

} // namespace

void run_guardian(const launch_plan& plan, int status_fd) {
  // Nothing the parent installed may run here: every signal is taken with sigwaitinfo.
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  if (::setpgid(0, 0) != 0) report_and_exit(status_fd, child_stage::setup, errno);
  reset_dispositions();
  // The "parent" of PR_SET_PDEATHSIG is the creating thread: the runner's I/O thread, which
  // lives exactly as long as the runner (whose destructor kills and reaps every child first).
  if (::prctl(PR_SET_PDEATHSIG, parent_death_signal) != 0) report_and_exit(status_fd, child_stage::setup, errno);
  if (::getppid() != plan.parent) ::_exit(127);  // the runner is gone already; nothing started yet
  hide_outer_token();

  if (!attach_stdio(plan)) report_and_exit(status_fd, child_stage::setup, errno);
  if (status_fd != status_fd_in_guardian) {
    if (::dup3(status_fd, status_fd_in_guardian, O_CLOEXEC) < 0)
      report_and_exit(status_fd, child_stage::setup, errno);
    status_fd = status_fd_in_guardian;
  }
  close_from(status_fd_in_guardian + 1);

  const pid_t self = ::getpid();
  const pid_t command = ::fork();
  if (command < 0) report_and_exit(status_fd, child_stage::fork, errno);
  if (command == 0) exec_command(plan, self);

  // The runner sees EOF on the status pipe once the command has exec'd; the pipes reach EOF
  // when the command (and whatever inherited them) is done.
  for (int fd = 0; fd <= status_fd_in_guardian; ++fd) ::close(fd);
  set_disposition(SIGINT, SIG_IGN);  // also discards a pending one: it was meant for the command
  sigset_t sigint;
  sigemptyset(&sigint);
  sigaddset(&sigint, SIGINT);
  ::sigprocmask(SIG_UNBLOCK, &sigint, nullptr);

  sigset_t waited = all;
  sigdelset(&waited, SIGINT);
  for (;;) {
    siginfo_t info;
    const int sig = ::sigwaitinfo(&waited, &info);
    if (sig < 0 && errno != EINTR) {  // cannot happen with a valid set; never spin
      int status = 0;
      while (::waitpid(command, &status, 0) < 0 && errno == EINTR) {
      }
      finish(plan, self, status);
    }
    if (sig == SIGCHLD || sig < 0) {
      int status = 0;
      pid_t r;
      do r = ::waitpid(command, &status, WNOHANG);
      while (r < 0 && errno == EINTR);
      if (r == command) finish(plan, self, status);
      if (r < 0) orphaned(plan, self);  // ECHILD: cannot happen; do not linger
    } else if (sig == parent_death_signal && ::getppid() != plan.parent) {
      orphaned(plan, self);
    }
    // Anything else (SIGTERM or SIGHUP sent to the group, ...) was for the command.
  }
}

} // namespace claude_pool::runtime::detail
