// The durable store with the program and the real CLI: a batch SIGKILLed mid-way and run
// again on the same store finishes every line exactly once (completed lines are not run
// again), and bad store files are refused with a message naming them.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "messages/json.hpp"
#include "real_cli_fixture.hpp"
#include "runtime/store/task_store.hpp"
#include "../support/child_process.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;
namespace fs = std::filesystem;

namespace {


std::vector<nlohmann::json> records_in(const std::string& log) {
  std::vector<nlohmann::json> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{')
      out.push_back(nlohmann::json::parse(line));
  return out;
}

} // namespace

TEST_CASE("a batch killed mid-way and run again on its store ends every line exactly once",
          "[integration][store]") {
  char pattern[] = "/tmp/claude-pool-store-XXXXXX";
  fs::path dir = ::mkdtemp(pattern);
  auto db = (dir / "pool.db").string();
  auto file = (dir / "batch.jsonl").string();
  {
    std::ofstream out(file);
    for (int i = 0; i < 8; ++i)
      out << R"({"prompt": "line )" << i << R"( [[mock:delay_ms=1500]] [[mock:usage=1000/200]]"})"
          << "\n";
  }
  auto marker = "CLAUDE_POOL_TEST_MARKER=store" + std::to_string(::getpid());
  std::vector<std::string> argv = {CLAUDE_POOL_APP, "batch", "--slots", "2", "--store", db,
                                   file};

  child_process first(argv, (dir / "first.log").string(), no_api, {marker});
  // Kill it once two lines are printed (so the next ones are running or queued).
  REQUIRE(eventually([&] { return records_in(first.log()).size() >= 2; }));
  first.signal(SIGKILL);
  first.wait();
  auto before = records_in(first.log());
  std::set<std::string> completed_before;
  for (auto& r : before)
    if (r["state"] == "completed")
      completed_before.insert(r["id"].get<std::string>());
  REQUIRE(completed_before.size() >= 2);
  // Its CLI processes went with it.
  CHECK(eventually([&] { return processes_with_marker(marker.substr(marker.find('=') + 1)) == 0; }));

  child_process second(argv, (dir / "second.log").string(), no_api);
  CHECK(second.wait() == 0);
  auto after = records_in(second.log());
  INFO(second.log());
  REQUIRE(after.size() == 8);
  for (auto& r : after)
    CHECK(r["state"] == "completed");
  // The lines completed before the kill were not run again: same task, same record.
  std::set<std::string> ids_after;
  for (auto& r : after)
    ids_after.insert(r["id"].get<std::string>());
  for (auto& id : completed_before)
    CHECK(ids_after.count(id) == 1);
  CHECK(second.log().find("resuming from") != std::string::npos);

  // In the store: every line has exactly one completed task; a task that was running when
  // the first program died is there too, failed as interrupted (at most once), never run
  // twice.
  auto store = open_sqlite_store(db);
  std::map<std::string, int> completed_per_line;
  int interrupted = 0;
  for (auto& t : store->load_tasks()) {
    std::string line_tag;
    for (auto& tag : t.tags)
      if (tag.rfind("batch-line:", 0) == 0)
        line_tag = tag;
    REQUIRE(!line_tag.empty());
    CHECK(is_terminal(t.state));
    if (t.state == task_state::completed)
      ++completed_per_line[line_tag];
    else if (t.result && t.result->subtype == "interrupted")
      ++interrupted;
  }
  CHECK(completed_per_line.size() == 8);
  for (auto& [tag, n] : completed_per_line)
    CHECK(n == 1);
  CHECK(interrupted >= 1); // --slots 2: the kill caught running tasks
  // Spend survived the kill: at least every completed task's $0.010000.
  CHECK(store->load_spent() >= 8 * 10000);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

TEST_CASE("a bad store file is refused with a message naming it", "[integration][store]") {
  char pattern[] = "/tmp/claude-pool-store-XXXXXX";
  fs::path dir = ::mkdtemp(pattern);
  auto garbage = (dir / "garbage.db").string();
  std::ofstream(garbage) << "this is not a database, just some text that is long enough\n";
  child_process run({CLAUDE_POOL_APP, "run", "--store", garbage, "hello"},
                    (dir / "run.log").string(), no_api);
  CHECK(run.wait() == 2);
  auto log = run.log();
  INFO(log);
  CHECK(log.find(garbage) != std::string::npos);
  child_process missing({CLAUDE_POOL_APP, "run", "--store", (dir / "no/such/dir/x.db").string(),
                         "hello"},
                        (dir / "missing.log").string(), no_api);
  CHECK(missing.wait() == 2);
  CHECK(missing.log().find("no/such/dir") != std::string::npos);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}
