#pragma once
/// Live progress on stderr for `batch --live` and `chain`: a background thread looks at the
/// pool a few times a second and prints a line for whatever changed (a running task's turns,
/// tool uses, cost so far, the end of its partial answer; a chain's current step). Lines,
/// not a redrawn screen, so it reads the same in a terminal, a log file, or a test.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include "messages/records.hpp"

namespace claude_pool::app {

/// One line about a task's progress: `turns 2, tools 1 (last Bash), $0.010000 so far, "…"`.
std::string describe_progress(const task_progress& p);

class progress_display {
public:
  /// `look` returns the current line per key (a task or chain id); a line is printed when it
  /// differs from the last one printed for its key.
  using snapshot = std::function<std::map<std::string, std::string>()>;

  progress_display(std::ostream& out, snapshot look,
                   std::chrono::milliseconds period = std::chrono::milliseconds(250));
  /// Takes a last look, then stops.
  ~progress_display();

  progress_display(const progress_display&) = delete;
  progress_display& operator=(const progress_display&) = delete;

private:
  void print_changes();

  std::ostream& out_;
  snapshot look_;
  std::chrono::milliseconds period_;
  std::map<std::string, std::string> shown_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace claude_pool::app
