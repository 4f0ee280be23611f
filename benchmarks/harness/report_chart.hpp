#pragma once
/// The report as an SVG chart (hand-written SVG, no dependencies): one panel per scenario,
/// horizontal bars of tasks/s per concurrency, each labelled with its ratio to the baseline,
/// and the targets drawn as dashed marks, so the ratios read at a glance.

#include <string>

#include <nlohmann/json.hpp>

namespace claude_pool::bench {

std::string render_chart(const nlohmann::json& report);

} // namespace claude_pool::bench
