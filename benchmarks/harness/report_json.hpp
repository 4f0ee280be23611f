#pragma once
/// JSON forms of the harness's figures.

#include <nlohmann/json.hpp>

#include "benchmarks/common/stats.hpp"

namespace claude_pool::bench {

/// {"count", "p50", "p90", "p99", "max"}.
nlohmann::json to_json(const latency_summary& s);

} // namespace claude_pool::bench
