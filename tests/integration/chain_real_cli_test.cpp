// Chains through the real pinned CLI and the mock API: output variables from JSON answers,
// the failure policy against real API errors, cancel of a running step's process, live
// progress, and worktrees in a real git repository (commits kept on their branch).
#include <catch2/catch.hpp>

#include <cstdio>
#include <future>
#include <set>

#include "../support/chain_helpers.hpp"
#include "real_cli_fixture.hpp"
#include "runtime/process/process_runner.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// Runs a command (no shell) and returns its stdout; fails the test on a non-zero exit.
std::string run(const std::vector<std::string>& argv, const std::string& dir) {
  static runtime::process_runner runner;
  runtime::process_request req;
  req.executable = argv.at(0);
  req.args.assign(argv.begin() + 1, argv.end());
  req.working_dir = dir;
  std::promise<runtime::process_outcome> done;
  runner.start(req, [&](runtime::process_outcome o) { done.set_value(std::move(o)); });
  auto out = done.get_future().get();
  INFO(out.stderr_data);
  REQUIRE(out.exit_code == 0);
  return out.stdout_data;
}

/// A git repository with one commit, in a fresh directory under the fixture's HOME.
std::string make_repo(const real_cli_fixture& fx, const std::string& name) {
  auto dir = (fx.home / name).string();
  std::filesystem::create_directories(dir);
  run({"git", "init", "-q", "-b", "main"}, dir);
  std::ofstream(dir + "/README") << "hello\n";
  run({"git", "add", "README"}, dir);
  run({"git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"},
      dir);
  return dir;
}

} // namespace

TEST_CASE("a chain passes JSON output variables and outputs between real CLI runs",
          "[integration][chain]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(2));
  chain_definition def;
  def.steps = {
    make_step("plan", R"(plan it [[mock:reply={"file": "src/a.cpp", "count": 2}]] [[mock:usage=1000/200]])",
         {{"file", "file"}, {"count", "count"}}),
    make_step("edit", "edit {steps.plan.file} {steps.plan.count} times [[mock:echo]] [[mock:usage=1000/200]]"),
    make_step("review", "review: {previous_output} [[mock:reply=looks good]] [[mock:usage=1000/200]]")};
  auto rec = p.run_chain(def);
  INFO(nlohmann::json(rec).dump(2));
  REQUIRE(rec.state == chain_state::completed);
  CHECK(rec.steps[0].vars.at("file") == "src/a.cpp");
  CHECK(rec.steps[0].vars.at("count") == 2);
  CHECK(rec.steps[1].prompt == "edit src/a.cpp 2 times [[mock:echo]] [[mock:usage=1000/200]]");
  CHECK(contains(*rec.steps[1].output, "edit src/a.cpp 2 times"));
  CHECK(contains(*rec.steps[2].prompt, "review: edit src/a.cpp 2 times"));
  CHECK(rec.final_output == "looks good");
  // Every step's cost is what the CLI reported: $0.010000 each.
  for (auto& s : rec.steps)
    CHECK(s.cost_microdollars == 10000);
  CHECK(rec.cost_microdollars == 30000);
  // The mock saw the rendered prompts, in order.
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 3);
  CHECK(contains(user_texts(reqs[1].body).back(), "edit src/a.cpp 2 times"));
}

TEST_CASE("a step failing with a real API error is retried, then recovered",
          "[integration][chain]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(1));
  chain_definition def;
  def.steps = {make_step("flaky", "always broken [[mock:status=400]]"),
               make_step("after", "continue from {previous_output} [[mock:echo]]")};
  def.steps[0].failure_policy.retries = 1;
  def.steps[0].failure_policy.recovery_prompt = "recover [[mock:reply=recovered fine]]";
  auto rec = p.run_chain(def);
  INFO(nlohmann::json(rec).dump(2));
  REQUIRE(rec.state == chain_state::completed);
  CHECK(rec.steps[0].runs == 3);
  CHECK(rec.steps[0].recovered);
  CHECK(rec.steps[0].output == "recovered fine");
  CHECK(contains(*rec.steps[1].output, "continue from recovered fine"));
  // Two failed runs and the recovery: three requests for step one, one for step two.
  CHECK(fx.model_requests().size() == 4);
  for (auto& id : rec.steps[0].task_ids)
    CHECK(is_terminal(p.result(id).state));
}

TEST_CASE("a failed chain skips the rest and leaves no task running", "[integration][chain]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(1));
  chain_definition def;
  def.steps = {make_step("bad", "broken [[mock:status=400]]"), make_step("never", "x")};
  auto rec = p.run_chain(def);
  CHECK(rec.state == chain_state::failed);
  CHECK(rec.steps[0].state == step_state::failed);
  CHECK(rec.steps[1].state == step_state::skipped);
  CHECK(fx.model_requests().size() == 1);
  for (auto& t : p.list())
    CHECK(is_terminal(t.state));
}

