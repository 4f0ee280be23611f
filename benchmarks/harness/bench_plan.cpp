#include "benchmarks/harness/bench_plan.hpp"

#include <algorithm>

#include "benchmarks/harness/bench_command.hpp"

namespace claude_pool::bench {

namespace {

/// Sizes of one mode. Quick: every scenario once, small; full: the sizes.
struct mode_sizes {
  std::size_t routing_tasks, routing_idle_tasks;
  int routing_rounds;
  std::vector<std::size_t> process_concurrency;
  std::size_t process_tasks;
  int process_rounds;
  std::vector<std::size_t> real_concurrency;
  std::size_t real_tasks;
  int real_rounds;
  std::size_t idle_slots, task_records, queued, extra, facade_extra;
  std::size_t durability_tasks;
  int durability_rounds;
  double step_timeout_s;
};

const mode_sizes quick_sizes{20000, 1000, 1, {1, 2, 4, 8}, 150, 2, {1, 2}, 2, 1,
                             2000, 100000, 20000, 2000, 1000, 2000, 1, 120};
const mode_sizes full_sizes{200000, 20000, 3, {1, 2, 4, 8}, 1000, 5, {1, 2, 4}, 12, 5,
                            10000, 1000000, 100000, 10000, 10000, 20000, 5, 1800};

bool wanted(const bench_options& opts, const std::string& scenario) {
  return opts.only.empty()
         || std::find(opts.only.begin(), opts.only.end(), scenario) != opts.only.end();
}

} // namespace

std::vector<bench_step> plan_steps(const bench_options& opts, const bench_tools& tools,
                                   nlohmann::json& skipped) {
  const auto& m = opts.quick ? quick_sizes : full_sizes;
  auto rounds = [&](int mode_default) { return opts.rounds > 0 ? opts.rounds : mode_default; };
  std::vector<bench_step> steps;
  auto add = [&](std::string scenario, std::string label, nlohmann::json spec) {
    steps.push_back({std::move(scenario), std::move(label), std::move(spec), m.step_timeout_s});
  };

  if (wanted(opts, "routing"))
    for (std::size_t slots : {1, 4, 16, 64, 256})
      add("routing", "routing " + std::to_string(slots) + " slots",
          {{"slots", slots},
           {"tasks", m.routing_tasks},
           // More requests in flight than slots, so no slot ever waits for the client.
           {"window", std::max<std::size_t>(4 * slots, 64)},
           {"idle_tasks", m.routing_idle_tasks},
           {"rounds", rounds(m.routing_rounds)}});

  if (wanted(opts, "process")) {
    if (!tools.have_fake) {
      skipped["process"] = "the minimal fake CLI is not at " + tools.fake_cli;
    } else {
      std::vector<std::string> variants = {"raw_spawn", "process_runner", "pool"};
      if (tools.have_xargs)
        variants.push_back("xargs");
      if (tools.have_parallel)
        variants.push_back("parallel");
      else
        skipped["process.parallel"] = "GNU parallel is not installed (Debian package parallel)";
      if (tools.have_python)
        variants.push_back("python");
      for (auto c : m.process_concurrency)
        add("process", "process c=" + std::to_string(c),
            {{"concurrency", c},
             {"tasks", m.process_tasks},
             {"rounds", rounds(m.process_rounds)},
             {"fake_cli", tools.fake_cli},
             {"python_runner", tools.python_runner},
             {"variants", variants}});
    }
  }

  if (wanted(opts, "real_cli")) {
    if (!tools.have_claude)
      skipped["real_cli"] = "the claude CLI is not at " + tools.claude_bin + " (run scripts/setup)";
    else if (!tools.have_xargs)
      skipped["real_cli"] = "xargs is not installed";
    else
      for (auto c : m.real_concurrency)
        add("real_cli", "real CLI c=" + std::to_string(c),
            {{"concurrency", c},
             // Whole waves of C tasks, at least two, so the tail of a batch weighs little.
             {"tasks", std::max(m.real_tasks, 2 * c)},
             {"rounds", rounds(m.real_rounds)},
             {"claude_bin", tools.claude_bin},
             {"variants", {"xargs", "pool", "pool_warm", "raw_spawn", "process_runner"}},
             // Warm vs one-shot over a longer batch, where a warm start is paid once.
             {"steady_tasks", opts.quick ? 4 * c : std::max<std::size_t>(80, 20 * c)}});
  }

  if (wanted(opts, "scale")) {
    add("scale", "scale: idle slots", {{"measure", "idle_slots"}, {"slots", m.idle_slots}});
    add("scale", "scale: task records", {{"measure", "task_records"}, {"records", m.task_records}});
    add("scale", "scale: submission",
        {{"measure", "submission"},
         {"queued", m.queued},
         {"extra", m.extra},
         {"facade_extra", m.facade_extra}});
  }

  if (wanted(opts, "durability"))
    add("durability", "durability: no store, memory, SQLite",
        {{"slots", 4},
         {"tasks", m.durability_tasks},
         {"window", 64}, // as routing with 4 slots: no slot waits for the client
         {"rounds", rounds(m.durability_rounds)}});
  return steps;
}

} // namespace claude_pool::bench
