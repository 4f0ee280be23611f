// bench_soak: a pool that runs for weeks, compressed. One pool on a durable store (SQLite,
// on /dev/shm by default: the soak is about memory, not about fsync) takes `--instant`
// tasks through an instant executor, then `--cli` tasks through the minimal fake CLI (real
// processes through the spawner), with the default retention (ended records leave memory
// past retain_ended_records). Every `--sample-every` tasks it notes the resident set, the
// heap in use and the records the pool holds; at the end it says whether the resident set
// after the warm-up (the first fifth of the instant phase) stayed within 10 %, and writes
// the samples (JSON) and an RSS-over-tasks chart (SVG).
//
//   bench_soak [--instant N] [--cli N] [--slots N] [--window N] [--sample-every N]
//              [--store-dir DIR] [--json FILE] [--svg FILE] [--quick]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "benchmarks/common/cli_invocation.hpp"
#include "benchmarks/common/temp_dir.hpp"
#include "benchmarks/harness/bench_executors.hpp"
#include "benchmarks/harness/pool_driver.hpp"
#include "benchmarks/harness/process_memory.hpp"
#include "claude_pool/pool.hpp"
#include "runtime/cli/cli_executor.hpp"

using namespace claude_pool;

namespace {

/// The instant executor first, the CLI from `use_cli()` on: one pool, two phases.
class phase_executor : public task_executor {
public:
  phase_executor(std::shared_ptr<task_executor> instant, std::shared_ptr<task_executor> cli)
    : instant_(std::move(instant)), cli_(std::move(cli)) {}
  void use_cli() { cli_phase_ = true; }
  std::uint64_t start(execution_request req, completion done) override {
    // Executions of the two phases never overlap (a phase ends when all its tasks did), so
    // a cancel goes to the phase's executor.
    return (cli_phase_ ? cli_ : instant_)->start(std::move(req), std::move(done));
  }
  void cancel(std::uint64_t execution) override { (cli_phase_ ? cli_ : instant_)->cancel(execution); }

private:
  std::shared_ptr<task_executor> instant_, cli_;
  std::atomic<bool> cli_phase_{false};
};

struct sample {
  std::string phase;
  std::uint64_t tasks = 0; ///< ended so far, both phases
  double seconds = 0;
  std::uint64_t rss = 0, heap = 0, records_in_memory = 0;
};

std::string chart(const std::vector<sample>& samples, std::uint64_t warm_tasks,
                  std::uint64_t instant_tasks) {
  const double w = 760, h = 300, left = 70, right = 20, top = 30, bottom = 40;
  double max_tasks = samples.empty() ? 1 : static_cast<double>(samples.back().tasks);
  double max_mb = 1;
  for (auto& s : samples)
    max_mb = std::max(max_mb, static_cast<double>(s.rss) / 1048576.0);
  max_mb *= 1.15;
  auto x = [&](double t) { return left + (w - left - right) * t / std::max(max_tasks, 1.0); };
  auto y = [&](double mb) { return top + (h - top - bottom) * (1 - mb / max_mb); };
  std::ostringstream out;
  out << std::fixed << std::setprecision(1);
  out << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
      << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' "
         "fill='white'/>\n<text x='" << left << "' y='18'>claude-pool soak: resident set (MiB) "
         "over tasks ended (instant, then the minimal CLI)</text>\n";
  out << "<line x1='" << left << "' y1='" << y(0) << "' x2='" << w - right << "' y2='" << y(0)
      << "' stroke='black'/>\n<line x1='" << left << "' y1='" << top << "' x2='" << left
      << "' y2='" << y(0) << "' stroke='black'/>\n";
  for (int i = 0; i <= 4; ++i) {
    double mb = max_mb * i / 4;
    out << "<text x='" << left - 6 << "' y='" << y(mb) + 4 << "' text-anchor='end'>" << mb
        << "</text>\n";
  }
  out << "<text x='" << w - right << "' y='" << h - 8 << "' text-anchor='end'>"
      << static_cast<std::uint64_t>(max_tasks) << " tasks</text>\n";
  auto mark = [&](double t, const char* label) {
    out << "<line x1='" << x(t) << "' y1='" << top << "' x2='" << x(t) << "' y2='" << y(0)
        << "' stroke='#999' stroke-dasharray='4 3'/>\n<text x='" << x(t) + 4 << "' y='"
        << top + 12 << "' fill='#666'>" << label << "</text>\n";
  };
  mark(static_cast<double>(warm_tasks), "warmed up");
  mark(static_cast<double>(instant_tasks), "CLI phase");
  out << "<polyline fill='none' stroke='#1f77b4' stroke-width='2' points='";
  for (auto& s : samples)
    out << x(static_cast<double>(s.tasks)) << "," << y(static_cast<double>(s.rss) / 1048576.0)
        << " ";
  out << "'/>\n</svg>\n";
  return out.str();
}

/// Runs `n` tasks in chunks of `every`, sampling after each chunk.
void run_phase(pool& p, const std::string& phase, std::uint64_t n, std::uint64_t every,
               std::size_t window, std::uint64_t& done, std::vector<sample>& samples,
               std::chrono::steady_clock::time_point t0) {
  for (std::uint64_t left = n; left > 0;) {
    auto chunk = std::min(left, every);
    bench::drive_plan plan;
    plan.tasks = chunk;
    plan.window = window;
    plan.prompt = phase;
    bench::drive_samples s(chunk);
    bench::drive(p, plan, s);
    if (s.failed)
      throw std::runtime_error("bench_soak: " + std::to_string(s.failed) + " " + phase
                               + " tasks failed: " + s.first_failure);
    left -= chunk;
    done += chunk;
    auto st = p.status();
    samples.push_back(sample{phase, done,
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                               .count(),
                             bench::resident_bytes(), bench::heap_in_use_bytes(),
                             st.records_in_memory});
    auto& last = samples.back();
    std::cerr << phase << ": " << done << " tasks ended, RSS " << last.rss / 1048576.0
              << " MiB, heap " << last.heap / 1048576.0 << " MiB, " << last.records_in_memory
              << " records in memory\n";
  }
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_soak: a long-running pool's memory over many tasks (instant, then the "
               "minimal CLI), with retention and a durable store"};
  std::uint64_t instant = 1000000, cli = 200000, every = 0, slots = 4;
  std::size_t window = 512;
  std::string store_dir, json_path = "soak.json", svg_path;
  bool quick = false;
  app.add_option("--instant", instant, "tasks through the instant executor (1,000,000)");
  app.add_option("--cli", cli, "then tasks through the minimal fake CLI (200,000)");
  app.add_option("--slots", slots, "slots (4)");
  app.add_option("--window", window, "requests in flight (512)");
  app.add_option("--sample-every", every, "tasks between samples (default: 1/50 of a phase)");
  app.add_option("--store-dir", store_dir,
                 "where the SQLite store goes (default /dev/shm when there, else $TMPDIR)");
  app.add_option("--json", json_path, "the samples and the verdict (soak.json)");
  app.add_option("--svg", svg_path, "the RSS chart (default: the JSON's path, .svg)");
  app.add_flag("--quick", quick, "20,000 instant + 2,000 CLI tasks (a smoke test)");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    instant = 20000;
    cli = 2000;
  }
  if (svg_path.empty())
    svg_path = json_path.substr(0, json_path.rfind('.')) + ".svg";
  struct stat st {};
  if (store_dir.empty())
    store_dir = ::stat("/dev/shm", &st) == 0 ? "/dev/shm" : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  ::setenv("TMPDIR", store_dir.c_str(), 1);
  bench::temp_dir dir("claude-pool-soak");

  auto cfg = bench::cli_pool_config(CLAUDE_POOL_MINIMAL_CLI, dir.path(), slots);
  cfg.store_path = dir.path() + "/soak.db";
  auto exec = std::make_shared<phase_executor>(
    std::make_shared<bench::instant_executor>(7),
    std::make_shared<cli_executor>(cfg, CLAUDE_POOL_MINIMAL_CLI));
  pool_options opts;
  opts.executor = exec;
  pool p(cfg, opts);

  std::vector<sample> samples;
  std::uint64_t done = 0;
  auto t0 = std::chrono::steady_clock::now();
  samples.push_back(sample{"start", 0, 0, bench::resident_bytes(), bench::heap_in_use_bytes(), 0});
  run_phase(p, "instant", instant, every ? every : std::max<std::uint64_t>(instant / 50, 1), window,
            done, samples, t0);
  exec->use_cli();
  run_phase(p, "cli", cli, every ? every : std::max<std::uint64_t>(cli / 50, 1),
            std::min<std::size_t>(window, 64), done, samples, t0);
  auto status = p.status();

  // Warm-up: the first fifth of the instant phase. The retained records fill within the
  // first retain_ended_records tasks, but the allocator's per-thread arenas and SQLite's
  // cache keep growing for longer: measured, the resident set rose from 45 to 55 MiB between
  // 80k and 160k tasks, then stayed within 3 % for the next million (a tenth was too short).
  auto warm_tasks = instant / 5;
  std::uint64_t warm_rss = 0, max_after = 0, end_rss = samples.back().rss;
  for (auto& s : samples) {
    if (s.tasks <= warm_tasks || !warm_rss) {
      if (s.tasks >= warm_tasks && !warm_rss)
        warm_rss = s.rss;
      continue;
    }
    max_after = std::max(max_after, s.rss);
  }
  if (!warm_rss)
    warm_rss = samples.back().rss;
  double growth = warm_rss ? static_cast<double>(std::max(max_after, end_rss)) / warm_rss : 0;
  bool flat = growth <= 1.10;

  nlohmann::json out;
  out["config"] = {{"instant", instant}, {"cli", cli}, {"slots", slots}, {"window", window},
                   {"store", cfg.store_path.value_or("")},
                   {"retain_ended_records", retained_ended_records(cfg, true)}};
  out["completed"] = status.completed;
  out["failed"] = status.failed;
  out["records_in_memory_at_end"] = status.records_in_memory;
  out["rss_after_warmup_bytes"] = warm_rss;
  out["rss_max_after_warmup_bytes"] = max_after;
  out["rss_end_bytes"] = end_rss;
  out["rss_growth_after_warmup"] = growth;
  out["flat_within_10_percent"] = flat;
  auto& arr = out["samples"] = nlohmann::json::array();
  for (auto& s : samples)
    arr.push_back({{"phase", s.phase}, {"tasks", s.tasks}, {"seconds", s.seconds},
                   {"rss_bytes", s.rss}, {"heap_bytes", s.heap},
                   {"records_in_memory", s.records_in_memory}});
  std::ofstream(json_path) << out.dump(2) << '\n';
  std::ofstream(svg_path) << chart(samples, warm_tasks, instant);

  std::cout << std::fixed << std::setprecision(1) << "soak: " << status.completed
            << " tasks completed (" << instant << " instant, " << cli << " through the CLI), "
            << status.failed << " failed; " << status.records_in_memory
            << " records in memory at the end\n"
            << "RSS after warm-up " << warm_rss / 1048576.0 << " MiB, highest after it "
            << max_after / 1048576.0 << " MiB, at the end " << end_rss / 1048576.0 << " MiB: "
            << std::setprecision(3) << growth << "x, "
            << (flat ? "flat within 10 %" : "NOT flat within 10 %") << "\n"
            << "samples: " << json_path << ", chart: " << svg_path << "\n";
  return status.completed == instant + cli ? 0 : 1;
}
