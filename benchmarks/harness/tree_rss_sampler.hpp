#pragma once
/// Samples the summed RSS of this process's descendants (the CLI processes a pool starts,
/// with their guardians) on a background thread, for "memory per completed task".

#include <atomic>
#include <cstdint>
#include <thread>

namespace claude_pool::bench {

class tree_rss_sampler {
public:
  explicit tree_rss_sampler(int interval_ms = 20);
  ~tree_rss_sampler();
  /// Stops sampling; the figures are final afterwards.
  void stop();
  std::uint64_t peak_bytes() const { return peak_; }
  /// ∫ RSS dt over the sampling, in byte-seconds.
  double byte_seconds() const { return byte_seconds_; }

private:
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> peak_{0};
  std::atomic<double> byte_seconds_{0};
  std::thread thread_;
};

/// Summed RSS of every live descendant of this process, in bytes.
std::uint64_t descendants_rss_bytes();

} // namespace claude_pool::bench
