#pragma once
/// What the figures were measured on: the machine and the versions of everything compared.

#include <nlohmann/json.hpp>

namespace claude_pool::bench {

struct bench_tools;

/// nproc, CPU model, kernel, memory, load average at the start.
nlohmann::json machine_info();

/// The 1, 5 and 15 minute load averages now: another busy process on a 2-core machine
/// shows here before it shows in the figures.
nlohmann::json load_average();

/// CPU seconds every core of the machine has spent busy since boot (/proc/stat). The
/// difference over a step, less the step's own CPU, is what other processes took meanwhile:
/// the noise indicator of that step's figures.
double machine_busy_cpu_s();

/// claude-pool, CAF, the compiler, the claude CLI, python3, xargs, GNU parallel.
nlohmann::json version_info(const bench_tools& tools);

} // namespace claude_pool::bench
