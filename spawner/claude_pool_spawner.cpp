// claude-pool-spawner: the small helper a process runner starts once (posix_spawn) and asks to
// start every child, so that the pool's own process — hundreds of MB, many threads — never
// forks. Protocol: runtime/process/spawner_protocol.hpp. Usage (by the runner only):
//   claude-pool-spawner SOCKET_FD PARENT_PID
//
// What it guarantees
// - Each command starts in its own process group (its pid), with an empty signal mask, every
//   disposition SIG_DFL, stdio from the runner's pipes, nothing else open, and
//   PR_SET_PDEATHSIG = SIGKILL towards the spawner. The clone is a vfork (CLONE_VM |
//   CLONE_VFORK): no page tables are copied, and a failure before the exec comes back as
//   (stage, errno) through the shared memory.
// - The spawner is PR_SET_CHILD_SUBREAPER, which concerns only its own descendants (the
//   embedding application's children are untouched): a descendant of a command whose parent
//   died — a tool that double-forked, left the session, cleared its environment — becomes the
//   spawner's child instead of init's. After each reap the spawner looks at its own children
//   only (no scan of every process on the host): one that is not a running command and does
//   not belong to one (its process group or session is a running command's, or it carries a
//   running command's run token) is left over from an ended command and is SIGKILLed; its own
//   children come back to the spawner as it dies and meet the same fate.
// - When a command ends, what is left of its process group is SIGKILLed before the runner is
//   told (the group id cannot be reused while a member lives).
// - It dies with the pool: PR_SET_PDEATHSIG = SIGTERM towards the runner's I/O thread (which
//   started it), and EOF on the socket. Either way it SIGKILLs every command's group and
//   every descendant it has, reaps them, and exits.
//
// Only async-signal-safe calls between the clone and the exec.
#include "runtime/process/spawner_protocol.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace proto = claude_pool::runtime::spawner_protocol;

namespace {

// The stages of launch_plan.hpp's child_stage, so the runner words the failure as before.
constexpr int stage_setup = 1, stage_chdir = 2, stage_exec = 3, stage_fork = 4;

int sock = -1;
pid_t self_pid = 0;

struct command {
  std::uint64_t id;
  std::string token_entry;
};
std::map<pid_t, command> running;      // by pid (= process group id)
std::map<std::uint64_t, pid_t> by_id;  // the runner's ids of the running commands

// ---- starting a command ----------------------------------------------------------------------

struct launch {
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* working_dir; // null: stay
  int fds[3];
  volatile int stage = 0;  // written by the vfork child before it exits
  volatile int error = 0;
};

[[noreturn]] void fail(launch* l, int stage) {
  l->error = errno;
  l->stage = stage;
  ::_exit(127);
}

int run_child(void* arg) {
  auto* l = static_cast<launch*>(arg);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr); // EINVAL for some: fine
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(l, stage_setup);
  if (::getppid() != self_pid) ::_exit(127); // the spawner is gone already
  if (::setpgid(0, 0) != 0) fail(l, stage_setup);
  for (int target = 0; target < 3; ++target)
    if (::dup2(l->fds[target], target) < 0) fail(l, stage_setup);
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
    for (int fd = 3; fd < 65536; ++fd) ::close(fd);
  if (l->working_dir && ::chdir(l->working_dir) != 0) fail(l, stage_chdir);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(l->path, l->argv, l->envp);
  fail(l, stage_exec);
}

void send_reply(const proto::reply& r) {
  int err = 0;
  if (!proto::send_frame(sock, proto::encode(r), nullptr, 0, err)) {
    // The runner is gone: nothing is left to report to.
    ::kill(self_pid, SIGTERM);
  }
}

alignas(16) char child_stack[256 * 1024];

