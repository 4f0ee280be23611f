#include "program/commands.hpp"

#include <iostream>
#include <iterator>

#include "messages/json.hpp"
#include "program/signal_drain.hpp"
#include "claude_pool/pool.hpp"

namespace claude_pool::app {

int run_command(const run_options& opts) {
  std::string prompt = opts.prompt;
  if (prompt == "-")
    prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  if (prompt.empty())
    throw usage_error("run: the prompt is empty");
  app_context ctx(opts.pool);
  claude_pool::pool p(ctx.config(), ctx.pool_opts());
  signal_drain on_signal(std::chrono::seconds(opts.pool.drain_timeout_secs));
  on_signal.watch(p);
  auto rec = p.run(std::move(prompt));
  bool ok = rec.state == task_state::completed;
  if (opts.json) {
    std::cout << to_json_text(nlohmann::json(rec)) << '\n';
  } else if (rec.result) {
    (ok ? std::cout : std::cerr) << rec.result->output << '\n';
  }
  if (!ok && !opts.json)
    std::cerr << "claude-pool: task " << rec.id.value << " " << to_string(rec.state) << '\n';
  return ok ? 0 : 1;
}

} // namespace claude_pool::app
