#pragma once
/// `claude_pool::pool`: the C++ facade. It starts its own CAF actor system or joins the
/// caller's, spawns the pool actor with its slots, and offers blocking calls; CAF callers
/// can talk to `handle()` directly with the messages of messages/interfaces.hpp.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "messages/interfaces.hpp"
#include "runtime/cli/task_executor.hpp"
#include "runtime/store/task_store.hpp"

namespace caf {
class actor_system;
}

namespace claude_pool {

/// A request the pool refused or could not answer; `code` tells which.
struct pool_error : std::runtime_error {
  pool_error(pool_errc code, const std::string& what) : std::runtime_error(what), code(code) {}
  pool_errc code;
};

/// How the facade builds the pool besides its `pool_config`.
struct pool_options {
  /// The `claude` executable when `pool_config.claude_bin` is unset.
  std::string default_claude_bin = "claude";
  /// Per-slot overrides: `slots[i]` configures slot i.
  std::vector<slot_config> slots;
  /// Runs tasks instead of the real CLI (tests, benchmarks). Unset: the CLI executor.
  std::shared_ptr<task_executor> executor;
  /// Where accepted tasks are kept. Unset: a SQLite store at `pool_config.store_path` when
  /// that is set, else in memory only.
  std::shared_ptr<task_store> store;
  /// Hears every event status lists (restarts, budget warnings, scaling), as it happens,
  /// from an actor thread: keep it short and thread-safe (e.g. print a line).
  std::function<void(const pool_event&)> on_event;
  /// Hears each task record that changed (state, attempts, waits), once per change batch,
  /// from an actor thread: keep it short and thread-safe (the HTTP API's event stream).
  std::function<void(const task_record&)> on_task_change;
  /// Hears a `live_progress` task's progress as the CLI reports it (turns, tools, partial
  /// output, tokens), from an actor thread: keep it short and thread-safe.
  std::function<void(const task_id&, const task_progress&)> on_task_progress;
  /// Hears each write of changed records to the durable store: how long it took, how many
  /// records, whether it failed (the HTTP API's store latency histogram).
  std::function<void(std::chrono::microseconds, std::size_t records, bool ok)> on_store_write;
  /// Worker threads of the actor system the pool makes for itself (not used when the pool
  /// runs in the caller's system). One by default: the actors do little work each and pass
  /// messages all the time, and on one thread a message to an idle actor needs no thread
  /// woken (measured with 16 slots and instant tasks: ~9 futex calls per task on two
  /// workers, none on one; tasks/s equal or higher). 0: CAF's default, one per core.
  std::size_t scheduler_threads = 1;
};

/// True for the refusals a submission can meet however well-formed it is (draining, the
/// budget, a store that cannot record it): the submission gets a record saying why. Anything
/// else is the caller's bug.
bool is_refusal(pool_errc code);

/// The record of a submission the pool refused (never accepted): `cancelled` when it was
/// draining, else `failed`, with the refusal as its output and its code as subtype.
task_record refused_record(const task_submission& sub, const pool_error& why);

/// Registers claude-pool's message types with an actor system config (needed before a pool
/// is used across nodes; harmless otherwise).
void add_message_types(caf::actor_system_config& cfg);

class pool {
public:
  /// Starts a private actor system for the pool. Throws `pool_error(invalid_request)` when
  /// the configuration is invalid (the message names the field).
  explicit pool(pool_config cfg, pool_options opts = {});

  /// Runs the pool in the caller's actor system.
  pool(caf::actor_system& sys, pool_config cfg, pool_options opts = {});

  /// Stops the pool; processes of running tasks are stopped with it.
  ~pool();

  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  task_id submit(task_submission sub);
  task_id submit(std::string prompt) { return submit(task_submission{std::move(prompt), {}, {}}); }

