#pragma once
/// Human-readable tables of `SessionMetrics` and `pool_status`, for the end of a batch run.

#include <ostream>

#include "messages/metrics.hpp"
#include "messages/requests.hpp"

namespace claude_pool::app {

void print_metrics_table(std::ostream& out, const session_metrics& m);
void print_status_table(std::ostream& out, const pool_status& st);

} // namespace claude_pool::app
