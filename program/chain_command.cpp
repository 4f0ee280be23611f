#include "program/commands.hpp"

#include <fstream>
#include <iostream>
#include <optional>

#include "messages/json.hpp"
#include "program/progress_display.hpp"
#include "program/signal_drain.hpp"
#include "claude_pool/pool.hpp"

namespace claude_pool::app {

namespace {

chain_definition read_chain_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw usage_error("cannot read chain file " + path);
  auto doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded())
    throw usage_error(path + ": not valid JSON");
  try {
    return parse_chain_definition(doc);
  } catch (const json_error& e) {
    throw usage_error(path + ": " + e.what());
  }
}

/// The line the display shows for a running chain: its step and that step's progress.
std::string chain_line(const chain_record& c) {
  std::string s = "[chain] ";
  if (is_terminal(c.state))
    return s + to_string(c.state);
  std::size_t index = 0;
  while (index < c.steps.size() && c.steps[index].name != c.current_step.value_or(""))
    ++index;
  s += "step " + std::to_string(index + 1) + "/" + std::to_string(c.steps.size()) + " \""
       + c.current_step.value_or("?") + "\"";
  if (index < c.steps.size() && c.steps[index].runs > 1)
    s += " (run " + std::to_string(c.steps[index].runs) + ")";
  if (c.live)
    s += ": " + describe_progress(*c.live);
  return s;
}

void print_summary(std::ostream& err, const chain_record& c) {
  for (auto& s : c.steps) {
    err << "[chain] step \"" << s.name << "\": " << to_string(s.state);
    if (s.runs > 0)
      err << " (" << s.runs << (s.runs == 1 ? " run" : " runs")
          << (s.recovered ? ", recovered" : "") << ", " << format_microdollars(s.cost_microdollars)
          << ")";
    if (s.error && s.state != step_state::completed)
      err << ": " << *s.error;
    err << '\n';
  }
  err << "[chain] " << c.id.value << " " << to_string(c.state) << ", "
      << format_microdollars(c.cost_microdollars);
  if (c.error)
    err << ": " << *c.error;
  err << '\n';
  if (c.worktree && !c.worktree->note.empty())
    err << "[chain] worktree: " << c.worktree->note << '\n';
}

} // namespace

int chain_command(const chain_options& opts) {
  auto def = read_chain_file(opts.file);
  app_context ctx(opts.pool);
  claude_pool::pool p(ctx.config(), ctx.pool_opts());
  signal_drain on_signal(std::chrono::seconds(opts.pool.drain_timeout_secs));
  on_signal.watch(p);
  chain_id id;
  try {
    id = p.start_chain(std::move(def));
  } catch (const pool_error& e) {
    if (e.code == pool_errc::invalid_request)
      throw usage_error(opts.file + ": " + e.what());
    throw;
  }
  chain_record rec;
  {
    std::optional<progress_display> display;
    if (opts.progress && !opts.pool.quiet)
      display.emplace(std::cerr, [&p, &id] {
        return std::map<std::string, std::string>{{id.value, chain_line(p.chain_status(id))}};
      });
    rec = p.wait_chain(id);
  }
  if (opts.json) {
    std::cout << to_json_text(nlohmann::json(rec)) << '\n';
  } else {
    if (!opts.pool.quiet)
      print_summary(std::cerr, rec);
    if (rec.final_output)
      std::cout << *rec.final_output << '\n';
  }
  return rec.state == chain_state::completed ? 0 : 1;
}

} // namespace claude_pool::app
