#include "benchmarks/cluster/split_slots.hpp"

#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>

#include <sys/resource.h>

#include "benchmarks/cluster/node_process.hpp"
#include "benchmarks/common/stats.hpp"
#include "benchmarks/common/temp_dir.hpp"
#include "claude_pool/remote_pool.hpp"
#include "runtime/node/node_tokens.hpp"

namespace claude_pool::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Without these the program uses its bundled mock API and the CLI scripts/setup installed.
const std::vector<std::string> no_api = {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
                                         "CLAUDE_POOL_CLAUDE_BIN"};
constexpr auto start_bound = std::chrono::seconds(60);
constexpr auto stop_grace = std::chrono::seconds(30);
constexpr auto host_alone_bound = std::chrono::seconds(5);
constexpr int layout_slots = 4;

/// CPU seconds this process (the client) used so far, every thread.
double own_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// "hostA/slot-1" → "hostA"; a serving process's own slots have no node prefix.
std::string host_of(const task_record& rec) {
  if (!rec.slot_id)
    return "none";
  auto& id = rec.slot_id->value;
  auto slash = id.find('/');
  return slash == std::string::npos ? "local" : id.substr(0, slash);
}

/// What the batch's records say: completions, hosts, a task's time on its slot.
void tally(batch_run& run, const std::vector<task_record>& records) {
  std::vector<double> task_s;
  for (auto& rec : records) {
    ++run.tasks_per_host[host_of(rec)];
    if (rec.started_at_ms && rec.completed_at_ms)
      task_s.push_back(static_cast<double>(*rec.completed_at_ms - *rec.started_at_ms) / 1e3);
    if (rec.state == task_state::completed) {
      ++run.completed;
      continue;
    }
    ++run.not_completed;
    if (run.first_failure.empty())
      run.first_failure = std::string(to_string(rec.state)) + ": "
                          + (rec.result ? rec.result->output : std::string("no result"));
  }
  run.task_s_median = median(task_s);
  run.task_s_max = percentile(task_s, 100);
}

/// The processes of one run: the serving node first, then its slot hosts.
struct node_set {
  temp_dir dir{"claude-pool-bench-cluster"};
  std::vector<std::unique_ptr<node_process>> nodes;
  std::uint16_t port = 0;

  node_set(const std::string& app, const slot_layout& layout) {
    auto port_file = dir.path() + "/port";
    nodes.push_back(std::make_unique<node_process>(
      std::vector<std::string>{app, "serve", "--slots", std::to_string(layout.local_slots),
                               "--port-file", port_file, "--token-dir", dir.path() + "/tokens"},
      dir.path() + "/serve.log", no_api));
    port = nodes.front()->wait_for_port(port_file, start_bound);
    auto where = "127.0.0.1:" + std::to_string(port);
    for (auto& [name, slots] : layout.hosts)
      nodes.push_back(std::make_unique<node_process>(
        std::vector<std::string>{app, "serve", "--join", where, "--slots",
                                 std::to_string(slots), "--name", name, "--token-file",
                                 dir.path() + "/tokens/admin.token"},
        dir.path() + "/" + name + ".log", no_api));
  }

  /// SIGTERM to the slot hosts first: each should leave on its own while the serving node
  /// still runs (noted in `hosts_left_alone`; the wait is bounded because a host that
  /// does not is then ended by the serving node's exit). Then the serving node, then
  /// whatever host is left. Fills `stopped_cleanly`: every process exited 0.
  void stop(batch_run& run) {
    auto hosts_bound = clock_type::now() + host_alone_bound;
    for (std::size_t i = 1; i < nodes.size(); ++i)
      nodes[i]->terminate();
    run.hosts_left_alone = true;
    for (std::size_t i = 1; i < nodes.size(); ++i)
      run.hosts_left_alone = nodes[i]->wait_until(hosts_bound) && run.hosts_left_alone;
    run.stopped_cleanly = nodes.front()->stop(stop_grace) == 0;
    for (std::size_t i = 1; i < nodes.size(); ++i)
      run.stopped_cleanly = nodes[i]->stop(stop_grace) == 0 && run.stopped_cleanly;
    for (auto& n : nodes)
      run.nodes_cpu_s += n->cpu_s();
  }

  std::string logs() const {
    std::string all;
    for (auto& n : nodes)
      all += "\n--- " + n->log_tail(400);
    return all;
  }
};

