#include "messages/ids.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

namespace claude_pool {

namespace {

// One random prefix per process: the sequence number alone makes ids unique inside the
// process; the prefix keeps two processes (or two hosts of a cluster) apart.
std::uint64_t process_prefix() {
  static const std::uint64_t prefix = [] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
  }();
  return prefix;
}

std::atomic<std::uint64_t> next_sequence{1};


std::string make_id(const char* kind) {
  auto seq = next_sequence.fetch_add(1, std::memory_order_relaxed);
  char buf[56];
  std::snprintf(buf, sizeof(buf), "%s-%016llx-%llu", kind,
                static_cast<unsigned long long>(process_prefix()),
                static_cast<unsigned long long>(seq));
  return buf;
}

} // namespace

task_id make_task_id() {
  return task_id{make_id("task")};
}

chain_id make_chain_id() {
  return chain_id{make_id("chain")};
}

std::uint64_t now_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
    duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

} // namespace claude_pool
