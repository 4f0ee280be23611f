#include "messages/chain.hpp"

#include "messages/json.hpp"
#include "messages/json_fields.hpp"

namespace claude_pool {

using nlohmann::json;

namespace {

constexpr const char* chain_state_names[] = {"running", "completed", "failed", "cancelled"};
constexpr const char* step_state_names[] = {"pending", "running",  "completed",
                                            "failed",  "skipped", "cancelled"};

template <class Enum, std::size_t N>
void read_enum(const json& v, const std::string& path, Enum& out, const char* const (&names)[N]) {
  if (!v.is_string())
    detail::fail(path, "expected a string, got " + detail::describe(v));
  std::string allowed;
  for (std::size_t i = 0; i < N; ++i) {
    if (v.get_ref<const std::string&>() == names[i]) {
      out = static_cast<Enum>(i);
      return;
    }
    allowed += (i ? ", " : "") + std::string(names[i]);
  }
  detail::fail(path, "unknown value \"" + v.get<std::string>() + "\" (expected one of " + allowed
                       + ")");
}

// -- field lists (in reading order; see messages/json_fields.hpp) -----------------------------

template <class W>
void fields(W& w, chain_failure_policy& x) {
  w.defaulted("retries", x.retries);
  w.omitted("recovery_prompt", x.recovery_prompt);
}

template <class W>
void fields(W& w, chain_step& x) {
  w.required("name", x.name);
  w.required("prompt", x.prompt);
  w.nullable("config", x.config); // from a chain file (strict): validated as well
  w.defaulted("failure_policy", x.failure_policy);
  w.defaulted("output_vars", x.output_vars);
}

template <class W>
void fields(W& w, chain_definition& x) {
  w.required("steps", x.steps);
  w.defaulted("tags", x.tags);
  w.defaulted("live_progress", x.live_progress);
  w.omitted("worktree", x.worktree);
}

template <class W>
void fields(W& w, chain_step_result& x) {
  w.required("name", x.name);
  w.defaulted("state", x.state);
  w.defaulted("task_ids", x.task_ids);
  w.nullable("prompt", x.prompt);
  w.nullable("output", x.output);
  w.defaulted("vars", x.vars);
  w.defaulted("cost_microdollars", x.cost_microdollars);
  w.defaulted("runs", x.runs);
  w.defaulted("recovered", x.recovered);
  w.nullable("error", x.error);
}

template <class W>
void fields(W& w, chain_worktree& x) {
  w.required("path", x.path);
  w.required("branch", x.branch);
  w.defaulted("worktree_removed", x.worktree_removed);
  w.defaulted("branch_kept", x.branch_kept);
  w.defaulted("commits_ahead", x.commits_ahead);
  w.defaulted("note", x.note);
}

template <class W>
void fields(W& w, chain_record& x) {
  w.required("id", x.id);
  w.defaulted("state", x.state);
  w.nullable("current_step", x.current_step);
  w.defaulted("completed_steps", x.completed_steps);
  w.defaulted("steps", x.steps);
  w.defaulted("cost_microdollars", x.cost_microdollars);
  w.nullable("live", x.live);
  w.nullable("worktree", x.worktree);
  w.nullable("final_output", x.final_output);
  w.nullable("error", x.error);
  w.defaulted("created_at_ms", x.created_at_ms);
  w.nullable("completed_at_ms", x.completed_at_ms);
}

} // namespace

std::string to_string(chain_state x) {
  return chain_state_names[static_cast<std::size_t>(x)];
}

std::string to_string(step_state x) {
  return step_state_names[static_cast<std::size_t>(x)];
}

chain_definition parse_chain_definition(const json& j) {
  chain_definition def;
  detail::read_value(j, "chain", def, true);
  return def;
}

void detail::read_value(const json& v, const std::string& path, chain_id& out) {
  read_value(v, path, out.value);
}
void detail::read_value(const json& v, const std::string& path, chain_state& out) {
  read_enum(v, path, out, chain_state_names);
}
void detail::read_value(const json& v, const std::string& path, step_state& out) {
  read_enum(v, path, out, step_state_names);
}

void to_json(json& j, const chain_id& x) { j = x.value; }
void from_json(const json& j, chain_id& x) { detail::read_value(j, "chain_id", x); }
void to_json(json& j, const chain_state& x) { j = to_string(x); }
void from_json(const json& j, chain_state& x) { detail::read_value(j, "chain_state", x); }
void to_json(json& j, const step_state& x) { j = to_string(x); }
void from_json(const json& j, step_state& x) { detail::read_value(j, "step_state", x); }

CLAUDE_POOL_JSON_OBJECT(chain_failure_policy)
CLAUDE_POOL_JSON_OBJECT(chain_step)
CLAUDE_POOL_JSON_OBJECT(chain_definition)
CLAUDE_POOL_JSON_OBJECT(chain_step_result)
CLAUDE_POOL_JSON_OBJECT(chain_worktree)
CLAUDE_POOL_JSON_OBJECT(chain_record)

} // namespace claude_pool
