#include "program/commands.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <iostream>
#include <vector>

#include <unistd.h>

#include "messages/json.hpp"
#include "messages/requests.hpp"
#include "program/metrics_table.hpp"
#include "program/progress_display.hpp"
#include "program/signal_drain.hpp"
#include "claude_pool/pool.hpp"

namespace claude_pool::app {

namespace {

/// Reads every line (`prompt`, `config`, `tags`, `max_attempts`) before anything runs: one bad line stops the batch with its line
/// number, so a batch never half-runs on a typo.
std::vector<task_submission> read_batch(std::istream& in, const std::string& name) {
  std::vector<task_submission> out;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    auto where = name + ":" + std::to_string(number);
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (doc.is_discarded())
      throw usage_error(where + ": not valid JSON");
    try {
      out.push_back(parse_batch_line(doc));
    } catch (const json_error& e) {
      throw usage_error(where + ": " + e.what());
    }
  }
  return out;
}

template <class T>
void write_json_file(const std::string& path, const char* option, const T& value) {
  std::ofstream out(path);
  if (!out)
    throw usage_error("cannot write " + std::string(option) + " file " + path);
  out << to_json_text(nlohmann::json(value)) << '\n';
}

void show_progress(std::size_t done, std::size_t total, std::size_t failed) {
  std::cerr << "\r[" << done << "/" << total << "] " << (done - failed) << " ok, " << failed
            << " failed" << (done == total ? "\n" : "") << std::flush;
}

/// FNV-1a: a hash that stays the same across builds and machines (std::hash need not).
std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

/// Tags every line with `batch-line:<hash of its submission>-<occurrence>`, so that a batch
/// run again on the same store finds its earlier tasks (a line that repeats another gets
/// its own occurrence number). Returns the tags, in line order.
std::vector<std::string> tag_lines(std::vector<task_submission>& subs) {
  std::map<std::uint64_t, int> seen;
  std::vector<std::string> tags;
  for (auto& sub : subs) {
    auto h = stable_hash(to_json_text(nlohmann::json(sub)));
    char buf[64];
    std::snprintf(buf, sizeof(buf), "batch-line:%016llx-%d", static_cast<unsigned long long>(h),
                  seen[h]++);
    tags.emplace_back(buf);
    sub.tags.push_back(tags.back());
  }
  return tags;
}

/// What the store already has for each line: a completed (or in-review) task is not run
/// again, and a task still pending or running (queued again by the restart) is waited for;
/// a line whose earlier task failed or was cancelled runs again as a new task.
std::vector<std::optional<task_id>> earlier_tasks(claude_pool::pool& p,
                                                  const std::vector<std::string>& tags) {
  std::map<std::string, task_record> best;
  for (auto& rec : p.list(task_filter{std::nullopt, std::nullopt, tags, std::nullopt, std::nullopt})) {
    auto reusable = rec.state == task_state::completed || rec.state == task_state::pending_review
                    || rec.state == task_state::pending || rec.state == task_state::running;
    if (!reusable)
      continue;
    for (auto& tag : rec.tags)
      if (tag.rfind("batch-line:", 0) == 0)
        best[tag] = rec; // later records win: list() is in submission order
  }
  std::vector<std::optional<task_id>> out;
  for (auto& tag : tags) {
    auto it = best.find(tag);
    out.push_back(it == best.end() ? std::nullopt : std::optional<task_id>(it->second.id));
  }
  return out;
}

} // namespace

int batch_command(const batch_options& opts) {
  std::vector<task_submission> subs;
  if (opts.file == "-") {
    subs = read_batch(std::cin, "stdin");
  } else {
    std::ifstream in(opts.file);
    if (!in)
      throw usage_error("cannot read batch file " + opts.file);
    subs = read_batch(in, opts.file);
  }
  if (opts.live)
    for (auto& sub : subs)
      sub.live_progress = true;
  app_context ctx(opts.pool);
  claude_pool::pool p(ctx.config(), ctx.pool_opts());
  signal_drain on_signal(std::chrono::seconds(opts.pool.drain_timeout_secs));
  on_signal.watch(p);
  // Progress lines for the running tasks that asked for live progress.
  std::optional<progress_display> display;
  if (std::any_of(subs.begin(), subs.end(), [](auto& s) { return s.live_progress; })
      && !opts.pool.quiet)
    display.emplace(std::cerr, [&p] {
      std::map<std::string, std::string> lines;
      for (auto& t : p.list(task_filter{task_state::running, std::nullopt, std::nullopt, std::nullopt, std::nullopt}))
        if (t.progress)
          lines[t.id.value] = "[" + t.id.value + "] " + describe_progress(*t.progress);
      return lines;
    });

  // Submit everything; a drain that starts meanwhile (a signal) or a budget that cannot
  // hold a task refuses it, and it still gets its output line: one line per input, always.
  std::vector<std::optional<task_id>> ids;
  std::vector<std::optional<pool_error>> refusals(subs.size());
  ids.reserve(subs.size());
  std::vector<std::optional<task_id>> earlier(subs.size());
  if (ctx.config().store_path) {
    earlier = earlier_tasks(p, tag_lines(subs));
    auto reused = std::count_if(earlier.begin(), earlier.end(), [](auto& e) { return e.has_value(); });
    if (reused > 0 && !opts.pool.quiet)
      std::cerr << "claude-pool: resuming from " << *ctx.config().store_path << ": " << reused
                << " of " << subs.size() << " lines already have a task there\n";
  }
  for (std::size_t i = 0; i < subs.size(); ++i) {
    if (earlier[i]) {
      ids.push_back(earlier[i]);
      continue;
    }
    try {
      ids.push_back(p.submit(subs[i]));
    } catch (const pool_error& e) {
      if (!is_refusal(e.code))
        throw;
      ids.push_back(std::nullopt);
      refusals[i] = e;
    }
  }

  bool progress = opts.progress && ::isatty(STDERR_FILENO);
  std::size_t failed = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto rec = ids[i] ? p.wait(*ids[i]) : refused_record(subs[i], *refusals[i]);
    if (rec.state != task_state::completed)
      ++failed;
    std::cout << to_json_text(nlohmann::json(rec)) << '\n' << std::flush;
    if (progress)
      show_progress(i + 1, ids.size(), failed);
  }
  display.reset(); // its last look happened; nothing runs any more
  if (opts.metrics || !opts.metrics_json.empty()) {
    auto m = p.metrics();
    if (opts.metrics)
      print_metrics_table(std::cerr, m);
    if (!opts.metrics_json.empty())
      write_json_file(opts.metrics_json, "--metrics-json", m);
  }
  if (opts.status || !opts.status_json.empty()) {
    auto st = p.status();
    if (opts.status)
      print_status_table(std::cerr, st);
    if (!opts.status_json.empty())
      write_json_file(opts.status_json, "--status-json", st);
  }
  return failed == 0 ? 0 : 1;
}

} // namespace claude_pool::app
