#pragma once
// The messages between a process runner and its spawner (spawner/claude_pool_spawner.cpp):
// frames of [u32 length][payload] over a Unix stream socket pair. Shared by both ends; no
// Boost, no CAF, nothing that allocates between fork and exec.
//
//   runner → spawner: spawn  {id, path, working_dir, argv, envp, run token}, with the child's
//                            stdin, stdout and stderr attached as SCM_RIGHTS to the first byte
//                     signal {id, signal}          to the command's process group (cancel,
//                                                  timeout, shutdown); ignored once it ended
//   spawner → runner: failed {id, stage, errno}    it did not start (stage: child_stage)
//                     exited {id, wait status, pid} it ended; what was left of its group has
//                                                  been sent SIGKILL
// A started command is not announced: the runner has its pipes already and nothing to do
// with the pid until the end, so the spawner saves it a wake-up per child (on 2 cores, one
// more context switch while the command runs is a measurable share of a short task).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace claude_pool::runtime::spawner_protocol {

/// A frame larger than this is refused (an environment of megabytes is a mistake).
inline constexpr std::uint32_t max_frame = 16u << 20;

struct spawn_request {
  std::uint64_t id = 0;
  std::string path;        ///< what execve gets (resolved by the runner)
  std::string working_dir; ///< empty: the spawner's (the runner's at the spawner's start)
  std::vector<std::string> argv;
  std::vector<std::string> envp;  ///< the whole environment, "NAME=value"
  std::string token_entry;        ///< CLAUDE_POOL_RUN_TOKEN=…, also in envp
};

struct signal_request {
  std::uint64_t id = 0;
  std::int32_t signal = 0;
};

/// A request payload's first byte.
enum class request_kind : std::uint8_t { spawn = 1, signal = 2 };

enum class reply_kind : std::uint8_t { failed = 2, exited = 3 };

struct reply {
  reply_kind kind = reply_kind::exited;
  std::uint64_t id = 0;
  std::int32_t a = 0; ///< failed: stage; exited: the wait status
  std::int32_t b = 0; ///< failed: errno; exited: the command's pid
};

/// The frame (length prefix included).
std::string encode(const spawn_request& r);
std::string encode(const signal_request& r);
std::string encode(const reply& r);

/// From a frame's payload (length prefix excluded); false when it is malformed or of another
/// kind.
bool decode(const char* data, std::size_t size, spawn_request& out);
bool decode(const char* data, std::size_t size, signal_request& out);
bool decode(const char* data, std::size_t size, reply& out);

/// Sends all of `frame` on the stream socket `sock` (blocking or not: waits with poll), with
/// `fds` attached to its first byte. False with `err` set on failure (EPIPE: the peer is gone).
bool send_frame(int sock, const std::string& frame, const int* fds, int nfds, int& err);

} // namespace claude_pool::runtime::spawner_protocol
