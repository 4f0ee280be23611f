#pragma once
/// Reading a finished report: the targets, met or not, and a plain-text table.

#include <string>

#include <nlohmann/json.hpp>

namespace claude_pool::bench {

/// One entry per target of issue 5: {"target", "met" (true, false, or null when its
/// scenario did not run), "measured"}; a figure with no target to meet (durability) has
/// "met" null and "figure": true once measured.
nlohmann::json evaluate_targets(const nlohmann::json& scenarios);

/// The figures as a few aligned tables, for stdout.
std::string summary_text(const nlohmann::json& report);

/// A number with `digits` after the point ("0.93").
std::string fixed(double x, int digits);

/// A rate with as many digits as tell something: "2.47/s", "44.1/s", "1934/s".
std::string rate(double per_s);

} // namespace claude_pool::bench
