#pragma once
/// A human-readable table of `SessionMetrics`, for the end of a batch run.

#include <ostream>

#include "messages/metrics.hpp"

namespace claude_pool::app {

void print_metrics_table(std::ostream& out, const session_metrics& m);

} // namespace claude_pool::app
