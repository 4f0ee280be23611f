#include <catch2/catch.hpp>

#include "supervision/failure_class.hpp"

using namespace claude_pool;

namespace {

task_result failed(std::string subtype, std::optional<int> api = {}) {
  auto r = task_result::failure("x", std::move(subtype));
  r.api_error_status = api;
  return r;
}

} // namespace

TEST_CASE("failures are classified from the CLI's result and exit", "[failure_class]") {
  task_result ok;
  ok.success = true;
  CHECK(classify(ok) == failure_class::none);
  CHECK(classify(failed("success", 401)) == failure_class::auth);
  CHECK(classify(failed("success", 403)) == failure_class::auth);
  CHECK(classify(failed("success", 429)) == failure_class::rate_limited);
  CHECK(classify(failed("success", 529)) == failure_class::rate_limited);
  CHECK(classify(failed("success", 500)) == failure_class::server_error);
  CHECK(classify(failed("success", 503)) == failure_class::server_error);
  CHECK(classify(failed("success", 400)) == failure_class::task_error);
  CHECK(classify(failed("crashed")) == failure_class::crash);
  CHECK(classify(failed("exit_error")) == failure_class::crash);
  CHECK(classify(failed("slot_lost")) == failure_class::crash);
  CHECK(classify(failed("timeout")) == failure_class::hang);
  CHECK(classify(failed("unparsable_output")) == failure_class::unparsable);
  CHECK(classify(failed("empty_output")) == failure_class::unparsable);
  CHECK(classify(failed("output_too_large")) == failure_class::unparsable);
  CHECK(classify(failed("cancelled")) == failure_class::cancelled);
  CHECK(classify(failed("error_max_turns")) == failure_class::task_error);
  CHECK(classify(failed("permission_prompt")) == failure_class::task_error);
  CHECK(classify(failed("spawn_failed")) == failure_class::task_error);
}

TEST_CASE("a stalled run is a crash, a missing login an auth failure", "[failure_class]") {
  CHECK(classify(task_result::failure("no output", "stalled")) == failure_class::crash);
  CHECK(classify(task_result::failure("Not logged in · Please run /login", "success"))
        == failure_class::auth);
  CHECK(classify(task_result::failure("You are not logged in elsewhere", "success"))
        == failure_class::task_error);
}

TEST_CASE("each failure class has its own consequences", "[failure_class]") {
  CHECK(restarts_slot(failure_class::crash));
  CHECK(restarts_slot(failure_class::hang));
  CHECK_FALSE(restarts_slot(failure_class::unparsable));
  CHECK_FALSE(restarts_slot(failure_class::auth));
  CHECK_FALSE(restarts_slot(failure_class::rate_limited));
  CHECK(retryable(failure_class::crash));
  CHECK(retryable(failure_class::hang));
  CHECK(retryable(failure_class::unparsable));
  CHECK(retryable(failure_class::server_error));
  CHECK_FALSE(retryable(failure_class::auth));
  CHECK_FALSE(retryable(failure_class::task_error));
  CHECK_FALSE(retryable(failure_class::cancelled));
  CHECK(to_string(failure_class::rate_limited) == "rate_limited");
}