TEST_CASE("cancelling a chain kills the running step's CLI and shows live progress before",
          "[integration][chain]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.permission_mode = permission_mode::bypass_permissions;
  cfg.cli_env["IS_SANDBOX"] = "1"; // bypassPermissions as root (see CLI_FACTS)
  claude_pool::pool p(cfg);
  chain_definition def;
  def.steps = {make_step("slow", R"(run it [[mock:tool_use=Bash {"command": "sleep 60"}]])"),
               make_step("never", "x")};
  auto id = p.start_chain(def);
  // The step's first turn asked for a tool; while the tool runs, status shows it.
  REQUIRE(eventually([&] {
    auto now = p.chain_status(id);
    return now.live && now.live->tool_uses >= 1;
  }));
  auto now = p.chain_status(id);
  CHECK(now.current_step == "slow");
  CHECK(now.live->last_tool == "Bash");
  CHECK(now.live->turns >= 1);
  CHECK(processes_with_marker(fx.marker) > 0);
  auto rec = p.cancel_chain(id);
  CHECK(rec.state == chain_state::cancelled);
  CHECK(rec.steps[0].state == step_state::cancelled);
  CHECK(rec.steps[1].state == step_state::skipped);
  // No CLI and no `sleep` left behind.
  CHECK(eventually([&] { return processes_with_marker(fx.marker) == 0; }));
}

TEST_CASE("a chain in a worktree keeps the branch it committed to, and removes a clean one",
          "[integration][chain][worktree]") {
  real_cli_fixture fx;
  auto repo = make_repo(fx, "repo");
  auto cfg = fx.config(1);
  cfg.working_dir = repo;
  cfg.permission_mode = permission_mode::bypass_permissions;
  cfg.cli_env["IS_SANDBOX"] = "1";
  claude_pool::pool p(cfg);

  chain_definition commits;
  commits.worktree = true;
  commits.steps = {make_step(
    "work",
    R"(commit [[mock:tool_use=Bash {"command": "pwd > where.txt && git add where.txt && git -c user.name=agent -c user.email=a@example.com commit -qm agent-work"}]] [[mock:reply=committed]])")};
  auto rec = p.run_chain(commits);
  INFO(nlohmann::json(rec).dump(2));
  REQUIRE(rec.state == chain_state::completed);
  REQUIRE(rec.worktree);
  CHECK(contains(rec.worktree->path, "/.claude/pool-worktrees/"));
  CHECK(rec.worktree->worktree_removed);
  CHECK(rec.worktree->branch_kept);
  CHECK(rec.worktree->commits_ahead == 1);
  CHECK(contains(rec.worktree->note, rec.worktree->branch));
  // The commit is on the kept branch, made in the worktree, and the main tree is untouched.
  CHECK(contains(run({"git", "log", "--format=%s", rec.worktree->branch}, repo), "agent-work"));
  CHECK(contains(run({"git", "show", rec.worktree->branch + ":where.txt"}, repo),
                 rec.worktree->path));
  CHECK(!std::filesystem::exists(repo + "/where.txt"));
  CHECK(!std::filesystem::exists(rec.worktree->path));

  chain_definition clean;
  clean.worktree = true;
  clean.steps = {make_step("look", "just answer")};
  auto rec2 = p.run_chain(clean);
  REQUIRE(rec2.state == chain_state::completed);
  REQUIRE(rec2.worktree);
  CHECK(rec2.worktree->worktree_removed);
  CHECK(!rec2.worktree->branch_kept);
  CHECK(run({"git", "branch", "--list", rec2.worktree->branch}, repo).empty());
}

TEST_CASE("worktree isolation gives each slot its own worktree and refuses a non-repository",
          "[integration][worktree]") {
  real_cli_fixture fx;
  auto repo = make_repo(fx, "repo2");
  auto cfg = fx.config(2);
  cfg.working_dir = repo;
  cfg.worktree_isolation = true;
  {
    claude_pool::pool p(cfg);
    auto a = p.submit(std::string("one [[mock:delay_ms=1500]]"));
    auto b = p.submit(std::string("two [[mock:delay_ms=1500]]"));
    auto ra = p.wait(a), rb = p.wait(b);
    REQUIRE(ra.state == task_state::completed);
    REQUIRE(rb.state == task_state::completed);
    REQUIRE(ra.slot_id != rb.slot_id);
    auto slots = p.status().slots;
    std::set<std::string> paths;
    for (auto& s : slots) {
      REQUIRE(s.worktree_path);
      CHECK(std::filesystem::is_directory(*s.worktree_path));
      paths.insert(*s.worktree_path);
    }
    CHECK(paths.size() == 2);
    // Each slot's CLI ran in its worktree: its sessions are stored under that directory.
    for (auto& path : paths) {
      auto mangled = path;
      for (auto& c : mangled)
        if (c == '/' || c == '.')
          c = '-';
      CHECK(std::filesystem::exists(fx.home / ".claude" / "projects" / mangled));
    }
    p.drain(std::chrono::seconds(10));
    for (auto& path : paths)
      CHECK(!std::filesystem::exists(path)); // clean worktrees go at drain
    CHECK(p.worktree_notes().empty());
  }
  auto outside = (fx.home / "not-a-repo").string();
  std::filesystem::create_directories(outside);
  cfg.working_dir = outside;
  try {
    claude_pool::pool p(cfg);
    FAIL("a pool with worktree isolation outside a git repository was accepted");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::invalid_request);
    CHECK(contains(e.what(), "worktree_isolation"));
    CHECK(contains(e.what(), "not one"));
  }
}
