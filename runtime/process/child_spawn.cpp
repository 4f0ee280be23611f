#include "runtime/process/child_spawn.hpp"

#include "runtime/process/descendant_sweep.hpp"
#include "runtime/process/process_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

extern char** environ;

namespace claude_pool::runtime::detail {

namespace {

// What the guardian takes for "the runner's process died" (PR_SET_PDEATHSIG).
constexpr int parent_death_signal = SIGTERM;
// Where the guardian keeps the status pipe while the command is forked and exec'd.
constexpr int status_fd_in_guardian = 3;

enum class child_stage : int { setup = 1, chdir = 2, exec = 3, fork = 4 };
struct child_failure {
  int stage;
  int error;
};

[[maybe_unused]] const char* strerror_result(int rc, const char* buf) { return rc == 0 ? buf : "unknown error"; }
[[maybe_unused]] const char* strerror_result(const char* msg, const char*) { return msg; }

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

// Everything guardian and command need, prepared before fork: after it, no allocation.
struct launch_plan {
  std::string path;  // what execve gets
  std::vector<std::string> argv_storage, env_storage;
  std::vector<char*> argv, envp;
  const char* working_dir = nullptr;
  std::string token_entry;
  const char* token_entries[1] = {nullptr};
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
bool prepare(const process_request& req, const std::string& token_entry, launch_plan& plan, std::string& error) {
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
  // The run token always wins: neither env_set nor an inherited value (a pool started by a
  // pool) may replace it, or the sweep would look for the wrong processes.
  erase_key(key_of(token_entry));
  plan.env_storage.push_back(token_entry);
  plan.token_entry = token_entry;
  plan.token_entries[0] = plan.token_entry.c_str();

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

// ---- after fork: async-signal-safe calls only ----------------------------------------------

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

// Dispositions set to SIG_IGN (SIGPIPE; SIGCHLD would even auto-reap) or to handlers of the
// parent's must not survive into guardian or command.
void reset_dispositions() {
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // EINVAL for some: fine
}

void set_disposition(int sig, void (*handler)(int)) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  ::sigaction(sig, &sa, nullptr);
}

// Closes every descriptor >= `low`: the guardian never execs, so O_CLOEXEC does not protect
// the runner's ends of other children's pipes from being held open here.
void close_from(int low) {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, static_cast<unsigned>(low), ~0u, 0u) == 0) return;
#endif
  int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    for (int fd = low; fd < 65536; ++fd) ::close(fd);
    return;
  }
  alignas(8) char buf[4096];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long pos = 0; pos < n;) {
      unsigned short reclen;
      std::memcpy(&reclen, buf + pos + 16, sizeof reclen);  // linux_dirent64: d_reclen at 16
      const char* name = buf + pos + 19;                    // d_name at 19
      if (reclen == 0) break;
      pos += reclen;
      int fd = 0;
      bool numeric = *name != '\0';
      for (const char* c = name; *c != '\0' && numeric; ++c) {
        numeric = *c >= '0' && *c <= '9';
        fd = fd * 10 + (*c - '0');
      }
      if (numeric && fd >= low && fd != dir) ::close(fd);
    }
  }
  ::close(dir);
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
  if (plan.working_dir != nullptr && ::chdir(plan.working_dir) != 0)
    report_and_exit(status_fd, child_stage::chdir, errno);
  ::execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  report_and_exit(status_fd, child_stage::exec, errno);
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

[[noreturn]] void run_guardian(const launch_plan& plan, child_stdio io, int status_fd) {
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

  // All three sources are >= 3, so each dup2 creates a fresh descriptor without FD_CLOEXEC.
  if (::dup2(io.in, 0) < 0 || ::dup2(io.out, 1) < 0 || ::dup2(io.err, 2) < 0)
    report_and_exit(status_fd, child_stage::setup, errno);
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

// ---- back in the runner ---------------------------------------------------------------------

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
    case child_stage::fork: return "cannot fork to start " + exe + ": " + errno_text(f.error);
    case child_stage::setup: break;
  }
  return "cannot set up the child process for " + exe + ": " + errno_text(f.error);
}

void reap_blocking(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

} // namespace

std::string errno_text(int e) {
  char buf[256] = {};
  return strerror_result(::strerror_r(e, buf, sizeof buf), buf);
}

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

pid_t spawn_guarded(const process_request& req, const std::string& token_entry, child_stdio stdio,
                    std::string& error) {
  launch_plan plan;
  if (!prepare(req, token_entry, plan, error)) return 0;
  unique_fd status_r, status_w;
  int e = 0;
  if (!open_pipe(status_r, status_w, e))
    return error = "cannot create pipes for " + req.executable + ": " + errno_text(e), 0;

  pid_t pid = ::fork();
  if (pid < 0) {
    int fork_errno = errno;
    return error = "cannot fork to start " + req.executable + ": " + errno_text(fork_errno), 0;
  }
  if (pid == 0) run_guardian(plan, stdio, status_w.get());

  ::setpgid(pid, pid);  // also done in the guardian; whichever runs first wins, errors are moot
  status_w.reset();
  // Blocks only until the command has exec'd (EOF through O_CLOEXEC, the guardian having closed
  // its copy) or guardian or command reported a failure.
  child_failure failure{};
  std::size_t got = 0;
  while (got < sizeof failure) {
    ssize_t n = ::read(status_r.get(), reinterpret_cast<char*>(&failure) + got, sizeof failure - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got == sizeof failure) {
    reap_blocking(pid);  // the guardian exits as soon as its command did (or at once)
    return error = describe_failure(req, plan, failure), 0;
  }
  return pid;
}

} // namespace claude_pool::runtime::detail