void start(proto::spawn_request& req, int* fds) {
  std::vector<char*> argv, envp;
  for (auto& a : req.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : req.envp) envp.push_back(e.data());
  envp.push_back(nullptr);
  launch l{req.path.c_str(), argv.data(), envp.data(),
           req.working_dir.empty() ? nullptr : req.working_dir.c_str(),
           {fds[0], fds[1], fds[2]}};
  pid_t pid = ::clone(run_child, child_stack + sizeof child_stack,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, &l);
  int clone_errno = errno;
  for (int i = 0; i < 3; ++i) ::close(fds[i]);
  if (pid < 0) return send_reply({proto::reply_kind::failed, req.id, stage_fork, clone_errno});
  if (l.stage != 0) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return send_reply({proto::reply_kind::failed, req.id, l.stage, l.error});
  }
  ::setpgid(pid, pid); // also done by the child; whichever runs first wins
  running[pid] = command{req.id, std::move(req.token_entry)};
  by_id[req.id] = pid;
}

/// A signal to a running command's group; a command that ended already is not signalled
/// (its pid may be someone else's by now).
void signal_command(const proto::signal_request& req) {
  auto it = by_id.find(req.id);
  if (it == by_id.end()) return;
  if (::kill(-it->second, req.signal) != 0 && errno == ESRCH) ::kill(it->second, req.signal);
}

// ---- the spawner's own children -----------------------------------------------------------

std::vector<pid_t> own_children() {
  std::vector<pid_t> out;
  std::string path = "/proc/self/task/" + std::to_string(self_pid) + "/children";
  if (FILE* f = std::fopen(path.c_str(), "re")) {
    long pid;
    while (std::fscanf(f, "%ld", &pid) == 1) out.push_back(static_cast<pid_t>(pid));
    std::fclose(f);
    return out;
  }
  // Without CONFIG_PROC_CHILDREN: every process whose parent is this one.
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (pid <= 0 || *end) continue;
      std::string stat = "/proc/" + std::string(e->d_name) + "/stat";
      if (FILE* f = std::fopen(stat.c_str(), "re")) {
        char buf[512];
        size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = 0;
        const char* close_paren = std::strrchr(buf, ')');
        char state;
        long ppid;
        if (close_paren && std::sscanf(close_paren + 1, " %c %ld", &state, &ppid) == 2
            && ppid == self_pid)
          out.push_back(static_cast<pid_t>(pid));
      }
    }
    ::closedir(d);
  }
  return out;
}

/// Whether process `pid` belongs to a running command: in its group or session, or carrying
/// its run token.
bool belongs_to_running(pid_t pid) {
  std::string base = "/proc/" + std::to_string(pid);
  if (FILE* f = std::fopen((base + "/stat").c_str(), "re")) {
    char buf[1024];
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    const char* close_paren = std::strrchr(buf, ')');
    char state;
    long ppid, pgrp, session;
    if (close_paren
        && std::sscanf(close_paren + 1, " %c %ld %ld %ld", &state, &ppid, &pgrp, &session) == 4
        && (running.count(static_cast<pid_t>(pgrp)) || running.count(static_cast<pid_t>(session))))
      return true;
  } else {
    return false; // gone
  }
  int fd = ::open((base + "/environ").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string env;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) env.append(buf, static_cast<size_t>(n));
  ::close(fd);
  for (auto& [p, c] : running) {
    const std::string& t = c.token_entry;
    if (t.empty()) continue;
    for (size_t at = env.find(t); at != std::string::npos; at = env.find(t, at + 1))
      if ((at == 0 || env[at - 1] == '\0')
          && (at + t.size() == env.size() || env[at + t.size()] == '\0'))
        return true;
  }
  return false;
}

/// SIGKILLs each child of the spawner that is left over from an ended command.
void sweep_leftovers() {
  for (pid_t pid : own_children())
    if (!running.count(pid) && !belongs_to_running(pid)) ::kill(pid, SIGKILL);
}

void reap() {
  bool any = false;
  for (;;) {
    // Look first, reap after: while the command is a zombie its pid (= its group id) cannot
    // be reused, so the group kill reaches only its own stragglers.
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) break;
    pid_t pid = info.si_pid;
    auto it = running.find(pid);
    if (it != running.end()) ::kill(-pid, SIGKILL); // the rest of its group
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    any = true;
    if (it == running.end()) continue; // a leftover descendant, now gone
    auto id = it->second.id;
    running.erase(it);
    by_id.erase(id);
    send_reply({proto::reply_kind::exited, id, st, pid});
  }
  // The leftovers of the commands that ended re-parented to us when they died. (After the
  // replies, off the path of the next task: the runner reports a child only once its pipes
  // are closed, which a leftover holding them delays until this sweep has killed it.)
  if (any) sweep_leftovers();
}

