#include "runtime/cli/warm_process.hpp"

#include <atomic>
#include <fstream>
#include <random>

#include <dirent.h>

namespace claude_pool {

namespace {

std::string unique_marker() {
  static std::atomic<std::uint64_t> counter{0};
  std::random_device rd;
  return "CLAUDE_POOL_WARM_ID=" + std::to_string(rd()) + "-" + std::to_string(++counter);
}

/// VmRSS of one process in bytes (0 when it is gone).
std::uint64_t rss_of(const std::string& pid) {
  std::ifstream status("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024; // "VmRSS:   12345 kB"
  return 0;
}

} // namespace

std::shared_ptr<warm_process> warm_process::launch(runtime::process_runner& runner,
                                                   runtime::timer_thread& timers,
                                                   warm_launch how) {
  auto marker = unique_marker();
  std::shared_ptr<warm_process> p(
    new warm_process(runner, timers, std::move(how.key), std::move(how.model), marker));
  auto eq = marker.find('=');
  how.proc.env_set.emplace_back(marker.substr(0, eq), marker.substr(eq + 1));
  how.proc.keep_stdin_open = true;
  how.proc.stdin_data.clear();
  how.proc.timeout = std::chrono::milliseconds(0); // per task, not per process
  std::weak_ptr<warm_process> weak = p;
  how.proc.on_stdout = [weak](std::string_view chunk) {
    if (auto self = weak.lock())
      self->on_stdout(chunk);
  };
  // The completion keeps the object alive until the process is gone and reported.
  auto keep = p;
  std::lock_guard<std::mutex> lock(p->mutex_);
  p->proc_ = runner.start(std::move(how.proc),
                          [keep](runtime::process_outcome out) { keep->on_exit(std::move(out)); });
  return p;
}

warm_process::warm_process(runtime::process_runner& runner, runtime::timer_thread& timers,
                           std::string key, std::optional<std::string> model, std::string marker)
  : runner_(runner), timers_(timers), key_(std::move(key)), marker_(std::move(marker)),
    model_(std::move(model)) {
}

warm_process::~warm_process() = default;

void warm_process::write(std::string line) {
  runner_.write(proc_, std::move(line));
}

void warm_process::run(const std::string& prompt, const std::optional<std::string>& model,
                       bool fresh, cli_run_context ctx, completion done,
                       event_sink on_event) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!alive_ || phase_ != phase::idle) {
    lock.unlock();
    done(task_result::failure("the warm CLI process is not available for a new task",
                              "spawn_failed"));
    return;
  }
  ctx_ = std::move(ctx);
  done_ = std::move(done);
  sink_.reset();
  if (on_event)
    sink_ = std::make_shared<const event_sink>(std::move(on_event));
  task_started_ = std::chrono::steady_clock::now();
  signals_.reset();
  kill_reason_.reset();
  if (model && model != model_) {
    write(stream_json::control_line("set-model-" + std::to_string(++request_seq_),
                                    {{"subtype", "set_model"}, {"model", *model}}));
    model_ = model;
  }
  if (fresh) {
    // Both lines at once: the CLI takes stdin in order, so the task starts in the fresh
    // conversation without waiting a round trip for /clear's own result.
    phase_ = phase::clearing;
    write(stream_json::user_line("/clear") + stream_json::user_line(prompt));
  } else {
    phase_ = phase::running;
    write(stream_json::user_line(prompt));
  }
}

void warm_process::interrupt(std::chrono::milliseconds grace) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!alive_ || phase_ == phase::idle || phase_ == phase::interrupting)
    return;
  phase_ = phase::interrupting;
  tainted_ = true;
  write(stream_json::control_line("interrupt-" + std::to_string(++request_seq_),
                                  {{"subtype", "interrupt"}}));
  std::weak_ptr<warm_process> weak = shared_from_this();
  grace_timer_ = timers_.after(grace, [weak] {
    if (auto self = weak.lock())
      self->kill(runtime::process_end::cancelled);
  });
}

void warm_process::kill(runtime::process_end why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!alive_)
    return;
  tainted_ = true;
  if (!kill_reason_)
    kill_reason_ = why;
  runner_.cancel(proc_);
}

void warm_process::stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!alive_)
    return;
  tainted_ = true;
  runner_.close_stdin(proc_);
  runner_.cancel(proc_);
}