/// Polls status until the pool has its four slots, all idle (slot hosts join
/// asynchronously; nothing tells a client when they did).
void wait_for_slots(remote_pool& client, node_set& set) {
  auto until = clock_type::now() + start_bound;
  while (clock_type::now() < until) {
    auto st = client.status();
    std::size_t idle = 0;
    for (auto& s : st.slots)
      idle += s.state == slot_state::idle ? 1 : 0;
    if (st.slots.size() == layout_slots && idle == layout_slots)
      return;
    for (auto& n : set.nodes)
      if (!n->running())
        throw std::runtime_error("a node exited before the pool had its slots:" + set.logs());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("the pool never showed 4 idle slots:" + set.logs());
}

batch_run run_batch(const slot_layout& layout, const split_slots_plan& plan) {
  batch_run run;
  try {
    auto started = clock_type::now();
    node_set set(plan.app, layout);
    {
      remote_pool client("127.0.0.1", set.port,
                         node_credentials{{}, read_token_file(set.dir.path() + "/tokens/admin.token")});
      wait_for_slots(client, set);
      run.startup_s = seconds_since(started);
      auto suffix = " [[mock:delay_ms=" + std::to_string(plan.delay_ms) + "]]";
      std::vector<task_id> ids;
      ids.reserve(static_cast<std::size_t>(plan.tasks));
      auto cpu0 = own_cpu_s();
      auto t0 = clock_type::now();
      for (int i = 0; i < plan.tasks; ++i)
        ids.push_back(client.submit(task_submission{"task " + std::to_string(i) + suffix, {}, {}}));
      std::vector<task_record> records;
      for (auto& id : ids)
        records.push_back(client.wait(id));
      run.wall_s = seconds_since(t0);
      run.client_cpu_s = own_cpu_s() - cpu0;
      run.tasks_per_s = run.wall_s > 0 ? plan.tasks / run.wall_s : 0;
      tally(run, records);
    }
    set.stop(run);
  } catch (const std::exception& e) {
    run.error = e.what(); // the node_set's destructor has killed whatever still ran
  }
  return run;
}

void summarize(layout_figures& f) {
  std::vector<double> rates, walls;
  std::set<std::string> expected;
  for (auto& [name, slots] : f.layout.hosts)
    expected.insert(name);
  if (f.layout.local_slots > 0)
    expected.insert("local");
  f.all_completed = !f.runs.empty();
  f.used_every_host = !f.runs.empty();
  for (auto& r : f.runs) {
    if (!r.error.empty()) {
      f.all_completed = f.used_every_host = false;
      continue;
    }
    rates.push_back(r.tasks_per_s);
    walls.push_back(r.wall_s);
    f.all_completed = f.all_completed && r.not_completed == 0;
    std::set<std::string> used;
    for (auto& [host, n] : r.tasks_per_host)
      if (n > 0)
        used.insert(host);
    f.used_every_host = f.used_every_host && used == expected;
  }
  f.median_tasks_per_s = median(rates);
  f.median_wall_s = median(walls);
}

} // namespace

std::vector<slot_layout> standard_layouts() {
  return {
    {"local", "serve --slots 4 (the serving process's own slots)", 4, {}},
    {"one_host", "coordinator --slots 0 + one slot host --slots 4", 0, {{"hostA", 4}}},
    {"two_hosts", "coordinator --slots 0 + two slot hosts --slots 2", 0,
     {{"hostA", 2}, {"hostB", 2}}},
  };
}

std::vector<layout_figures> measure_split_slots(const split_slots_plan& plan) {
  std::vector<layout_figures> out;
  for (auto& l : standard_layouts()) {
    out.emplace_back();
    out.back().layout = l;
  }
  auto n = out.size();
  for (int r = 0; r < plan.rounds; ++r)
    for (std::size_t k = 0; k < n; ++k) {
      // The first layout rotates per round: a cold page cache or a busy moment does not
      // always fall on the same one.
      auto& f = out[(k + static_cast<std::size_t>(r)) % n];
      auto run = run_batch(f.layout, plan);
      if (plan.progress)
        plan.progress("throughput: round " + std::to_string(r + 1) + " " + f.layout.name + ": "
                      + (run.error.empty() ? std::to_string(run.tasks_per_s) + " tasks/s"
                                           : "failed: " + run.error));
      f.runs.push_back(std::move(run));
    }
  for (auto& f : out)
    summarize(f);
  // Rounds line up (one run per layout per round): compare each with `local` round by round.
  for (auto& f : out) {
    for (std::size_t r = 0; r < f.runs.size(); ++r) {
      auto& base = out.front().runs[r];
      if (f.runs[r].error.empty() && base.error.empty() && base.tasks_per_s > 0)
        f.round_ratios_to_local.push_back(f.runs[r].tasks_per_s / base.tasks_per_s);
    }
    f.ratio_to_local = median(f.round_ratios_to_local);
  }
  return out;
}

} // namespace claude_pool::bench
