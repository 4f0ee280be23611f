// SIGTERM/SIGINT to the claude-pool program: the first drains, a second forces; every input
// still gets its output line and no CLI process is left.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <future>
#include <random>
#include <sstream>

#include "messages/json.hpp"
#include "real_cli_fixture.hpp"
#include "runtime/process/process_runner.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;

namespace {

struct running_program {
  std::string marker;
  std::future<runtime::process_outcome> done;
};

running_program start_batch(runtime::process_runner& runner, const std::string& file,
                            const std::string& drain_timeout) {
  std::random_device rd;
  running_program r;
  auto value = std::to_string(rd()) + std::to_string(rd());
  r.marker = "DRAIN_TEST_MARKER=" + value;
  runtime::process_request req;
  req.executable = CLAUDE_POOL_APP;
  req.args = {"batch", "--slots", "2", "--mock-api", "off", "--claude-bin", CLAUDE_POOL_FAKE_CLI,
              "--drain-timeout", drain_timeout, file};
  req.env_set = {{"FAKE_CLAUDE_MODE", "hang"}, {"DRAIN_TEST_MARKER", value}};
  req.timeout = std::chrono::minutes(2);
  auto promise = std::make_shared<std::promise<runtime::process_outcome>>();
  r.done = promise->get_future();
  runner.start(req, [promise](runtime::process_outcome o) { promise->set_value(std::move(o)); });
  return r;
}

int program_pid(const std::string& marker) {
  for (auto& [pid, name] : pids_with_marker(marker))
    if (name == "claude-pool")
      return pid;
  return 0;
}

int fake_clis(const std::string& marker) {
  int n = 0;
  for (auto& [pid, name] : pids_with_marker(marker)) // not the program, not its spawner
    n += name != "claude-pool" && name != "claude-pool-spa";
  return n;
}

std::vector<task_record> records_of(const std::string& out) {
  std::vector<task_record> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty())
      v.push_back(nlohmann::json::parse(line).get<task_record>());
  return v;
}

std::string four_tasks() {
  auto path = std::filesystem::temp_directory_path() / "claude-pool-drain-test.jsonl";
  std::ofstream(path) << "{\"prompt\":\"a\"}\n{\"prompt\":\"b\"}\n{\"prompt\":\"c\"}\n{\"prompt\":\"d\"}\n";
  return path.string();
}

} // namespace

TEST_CASE("SIGTERM drains: running tasks get the grace period, then every task is stopped "
          "and reported",
          "[integration][signals]") {
  runtime::process_runner runner;
  auto prog = start_batch(runner, four_tasks(), "1");
  REQUIRE(eventually([&] { return fake_clis(prog.marker) == 2 && program_pid(prog.marker); }));
  ::kill(program_pid(prog.marker), SIGTERM);
  auto out = prog.done.get();
  INFO(out.stderr_data);
  CHECK(out.end == runtime::process_end::exited);
  CHECK(out.exit_code == 1);
  CHECK_THAT(out.stderr_data, Catch::Contains("draining"));
  auto recs = records_of(out.stdout_data);
  REQUIRE(recs.size() == 4);
  for (auto& r : recs) {
    CHECK(r.state == task_state::cancelled);
    CHECK_THAT(r.result->output, Catch::Contains("drain"));
  }
  CHECK(eventually([&] { return processes_with_marker(prog.marker) == 0; }));
}

TEST_CASE("a second signal stops every task at once", "[integration][signals]") {
  runtime::process_runner runner;
  auto prog = start_batch(runner, four_tasks(), "600");
  REQUIRE(eventually([&] { return fake_clis(prog.marker) == 2 && program_pid(prog.marker); }));
  auto pid = program_pid(prog.marker);
  ::kill(pid, SIGINT);
  // Two signals sent back to back can merge into one delivery; give the first its own.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ::kill(pid, SIGINT);
  // With a 600 s grace, only the second signal can end this before the test's limits.
  auto status = prog.done.wait_for(std::chrono::seconds(60));
  REQUIRE(status == std::future_status::ready);
  auto out = prog.done.get();
  CHECK(out.exit_code == 1);
  CHECK_THAT(out.stderr_data, Catch::Contains("stopping every task now"));
  CHECK(records_of(out.stdout_data).size() == 4);
  CHECK(eventually([&] { return processes_with_marker(prog.marker) == 0; }));
}
