#pragma once
/// Chains (extension): a sequence of steps, each a task whose prompt is a template over the
/// earlier steps' outputs. `chain_definition` is what a user writes (the `claude-pool chain`
/// file); `chain_record` is the chain's progress while it runs and its result once it ends.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/config.hpp"
#include "messages/ids.hpp"
#include "messages/records.hpp"

namespace claude_pool {

/// What a step does when its task fails.
struct chain_failure_policy {
  /// Runs of the same prompt after the first failure.
  std::uint32_t retries = 0;
  /// After the retries: one run of this template (it may also use `{error}`, the last
  /// failure's text); when it succeeds, its output stands for the step's.
  std::optional<std::string> recovery_prompt;
};

/// One step. Templates may use `{previous_output}` (the step before's output, empty for the
/// first) and `{steps.NAME.VAR}` (an output variable of an earlier step; `VAR` = `output`
/// is the whole output). Any other text in braces is left as it is.
struct chain_step {
  std::string name;
  std::string prompt;
  std::optional<task_overrides> config;
  chain_failure_policy failure_policy;
  /// Variable → path in the step's JSON output (its structured output when the step has a
  /// `json_schema`, else its text parsed as JSON): `a.b[0].c`, `a.b.0.c` or `/a/b/0/c`.
  std::map<std::string, std::string> output_vars;
};

/// A chain as submitted.
struct chain_definition {
  std::vector<chain_step> steps;
  /// Tags for every step's task (besides `chain:<id>` and `step:<name>`).
  std::vector<std::string> tags;
  /// Run steps with the CLI's event stream so `chain_record::live` shows the running step.
  bool live_progress = true;
  /// Run the chain in its own git worktree. Unset: the pool's `worktree_isolation`.
  std::optional<bool> worktree;
};

enum class chain_state : std::uint8_t { running, completed, failed, cancelled };
enum class step_state : std::uint8_t { pending, running, completed, failed, skipped, cancelled };

std::string to_string(chain_state x);
std::string to_string(step_state x);

/// One step as it ran (or did not).
struct chain_step_result {
  std::string name;
  step_state state = step_state::pending;
  /// Every task the step ran, in order: the first run, its retries, the recovery.
  std::vector<task_id> task_ids;
  /// The rendered prompt of the last run.
  std::optional<std::string> prompt;
  std::optional<std::string> output;
  std::map<std::string, nlohmann::json> vars;
  std::uint64_t cost_microdollars = 0; ///< all of the step's runs
  std::uint32_t runs = 0;
  bool recovered = false; ///< the recovery prompt's output stands for the step's
  std::optional<std::string> error; ///< why the step failed (or was skipped or cancelled)
};

/// Where a chain's worktree went when the chain ended.
struct chain_worktree {
  std::string path;
  std::string branch;
  bool worktree_removed = false; ///< false: kept because it had uncommitted changes
  bool branch_kept = false;      ///< true: the chain committed; the branch keeps the commits
  std::uint32_t commits_ahead = 0;
  std::string note;
};

/// A chain's progress and, once it ended, its result.
struct chain_record {
  chain_id id;
  chain_state state = chain_state::running;
  std::optional<std::string> current_step;
  std::uint32_t completed_steps = 0;
  std::vector<chain_step_result> steps; ///< one per step of the definition, in order
  std::uint64_t cost_microdollars = 0;
  /// The running step's progress (partial output, turns, tools, cost so far).
  std::optional<task_progress> live;
  std::optional<chain_worktree> worktree;
  std::optional<std::string> final_output; ///< the last step's output when completed
  std::optional<std::string> error;
  std::uint64_t created_at_ms = 0;
  std::optional<std::uint64_t> completed_at_ms;
};

inline bool is_terminal(chain_state s) { return s != chain_state::running; }

/// A chain file's JSON (`{"steps": [...], ...}`), strictly: unknown fields are errors, and
/// every error names the field path (`chain.steps[1].failure_policy.retries: ...`). Throws
/// `json_error`. (What JSON cannot check is `check_chain`'s job: actors/chain_steps.hpp.)
chain_definition parse_chain_definition(const nlohmann::json& j);

void to_json(nlohmann::json& j, const chain_id& x);
void from_json(const nlohmann::json& j, chain_id& x);
void to_json(nlohmann::json& j, const chain_state& x);
void from_json(const nlohmann::json& j, chain_state& x);
void to_json(nlohmann::json& j, const step_state& x);
void from_json(const nlohmann::json& j, step_state& x);
void to_json(nlohmann::json& j, const chain_failure_policy& x);
void from_json(const nlohmann::json& j, chain_failure_policy& x);
void to_json(nlohmann::json& j, const chain_step& x);
void from_json(const nlohmann::json& j, chain_step& x);
void to_json(nlohmann::json& j, const chain_definition& x);
void from_json(const nlohmann::json& j, chain_definition& x);
void to_json(nlohmann::json& j, const chain_step_result& x);
void from_json(const nlohmann::json& j, chain_step_result& x);
void to_json(nlohmann::json& j, const chain_worktree& x);
void from_json(const nlohmann::json& j, chain_worktree& x);
void to_json(nlohmann::json& j, const chain_record& x);
void from_json(const nlohmann::json& j, chain_record& x);

} // namespace claude_pool
