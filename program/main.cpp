// claude-pool: run work on many Claude Code CLI processes at once.
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "program/commands.hpp"
#include "program/node_commands.hpp"
#include "program/signal_drain.hpp"
#include "claude_pool/pool.hpp"
#ifdef CLAUDE_POOL_WITH_BENCH
#include "benchmarks/harness/bench_command.hpp"
#endif

using namespace claude_pool::app;

namespace {

void add_tls_options(CLI::App* cmd, claude_pool::tls_options& t) {
  cmd->add_option("--tls-cert", t.certificate,
                  "this node's certificate (PEM), signed by --tls-ca; subject CN = who, OU = "
                  "role (admin or submit)");
  cmd->add_option("--tls-key", t.key, "its private key (PEM, mode 0600)");
  cmd->add_option("--tls-ca", t.cafile, "the CA every peer's certificate must be signed by");
  cmd->add_option("--tls-passphrase", t.passphrase, "the key's passphrase, if it has one");
}

void add_pool_options(CLI::App* cmd, pool_options_cli& o) {
  cmd->add_option("--config", o.config_file, "PoolConfig JSON file")->check(CLI::ExistingFile);
  cmd->add_option("--slots", o.slots, "number of slots (CLI processes at once)");
  cmd->add_option("--model", o.model, "model for every task");
  cmd->add_option("--claude-bin", o.claude_bin,
                  "the claude executable (default: $CLAUDE_POOL_CLAUDE_BIN, the CLI installed "
                  "by scripts/setup, else claude on PATH)");
  cmd->add_option("--timeout", o.timeout_secs, "per-task timeout in seconds");
  cmd->add_option("--drain-timeout", o.drain_timeout_secs,
                  "after SIGINT/SIGTERM, seconds running tasks get before they are stopped "
                  "(default 30; a second signal stops them at once)");
  cmd->add_option("--mock-api", o.mock_mode,
                  "use the bundled mock API: auto (when ANTHROPIC_API_KEY is unset), on, off")
    ->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->add_option("--budget", o.budget_usd,
                  "hard cap on spend in US dollars (see the README's Budget section)");
  cmd->add_option("--reserve", o.reserve_usd,
                  "with --budget: a fixed allowance in US dollars for a task that sets no "
                  "max_budget_usd (budget_policy fixed; raised to 125 % of the costliest task "
                  "so far). Without it the pool learns what tasks cost (see the README)");
  cmd->add_option("--store", o.store,
                  "keep every accepted task, the budget's spend and the slots' sessions in this "
                  "SQLite file: a pool started again on it forgets nothing (see the README)");
  cmd->add_flag("--worktrees", o.worktrees,
                "worktree isolation: every slot and every chain works in its own git worktree "
                "under .claude/pool-worktrees/ (the working directory must be in a git "
                "repository)");
  cmd->add_flag("--quiet", o.quiet,
                "no event lines (restarts, budget warnings, scaling) on stderr");
}

} // namespace

