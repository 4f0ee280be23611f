#include "benchmarks/common/stats.hpp"

#include <algorithm>
#include <cmath>

namespace claude_pool::bench {

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

namespace {

double nearest_rank(const std::vector<double>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

} // namespace

double percentile(std::vector<double> xs, double p) {
  std::sort(xs.begin(), xs.end());
  return nearest_rank(xs, p);
}

latency_summary summarize(std::vector<double> xs) {
  latency_summary s;
  std::sort(xs.begin(), xs.end());
  s.count = xs.size();
  s.p50 = nearest_rank(xs, 50);
  s.p90 = nearest_rank(xs, 90);
  s.p99 = nearest_rank(xs, 99);
  s.max = xs.empty() ? 0 : xs.back();
  return s;
}

latency_summary summarize_ms(std::vector<double> us) {
  for (auto& x : us)
    x /= 1e3;
  return summarize(std::move(us));
}

} // namespace claude_pool::bench
