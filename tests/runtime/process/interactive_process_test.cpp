// The process runner's conversational mode (what a warm slot uses): stdin kept open,
// writes in order, stdout streamed as it arrives.
#include "runtime/process/process_runner.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <mutex>

#include "../../support/eventually.hpp"

using namespace claude_pool::runtime;
using claude_pool::testing::eventually;

TEST_CASE("a child keeps reading stdin across writes and its stdout streams back as it comes",
          "[process_runner]") {
  process_runner runner;
  std::mutex m;
  std::string seen;
  process_request req;
  req.executable = "cat";
  req.keep_stdin_open = true;
  req.on_stdout = [&](std::string_view chunk) {
    std::lock_guard<std::mutex> lock(m);
    seen.append(chunk);
  };
  std::promise<process_outcome> done;
  auto id = runner.start(req, [&](process_outcome o) { done.set_value(std::move(o)); });
  auto text = [&] {
    std::lock_guard<std::mutex> lock(m);
    return seen;
  };
  REQUIRE(runner.write(id, "first\n"));
  // The answer to the first write arrives while the child still runs.
  REQUIRE(eventually([&] { return text() == "first\n"; }));
  REQUIRE(runner.write(id, "second\n"));
  REQUIRE(runner.write(id, "third\n"));
  REQUIRE(eventually([&] { return text() == "first\nsecond\nthird\n"; }));
  REQUIRE(runner.close_stdin(id));
  auto out = done.get_future().get();
  CHECK(out.end == process_end::exited);
  CHECK(out.exit_code == 0);
  CHECK(out.stdout_data.empty()); // handed over, not collected
  CHECK_FALSE(runner.write(id, "late\n"));
}

TEST_CASE("a conversational child that is cancelled is stopped and reported once",
          "[process_runner]") {
  process_runner runner;
  process_request req;
  req.executable = "cat";
  req.keep_stdin_open = true;
  req.kill_grace = std::chrono::milliseconds(200);
  std::promise<process_outcome> done;
  auto id = runner.start(req, [&](process_outcome o) { done.set_value(std::move(o)); });
  REQUIRE(runner.write(id, "x\n"));
  REQUIRE(runner.cancel(id));
  auto out = done.get_future().get();
  CHECK(out.end == process_end::cancelled);
  CHECK(out.exit_code != 0);
}
