#pragma once
/// Everything CAF needs to carry claude-pool's messages: the pool error codes, the atoms,
/// `inspect` for every type that crosses actors, and one type-ID block.
///
/// The wire form of a record is its reference JSON (a single string field): one spelling
/// for files, the CLI and the network, so records interoperate with other implementations of
/// the data model, and CAF 0.17's lack of `std::optional` support does not leak into the
/// types. Local messages are never serialised, so this costs nothing inside one process.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include "messages/chain.hpp"
#include "messages/json.hpp"
#include "messages/requests.hpp"

namespace claude_pool {

/// Errors the pool answers requests with; the error's context names the task or problem.
enum class pool_errc : std::uint8_t {
  unknown_task = 1,   ///< no task with that id
  draining,           ///< the pool is draining and takes no new work
  invalid_request,    ///< the request itself is malformed (message names the field)
  invalid_message,    ///< a message from the network could not be decoded
  already_finished,   ///< cancel of a task that already ended
  not_pending_review, ///< approve/reject of a task that is not waiting for review
  slot_unhealthy,     ///< exit reason of a slot whose CLI crashed or hung: restart it
  slot_disabled,      ///< exit reason of a slot that must not be restarted (auth failure)
  budget_exhausted,   ///< the budget cannot hold another task (message has the figures)
  task_budget_exceeds_remaining, ///< the task's own max_budget_usd is more than remains
  budget_wait,        ///< budget → pool: no room now, retry after running tasks settle
  out_of_bounds,      ///< a scaling request outside scaling.min_slots..max_slots
  unknown_chain,      ///< no chain with that id
  node_lost,          ///< the node holding the pool (or the task's slot) went away
  node_unreachable,   ///< no pool answers at that address (or the TLS handshake failed)
  store_failed,       ///< the durable task store cannot record (the message says why)
  // Appended: the codes above keep their wire values.
  not_permitted,      ///< a remote caller asked for what its role or the node's policy
                      ///< forbids (the message names the field and the rule)
  not_authenticated,  ///< missing or wrong credentials
};

std::string to_string(pool_errc x);

/// The sentence an error carries in its context (how every claude-pool error explains
/// itself), if it has one.
std::optional<std::string> error_context(const caf::error& err);

} // namespace claude_pool

CAF_ERROR_CODE_ENUM(claude_pool::pool_errc, "claudepool")

