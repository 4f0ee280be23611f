#pragma once
/// A slot host (`claude-pool serve --join`): runs slots on this machine for a pool on
/// another node. It joins the pool (which answers with its configuration) and starts its
/// slots through a supervisor of its own, under the pool's restart policy like the pool's own
/// slots: each is handed to the pool, a crashed one is restarted after a backoff (up to
/// `max_restarts`), one refused for its credentials is not restarted at all, and the host
/// ends once every slot has failed so. Up to `capacity` slots in all: the pool's scaler may
/// place more here (`add_slots_atom, n`) and take them away again (`retire_atom, slot_id`).
/// `leave_atom, deadline_ms` (SIGTERM) leaves gracefully: the pool routes nothing more here,
/// running tasks get until the deadline, then their processes are killed. When the pool node
/// goes away, or the host is stopped, its slots stop with their tasks' processes.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/slot_actor.hpp"
#include "supervision/supervisor_actor.hpp"

namespace claude_pool {

struct slot_host_deps {
  pool_client_actor pool;                   ///< the remote pool (its published gate)
  std::string node;                         ///< this host's name in slot ids and records
  std::uint64_t slots = 1;                  ///< started at once
  std::uint64_t capacity = 1;               ///< at most, with the slots the pool places
  std::shared_ptr<task_executor> executor;  ///< runs the CLI here
  /// This host's own process settings (`claude_bin`, `working_dir`, `cli_env`) override the
  /// pool's: paths and credentials are per machine.
  pool_config local;
  /// Called once, from an actor thread, when the host stops serving (why).
  std::function<void(const std::string&)> on_end;
};

struct slot_host_state {
  static inline const char* name = "claude_pool.slot_host";

  slot_host_deps deps;

  std::shared_ptr<const pool_config> config; ///< the pool's, with the local overrides
  pool_member_actor member;                  ///< from the join: where slots report
  supervisor_actor supervisor;               ///< starts, restarts and stops the slots
  /// The slots that run or wait out a restart's backoff. A slot the supervisor gave up on,
  /// or the pool retired, is no longer here.
  std::set<slot_id> slots;
  std::uint64_t starting = 0;                ///< asked of the supervisor, not up yet
  bool leaving = false;
  bool ended = false;
};

/// The pool's configuration with this host's process settings.
pool_config merge_host_config(pool_config remote, const pool_config& local);

caf::behavior slot_host_behavior(caf::stateful_actor<slot_host_state>* self, slot_host_deps deps);

} // namespace claude_pool
