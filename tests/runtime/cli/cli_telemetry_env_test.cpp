// cli_telemetry: what the CLI processes get so that the CLI's own OpenTelemetry export reaches
// the configured collector, and how each process tells which slot it is.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "runtime/cli/cli_executor.hpp"
#include "runtime/process/process_runner.hpp"

using namespace claude_pool;

namespace {

std::optional<std::string> env_of(const runtime::process_request& proc, const std::string& name) {
  std::optional<std::string> found;
  for (auto& [k, v] : proc.env_set)
    if (k == name)
      found = v; // the last one wins, as in the child
  return found;
}

} // namespace

TEST_CASE("cli_telemetry turns the CLI's export on and passes its OTEL_ variables",
          "[cli][telemetry]") {
  pool_config cfg;
  CHECK_FALSE(env_of(cli_base_request(cfg, "claude", {}), "CLAUDE_CODE_ENABLE_TELEMETRY"));
  cfg.cli_telemetry = cli_telemetry_config{};
  cfg.cli_telemetry->env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318";
  cfg.cli_telemetry->env["OTEL_METRICS_EXPORTER"] = "otlp";
  auto proc = cli_base_request(cfg, "claude", {});
  CHECK(env_of(proc, "CLAUDE_CODE_ENABLE_TELEMETRY") == std::optional<std::string>("1"));
  CHECK(env_of(proc, "OTEL_EXPORTER_OTLP_ENDPOINT")
        == std::optional<std::string>("http://127.0.0.1:4318"));
  CHECK(env_of(proc, "OTEL_METRICS_EXPORTER") == std::optional<std::string>("otlp"));
  cfg.cli_telemetry->enabled = false;
  CHECK_FALSE(env_of(cli_base_request(cfg, "claude", {}), "CLAUDE_CODE_ENABLE_TELEMETRY"));
}

TEST_CASE("the slot and credential go first in OTEL_RESOURCE_ATTRIBUTES, encoded, keeping "
          "what was given",
          "[cli][telemetry]") {
  ::unsetenv("OTEL_RESOURCE_ATTRIBUTES");
  runtime::process_request proc;
  add_telemetry_attributes(proc, slot_id{"slot-3"}, "team a,1");
  CHECK(env_of(proc, "OTEL_RESOURCE_ATTRIBUTES")
        == std::optional<std::string>("claude_pool.slot=slot-3,claude_pool.credential=team%20a%2C1"));
  runtime::process_request configured;
  configured.env_set.emplace_back("OTEL_RESOURCE_ATTRIBUTES", "team=infra");
  add_telemetry_attributes(configured, slot_id{"slot-0"}, "default");
  CHECK(env_of(configured, "OTEL_RESOURCE_ATTRIBUTES")
        == std::optional<std::string>("claude_pool.slot=slot-0,claude_pool.credential=default,"
                                      "team=infra"));
  ::setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci", 1);
  runtime::process_request inherited;
  add_telemetry_attributes(inherited, slot_id{"slot-1"}, "default");
  CHECK(env_of(inherited, "OTEL_RESOURCE_ATTRIBUTES")
        == std::optional<std::string>("claude_pool.slot=slot-1,claude_pool.credential=default,"
                                      "deployment.environment=ci"));
  ::unsetenv("OTEL_RESOURCE_ATTRIBUTES");
}