namespace claude_pool {

/// CAF `inspect` through the type's JSON form (see the file comment).
template <class Inspector, class T>
typename Inspector::result_type inspect_via_json(Inspector& f, const char* name, T& x) {
  std::string wire;
  if constexpr (Inspector::reads_state) {
    wire = to_json_text(nlohmann::json(x));
    return f(caf::meta::type_name(name), wire);
  } else {
    auto decode = caf::meta::load_callback([&]() -> caf::error {
      try {
        x = nlohmann::json::parse(wire).get<T>();
        return caf::none;
      } catch (const std::exception& e) {
        return caf::make_error(pool_errc::invalid_message, std::string(name) + ": " + e.what());
      }
    });
    return f(caf::meta::type_name(name), wire, decode);
  }
}

#define CLAUDE_POOL_INSPECT_AS_JSON(type)                                                 \
  template <class Inspector>                                                              \
  typename Inspector::result_type inspect(Inspector& f, type& x) {                        \
    return inspect_via_json(f, #type, x);                                                 \
  }

CLAUDE_POOL_INSPECT_AS_JSON(task_id)
CLAUDE_POOL_INSPECT_AS_JSON(slot_id)
CLAUDE_POOL_INSPECT_AS_JSON(pool_config)
CLAUDE_POOL_INSPECT_AS_JSON(slot_config)
CLAUDE_POOL_INSPECT_AS_JSON(task_overrides)
CLAUDE_POOL_INSPECT_AS_JSON(slot_record)
CLAUDE_POOL_INSPECT_AS_JSON(task_result)
CLAUDE_POOL_INSPECT_AS_JSON(task_record)
CLAUDE_POOL_INSPECT_AS_JSON(task_progress)
CLAUDE_POOL_INSPECT_AS_JSON(chain_id)
CLAUDE_POOL_INSPECT_AS_JSON(chain_definition)
CLAUDE_POOL_INSPECT_AS_JSON(chain_record)
CLAUDE_POOL_INSPECT_AS_JSON(task_filter)
CLAUDE_POOL_INSPECT_AS_JSON(session_metrics)
CLAUDE_POOL_INSPECT_AS_JSON(metrics_filter)
CLAUDE_POOL_INSPECT_AS_JSON(task_submission)
CLAUDE_POOL_INSPECT_AS_JSON(pool_status)
CLAUDE_POOL_INSPECT_AS_JSON(drain_summary)
CLAUDE_POOL_INSPECT_AS_JSON(task_assignment)
CLAUDE_POOL_INSPECT_AS_JSON(pool_event)
CLAUDE_POOL_INSPECT_AS_JSON(budget_status)
CLAUDE_POOL_INSPECT_AS_JSON(pool_load)
CLAUDE_POOL_INSPECT_AS_JSON(submit_answer)

#undef CLAUDE_POOL_INSPECT_AS_JSON

} // namespace claude_pool

CAF_BEGIN_TYPE_ID_BLOCK(claude_pool, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::task_id))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::slot_id))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::pool_config))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::slot_config))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::task_overrides))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::slot_record))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::task_result))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::task_record))
  CAF_ADD_TYPE_ID(claude_pool, (std::vector<claude_pool::task_record>))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::task_filter))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::session_metrics))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::metrics_filter))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::task_submission))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::pool_status))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::drain_summary))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::task_assignment))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::pool_event))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::budget_status))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::pool_load))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::task_progress))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::chain_id))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::chain_definition))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::chain_record))
  CAF_ADD_TYPE_ID(claude_pool, (std::vector<claude_pool::chain_record>))
  CAF_ADD_TYPE_ID(claude_pool, (std::vector<claude_pool::task_submission>))
  CAF_ADD_TYPE_ID(claude_pool, (claude_pool::submit_answer))
  CAF_ADD_TYPE_ID(claude_pool, (std::vector<claude_pool::submit_answer>))

  // Requests to the pool.
  CAF_ADD_ATOM(claude_pool, claude_pool, submit_atom, "submit")
  CAF_ADD_ATOM(claude_pool, claude_pool, run_atom, "run")
  CAF_ADD_ATOM(claude_pool, claude_pool, wait_atom, "wait")
  CAF_ADD_ATOM(claude_pool, claude_pool, result_atom, "result")
  CAF_ADD_ATOM(claude_pool, claude_pool, list_atom, "list")
  CAF_ADD_ATOM(claude_pool, claude_pool, status_atom, "status")
  CAF_ADD_ATOM(claude_pool, claude_pool, cancel_atom, "cancel")
  CAF_ADD_ATOM(claude_pool, claude_pool, drain_atom, "drain")
  CAF_ADD_ATOM(claude_pool, claude_pool, metrics_atom, "metrics")
  CAF_ADD_ATOM(claude_pool, claude_pool, approve_atom, "approve")
  CAF_ADD_ATOM(claude_pool, claude_pool, reject_atom, "reject")
  // Between the pool and its slots, and timers.
  CAF_ADD_ATOM(claude_pool, claude_pool, execute_atom, "execute")
  CAF_ADD_ATOM(claude_pool, claude_pool, task_done_atom, "task_done")
  CAF_ADD_ATOM(claude_pool, claude_pool, exec_done_atom, "exec_done")
  CAF_ADD_ATOM(claude_pool, claude_pool, progress_atom, "progress")
  CAF_ADD_ATOM(claude_pool, claude_pool, expire_atom, "expire")
  // Supervision.
  CAF_ADD_ATOM(claude_pool, claude_pool, slot_up_atom, "slot_up")
  CAF_ADD_ATOM(claude_pool, claude_pool, slot_event_atom, "slot_event")
  CAF_ADD_ATOM(claude_pool, claude_pool, restart_atom, "restart")
  CAF_ADD_ATOM(claude_pool, claude_pool, supervise_atom, "supervise")
  CAF_ADD_ATOM(claude_pool, claude_pool, resume_atom, "resume")
  // Budget.
  CAF_ADD_ATOM(claude_pool, claude_pool, admit_atom, "admit")
  CAF_ADD_ATOM(claude_pool, claude_pool, reserve_atom, "reserve")
  CAF_ADD_ATOM(claude_pool, claude_pool, settle_atom, "settle")
  CAF_ADD_ATOM(claude_pool, claude_pool, track_atom, "track")
  CAF_ADD_ATOM(claude_pool, claude_pool, event_atom, "event")
  // Scaling.
  CAF_ADD_ATOM(claude_pool, claude_pool, scale_up_atom, "scale_up")
  CAF_ADD_ATOM(claude_pool, claude_pool, scale_down_atom, "scale_down")
  CAF_ADD_ATOM(claude_pool, claude_pool, set_target_atom, "set_target")
  CAF_ADD_ATOM(claude_pool, claude_pool, add_slots_atom, "add_slots")
  CAF_ADD_ATOM(claude_pool, claude_pool, retire_atom, "retire")
  CAF_ADD_ATOM(claude_pool, claude_pool, autoscale_atom, "autoscale")
  // Chains.
  CAF_ADD_ATOM(claude_pool, claude_pool, start_chain_atom, "startchain")
  // Cluster.
  CAF_ADD_ATOM(claude_pool, claude_pool, join_atom, "join")
  CAF_ADD_ATOM(claude_pool, claude_pool, remote_slot_atom, "remoteslot")
  CAF_ADD_ATOM(claude_pool, claude_pool, leave_atom, "leave")
  CAF_ADD_ATOM(claude_pool, claude_pool, sync_atom, "sync")
  CAF_ADD_ATOM(claude_pool, claude_pool, trim_atom, "trim")
  CAF_ADD_ATOM(claude_pool, claude_pool, chains_atom, "chains")

CAF_END_TYPE_ID_BLOCK(claude_pool)
