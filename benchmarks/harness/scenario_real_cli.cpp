// Scenario 3, the real CLI against the bundled mock API: N tasks at concurrency C through the
// pool vs `xargs -P C` running the same command lines, interleaved round by round.
// Same command line means: the executable, argv, environment changes (temporary HOME, the
// mock's ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1,
// CLAUDE_CODE_MAX_RETRIES, CLAUDECODE removed) and working directory the pool's executor
// uses, and the prompt on stdin. xargs cannot redirect stdin per item by itself, so each of
// its items runs `sh -c 'exec CLI ARGV… < prompt-file'`: one exec of a shell more per task
// (about a millisecond against a CLI run of about a second).
// Two more variants take the difference apart: raw_spawn (posix_spawn with the prompt piped
// in, as the pool does) and process_runner (the library's runner without the actors).
// pool_warm runs the same tasks through warm slots (one long-lived stream-json CLI process
// per slot, started inside the timed batch like everything else).
#include <algorithm>
#include <fstream>
#include <map>

#include "benchmarks/common/mock_cli_env.hpp"
#include "benchmarks/common/temp_dir.hpp"
#include "benchmarks/harness/comparison_variants.hpp"
#include "benchmarks/harness/pool_driver.hpp"
#include "benchmarks/harness/scenarios.hpp"
#include "benchmarks/harness/tree_rss_sampler.hpp"
#include "runtime/cli/cli_executor.hpp"

namespace claude_pool::bench {

namespace {

/// Writes `dir/prompt-i` ("<prompt> <i>", the pool's prompt for task i) for i < n and a list
/// of their paths; returns the list's path.
std::string prompt_list(const std::string& dir, const std::string& prompt, std::size_t n) {
  auto list = dir + "/prompts-" + std::to_string(n);
  std::ofstream paths(list, std::ios::trunc);
  for (std::size_t i = 0; i < n; ++i) {
    auto path = dir + "/prompt-" + std::to_string(i);
    std::ofstream(path, std::ios::trunc) << prompt << " " << i;
    paths << path << "\n";
  }
  return list;
}

/// One batch of `n` tasks through a fresh pool, with the RSS of every process it starts
/// sampled: tasks/s and memory per completed task.
nlohmann::json sampled_batch(const pool_config& cfg, const std::string& claude_bin,
                             const std::string& prompt, std::size_t n) {
  drive_plan plan;
  plan.tasks = n;
  plan.prompt = prompt;
  tree_rss_sampler sampler;
  auto r = run_through_pool(cfg, std::make_shared<cli_executor>(cfg, claude_bin), plan);
  sampler.stop();
  double mib = 1024.0 * 1024.0;
  return {{"tasks", n},
          {"failed", r.failed},
          {"wall_s", r.wall_s},
          {"tasks_per_s", r.wall_s > 0 ? static_cast<double>(n) / r.wall_s : 0.0},
          {"peak_tree_rss_mib", static_cast<double>(sampler.peak_bytes()) / mib},
          {"peak_tree_rss_mib_per_task", static_cast<double>(sampler.peak_bytes()) / mib / n},
          {"rss_mib_seconds_per_task", sampler.byte_seconds() / mib / n}};
}

/// Warm against one-shot over a longer batch, where the warm processes' start (about a
/// second each) is paid once: the steady state a long batch sees.
nlohmann::json warm_steady_state(const pool_config& one_shot, const pool_config& warm,
                                 const std::string& claude_bin, const std::string& prompt,
                                 std::size_t n, const nlohmann::json& spec) {
  step_progress(spec, "steady state: one-shot, " + std::to_string(n) + " tasks");
  auto a = sampled_batch(one_shot, claude_bin, prompt, n);
  step_progress(spec, "steady state: warm, " + std::to_string(n) + " tasks");
  auto b = sampled_batch(warm, claude_bin, prompt, n);
  double ratio = a.value("tasks_per_s", 0.0) > 0
                   ? b.value("tasks_per_s", 0.0) / a.value("tasks_per_s", 1.0)
                   : 0.0;
  return {{"one_shot", a}, {"warm", b}, {"warm_to_one_shot", ratio}};
}

} // namespace

nlohmann::json run_real_cli_step(const nlohmann::json& spec) {
  auto c = spec.at("concurrency").get<std::size_t>();
  auto tasks = spec.at("tasks").get<std::size_t>();
  auto rounds = spec.at("rounds").get<int>();
  auto claude_bin = spec.at("claude_bin").get<std::string>();
  auto wanted = spec.at("variants").get<std::vector<std::string>>();
  const std::string prompt = "benchmark task";

  mock_cli_env env(claude_bin);
  temp_dir prompts("claude-pool-bench-prompts");
  auto cfg = env.config();
  cfg.initial_slots = c;
  cfg.scaling.max_slots = std::max<std::uint64_t>(c, cfg.scaling.max_slots);
  auto inv = invocation_for(cfg, claude_bin);

  std::map<std::size_t, std::string> lists;
  auto list_for = [&](std::size_t n) -> const std::string& {
    auto it = lists.find(n);
    if (it == lists.end())
      it = lists.emplace(n, prompt_list(prompts.path(), prompt, n)).first;
    return it->second;
  };

  pool_latencies latencies, warm_latencies;
  auto warm_cfg = cfg;
  warm_cfg.execution = execution_mode::warm;
  warm_cfg.slot_mode = slot_mode::ephemeral; // a fresh context per task, as one-shot has
  std::vector<variant> all = {
    raw_spawn_variant(inv, c, prompt),
    process_runner_variant(inv, c, prompt),
    pool_variant(cfg, claude_bin, prompt, latencies),
    pool_variant(warm_cfg, claude_bin, prompt, warm_latencies, "pool_warm"),
    {"xargs",
     [&](std::size_t n) {
       std::vector<std::string> argv = {"xargs", "-P", std::to_string(c), "-a", list_for(n),
                                        "-I", "{}", "sh", "-c", "exec \"$0\" \"$@\" < {}",
                                        inv.executable};
       argv.insert(argv.end(), inv.args.begin(), inv.args.end());
       return run_external(argv, inv);
     }},
  };
  auto results = interleaved_rounds(select(all, wanted), std::min<std::size_t>(tasks, c), tasks,
                                    rounds, "xargs",
                                    [progress = round_progress(spec, rounds, latencies),
                                     &latencies, &warm_latencies](int round, const std::string& name) {
                                      progress(round, name);
                                      warm_latencies.measuring = latencies.measuring;
                                    });
  if (results.contains("pool"))
    results["pool"]["latency_ms"] = latencies.to_json();
  if (results.contains("pool_warm"))
    results["pool_warm"]["latency_ms"] = warm_latencies.to_json();
  nlohmann::json steady;
  if (std::find(wanted.begin(), wanted.end(), "pool_warm") != wanted.end()
      && spec.value("steady_tasks", 0) > 0)
    steady = warm_steady_state(cfg, warm_cfg, claude_bin, prompt,
                               spec.value("steady_tasks", std::size_t{0}), spec);
  auto command = inv.args;
  command.insert(command.begin(), inv.executable);
  return {{"concurrency", c},
          {"tasks", tasks},
          {"rounds", rounds},
          {"command", command},
          {"environment", inv.env_set},
          {"variants", results},
          {"warm_steady_state", steady}};
}

} // namespace claude_pool::bench
