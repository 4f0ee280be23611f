#pragma once
// Waiting for a condition that has no event to wait on (a process disappearing, a file
// appearing, a status changing): poll with a generous deadline. Never a timing assertion.

#include <chrono>
#include <functional>
#include <thread>

namespace claude_pool::testing {

/// True as soon as `pred()` holds; false if it still does not after `limit`.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

} // namespace claude_pool::testing
