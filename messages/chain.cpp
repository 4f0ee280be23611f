#include "messages/chain.hpp"

#include "messages/json.hpp"
#include "messages/json_reader.hpp"

namespace claude_pool {

using nlohmann::json;
using detail::object_reader;

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

template <class T>
void put_omitted(json& j, const char* name, const std::optional<T>& x) {
  if (x)
    j[name] = *x;
}

void read_policy(const json& v, const std::string& path, chain_failure_policy& x, bool strict) {
  object_reader r(v, path, strict);
  r.defaulted("retries", x.retries);
  r.optional("recovery_prompt", x.recovery_prompt);
  r.finish();
}

void read_step(const json& v, const std::string& path, chain_step& x, bool strict) {
  object_reader r(v, path, strict);
  r.required("name", x.name);
  r.required("prompt", x.prompt);
  if (auto it = v.find("config"); it != v.end() && !it->is_null()) {
    r.known("config");
    x.config = strict ? parse_task_overrides(*it, path + ".config") : it->get<task_overrides>();
  }
  if (auto it = v.find("failure_policy"); it != v.end() && !it->is_null()) {
    r.known("failure_policy");
    read_policy(*it, path + ".failure_policy", x.failure_policy, strict);
  }
  r.defaulted("output_vars", x.output_vars);
  r.finish();
}

void read_definition(const json& v, const std::string& path, chain_definition& x, bool strict) {
  if (!v.is_object())
    detail::fail(path, "expected an object, got " + detail::describe(v));
  object_reader r(v, path, strict);
  auto steps = v.find("steps");
  if (steps == v.end() || steps->is_null())
    detail::fail(path + ".steps", "missing required field");
  if (!steps->is_array())
    detail::fail(path + ".steps", "expected an array, got " + detail::describe(*steps));
  r.known("steps");
  x.steps.clear();
  for (std::size_t i = 0; i < steps->size(); ++i) {
    chain_step step;
    read_step((*steps)[i], path + ".steps[" + std::to_string(i) + "]", step, strict);
    x.steps.push_back(std::move(step));
  }
  r.defaulted("tags", x.tags);
  r.defaulted("live_progress", x.live_progress);
  r.optional("worktree", x.worktree);
  r.finish();
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
  read_definition(j, "chain", def, true);
  return def;
}

void to_json(json& j, const chain_id& x) { j = x.value; }
void from_json(const json& j, chain_id& x) { detail::read_value(j, "chain_id", x.value); }
void to_json(json& j, const chain_state& x) { j = to_string(x); }
void from_json(const json& j, chain_state& x) { read_enum(j, "chain_state", x, chain_state_names); }
void to_json(json& j, const step_state& x) { j = to_string(x); }
void from_json(const json& j, step_state& x) { read_enum(j, "step_state", x, step_state_names); }

void to_json(json& j, const chain_failure_policy& x) {
  j = json{{"retries", x.retries}};
  put_omitted(j, "recovery_prompt", x.recovery_prompt);
}

void from_json(const json& j, chain_failure_policy& x) {
  read_policy(j, "chain_failure_policy", x, false);
}

void to_json(json& j, const chain_step& x) {
  j = json{{"name", x.name},
           {"prompt", x.prompt},
           {"failure_policy", x.failure_policy},
           {"output_vars", x.output_vars}};
  j["config"] = x.config ? json(*x.config) : json(nullptr);
}

void from_json(const json& j, chain_step& x) { read_step(j, "chain_step", x, false); }

void to_json(json& j, const chain_definition& x) {
  j = json{{"steps", x.steps}, {"tags", x.tags}, {"live_progress", x.live_progress}};
  put_omitted(j, "worktree", x.worktree);
}

void from_json(const json& j, chain_definition& x) {
  read_definition(j, "chain_definition", x, false);
}

void to_json(json& j, const chain_step_result& x) {
  j = json{{"name", x.name},
           {"state", x.state},
           {"task_ids", x.task_ids},
           {"vars", x.vars},
           {"cost_microdollars", x.cost_microdollars},
           {"runs", x.runs},
           {"recovered", x.recovered}};
  j["prompt"] = x.prompt ? json(*x.prompt) : json(nullptr);
  j["output"] = x.output ? json(*x.output) : json(nullptr);
  j["error"] = x.error ? json(*x.error) : json(nullptr);
}

void from_json(const json& j, chain_step_result& x) {
  object_reader r(j, "chain_step_result", false);
  r.required("name", x.name);
  if (auto it = j.find("state"); it != j.end())
    read_enum(*it, "chain_step_result.state", x.state, step_state_names);
  r.defaulted("task_ids", x.task_ids);
  r.optional("prompt", x.prompt);
  r.optional("output", x.output);
  r.defaulted("vars", x.vars);
  r.defaulted("cost_microdollars", x.cost_microdollars);
  r.defaulted("runs", x.runs);
  r.defaulted("recovered", x.recovered);
  r.optional("error", x.error);
}

void to_json(json& j, const chain_worktree& x) {
  j = json{{"path", x.path},
           {"branch", x.branch},
           {"worktree_removed", x.worktree_removed},
           {"branch_kept", x.branch_kept},
           {"commits_ahead", x.commits_ahead},
           {"note", x.note}};
}

void from_json(const json& j, chain_worktree& x) {
  object_reader r(j, "chain_worktree", false);
  r.required("path", x.path);
  r.required("branch", x.branch);
  r.defaulted("worktree_removed", x.worktree_removed);
  r.defaulted("branch_kept", x.branch_kept);
  r.defaulted("commits_ahead", x.commits_ahead);
  r.defaulted("note", x.note);
}

void to_json(json& j, const chain_record& x) {
  j = json{{"id", x.id},
           {"state", x.state},
           {"completed_steps", x.completed_steps},
           {"steps", x.steps},
           {"cost_microdollars", x.cost_microdollars},
           {"created_at_ms", x.created_at_ms}};
  j["current_step"] = x.current_step ? json(*x.current_step) : json(nullptr);
  j["live"] = x.live ? json(*x.live) : json(nullptr);
  j["worktree"] = x.worktree ? json(*x.worktree) : json(nullptr);
  j["final_output"] = x.final_output ? json(*x.final_output) : json(nullptr);
  j["error"] = x.error ? json(*x.error) : json(nullptr);
  j["completed_at_ms"] = x.completed_at_ms ? json(*x.completed_at_ms) : json(nullptr);
}

void from_json(const json& j, chain_record& x) {
  object_reader r(j, "chain_record", false);
  r.required("id", x.id.value);
  if (auto it = j.find("state"); it != j.end())
    read_enum(*it, "chain_record.state", x.state, chain_state_names);
  r.optional("current_step", x.current_step);
  r.defaulted("completed_steps", x.completed_steps);
  if (auto it = j.find("steps"); it != j.end() && it->is_array()) {
    x.steps.clear();
    for (auto& s : *it)
      x.steps.push_back(s.get<chain_step_result>());
  }
  r.defaulted("cost_microdollars", x.cost_microdollars);
  if (auto it = j.find("live"); it != j.end() && !it->is_null())
    x.live = it->get<task_progress>();
  if (auto it = j.find("worktree"); it != j.end() && !it->is_null())
    x.worktree = it->get<chain_worktree>();
  r.optional("final_output", x.final_output);
  r.optional("error", x.error);
  r.defaulted("created_at_ms", x.created_at_ms);
  r.optional("completed_at_ms", x.completed_at_ms);
}

} // namespace claude_pool
