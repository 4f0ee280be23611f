#pragma once
/// The child side of a benchmark step: run it, write its figures (or its error) as JSON.

#include <string>

namespace claude_pool::bench {

/// Runs the step `spec_text` describes and writes `{...figures, "peak_rss_kib"}` or
/// `{"error": …}` to `result_path`. Returns 0, or 1 when the step failed.
int run_step_child(const std::string& spec_text, const std::string& result_path);

} // namespace claude_pool::bench
