#include "runtime/cli_executor.hpp"

#include "runtime/cli_command.hpp"
#include "runtime/cli_result.hpp"
#include "runtime/process_runner.hpp"

namespace claude_pool {

const char* const stripped_cli_env[2] = {"CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"};

cli_executor::cli_executor(const pool_config& cfg, std::string default_claude_bin)
  : claude_bin_(cfg.claude_bin ? *cfg.claude_bin : std::move(default_claude_bin)),
    cfg_(cfg),
    runner_(std::make_unique<runtime::process_runner>()) {
}

cli_executor::~cli_executor() = default;

std::uint64_t cli_executor::start(execution_request req, completion done) {
  runtime::process_request proc;
  proc.executable = claude_bin_;
  proc.args = build_cli_args(req.config, req.resume_session);
  proc.stdin_data = std::move(req.prompt);
  for (auto& [name, value] : cfg_.cli_env)
    proc.env_set.emplace_back(name, value);
  proc.env_set.emplace_back("CLAUDE_CODE_MAX_RETRIES", std::to_string(cfg_.cli_max_retries));
  for (auto name : stripped_cli_env)
    proc.env_unset.emplace_back(name);
  if (cfg_.working_dir)
    proc.working_dir = *cfg_.working_dir;
  if (cfg_.task_timeout_secs)
    proc.timeout = std::chrono::seconds(*cfg_.task_timeout_secs);
  proc.stdout_limit = cfg_.max_output_bytes;

  cli_run_context ctx;
  ctx.command = describe_command(claude_bin_, proc.args);
  ctx.detect_permission_prompts = cfg_.detect_permission_prompts;
  ctx.wants_structured_output = req.config.json_schema.has_value();
  ctx.max_budget_usd = req.config.max_budget_usd;
  ctx.timeout_secs = cfg_.task_timeout_secs.value_or(0);

  return runner_->start(std::move(proc),
                        [ctx = std::move(ctx), done = std::move(done)](
                          runtime::process_outcome out) { done(interpret_cli_run(out, ctx)); });
}

void cli_executor::cancel(std::uint64_t execution) { runner_->cancel(execution); }

} // namespace claude_pool
