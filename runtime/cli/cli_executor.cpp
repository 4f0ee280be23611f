#include "runtime/cli/cli_executor.hpp"

#include <algorithm>
#include <cstdlib>

#include "runtime/cli/cli_command.hpp"
#include "runtime/cli/cli_result.hpp"
#include "runtime/cli/credential_env.hpp"
#include "runtime/cli/limit_signals.hpp"
#include "runtime/cli/stall_watchdog.hpp"
#include "runtime/process/process_runner.hpp"
#include "runtime/cli/progress_tracker.hpp"
#include "runtime/cli/stream_json.hpp"
#include "runtime/cli/timer_thread.hpp"
#include "runtime/cli/warm_process.hpp"

namespace claude_pool {

const char* const stripped_cli_env[2] = {"CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"};

cli_executor::cli_executor(const pool_config& cfg, std::string default_claude_bin)
  : claude_bin_(cfg.claude_bin ? *cfg.claude_bin : std::move(default_claude_bin)),
    cfg_(cfg),
    runner_(std::make_unique<runtime::process_runner>()) {
}

cli_executor::~cli_executor() {
  {
    std::lock_guard<std::mutex> lock(stopping_mutex_);
    stopping_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(warm_mutex_);
    for (auto& [slot, proc] : warm_)
      proc->stop();
  }
  runner_.reset(); // stops and reports every child before the timers go
  timers_.reset();
}

runtime::process_request cli_base_request(const pool_config& cfg, const std::string& claude_bin,
                                          const std::optional<std::string>& working_dir) {
  runtime::process_request proc;
  proc.executable = claude_bin;
  for (auto& [name, value] : cfg.cli_env)
    proc.env_set.emplace_back(name, value);
  proc.env_set.emplace_back("CLAUDE_CODE_MAX_RETRIES", std::to_string(cfg.cli_max_retries));
  // Only the task's own requests: no session-title request, telemetry or update checks, so a
  // warm and a one-shot run of a task cost the same requests (cli_env may say otherwise).
  if (!cfg.cli_env.count("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"))
    proc.env_set.emplace_back("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
  for (auto name : stripped_cli_env)
    proc.env_unset.emplace_back(name);
  if (cfg.cli_telemetry && cfg.cli_telemetry->enabled) { // the CLI's own OTLP export
    proc.env_set.emplace_back("CLAUDE_CODE_ENABLE_TELEMETRY", "1");
    for (auto& kv : cfg.cli_telemetry->env)
      proc.env_set.push_back(kv);
  }
  if (working_dir)
    proc.working_dir = *working_dir;
  else if (cfg.working_dir)
    proc.working_dir = *cfg.working_dir;
  proc.stdout_limit = cfg.max_output_bytes;
  return proc;
}

namespace {

/// OTEL_RESOURCE_ATTRIBUTES values are percent-encoded where they hold `,`, `=`, `%` or
/// anything outside printable ASCII (the OpenTelemetry spec's rule for that variable).
std::string otel_attribute_value(const std::string& v) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (c <= 0x20 || c >= 0x7f || c == ',' || c == '=' || c == '%' || c == '"' || c == '\\') {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

} // namespace

void add_telemetry_attributes(runtime::process_request& proc, const slot_id& slot,
                              const std::string& credential) {
  const std::string name = "OTEL_RESOURCE_ATTRIBUTES";
  std::string attrs = "claude_pool.slot=" + otel_attribute_value(slot.value)
                      + ",claude_pool.credential=" + otel_attribute_value(credential);
  // Keep what the config or the pool's environment says, after ours.
  std::optional<std::string> given;
  for (auto& [k, v] : proc.env_set)
    if (k == name)
      given = v;
  if (!given)
    if (const char* env = std::getenv(name.c_str()); env && *env)
      given = env;
  if (given && !given->empty())
    attrs += "," + *given;
  proc.env_set.erase(std::remove_if(proc.env_set.begin(), proc.env_set.end(),
                                    [&](auto& kv) { return kv.first == name; }),
                     proc.env_set.end());
  proc.env_set.emplace_back(name, attrs);
}

runtime::process_request
cli_executor::base_request(const std::optional<std::string>& working_dir,
                           const std::optional<credential_profile>& credential,
                           const slot_id& slot, std::string& problem) const {
  auto proc = cli_base_request(cfg_, claude_bin_, working_dir);
  if (credential) {
    auto env = environment_for(*credential);
    problem = std::move(env.problem);
    // Later entries win: the credential's variables over cli_env's.
    for (auto& name : env.unset) {
      proc.env_set.erase(std::remove_if(proc.env_set.begin(), proc.env_set.end(),
                                        [&](auto& kv) { return kv.first == name; }),
                         proc.env_set.end());
      proc.env_unset.push_back(name);
    }
    for (auto& kv : env.set)
      proc.env_set.push_back(std::move(kv));
  }
  if (cfg_.cli_telemetry && cfg_.cli_telemetry->enabled && cfg_.cli_telemetry->slot_attributes)
    add_telemetry_attributes(proc, slot, credential ? credential->name
                                                    : std::string(default_credential_name));
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

/// The stdout of a one-shot event-stream run. A runner with `on_stdout` collects nothing, so
/// this splits the chunks into lines, hands every line to the progress reporter (if the task
/// is followed) and the limit signals, and keeps what the result parser needs within
/// max_output_bytes: all lines but the partial-message events (each repeats a piece of an
/// `assistant` event), and the `result` event always.
class event_stream_stdout {
public:
  event_stream_stdout(std::shared_ptr<progress_reporter> reporter,
                      std::shared_ptr<limit_signals> signals, std::size_t limit)
    : reporter_(std::move(reporter)), signals_(std::move(signals)), limit_(limit) {}

  void feed(std::string_view chunk) {
    if (overflow_)
      return;
    for (auto& line : lines_.feed(chunk))
      take(line);
    if (lines_.pending() > limit_)
      overflow_ = true; // one line longer than everything we may keep: give up, as JSON mode
  }

  /// Ends the stream (a last line without a newline counts) and hands over what was kept.
  void finish_into(runtime::process_outcome& out) {
    feed("\n");
    out.stdout_data = std::move(kept_);
    out.stdout_truncated = out.stdout_truncated || overflow_;
  }

private:
  void take(const std::string& line) {
    if (reporter_)
      reporter_->feed_line(line);
    signals_->feed_line(line);
    if (line.rfind(R"({"type":"stream_event")", 0) == 0)
      return;
    bool result = line.rfind(R"({"type":"result")", 0) == 0;
    if (kept_.size() + line.size() + 1 > limit_) {
      if (!result)
        return; // context for a failure message only; the result is what counts
      kept_.clear();
      if (line.size() + 1 > limit_) {
        overflow_ = true;
        return;
      }
    }
    kept_ += line;
    kept_ += '\n';
  }

  std::shared_ptr<progress_reporter> reporter_;
  std::shared_ptr<limit_signals> signals_;
  std::size_t limit_;
  stream_json::line_splitter lines_;
  std::string kept_;
  bool overflow_ = false;
};

/// The effective working directory of a request, as the child gets it.
std::string working_dir_of(const execution_request& req, const pool_config& cfg) {
  if (req.working_dir)
    return *req.working_dir;
  return cfg.working_dir.value_or(std::string());
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
  std::string login_problem;
  auto proc = base_request(req.working_dir, req.config.credential, req.slot, login_problem);
  if (!login_problem.empty()) {
    done(task_result::failure("Not logged in: " + login_problem, "auth_failed"));
    return 0;
  }
  bool live = req.live_progress;
  proc.args = build_cli_args(req.config, req.resume_session,
                             live ? cli_output::event_stream : cli_output::events);
  proc.stdin_data = std::move(req.prompt);
  if (cfg_.task_timeout_secs)
    proc.timeout = std::chrono::seconds(*cfg_.task_timeout_secs);
  auto ctx = run_context(cfg_, req.config, describe_command(claude_bin_, proc.args));
  ctx.event_stream = true;
  // All of these run on the runner's thread: on_stdout for each chunk, then the completion.
  std::shared_ptr<progress_reporter> reporter;
  if ((live || req.watch_cost) && req.on_progress)
    reporter = std::make_shared<progress_reporter>(std::move(req.on_progress));
  auto signals = std::make_shared<limit_signals>();
  auto out_lines = std::make_shared<event_stream_stdout>(reporter, signals, proc.stdout_limit);
  auto run_id = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto watchdog = start_stall_watchdog(run_id);
  proc.on_stdout = [out_lines, watchdog](std::string_view chunk) {
    if (watchdog)
      watchdog->output();
    out_lines->feed(chunk);
  };
  auto stall_secs = cfg_.stall_secs;
  auto id = runner_->start(std::move(proc), [ctx = std::move(ctx), done = std::move(done), reporter,
                                             out_lines, signals, watchdog,
                                             stall_secs](runtime::process_outcome out) {
    if (watchdog)
      watchdog->finished();
    out_lines->finish_into(out);
    if (reporter)
      reporter->finish(); // the last progress, final cost included, comes before done
    auto result = interpret_cli_run(out, ctx);
    signals->apply_to(result);
    if (watchdog && watchdog->fired() && out.end == runtime::process_end::cancelled) {
      result.subtype = "stalled";
      result.output = "the CLI printed nothing for " + std::to_string(stall_secs)
                      + " s (stall_secs); it was interrupted, then its process group killed";
    }
    done(std::move(result));
  });
  run_id->store(id);
  return id;
}

std::shared_ptr<stall_watchdog>
cli_executor::start_stall_watchdog(std::shared_ptr<std::atomic<std::uint64_t>> run_id) {
  if (cfg_.stall_secs == 0)
    return nullptr;
  {
    std::lock_guard<std::mutex> lock(warm_mutex_);
    if (!timers_)
      timers_ = std::make_unique<runtime::timer_thread>();
  }
  return stall_watchdog::start(*timers_, std::chrono::seconds(cfg_.stall_secs), [this, run_id] {
    std::lock_guard<std::mutex> lock(stopping_mutex_);
    if (!stopping_ && run_id->load() != 0)
      runner_->cancel(run_id->load()); // SIGINT to the group, then SIGKILL after the grace
  });
}

std::vector<std::string> warm_cli_args(std::vector<std::string> args) {
  auto it = std::find(args.begin(), args.end(), "--output-format=json");
  if (it != args.end())
    *it = "--output-format=stream-json";
  bool verbose = std::find(args.begin(), args.end(), "--verbose") != args.end();
  args.insert(args.begin() + 1, "--input-format=stream-json");
  if (!verbose) // stream-json output needs it; the event-stream argv has it already
    args.insert(args.begin() + 2, "--verbose");
  return args;
}

std::string warm_process_key(const resolved_config& cfg, const std::string& working_dir) {
  auto fixed = cfg;
  fixed.model.reset();
  std::string key;
  for (auto& a : build_cli_args(fixed, std::nullopt))
    key += a + '\n';
  // Sessions live per directory and tools run there: another directory, another process.
  return key + "cwd=" + working_dir + '\n';
}

/// Warm mode. Budget: the CLI's `--max-budget-usd` counts from the start of its process, so
/// a task with an allowance runs in a process started for it alone (then retired): the
/// allowance holds exactly as in one-shot mode. Unbudgeted tasks reuse the slot's process.
std::uint64_t cli_executor::start_warm(execution_request req, completion done) {
  bool budgeted = req.config.max_budget_usd.has_value();
  auto key = warm_process_key(req.config, working_dir_of(req, cfg_));
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
      std::string login_problem;
      how.proc = base_request(req.working_dir, req.config.credential, req.slot, login_problem);
      if (!login_problem.empty()) {
        warm_.erase(req.slot);
        done(task_result::failure("Not logged in: " + login_problem, "auth_failed"));
        return 0;
      }
      // A new process of a persistent slot continues the slot's last good session.
      how.proc.args = warm_cli_args(
        build_cli_args(req.config, req.resume_session, cli_output::event_stream));
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
  std::shared_ptr<progress_reporter> reporter;
  warm_process::event_sink on_event;
  if ((req.live_progress || req.watch_cost) && req.on_progress)
    reporter = std::make_shared<progress_reporter>(std::move(req.on_progress));
  // The stall watchdog: every line of the task counts as life; silence for stall_secs
  // interrupts the task (the process is killed if it does not answer within 2 s).
  std::shared_ptr<stall_watchdog> watchdog;
  if (cfg_.stall_secs) {
    std::weak_ptr<warm_process> weak = proc;
    watchdog = stall_watchdog::start(*timers_, std::chrono::seconds(cfg_.stall_secs), [weak] {
      if (auto p = weak.lock())
        p->interrupt(std::chrono::milliseconds(2000));
    });
  }
  if (reporter || watchdog)
    on_event = [reporter, watchdog](std::string_view line) {
      if (watchdog)
        watchdog->output();
      if (reporter)
        reporter->feed_line(line);
    };
  auto stall_secs = cfg_.stall_secs;
  proc->run(req.prompt, req.config.model, fresh_conversation, std::move(ctx),
            [this, id, slot = req.slot, deadline, budgeted, max_rss, reporter, watchdog,
             stall_secs, done = std::move(done)](task_result r) {
              if (watchdog) {
                watchdog->finished();
                if (watchdog->fired() && !r.success && r.subtype == "cancelled") {
                  r.subtype = "stalled";
                  r.output = "the CLI printed nothing for " + std::to_string(stall_secs)
                             + " s (stall_secs); the task was interrupted (the process "
                               "killed if it did not answer within 2 s)";
                }
              }
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
              if (reporter)
                reporter->finish(); // the last progress comes before done
              done(std::move(r));
            },
            std::move(on_event));
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
