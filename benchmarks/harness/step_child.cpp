#include "benchmarks/harness/step_child.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "benchmarks/harness/process_memory.hpp"
#include "benchmarks/harness/scenarios.hpp"

namespace claude_pool::bench {

void step_progress(const nlohmann::json& spec, const std::string& what) {
  if (!spec.value("tty", false))
    return;
  std::fprintf(stderr, "\r\033[K%s: %s", spec.value("label", std::string("step")).c_str(),
               what.c_str());
  std::fflush(stderr);
}

namespace {

nlohmann::json run_step(const nlohmann::json& spec) {
  auto scenario = spec.at("scenario").get<std::string>();
  if (scenario == "routing")
    return run_routing_step(spec);
  if (scenario == "process")
    return run_process_step(spec);
  if (scenario == "real_cli")
    return run_real_cli_step(spec);
  if (scenario == "scale")
    return run_scale_step(spec);
  if (scenario == "durability")
    return run_durability_step(spec);
  throw std::invalid_argument("unknown scenario " + scenario);
}

} // namespace

int run_step_child(const std::string& spec_text, const std::string& result_path) {
  nlohmann::json result;
  int code = 0;
  try {
    result = run_step(nlohmann::json::parse(spec_text));
  } catch (const std::exception& e) {
    result = {{"error", e.what()}};
    code = 1;
  }
  // This process alone: the pool, its actors and threads, without the CLI children.
  result["peak_rss_kib"] = peak_rss_kib();
  std::ofstream(result_path, std::ios::trunc) << result.dump() << "\n";
  return code;
}

} // namespace claude_pool::bench
