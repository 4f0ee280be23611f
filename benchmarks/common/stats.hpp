#pragma once
/// Order statistics for benchmark samples. Medians over rounds resist the noise of a busy
/// 2-core machine better than means; percentiles use the nearest-rank definition so a p99
/// is always a latency that was actually observed.

#include <cstddef>
#include <vector>

namespace claude_pool::bench {

/// The median of `xs` (the mean of the two middle values for an even count); 0 when empty.
double median(std::vector<double> xs);

/// The nearest-rank percentile `p` (0..100) of `xs`; 0 when empty.
double percentile(std::vector<double> xs, double p);

/// p50 / p90 / p99 / max of one latency sample, in the sample's unit.
struct latency_summary {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

latency_summary summarize(std::vector<double> xs);

/// The same for a sample in microseconds, summarised in milliseconds.
latency_summary summarize_ms(std::vector<double> us);

} // namespace claude_pool::bench
