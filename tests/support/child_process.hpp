#pragma once
// A program started in the background for a test (a served pool, a slot host): its pid, so
// the test can SIGTERM or SIGKILL exactly that process, and its output in a log file.

#include "runtime/process/spawn.hpp"

#include <cerrno>
#include <csignal>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/wait.h>

namespace claude_pool::testing {

class child_process {
public:
  /// Starts `argv` with this environment minus `unset`, plus `set` ("NAME=value"); stdout
  /// and stderr go to `log`. pid() is -1 when it could not start.
  child_process(const std::vector<std::string>& argv, const std::string& log,
                const std::vector<std::string>& unset = {},
                const std::vector<std::string>& set = {})
    : log_(log) {
    runtime::spawn_spec spec;
    spec.executable = argv.at(0);
    spec.args.assign(argv.begin() + 1, argv.end());
    spec.env_unset = unset;
    for (const auto& kv : set) {
      auto eq = kv.find('=');
      spec.env_set.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
    spec.in = runtime::spawn_stream::null_device();
    spec.out = runtime::spawn_stream::file(log);
    spec.err = runtime::spawn_stream::same_as_out();
    auto started = runtime::spawn(spec);  // also gives it a clean signal mask, whatever Catch2 set
    pid_ = started ? started.pid : -1;
  }

  ~child_process() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  int pid() const { return pid_; }
  void signal(int sig) { ::kill(pid_, sig); }

  /// Waits for the end; the exit code, or 128 + signal.
  int wait() {
    if (reaped_)
      return status_;
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }

  std::string log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

private:
  std::string log_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

} // namespace claude_pool::testing
