#include "runtime/app/commands.hpp"

#include <fstream>
#include <iostream>
#include <vector>

#include <unistd.h>

#include "messages/json.hpp"
#include "messages/json_reader.hpp"
#include "runtime/app/metrics_table.hpp"
#include "runtime/app/signal_drain.hpp"
#include "runtime/pool.hpp"

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
      detail::object_reader r(doc, "line", true);
      task_submission sub;
      r.required("prompt", sub.prompt);
      r.defaulted("tags", sub.tags);
      r.defaulted("max_attempts", sub.max_attempts);
      if (auto it = doc.find("config"); it != doc.end() && !it->is_null())
        sub.config = parse_task_overrides(*it, "line.config");
      r.known("config");
      r.finish();
      if (sub.prompt.empty())
        throw json_error("line.prompt: must not be empty");
      out.push_back(std::move(sub));
    } catch (const json_error& e) {
      throw usage_error(where + ": " + e.what());
    }
  }
  return out;
}

/// The record of an input the pool refused because it was draining.
task_record never_submitted(const task_submission& sub) {
  auto rec = task_record::new_pending(make_task_id(), sub.prompt);
  rec.tags = sub.tags;
  rec.config = sub.config;
  rec.max_attempts = sub.max_attempts;
  rec.result = task_result::failure("not started: the pool was draining after a stop signal",
                                    "cancelled");
  rec.transition_to(task_state::cancelled);
  return rec;
}

void show_progress(std::size_t done, std::size_t total, std::size_t failed) {
  std::cerr << "\r[" << done << "/" << total << "] " << (done - failed) << " ok, " << failed
            << " failed" << (done == total ? "\n" : "") << std::flush;
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
  app_context ctx(opts.pool);
  pool_options po;
  po.default_claude_bin = ctx.claude_bin();
  claude_pool::pool p(ctx.config(), po);
  signal_drain on_signal(std::chrono::seconds(opts.pool.drain_timeout_secs));
  on_signal.watch(p);

  // Submit everything; a drain that starts meanwhile (a signal) refuses the rest, which
  // still get their output line, as cancelled: one line per input, always.
  std::vector<std::optional<task_id>> ids;
  ids.reserve(subs.size());
  for (auto& sub : subs) {
    try {
      ids.push_back(p.submit(sub));
    } catch (const pool_error& e) {
      if (e.code != pool_errc::draining)
        throw;
      ids.push_back(std::nullopt);
    }
  }

  bool progress = opts.progress && ::isatty(STDERR_FILENO);
  std::size_t failed = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto rec = ids[i] ? p.wait(*ids[i]) : never_submitted(subs[i]);
    if (rec.state != task_state::completed)
      ++failed;
    std::cout << to_json_text(nlohmann::json(rec)) << '\n' << std::flush;
    if (progress)
      show_progress(i + 1, ids.size(), failed);
  }
  if (opts.metrics || !opts.metrics_json.empty()) {
    auto m = p.metrics();
    if (opts.metrics)
      print_metrics_table(std::cerr, m);
    if (!opts.metrics_json.empty()) {
      std::ofstream out(opts.metrics_json);
      if (!out)
        throw usage_error("cannot write --metrics-json file " + opts.metrics_json);
      out << to_json_text(nlohmann::json(m)) << '\n';
    }
  }
  return failed == 0 ? 0 : 1;
}

} // namespace claude_pool::app
