#pragma once
// Internal to the process runner (not installed): its connection to a claude-pool-spawner
// (spawner/claude_pool_spawner.cpp). One spawner per runner, started from the runner's I/O
// thread with posix_spawn (its parent-death signal then follows that thread), connected by a
// Unix socket pair. The runner sends spawn requests without waiting (spawns are pipelined)
// and reads started / failed / exited replies on its I/O loop.
//
// Which spawner (the documented rule, README "Processes"):
//   1. $CLAUDE_POOL_SPAWNER: a path, or "none" (children are forked from this process under
//      a guardian, as before the spawner existed);
//   2. claude-pool-spawner next to the running executable;
//   3. the installed one: <libexecdir>/claude-pool/claude-pool-spawner;
//   4. the one of the build tree the library was built in.
// None found: the guardian path, as with "none".

#include <sys/types.h>

#include <string>

#include "runtime/process/descriptors.hpp"

namespace claude_pool::runtime::detail {

/// The spawner executable by the rule above; empty: use the guardian path.
std::string find_spawner();

class spawner_link {
public:
  /// Starts `executable`; throws std::runtime_error naming it when it cannot.
  explicit spawner_link(const std::string& executable);
  /// Closes the socket: the spawner kills what is left and exits; reaps it.
  ~spawner_link();
  spawner_link(const spawner_link&) = delete;
  spawner_link& operator=(const spawner_link&) = delete;

  /// The runner's end of the socket (replies are read from it; non-blocking).
  int socket() const { return sock_.get(); }
  /// Hands the runner's end over (to the I/O loop's descriptor object).
  int release_socket() { return sock_.release(); }
  pid_t pid() const { return pid_; }
  const std::string& executable() const { return executable_; }

  /// Sends one frame, with `nfds` descriptors (a spawn: the child's stdin, stdout, stderr).
  /// False with the reason in `error` when the spawner is gone.
  bool send(int sock, const std::string& frame, const int* fds, int nfds, std::string& error);

private:
  std::string executable_;
  unique_fd sock_;
  pid_t pid_ = 0;
};

} // namespace claude_pool::runtime::detail
