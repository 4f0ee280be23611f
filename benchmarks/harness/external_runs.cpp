#include "benchmarks/harness/external_runs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <future>
#include <thread>

#include "benchmarks/harness/bench_executors.hpp"
#include "runtime/process/process_runner.hpp"

namespace claude_pool::bench {

namespace {

std::vector<char*> c_strings(std::vector<std::string>& xs) {
  std::vector<char*> out;
  for (auto& x : xs)
    out.push_back(x.data());
  out.push_back(nullptr);
  return out;
}

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

/// Children start with an empty signal mask and default dispositions (this process ignores
/// SIGPIPE), as the pool's children do.
struct spawn_attributes {
  posix_spawnattr_t attr;
  spawn_attributes() {
    ::posix_spawnattr_init(&attr);
    sigset_t none, pipe_only;
    sigemptyset(&none);
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setsigdefault(&attr, &pipe_only);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~spawn_attributes() { ::posix_spawnattr_destroy(&attr); }
};

/// One run: spawn, write the prompt, read stdout to EOF, reap. True if it exited 0 and
/// printed something.
///
/// Deliberately raw posix_spawn, not runtime::spawn (which everything else in the tree uses):
/// this loop is the physical limit the pool is measured against. glibc's posix_spawn is a
/// vfork-style clone that shares this process's memory until the exec (no page tables are
/// copied); going through the tree's fork-based helper would put that helper's own cost into
/// the baseline and hide it from the comparison.
bool spawn_once(const std::string& exe, char* const* argv, char* const* envp,
                const std::string& working_dir, const posix_spawnattr_t& attr,
                const std::string& prompt) {
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0)
    return false;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    close_fd(in[0]);
    close_fd(in[1]);
    return false;
  }
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  if (!working_dir.empty())
    ::posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, exe.c_str(), &actions, &attr, argv, envp);
  ::posix_spawn_file_actions_destroy(&actions);
  close_fd(in[0]);
  close_fd(out[1]);
  bool ok = rc == 0;
  if (ok) {
    // The prompt is far below PIPE_BUF: one write never blocks on a child that is slow to read.
    std::size_t written = 0;
    while (written < prompt.size()) {
      auto n = ::write(in[1], prompt.data() + written, prompt.size() - written);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      written += static_cast<std::size_t>(n);
    }
  }
  close_fd(in[1]);
  std::size_t got = 0;
  char buf[4096];
  for (;;) {
    auto n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  close_fd(out[0]);
  if (!ok)
    return false;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 && got > 0;
}

} // namespace

batch_outcome run_raw_spawn_loop(const cli_invocation& inv, std::size_t tasks,
                                 std::size_t concurrency, const std::string& prompt) {
  auto arg_strings = inv.args;
  arg_strings.insert(arg_strings.begin(), inv.executable);
  auto env_strings = inv.environment();
  auto argv = c_strings(arg_strings);
  auto envp = c_strings(env_strings);
  spawn_attributes attrs;
  std::atomic<std::size_t> next{0}, failed{0};
  auto worker = [&] {
    for (auto i = next++; i < tasks; i = next++)
      if (!spawn_once(inv.executable, argv.data(), envp.data(), inv.working_dir, attrs.attr,
                      prompt + " " + std::to_string(i)))
        ++failed;
  };
  auto t0 = now_ns();
  std::vector<std::thread> threads;
  for (std::size_t k = 1; k < concurrency; ++k)
    threads.emplace_back(worker);
  worker(); // this thread is one of the C
  for (auto& t : threads)
    t.join();
  batch_outcome out;
  out.wall_s = static_cast<double>(now_ns() - t0) / 1e9;
  out.failed = failed;
  return out;
}

batch_outcome run_process_runner_loop(const cli_invocation& inv, std::size_t tasks,
                                      std::size_t concurrency, const std::string& prompt) {
  // After the first starts, only completions touch this state, and they all run on the
  // runner's one I/O thread: no lock. The promise hands the end to the waiting caller.
  struct loop_state {
    std::size_t started = 0, finished = 0, failed = 0;
    std::promise<void> all_done;
  } st;
  runtime::process_runner runner;
  std::function<void(std::size_t)> start_one;
  auto on_done = [&](runtime::process_outcome o) {
    if (o.end != runtime::process_end::exited || o.exit_code != 0 || o.stdout_data.empty())
      ++st.failed;
    if (st.started < tasks)
      start_one(st.started++);
    if (++st.finished == tasks)
      st.all_done.set_value();
  };
  start_one = [&](std::size_t i) {
    runner.start(inv.process_request(prompt + " " + std::to_string(i)), on_done);
  };
  auto t0 = now_ns();
  auto first = std::min(tasks, concurrency);
  st.started = first; // before the first start: a completion may come at once
  for (std::size_t i = 0; i < first; ++i)
    start_one(i);
  if (tasks > 0)
    st.all_done.get_future().wait();
  batch_outcome out;
  out.wall_s = static_cast<double>(now_ns() - t0) / 1e9;
  out.failed = st.failed;
  return out;
}

batch_outcome run_external(const std::vector<std::string>& argv, const cli_invocation& inv,
                           std::string stdin_data) {
  runtime::process_request req;
  req.executable = argv.at(0);
  req.args.assign(argv.begin() + 1, argv.end());
  req.stdin_data = std::move(stdin_data);
  req.env_set = inv.env_set;
  req.env_unset = inv.env_unset;
  req.working_dir = inv.working_dir;
  req.stdout_limit = 0;
  req.stderr_limit = 1024;
  runtime::process_runner runner;
  std::promise<runtime::process_outcome> done;
  auto t0 = now_ns();
  runner.start(std::move(req), [&done](runtime::process_outcome o) { done.set_value(std::move(o)); });
  auto o = done.get_future().get();
  batch_outcome out;
  out.wall_s = static_cast<double>(now_ns() - t0) / 1e9;
  if (o.end != runtime::process_end::exited || o.exit_code != 0) {
    out.error = argv[0] + " ended " + runtime::to_string(o.end) + " (exit "
                + std::to_string(o.exit_code) + ")" + (o.spawn_error.empty() ? "" : ": ")
                + o.spawn_error + (o.stderr_data.empty() ? "" : ": ") + o.stderr_data;
    out.failed = 1;
  }
  return out;
}

std::optional<std::string> find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return ::access(name.c_str(), X_OK) == 0 ? std::optional<std::string>(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(start, end - start);
    auto candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st{};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)
        && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::string first_output_line(const std::vector<std::string>& argv) {
  auto exe = find_in_path(argv.at(0));
  if (!exe)
    return {};
  runtime::process_request req;
  req.executable = *exe;
  req.args.assign(argv.begin() + 1, argv.end());
  req.timeout = std::chrono::seconds(20);
  req.stdout_limit = 4096;
  runtime::process_runner runner;
  std::promise<runtime::process_outcome> done;
  runner.start(std::move(req), [&done](runtime::process_outcome o) { done.set_value(std::move(o)); });
  auto o = done.get_future().get();
  auto text = o.stdout_data.empty() ? o.stderr_data : o.stdout_data;
  return text.substr(0, text.find('\n'));
}

} // namespace claude_pool::bench