bool warm_process::usable() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return alive_ && !tainted_ && phase_ == phase::idle;
}

bool warm_process::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return phase_ != phase::idle;
}

std::optional<std::string> warm_process::model() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return model_;
}

std::optional<std::string> warm_process::last_good_message() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_good_;
}

std::uint32_t warm_process::tasks_run() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tasks_;
}

std::uint64_t warm_process::rss_bytes() const {
  std::uint64_t total = 0;
  auto dir = ::opendir("/proc");
  if (!dir)
    return 0;
  while (auto entry = ::readdir(dir)) {
    std::string pid = entry->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream env("/proc/" + pid + "/environ");
    std::string content((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    if (content.find(marker_) != std::string::npos)
      total += rss_of(pid);
  }
  ::closedir(dir);
  return total;
}

void warm_process::on_stdout(std::string_view chunk) {
  std::vector<std::string> complete;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    complete = lines_.feed(chunk);
  }
  for (auto& line : complete)
    on_line(line);
}

void warm_process::on_line(const std::string& line) {
  // Lines of the running task go to its sink; /clear's do not (a fresh task's tracker would
  // count its synthetic message).
  std::shared_ptr<const event_sink> sink;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (phase_ == phase::running || phase_ == phase::interrupting)
      sink = sink_;
  }
  // Partial-message events (every warm process asks for them) matter only to a sink: not
  // parsed here, so a process nobody follows pays next to nothing for them.
  if (line.rfind(R"({"type":"stream_event")", 0) == 0) {
    if (sink)
      (*sink)(line);
    return;
  }
  auto event = nlohmann::json::parse(line, nullptr, false);
  if (event.is_discarded() || !event.is_object())
    return;
  auto type = event.value("type", "");
  if (type != "result") {
    signals_.feed_line(line);
    if (type == "assistant" && event.contains("uuid") && event["uuid"].is_string()) {
      std::lock_guard<std::mutex> lock(mutex_);
      last_assistant_ = event["uuid"].get<std::string>();
    }
    if (sink)
      (*sink)(line); // system, user and control_response lines: the sink picks what it needs
    return;
  }
  completion done;
  task_result result;
  std::string per_task_line;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto mine = stream_json::per_task_result(event, cost_);
    if (phase_ == phase::clearing) {
      phase_ = phase::running; // /clear's own result; the task's comes next
      return;
    }
    if (phase_ == phase::idle)
      return;
    bool interrupted = phase_ == phase::interrupting;
    if (grace_timer_) {
      timers_.cancel(*grace_timer_);
      grace_timer_.reset();
    }
    runtime::process_outcome out;
    out.end = runtime::process_end::exited;
    out.exit_code = mine.value("is_error", false) ? 1 : 0;
    out.stdout_data = mine.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - task_started_);
    result = interpret_cli_run(out, ctx_);
    signals_.apply_to(result);
    if (sink)
      per_task_line = std::move(out.stdout_data);
    if (interrupted) {
      result.success = false;
      result.subtype = "cancelled";
      result.output = "the task was cancelled; the warm CLI process was interrupted";
    }
    if (!result.success)
      tainted_ = true; // its prompt may linger in the conversation
    else if (last_assistant_)
      last_good_ = last_assistant_;
    last_assistant_.reset();
    ++tasks_;
    phase_ = phase::idle;
    done = std::move(done_);
    sink_.reset();
  }
  if (sink)
    (*sink)(per_task_line); // the task's own cost, not the process's running total
  if (done)
    done(std::move(result));
}

void warm_process::on_exit(runtime::process_outcome out) {
  completion done;
  task_result result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    alive_ = false;
    if (grace_timer_) {
      timers_.cancel(*grace_timer_);
      grace_timer_.reset();
    }
    if (phase_ == phase::idle || !done_)
      return;
    if (kill_reason_)
      out.end = *kill_reason_;
    else if (phase_ == phase::interrupting)
      out.end = runtime::process_end::cancelled;
    out.stdout_data.clear(); // consumed as events; what is left is not a result
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - task_started_);
    result = interpret_cli_run(out, ctx_);
    signals_.apply_to(result);
    phase_ = phase::idle;
    done = std::move(done_);
    sink_.reset();
  }
  done(std::move(result));
}

} // namespace claude_pool
