#pragma once
// The messages between a process runner and its spawner (spawner/claude_pool_spawner.cpp):
// frames of [u32 length][payload] over a Unix stream socket pair. Shared by both ends; no
// Boost, no CAF, nothing that allocates between fork and exec.
//
//   runner → spawner: spawn {id, path, working_dir, argv, envp, run token}, with the child's
//                     stdin, stdout and stderr attached as SCM_RIGHTS to the frame's first byte
//   spawner → runner: started {id, pid}            the command exec'd (pid = its group id)
//                     failed  {id, stage, errno}   it did not (stage: launch_plan's child_stage)
//                     exited  {id, wait status}    it ended; its group and escaped
//                                                  descendants have been sent SIGKILL

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

enum class reply_kind : std::uint8_t { started = 1, failed = 2, exited = 3 };

struct reply {
  reply_kind kind = reply_kind::started;
  std::uint64_t id = 0;
  std::int32_t a = 0; ///< started: pid; failed: stage; exited: the wait status
  std::int32_t b = 0; ///< failed: errno
};

/// The frame (length prefix included).
std::string encode(const spawn_request& r);
std::string encode(const reply& r);

/// From a frame's payload (length prefix excluded); false when it is malformed.
bool decode(const char* data, std::size_t size, spawn_request& out);
bool decode(const char* data, std::size_t size, reply& out);

/// Sends all of `frame` on the stream socket `sock` (blocking or not: waits with poll), with
/// `fds` attached to its first byte. False with `err` set on failure (EPIPE: the peer is gone).
bool send_frame(int sock, const std::string& frame, const int* fds, int nfds, int& err);

} // namespace claude_pool::runtime::spawner_protocol