int main(int argc, char** argv) {
  // A CLI child that dies while we write its stdin must not kill the pool.
  std::signal(SIGPIPE, SIG_IGN);
  // Before any thread exists: SIGINT/SIGTERM are taken by signal_drain's thread only
  // (`bench` handles its own signals and unblocks them).
  signal_drain::block_signals();

  CLI::App app{"claude-pool: run work on many Claude Code CLI processes at once"};
  app.require_subcommand(1);
  app.set_version_flag("--version", CLAUDE_POOL_VERSION);

  run_options run;
  auto run_cmd = app.add_subcommand("run", "run one prompt and print its output");
  add_pool_options(run_cmd, run.pool);
  run_cmd->add_option("prompt", run.prompt, "the prompt, or - to read it from stdin")
    ->required();
  run_cmd->add_flag("--json", run.json, "print the TaskRecord as JSON");

  batch_options batch;
  auto batch_cmd = app.add_subcommand(
    "batch", "run a JSONL file of {\"prompt\", \"config\", \"tags\"}; print one TaskRecord "
             "JSON line per task, in input order");
  add_pool_options(batch_cmd, batch.pool);
  batch_cmd->add_option("file", batch.file, "the JSONL file, or - for stdin")->required();
  bool no_progress = false;
  batch_cmd->add_flag("--no-progress", no_progress, "no progress line on stderr");
  batch_cmd->add_flag("--metrics", batch.metrics,
                      "print the session metrics (counts, spend, timing, per model) on stderr "
                      "at the end");
  batch_cmd->add_option("--metrics-json", batch.metrics_json,
                        "write the session metrics as JSON to this file at the end");
  batch_cmd->add_flag("--status", batch.status,
                      "print the pool status (slots, task counts, budget, events) on stderr at "
                      "the end");
  batch_cmd->add_option("--status-json", batch.status_json,
                        "write the pool status as JSON to this file at the end");

  batch_cmd->add_flag("--live", batch.live,
                      "run every task with live progress (turns, tool uses, cost so far, "
                      "partial answer) and print a line on stderr whenever one changes");

  chain_options chain;
  auto chain_cmd = app.add_subcommand(
    "chain", "run a chain of steps from a JSON file ({\"steps\": [{\"name\", \"prompt\", "
             "\"config\", \"failure_policy\", \"output_vars\"}, ...]}); print the last "
             "step's output (see the README)");
  add_pool_options(chain_cmd, chain.pool);
  auto chain_file = chain_cmd->add_option("file", chain.file, "the chain file");
  auto chain_resume = chain_cmd->add_option(
    "--resume", chain.resume,
    "with --store: wait for this chain, which an earlier pool on the store left running (a "
    "pool resumes such chains at start, from their first unfinished step), and print it");
  chain_file->excludes(chain_resume);
  chain_cmd->add_option("--node", chain.node,
                        "run the chain on a served pool (HOST:PORT) instead: its steps are this "
                        "client's submissions, under the node's policy");
  chain_cmd->add_option("--token-file", chain.token_file,
                        "with --node: the node's token for this client (else "
                        "$CLAUDE_POOL_TOKEN_FILE)");
  add_tls_options(chain_cmd, chain.tls);
  chain_cmd->add_flag("--json", chain.json, "print the chain record (every step) as JSON");
  bool chain_no_progress = false;
  chain_cmd->add_flag("--no-progress", chain_no_progress, "no progress lines on stderr");

  serve_options serve;
  auto serve_cmd = app.add_subcommand(
    "serve", "run a pool and publish it on the network (until SIGTERM, which drains), or with "
             "--join contribute this host's slots to a pool on another node");
  add_pool_options(serve_cmd, serve.pool);
  serve_cmd->add_option("--port", serve.port, "port to listen on (0 picks a free one)");
  serve_cmd->add_option("--bind", serve.bind, "address to listen on (default 127.0.0.1)");
  serve_cmd->add_flag("--allow-insecure", serve.allow_insecure,
                      "run open: no token or certificate asked, every peer is an admin (also "
                      "needed to listen on a non-loopback address without TLS)");
  serve_cmd->add_option("--token-dir", serve.token_dir,
                        "the node's token files (created 0700; admin.token and submit.token "
                        "are made when missing; default $XDG_RUNTIME_DIR/claude-pool/node-PORT "
                        "or ~/.claude-pool/node-PORT)");
  serve_cmd->add_option("--token-file", serve.token_file,
                        "with --join: the pool node's admin token (else "
                        "$CLAUDE_POOL_TOKEN_FILE)");
  serve_cmd->add_option("--join", serve.join, "HOST:PORT of a pool to contribute slots to "
                                              "(--slots N of them, default 1)");
  serve_cmd->add_option("--name", serve.name, "with --join: this node's name (default "
                                              "hostname-pid)");
  serve_cmd->add_option("--max-slots", serve.max_slots,
                        "with --join: run at most this many slots, so the pool's scaler may "
                        "place up to (max-slots - slots) more here (default: --slots)");
  serve_cmd->add_option("--scheduler-threads", serve.scheduler_threads,
                        "the node's actor worker threads (default 1: the actors pass messages "
                        "and do little work each; 0: one per core)");
  serve_cmd->add_option("--port-file", serve.port_file,
                        "write the port listened on to this file");
  serve_cmd->add_option("--http", serve.http_port,
                        "also serve the HTTP/JSON API and Prometheus /metrics on this port (0 "
                        "picks one); clients send Authorization: Bearer TOKEN, a token of the "
                        "node's token directory (see the README's HTTP API)");
  serve_cmd->add_option("--http-bind", serve.http_bind,
                        "address of the HTTP API (default 127.0.0.1; another needs "
                        "--http-tls-cert/--http-tls-key or --allow-insecure)");
  serve_cmd->add_option("--http-tls-cert", serve.http_tls_cert,
                        "serve the HTTP API over HTTPS with this certificate (PEM)");
  serve_cmd->add_option("--http-tls-key", serve.http_tls_key,
                        "…and this private key (PEM, mode 0600)");
  serve_cmd->add_option("--http-tls-passphrase", serve.http_tls_passphrase,
                        "the key's passphrase, if it has one");
  serve_cmd->add_option("--http-port-file", serve.http_port_file,
                        "write the HTTP API's port to this file");
  add_tls_options(serve_cmd, serve.tls);

  client_options client;
  std::vector<CLI::App*> client_cmds;
  auto add_client = [&](const char* name, const char* what, const char* arg_name,
                        const char* arg_what) {
    auto cmd = app.add_subcommand(name, what);
    cmd->add_option("--node", client.node, "HOST:PORT of the pool node")->required();
    cmd->add_option("--token-file", client.token_file,
                    "the node's token for this client (else $CLAUDE_POOL_TOKEN_FILE)");
    add_tls_options(cmd, client.tls);
    if (arg_name)
      cmd->add_option(arg_name, client.argument, arg_what)->required();
    client_cmds.push_back(cmd);
    return cmd;
  };
  auto submit_cmd = add_client("submit", "submit a prompt to a served pool; print the task id",
                               "prompt", "the prompt, or - to read it from stdin");
  submit_cmd->add_flag("--wait", client.wait, "wait for the end and print the output");
  submit_cmd->add_flag("--json", client.json, "print the TaskRecord as JSON");
  submit_cmd->add_option("--tag", client.tags, "a tag for the task (repeatable)");
  submit_cmd->add_option("--config", client.overrides_file,
                         "a TaskOverrides JSON file: the task's own settings (the node's "
                         "remote policy decides which it accepts)");
  submit_cmd->add_flag("--review", client.review,
                       "review gate: the task ends pending_review until approved or rejected");
  add_client("result", "print a task's TaskRecord (JSON) as it is now", "id", "the task id");
  add_client("wait", "wait for a task to end and print its TaskRecord (JSON)", "id",
             "the task id");
  add_client("cancel", "cancel a task; print its TaskRecord (JSON) once no process of it is "
                       "left", "id", "the task id");
  add_client("approve", "review gate: approve a pending_review task; print its TaskRecord",
             "id", "the task id");
  add_client("reject", "review gate: reject a pending_review task, which runs again with the "
                       "feedback (or fails at max_rejections); print its TaskRecord",
             "id", "the task id")
    ->add_option("--feedback", client.feedback, "what the next run should change")
    ->required();
  auto list_cmd = add_client("list", "print a page of a served pool's tasks, one TaskRecord JSON "
                                     "line each, in submission order; the next page's cursor "
                                     "goes to stderr", nullptr, nullptr);
  list_cmd->add_option("--state", client.state,
                       "only tasks in this state (pending, running, completed, …)");
  list_cmd->add_option("--tag", client.tags, "only tasks carrying one of these tags");
  list_cmd->add_option("--limit", client.limit, "at most this many (default 100)")
    ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100000}));
  list_cmd->add_option("--after", client.after,
                       "the cursor: the last id of the previous page");
  add_client("status", "print a served pool's status", nullptr, nullptr)
    ->add_flag("--json", client.json, "as JSON");
  add_client("metrics", "print a served pool's session metrics", nullptr, nullptr)
    ->add_flag("--json", client.json, "as JSON");
  add_client("scale", "scale a served pool to N slots (new ones go to slot hosts with room "
                      "first); print the new target", "slots", "the slot count N")
    ->add_flag("--force", client.force, "cancel the tasks of busy slots chosen for removal");
  add_client("drain", "drain a served pool: no new work, running tasks get --timeout seconds",
             nullptr, nullptr)
    ->add_option("--timeout", client.drain_timeout_secs, "seconds (default 30)");

