#include "runtime/process/spawner_link.hpp"

#include "runtime/process/spawner_protocol.hpp"

#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

extern char** environ;

namespace claude_pool::runtime::detail {

namespace {

bool executable_file(const std::string& path) {
  struct stat st{};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)
         && ::access(path.c_str(), X_OK) == 0;
}

std::string own_directory() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string exe(buf, static_cast<std::size_t>(n));
  auto slash = exe.rfind('/');
  return slash == std::string::npos ? std::string() : exe.substr(0, slash);
}

} // namespace

std::string find_spawner() {
  if (const char* env = std::getenv("CLAUDE_POOL_SPAWNER"); env && *env) {
    std::string v = env;
    if (v == "none" || v == "off") return {};
    return v; // an explicit path: used (and its failure reported) as given
  }
  std::string candidates[] = {
    own_directory() + "/claude-pool-spawner",
#ifdef CLAUDE_POOL_SPAWNER_INSTALLED
    CLAUDE_POOL_SPAWNER_INSTALLED,
#endif
#ifdef CLAUDE_POOL_SPAWNER_BUILT
    CLAUDE_POOL_SPAWNER_BUILT,
#endif
  };
  for (auto& c : candidates)
    if (executable_file(c)) return c;
  return {};
}

spawner_link::spawner_link(const std::string& executable) : executable_(executable) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw std::runtime_error("cannot start the spawner " + executable + ": socketpair: "
                             + errno_text(errno));
  unique_fd ours(pair[0]), theirs(pair[1]);
  // The spawner's end is its descriptor 3; its stdin is /dev/null, its stdout and stderr ours
  // (it says nothing unless misused).
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs.get(), 3);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  // Its own process group: a Ctrl-C or a signal to the pool's group (which the pool may
  // answer with a graceful drain) must not reach the spawner and, through it, every child.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                                    | POSIX_SPAWN_SETPGROUP);
  std::string parent = std::to_string(::getpid());
  char fd_arg[] = "3";
  char* argv[] = {const_cast<char*>(executable.c_str()), fd_arg, parent.data(), nullptr};
  int rc = ::posix_spawn(&pid_, executable.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw std::runtime_error("cannot start the spawner " + executable + ": " + errno_text(rc)
                             + " (set CLAUDE_POOL_SPAWNER to its path, or to none)");
  int flags = ::fcntl(ours.get(), F_GETFL);
  ::fcntl(ours.get(), F_SETFL, flags | O_NONBLOCK);
  sock_ = std::move(ours);
}

spawner_link::~spawner_link() {
  sock_.reset(); // EOF: the spawner kills what is left and exits
  int st = 0;
  while (pid_ > 0 && ::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
}

bool spawner_link::send(int sock, const std::string& frame, const int* fds, int nfds,
                        std::string& error) {
  int err = 0;
  if (spawner_protocol::send_frame(sock, frame, fds, nfds, err)) return true;
  error = "the spawner " + executable_ + " is gone (" + errno_text(err) + ")";
  return false;
}

} // namespace claude_pool::runtime::detail