  /// What `submit_all` says of one submission: its id, or the error `submit` would have
  /// thrown (a refusal, or an invalid submission naming the field).
  struct submitted {
    std::optional<task_id> id;
    std::optional<pool_error> error;
  };
  /// Submits many at once and blocks until the pool answered each: one answer per
  /// submission, in order, accepted in that order. The submissions are in flight together,
  /// so this is far faster than one `submit` after another (see the README's figures).
  std::vector<submitted> submit_all(std::vector<task_submission> subs);

  /// Submits and blocks until the task has ended.
  task_record run(task_submission sub);
  task_record run(std::string prompt) { return run(task_submission{std::move(prompt), {}, {}}); }

  /// Blocks until the task has ended (at once if it has).
  task_record wait(const task_id& id);

  /// The task's record as it is now.
  task_record result(const task_id& id);

  /// Cancels a pending or running task; returns once no process of it is left.
  task_record cancel(const task_id& id);

  /// Review gate (tasks submitted with `review_required`): approve a `pending_review` task,
  /// or reject it with feedback (it runs again with the feedback, or fails at
  /// `max_rejections`). Throws `pool_error(not_pending_review)` in any other state.
  task_record approve(const task_id& id);
  task_record reject(const task_id& id, const std::string& feedback);

  /// Submits every prompt at once and waits for all: one record per submission, in order,
  /// whatever happened to the others (a submission the pool refused — draining, budget —
  /// gets a record in state `failed` or `cancelled` that says why; costs are kept).
  std::vector<task_record> fan_out(std::vector<task_submission> subs);

  std::vector<task_record> list(const task_filter& filter = {});
  pool_status status();

  /// Session metrics (counts, spend, timing, per model) over the tasks `filter` admits.
  session_metrics metrics(const metrics_filter& filter = {});

  /// Adds `n` slots; throws `pool_error(out_of_bounds)` past `scaling.max_slots`. Returns
  /// the new target slot count.
  std::uint64_t scale_up(std::uint64_t n);

  /// Removes `n` slots (never below `scaling.min_slots`): errored and idle ones first (least
  /// recently used first), then busy ones, which finish their task first, or have it
  /// cancelled when `force` is set. Returns the new target.
  std::uint64_t scale_down(std::uint64_t n, bool force = false);

  /// Scales up or down to `n` slots.
  std::uint64_t set_target(std::uint64_t n, bool force = false);

  /// Refuses new work, lets accepted tasks finish until `deadline`, cancels the rest. With
  /// worktree isolation, the slots' worktrees are then removed (kept when they hold work:
  /// see `worktree_notes`).
  drain_summary drain(std::chrono::milliseconds deadline);

  /// Chains (messages/chain.hpp). `start_chain` checks the definition (throws
  /// `pool_error(invalid_request)` naming the field, or when a worktree is wanted outside a
  /// git repository) and starts it; the others throw `pool_error(unknown_chain)` for an id
  /// this pool never gave out.
  chain_id start_chain(chain_definition def);
  chain_record run_chain(chain_definition def) { return wait_chain(start_chain(std::move(def))); }
  /// The chain now, with the running step's live progress.
  chain_record chain_status(const chain_id& id);
  chain_record wait_chain(const chain_id& id);
  /// Stops the running step's process and skips the rest; returns once the chain ended.
  chain_record cancel_chain(const chain_id& id);
  std::vector<chain_record> list_chains();

  /// What happened to the slots' worktrees at the last drain (or so far): one sentence per
  /// worktree that was kept (uncommitted changes, or a branch with commits).
  std::vector<std::string> worktree_notes();

  /// The pool actor's client protocol, for CAF callers.
  pool_client_actor handle() const;
  /// The configuration the pool was started with.
  const pool_config& config() const;
  /// Adds an event to the pool's log (status `events`, `pool_options::on_event`): what a
  /// node's gates report (refused clients and overrides).
  void record_event(pool_event ev);

  /// The pool's chains, for CAF callers.
  chain_registry_actor chains() const;

  caf::actor_system& system();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace claude_pool
