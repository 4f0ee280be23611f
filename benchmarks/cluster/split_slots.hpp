#pragma once
/// Part 2 of bench_cluster: one batch on four slots, with the slots in the serving process,
/// on one slot host, or split over two slot hosts (`claude-pool serve --join`). Every run
/// starts fresh `claude-pool serve` processes (the real CLI against each node's bundled
/// mock API) and stops them with SIGTERM; nothing outlives the benchmark (the children die
/// with it, PR_SET_PDEATHSIG).

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace claude_pool::bench {

struct split_slots_plan {
  std::string app;    ///< the claude-pool program
  int tasks = 24;     ///< per batch
  int rounds = 2;     ///< each scenario once per round, the order rotating
  int delay_ms = 300; ///< the mock API's latency per request ([[mock:delay_ms=N]])
  std::function<void(const std::string&)> progress;
};

/// Where the four slots are.
struct slot_layout {
  std::string name;        ///< `local`, `one_host`, `two_hosts`
  std::string description;
  int local_slots = 0;     ///< the serving process's own (0: a coordinator)
  std::vector<std::pair<std::string, int>> hosts; ///< slot hosts: name, slots
};

/// The three layouts of the issue: (a) 4 local slots, (b) a coordinator and one slot host
/// with 4, (c) a coordinator and two slot hosts with 2 each.
std::vector<slot_layout> standard_layouts();

/// One batch on one fresh set of processes.
struct batch_run {
  double wall_s = 0;        ///< first submit → last completion, seen by the client
  double tasks_per_s = 0;
  int completed = 0;
  int not_completed = 0;
  std::string first_failure; ///< a failed task's output, to act on
  std::map<std::string, int> tasks_per_host; ///< "local" for the serving process's slots
  bool stopped_cleanly = true; ///< every process exited 0 after SIGTERM
  /// Every slot host exited within 5 s of its SIGTERM while the serving node still ran
  /// (trivially true without slot hosts).
  bool hosts_left_alone = true;
  double task_s_median = 0, task_s_max = 0; ///< a task's start → end, as its record says
  double client_cpu_s = 0;  ///< CPU the benchmark process (the client) used during the batch
  /// CPU of every node process over its whole life, with its CLI processes.
  double nodes_cpu_s = 0;
  double startup_s = 0;     ///< processes started → four idle slots in status
  std::string error;        ///< set when the run could not finish
};

struct layout_figures {
  slot_layout layout;
  std::vector<batch_run> runs;
  double median_tasks_per_s = 0;
  double median_wall_s = 0;
  std::vector<double> round_ratios_to_local; ///< tasks/s over `local`'s in the same round
  double ratio_to_local = 0;                 ///< median of `round_ratios_to_local`
  bool all_completed = false;     ///< every task of every run
  bool used_every_host = false;   ///< in every run, every host of the layout ran tasks
};

/// Runs every layout `plan.rounds` times, interleaved (the first of standard_layouts() is
/// the baseline of the ratios); never throws for a failed run (its
/// `error` says why).
std::vector<layout_figures> measure_split_slots(const split_slots_plan& plan);

} // namespace claude_pool::bench