#ifdef CLAUDE_POOL_WITH_BENCH
  claude_pool::bench::bench_options bench;
  auto bench_cmd = app.add_subcommand(
    "bench", "measure the pool against a raw spawn loop, xargs -P, GNU parallel and Python, "
             "one-shot and warm; write a JSON report and an SVG chart (see the README)");
  claude_pool::bench::add_bench_options(*bench_cmd, bench);
#endif

  mock_options mock;
  auto mock_cmd = app.add_subcommand(
    "mock-api", "serve a loopback mock of the Anthropic Messages API until SIGINT/SIGTERM");
  mock_cmd->add_option("--port", mock.port, "port (0 picks a free one)");
  mock_cmd->add_option("--bind", mock.host, "address to bind (default 127.0.0.1)");
  mock_cmd->add_option("--log", mock.log_path, "append one JSON line per request (mode 0600)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    auto code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (*run_cmd)
      return run_command(run);
    if (*batch_cmd) {
      batch.progress = !no_progress;
      return batch_command(batch);
    }
    if (*chain_cmd) {
      chain.progress = !chain_no_progress;
      return chain_command(chain);
    }
    if (*mock_cmd)
      return mock_api_command(mock);
    if (*serve_cmd)
      return serve_command(serve);
    for (auto cmd : client_cmds)
      if (*cmd) {
        client.action = cmd->get_name();
        if (client.action == "submit" && client.argument == "-")
          client.argument.assign(std::istreambuf_iterator<char>(std::cin),
                                 std::istreambuf_iterator<char>());
        return client_command(client);
      }
#ifdef CLAUDE_POOL_WITH_BENCH
    if (*bench_cmd)
      return claude_pool::bench::run_bench(bench);
#endif
  } catch (const usage_error& e) {
    std::cerr << "claude-pool: " << e.what() << '\n';
    return 2;
  } catch (const claude_pool::pool_error& e) {
    std::cerr << "claude-pool: " << e.what() << '\n';
    // A node that went away or cannot be reached is an outcome, not a usage error; a
    // refusal of the credentials or of what they asked for is its own exit code.
    if (e.code == claude_pool::pool_errc::not_authenticated
        || e.code == claude_pool::pool_errc::not_permitted)
      return 3;
    return e.code == claude_pool::pool_errc::node_lost
               || e.code == claude_pool::pool_errc::node_unreachable
             ? 1
             : 2;
  } catch (const std::exception& e) {
    std::cerr << "claude-pool: " << e.what() << '\n';
    return 2;
  }
  return 2;
}
