#include "program/commands.hpp"

#include <fstream>
#include <iostream>
#include <optional>

#include "messages/json.hpp"
#include "program/progress_display.hpp"
#include "program/signal_drain.hpp"
#include "claude_pool/pool.hpp"
#include "claude_pool/remote_pool.hpp"

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

/// Follows the chain to its end (progress lines on stderr), then prints it: the final
/// output, or the whole record as JSON. `status` and `wait` reach the chain's pool.
template <class Status, class Wait>
int follow_chain(const chain_options& opts, const chain_id& id, Status status, Wait wait) {
  chain_record rec;
  {
    std::optional<progress_display> display;
    if (opts.progress && !opts.pool.quiet)
      display.emplace(std::cerr, [&status, &id] {
        return std::map<std::string, std::string>{{id.value, chain_line(status(id))}};
      });
    rec = wait(id);
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

/// `chain --node`: the chain runs on a served pool, its steps under this client's principal.
int remote_chain_command(const chain_options& opts, chain_definition def) {
  std::pair<std::string, std::uint16_t> where;
  try {
    where = parse_endpoint(opts.node);
  } catch (const std::invalid_argument& e) {
    throw usage_error(std::string("--node: ") + e.what());
  }
  remote_pool node(where.first, where.second,
                   node_credentials{opts.tls, opts.tls.enabled() ? "" : client_token(opts.token_file)});
  chain_id id;
  try {
    id = node.start_chain(std::move(def));
  } catch (const pool_error& e) {
    if (e.code == pool_errc::invalid_request)
      throw usage_error(opts.file + ": " + e.what());
    throw;
  }
  if (!opts.pool.quiet)
    std::cerr << "[chain] " << id.value << " started on " << opts.node << '\n';
  return follow_chain(
    opts, id, [&node](const chain_id& c) { return node.chain_status(c); },
    [&node](const chain_id& c) { return node.wait_chain(c); });
}

} // namespace

int chain_command(const chain_options& opts) {
  if (opts.file.empty() == opts.resume.empty())
    throw usage_error("chain: give a chain file, or --resume CHAIN_ID (with --store)");
  if (!opts.node.empty()) {
    if (!opts.resume.empty())
      throw usage_error("chain: --resume is for a pool of this process (--store); a served "
                        "pool resumes its own chains when it starts again");
    return remote_chain_command(opts, read_chain_file(opts.file));
  }
  if (!opts.resume.empty() && opts.pool.store.empty())
    throw usage_error("chain: --resume needs --store, the store the chain was kept in");
  std::optional<chain_definition> def;
  if (!opts.file.empty())
    def = read_chain_file(opts.file);
  app_context ctx(opts.pool);
  claude_pool::pool p(ctx.config(), ctx.pool_opts());
  signal_drain on_signal(std::chrono::seconds(opts.pool.drain_timeout_secs));
  on_signal.watch(p);
  chain_id id;
  if (def) {
    try {
      id = p.start_chain(std::move(*def));
    } catch (const pool_error& e) {
      if (e.code == pool_errc::invalid_request)
        throw usage_error(opts.file + ": " + e.what());
      throw;
    }
  } else {
    id = chain_id{opts.resume};
    try {
      p.chain_status(id);
    } catch (const pool_error& e) {
      if (e.code == pool_errc::unknown_chain)
        throw usage_error("chain: --resume " + opts.resume + ": the store " + opts.pool.store
                          + " holds no such chain");
      throw;
    }
  }
  // The id first: after a crash, `--resume` with it picks the chain up again.
  if (!opts.pool.quiet)
    std::cerr << "[chain] " << id.value << (def ? " started" : " resumed")
              << (opts.pool.store.empty() ? "" : " (kept in " + opts.pool.store + ")") << '\n';
  return follow_chain(
    opts, id, [&p](const chain_id& c) { return p.chain_status(c); },
    [&p](const chain_id& c) { return p.wait_chain(c); });
}

} // namespace claude_pool::app
