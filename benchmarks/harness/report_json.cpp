#include "benchmarks/harness/report_json.hpp"

namespace claude_pool::bench {

nlohmann::json to_json(const latency_summary& s) {
  return {{"count", s.count}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"max", s.max}};
}

} // namespace claude_pool::bench
