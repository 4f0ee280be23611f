#pragma once
/// The benchmark's steps. Each runs in a child process of its own (so one step's memory and
/// threads never weigh on the next, and its peak RSS is its own), takes its parameters as a
/// JSON `spec` and returns its figures as JSON. Shapes are described in benchmarks/README.md.

#include <string>

#include <nlohmann/json.hpp>

namespace claude_pool::bench {

/// 1. Routing only: an in-process executor that completes at once.
/// spec: slots, tasks, window, idle_tasks, rounds.
nlohmann::json run_routing_step(const nlohmann::json& spec);

/// 2. Process level: the minimal fake CLI through the pool vs the raw spawn loop, xargs,
/// GNU parallel and the Python runner. spec: concurrency, tasks, rounds, fake_cli,
/// python_runner, variants.
nlohmann::json run_process_step(const nlohmann::json& spec);

/// 3. The real CLI against the mock API: pool vs xargs. spec: concurrency, tasks, rounds,
/// claude_bin.
nlohmann::json run_real_cli_step(const nlohmann::json& spec);

/// 4. Scale. spec: measure ("idle_slots" | "task_records" | "submission") and its size.
nlohmann::json run_scale_step(const nlohmann::json& spec);

/// 5. Durability: the routing pool with no store, the in-memory store and SQLite, in
/// interleaved rounds. spec: slots, tasks, window, rounds.
nlohmann::json run_durability_step(const nlohmann::json& spec);

/// Shows what a step is doing on stderr when it is a terminal (one rewritten line);
/// prints nothing otherwise, the parent prints one line per step then.
void step_progress(const nlohmann::json& spec, const std::string& what);

} // namespace claude_pool::bench
