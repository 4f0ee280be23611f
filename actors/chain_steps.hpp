#pragma once
/// The pure parts of running a chain, kept apart from the actor so they can be tested on
/// their own: checking a definition, rendering a step's prompt template, and taking output
/// variables from a step's JSON output.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/chain.hpp"

namespace claude_pool {

/// What `check_chain` rejects before anything runs: no steps, an empty or repeated name (or
/// one outside [A-Za-z0-9_-]), an empty prompt, a `{steps.NAME.VAR}` that names no earlier
/// step or a variable that step does not declare, an empty output variable path, an invalid
/// step config. Empty when valid, else a sentence naming the field.
std::string check_chain(const chain_definition& def);

/// What a template can refer to.
struct template_context {
  std::string previous_output;
  /// The chain's steps so far (name → output and variables).
  const std::vector<chain_step_result>* steps = nullptr;
  /// For recovery prompts: the failure being recovered from.
  std::optional<std::string> error;
};

/// Replaces `{previous_output}`, `{steps.NAME.VAR}` (`VAR` = `output` is the whole output)
/// and, in recovery prompts, `{error}`. String values go in as they are, other JSON values
/// as compact JSON. Every other brace is left alone, so prompts may contain JSON examples.
std::string render_template(const std::string& tmpl, const template_context& ctx);

/// The step's output as JSON: its structured output when it has one, else its text parsed
/// as JSON — the whole text, else the first ```json fenced block, else the outermost
/// `{...}` or `[...]` span. Unset when none of these parses.
std::optional<nlohmann::json> output_json(const task_result& result);

/// The value at `path` (`a.b[0].c`, `a.b.0.c`, or a JSON pointer `/a/b/0/c`), if any.
std::optional<nlohmann::json> value_at(const nlohmann::json& doc, const std::string& path);

/// Fills `vars` with the step's declared output variables. Empty on success, else why not
/// (the output is not JSON, or a path finds nothing): the step then counts as failed.
std::string take_output_vars(const chain_step& step, const task_result& result,
                             std::map<std::string, nlohmann::json>& vars);

} // namespace claude_pool
