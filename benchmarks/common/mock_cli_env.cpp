#include "benchmarks/common/mock_cli_env.hpp"

#include "mock_api/mock_api_server.hpp"

namespace claude_pool::bench {

mock_cli_env::mock_cli_env(std::string claude_bin)
  : home_("claude-pool-bench-home"), mock_(std::make_unique<mock_api::server>()) {
  mock_->start();
  cfg_.claude_bin = std::move(claude_bin);
  cfg_.working_dir = home_.path();
  cfg_.slot_mode = slot_mode::ephemeral;
  cfg_.cli_env = {{"ANTHROPIC_BASE_URL", mock_->base_url()},
                  {"ANTHROPIC_API_KEY", "bench"},
                  {"HOME", home_.path()},
                  {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"}};
}

mock_cli_env::~mock_cli_env() { mock_->stop(); }

} // namespace claude_pool::bench
