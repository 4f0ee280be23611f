#include "runtime/cli_executor.hpp"

#include <algorithm>

#include "runtime/cli_command.hpp"
#include "runtime/cli_result.hpp"
#include "runtime/process_runner.hpp"
#include "runtime/timer_thread.hpp"
#include "runtime/warm_process.hpp"

namespace claude_pool {

const char* const stripped_cli_env[2] = {"CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"};

cli_executor::cli_executor(const pool_config& cfg, std::string default_claude_bin)
  : claude_bin_(cfg.claude_bin ? *cfg.claude_bin : std::move(default_claude_bin)),
    cfg_(cfg),
    runner_(std::make_unique<runtime::process_runner>()) {
}

cli_executor::~cli_executor() {
  {
    std::lock_guard<std::mutex> lock(warm_mutex_);
    for (auto& [slot, proc] : warm_)
      proc->stop();
  }
  runner_.reset(); // stops and reports every child before the timers go
  timers_.reset();
}

runtime::process_request cli_executor::base_request() const {
  runtime::process_request proc;
  proc.executable = claude_bin_;
  for (auto& [name, value] : cfg_.cli_env)
    proc.env_set.emplace_back(name, value);
  proc.env_set.emplace_back("CLAUDE_CODE_MAX_RETRIES", std::to_string(cfg_.cli_max_retries));
  for (auto name : stripped_cli_env)
    proc.env_unset.emplace_back(name);
  if (cfg_.working_dir)
    proc.working_dir = *cfg_.working_dir;
  proc.stdout_limit = cfg_.max_output_bytes;
  return proc;
}

namespace {

constexpr std::uint64_t warm_execution_bit = std::uint64_t{1} << 63;

cli_run_context run_context(const pool_config& cfg, const resolved_config& task,
                            std::string command) {
  cli_run_context ctx;
  ctx.command = std::move(command);
  ctx.detect_permission_prompts = cfg.detect_permission_prompts;
  ctx.wants_structured_output = task.json_schema.has_value();
  ctx.max_budget_usd = task.max_budget_usd;
  ctx.timeout_secs = cfg.task_timeout_secs.value_or(0);
  return ctx;
}

} // namespace

void cli_executor::use_mcp_file(execution_request& req) {
  if (!req.config.mcp_servers.empty())
    req.config.mcp_config_path = mcp_files_.path_for(req.slot, req.config.mcp_servers);
}

std::uint64_t cli_executor::start(execution_request req, completion done) {
  try {
    use_mcp_file(req);
  } catch (const std::exception& e) {
    done(task_result::failure(e.what(), "spawn_failed"));
    return 0;
  }
  if (req.config.execution == execution_mode::warm)
    return start_warm(std::move(req), std::move(done));
  auto proc = base_request();
  proc.args = build_cli_args(req.config, req.resume_session);
  proc.stdin_data = std::move(req.prompt);
  if (cfg_.task_timeout_secs)
    proc.timeout = std::chrono::seconds(*cfg_.task_timeout_secs);
  auto ctx = run_context(cfg_, req.config, describe_command(claude_bin_, proc.args));
  return runner_->start(std::move(proc),
                        [ctx = std::move(ctx), done = std::move(done)](
                          runtime::process_outcome out) { done(interpret_cli_run(out, ctx)); });
}

std::vector<std::string> warm_cli_args(std::vector<std::string> args) {
  auto it = std::find(args.begin(), args.end(), "--output-format=json");
  if (it != args.end())
    *it = "--output-format=stream-json";
  args.insert(args.begin() + 1, {"--input-format=stream-json", "--verbose"});
  return args;
}

std::string warm_process_key(const resolved_config& cfg) {
  auto fixed = cfg;
  fixed.model.reset();
  std::string key;
  for (auto& a : build_cli_args(fixed, std::nullopt))
    key += a + '\n';
  return key;
}

/// Warm mode. Budget: the CLI's `--max-budget-usd` counts from the start of its process, so
/// a task with an allowance runs in a process started for it alone (then retired): the
/// allowance holds exactly as in one-shot mode. Unbudgeted tasks reuse the slot's process.
std::uint64_t cli_executor::start_warm(execution_request req, completion done) {
  bool budgeted = req.config.max_budget_usd.has_value();
  auto key = warm_process_key(req.config);
  std::shared_ptr<warm_process> proc;
  bool fresh_conversation = false;
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(warm_mutex_);
    id = warm_execution_bit | ++warm_next_; // never equal to a one-shot (runner) id
    if (!timers_) // a thread only for pools that have warm slots
      timers_ = std::make_unique<runtime::timer_thread>();
    auto& slot_proc = warm_[req.slot];
    // set_model can name a model but not "the CLI's default": that takes a new process.
    bool reuse = slot_proc && !budgeted && slot_proc->usable() && slot_proc->key() == key
                 && slot_proc->tasks_run() < cfg_.warm_max_tasks
                 && !(slot_proc->model() && !req.config.model);
    if (reuse) {
      proc = slot_proc;
      // Ephemeral slots start every task in a fresh session; persistent ones continue.
      fresh_conversation = cfg_.slot_mode == slot_mode::ephemeral;
    } else {
      if (slot_proc)
        slot_proc->stop();
      warm_launch how;
      how.proc = base_request();
      // A new process of a persistent slot continues the slot's last good session.
      how.proc.args = warm_cli_args(build_cli_args(req.config, req.resume_session));
      auto point = resume_points_.find(req.slot);
      if (req.resume_session && point != resume_points_.end()
          && point->second.first == *req.resume_session)
        how.proc.args.push_back("--resume-session-at=" + point->second.second);
      how.key = key;
      how.model = req.config.model;
      proc = warm_process::launch(*runner_, *timers_, std::move(how));
      slot_proc = proc;
      ++warm_started_;
    }
    warm_runs_[id] = proc;
  }
  auto ctx = run_context(cfg_, req.config, "warm " + describe_command(claude_bin_, {}));
  std::optional<std::uint64_t> deadline;
  if (cfg_.task_timeout_secs) {
    std::weak_ptr<warm_process> weak = proc;
    deadline = timers_->after(std::chrono::seconds(*cfg_.task_timeout_secs), [weak] {
      if (auto p = weak.lock())
        p->kill(runtime::process_end::timed_out);
    });
  }
  auto max_rss = cfg_.warm_max_rss_mb;
  proc->run(req.prompt, req.config.model, fresh_conversation, std::move(ctx),
            [this, id, slot = req.slot, deadline, budgeted, max_rss,
             done = std::move(done)](task_result r) {
              std::shared_ptr<warm_process> p;
              {
                std::lock_guard<std::mutex> lock(warm_mutex_);
                auto it = warm_runs_.find(id);
                if (it != warm_runs_.end()) {
                  p = it->second;
                  warm_runs_.erase(it);
                }
                auto good = p ? p->last_good_message() : std::nullopt;
                if (r.success && r.session_id && good)
                  resume_points_[slot] = {*r.session_id, *good};
              }
              if (deadline)
                timers_->cancel(*deadline);
              // Recycle: a budgeted task's process, or one grown past the RSS ceiling.
              if (p && (budgeted || (max_rss && p->rss_bytes() > *max_rss * 1024 * 1024)))
                p->stop();
              done(std::move(r));
            });
  return id;
}

void cli_executor::cancel(std::uint64_t execution) {
  std::shared_ptr<warm_process> proc;
  {
    std::lock_guard<std::mutex> lock(warm_mutex_);
    auto it = warm_runs_.find(execution);
    if (it != warm_runs_.end())
      proc = it->second;
  }
  if (proc) {
    proc->interrupt(std::chrono::milliseconds(2000));
    return;
  }
  runner_->cancel(execution);
}

void cli_executor::release_slot(const slot_id& slot) {
  mcp_files_.remove(slot);
  std::shared_ptr<warm_process> proc;
  {
    std::lock_guard<std::mutex> lock(warm_mutex_);
    resume_points_.erase(slot); // a restarted slot starts without a session anyway
    auto it = warm_.find(slot);
    if (it == warm_.end())
      return;
    proc = std::move(it->second);
    warm_.erase(it);
  }
  proc->stop();
}

std::uint64_t cli_executor::warm_processes_started() const {
  std::lock_guard<std::mutex> lock(warm_mutex_);
  return warm_started_;
}

} // namespace claude_pool
