// bench_budget: what a budget buys, by policy. The issue-18 scenario through the real CLI and
// the bundled mock: N tasks of a cost the pool does not know (two turns each) on S slots
// against a cap of C tasks' worth, run with the `learn` policy and with `fixed` (the policy
// before issue 18) in interleaved rounds. Prints, per policy: tasks completed, tasks cut by
// the CLI's --max-budget-usd (paid for, answer dropped), tasks stopped by the pool, spend,
// and completed tasks per dollar of cap. Figures only: nothing here asserts.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "benchmarks/common/mock_cli_env.hpp"
#include "claude_pool/pool.hpp"

using namespace claude_pool;

namespace {

struct figures {
  std::uint64_t completed = 0, cut_by_cli = 0, stopped = 0, refused = 0, spent = 0;
};

figures run_once(const bench::mock_cli_env& env, const std::string& policy, int tasks,
                 std::uint64_t slots, std::uint64_t cap, const std::string& usage) {
  auto cfg = env.config();
  cfg.initial_slots = slots;
  cfg.scaling.max_slots = slots;
  cfg.budget_microdollars = cap;
  cfg.budget_policy = policy;
  claude_pool::pool p(cfg);
  std::vector<task_id> ids;
  for (int i = 0; i < tasks; ++i)
    ids.push_back(p.submit("task " + std::to_string(i)
                           + R"( [[mock:tool_use=Bash {"command":"echo hi"}]] [[mock:usage=)"
                           + usage + "]]"));
  figures f;
  for (auto& id : ids) {
    auto rec = p.wait(id);
    auto subtype = rec.result ? rec.result->subtype.value_or("") : "";
    f.completed += rec.state == task_state::completed;
    f.cut_by_cli += subtype == "error_max_budget_usd";
    f.stopped += subtype == "budget_exhausted" && rec.result->cost_microdollars > 0;
    f.refused += subtype == "budget_exhausted" && rec.result->cost_microdollars == 0;
  }
  f.spent = p.status().budget->spent_microdollars;
  return f;
}

void print(const std::string& policy, const figures& f, std::uint64_t cap) {
  std::cout << "  " << policy << ": " << f.completed << " completed, " << f.cut_by_cli
            << " cut by the CLI, " << f.stopped << " stopped by the pool, " << f.refused
            << " refused; spent $" << static_cast<double>(f.spent) / 1e6 << " of $"
            << static_cast<double>(cap) / 1e6 << "; "
            << static_cast<double>(f.completed) / (static_cast<double>(cap) / 1e6)
            << " completed per $ of cap\n";
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_budget: completed tasks per dollar of cap, learn vs fixed policy"};
  std::string claude_bin = CLAUDE_POOL_BUNDLED_CLI;
  int tasks = 30, rounds = 1;
  std::uint64_t slots = 8;
  double cap_tasks = 10.5;
  std::string usage = "15000/3000"; // $0.15 a turn at the CLI's prices: $0.30 a task
  app.add_option("--claude-bin", claude_bin, "the CLI (default: the bundled one)");
  app.add_option("--tasks", tasks, "tasks per run (default 30)");
  app.add_option("--slots", slots, "slots (default 8)");
  app.add_option("--cap-tasks", cap_tasks, "the cap in tasks' worth (default 10.5)");
  app.add_option("--rounds", rounds, "interleaved rounds of both policies (default 1)");
  CLI11_PARSE(app, argc, argv);
  bench::mock_cli_env env(claude_bin);
  const std::uint64_t task_cost = 300000;
  auto cap = static_cast<std::uint64_t>(cap_tasks * static_cast<double>(task_cost));
  std::cout << "bench_budget: " << tasks << " tasks of $0.30 (two turns, cost unknown to the "
            << "pool) on " << slots << " slots, cap $" << static_cast<double>(cap) / 1e6
            << "\n";
  for (int r = 0; r < rounds; ++r) {
    std::cout << "round " << r + 1 << "\n";
    for (auto policy : {"learn", "fixed"})
      print(policy, run_once(env, policy, tasks, slots, cap, usage), cap);
  }
  return 0;
}
