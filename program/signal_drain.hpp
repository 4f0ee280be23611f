#pragma once
/// SIGINT/SIGTERM handling for the pool-running commands: the first signal drains the pool
/// gracefully (no new work, running tasks get `drain_grace` to finish, the rest is
/// cancelled), a second one forces (cancels at once). Every accepted task still ends in a
/// terminal state and is printed: nothing is lost, only stopped.

#include <chrono>
#include <future>
#include <thread>

namespace claude_pool {
class pool;
}

namespace claude_pool::app {

class signal_drain {
public:
  /// Starts the thread that waits for SIGINT/SIGTERM. `block_signals()` must have run in
  /// main() before any thread started, so that no other thread takes the signals. Declare
  /// it after the pool it watches: it must stop (and join its drain) before the pool goes.
  explicit signal_drain(std::chrono::milliseconds drain_grace);
  ~signal_drain();

  /// The pool to drain on a signal (set once it exists).
  void watch(claude_pool::pool& p);

  /// Blocks until a signal came and the drain it started has finished (`serve`).
  void wait_until_drained();

  /// Blocks SIGINT/SIGTERM (and the internal SIGUSR2) in the calling thread; call first
  /// thing in main(), so every later thread inherits the mask.
  static void block_signals();

private:
  std::chrono::milliseconds grace_;
  std::thread waiter_;
  std::thread drainer_;
  std::promise<void> drained_;
};

} // namespace claude_pool::app