[[noreturn]] void stop_everything() {
  for (auto& [pid, c] : running) ::kill(-pid, SIGKILL);
  for (int round = 0; round < 250; ++round) { // at most ~5 s
    auto children = own_children();
    if (children.empty()) break;
    for (pid_t pid : children) ::kill(pid, SIGKILL);
    int st;
    while (::waitpid(-1, &st, WNOHANG) > 0) {
    }
    ::usleep(20000);
  }
  ::_exit(0);
}

// ---- requests ---------------------------------------------------------------------------------

bool read_exact(char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::read(sock, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

/// One request: its frame and the three descriptors that came with it. False: the runner is
/// gone (or spoke nonsense, which is the same to us).
bool handle_request() {
  char header[4];
  iovec iov{header, sizeof header};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 3)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  int fds[3] = {-1, -1, -1};
  int got = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      got = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      std::memcpy(fds, CMSG_DATA(c), sizeof(int) * static_cast<size_t>(got < 3 ? got : 3));
    }
  if (static_cast<size_t>(n) < sizeof header && !read_exact(header + n, sizeof header - static_cast<size_t>(n)))
    return false;
  std::uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= static_cast<std::uint32_t>(static_cast<unsigned char>(header[i])) << (8 * i);
  if (len > proto::max_frame) return false;
  std::string payload(len, '\0');
  if (!read_exact(payload.data(), len)) return false;
  proto::signal_request sig;
  if (got == 0 && proto::decode(payload.data(), payload.size(), sig)) {
    signal_command(sig);
    return true;
  }
  proto::spawn_request req;
  if (got != 3 || !proto::decode(payload.data(), payload.size(), req)) {
    for (int i = 0; i < got && i < 3; ++i) ::close(fds[i]);
    return false;
  }
  start(req, fds);
  return true;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "claude-pool-spawner: started by a claude-pool process runner only "
                         "(usage: claude-pool-spawner SOCKET_FD PARENT_PID)\n");
    return 2;
  }
  sock = std::atoi(argv[1]);
  pid_t parent = static_cast<pid_t>(std::atol(argv[2]));
  self_pid = ::getpid();
  // Every signal that matters comes through the signalfd; nothing else may end us abruptly.
  // SIGTERM is the parent-death signal (and a stop from whoever means it); a terminal's
  // SIGINT, SIGQUIT or SIGHUP is the pool's to answer, not ours: ignored.
  sigset_t watched;
  sigemptyset(&watched);
  for (int sig : {SIGCHLD, SIGTERM}) sigaddset(&watched, sig);
  ::sigprocmask(SIG_BLOCK, &watched, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGHUP}) ::signal(sig, SIG_IGN);
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) return 1;
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return 1;
  // Nothing of the runner's stays open here but the socket (an embedding application's
  // descriptors that are not close-on-exec would otherwise live as long as the spawner).
  if (sock != 3 && ::dup2(sock, 3) < 0) return 1;
  sock = 3;
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 4u, ~0u, 0u) != 0)
#endif
    for (int fd = 4; fd < 65536; ++fd) ::close(fd);
  int sfd = ::signalfd(-1, &watched, SFD_CLOEXEC);
  if (sfd < 0) return 1;
  ::fcntl(sock, F_SETFD, FD_CLOEXEC);
  for (;;) {
    pollfd p[2] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}};
    int r = ::poll(p, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      stop_everything();
    }
    if (p[1].revents & POLLIN) {
      signalfd_siginfo info;
      bool stop = false;
      while (::read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo != SIGCHLD) stop = true;
        if (!(p[1].revents & POLLIN)) break;
        pollfd more{sfd, POLLIN, 0};
        if (::poll(&more, 1, 0) <= 0) break;
      }
      reap();
      if (stop) stop_everything();
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!handle_request()) stop_everything();
    }
  }
}
