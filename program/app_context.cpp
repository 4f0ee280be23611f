#include "program/app_context.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <unistd.h>

#include "http_api/pool_watchers.hpp"
#include "http_api/webhook_sender.hpp"
#include "messages/json.hpp"
#include "mock_api/mock_api_server.hpp"

namespace claude_pool::app {

namespace fs = std::filesystem;

pool_config load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw usage_error("cannot read config file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  auto doc = nlohmann::json::parse(buf.str(), nullptr, false);
  if (doc.is_discarded())
    throw usage_error(path + ": not valid JSON");
  try {
    return parse_pool_config(doc);
  } catch (const json_error& e) {
    throw usage_error(path + ": " + e.what());
  }
}

std::string choose_claude_bin(const std::string& flag, const pool_config& cfg) {
  if (!flag.empty())
    return flag;
  if (auto env = std::getenv("CLAUDE_POOL_CLAUDE_BIN"); env && *env)
    return env;
  if (cfg.claude_bin)
    return *cfg.claude_bin;
#ifdef CLAUDE_POOL_BUNDLED_CLI
  if (::access(CLAUDE_POOL_BUNDLED_CLI, X_OK) == 0)
    return CLAUDE_POOL_BUNDLED_CLI;
#endif
  return "claude";
}

app_context::app_context(const pool_options_cli& opts) {
  if (!opts.config_file.empty())
    cfg_ = load_config_file(opts.config_file);
  if (opts.slots) {
    if (*opts.slots == 0)
      throw usage_error("--slots: must be at least 1");
    cfg_.initial_slots = *opts.slots;
    // An explicit slot count widens the bounds it would otherwise break.
    cfg_.scaling.min_slots = std::min(cfg_.scaling.min_slots, *opts.slots);
    cfg_.scaling.max_slots = std::max(cfg_.scaling.max_slots, *opts.slots);
  }
  if (!opts.model.empty())
    cfg_.model = opts.model;
  if (opts.worktrees)
    cfg_.worktree_isolation = true;
  if (!opts.store.empty())
    cfg_.store_path = opts.store;
  if (opts.budget_usd) {
    if (!(*opts.budget_usd > 0) || *opts.budget_usd > 1e9)
      throw usage_error("--budget: must be a positive amount of US dollars");
    cfg_.budget_microdollars = static_cast<std::uint64_t>(std::llround(*opts.budget_usd * 1e6));
  }
  if (opts.reserve_usd) {
    if (!(*opts.reserve_usd > 0) || *opts.reserve_usd > 1e9)
      throw usage_error("--reserve: must be a positive amount of US dollars");
    cfg_.budget_default_reservation_microdollars =
      static_cast<std::uint64_t>(std::llround(*opts.reserve_usd * 1e6));
    cfg_.budget_policy = "fixed"; // a reservation given is the fixed policy's allowance
  }
  quiet_ = opts.quiet;
  if (opts.timeout_secs) {
    if (*opts.timeout_secs == 0)
      throw usage_error("--timeout: must be at least 1 second");
    cfg_.task_timeout_secs = *opts.timeout_secs;
  }
  if (opts.mock_mode != "auto" && opts.mock_mode != "on" && opts.mock_mode != "off")
    throw usage_error("--mock-api: expected auto, on or off, got " + opts.mock_mode);
  bool has_key = std::getenv("ANTHROPIC_API_KEY") != nullptr
                 || cfg_.cli_env.count("ANTHROPIC_API_KEY") > 0
                 || cfg_.cli_env.count("ANTHROPIC_BASE_URL") > 0;
  if (opts.mock_mode == "on" || (opts.mock_mode == "auto" && !has_key))
    start_mock();
  if (auto problem = validate(cfg_); !problem.empty())
    throw usage_error(problem);
  claude_bin_ = choose_claude_bin(opts.claude_bin, cfg_);
  cfg_.claude_bin = claude_bin_;
  if (!cfg_.webhooks.empty()) {
    try {
      webhooks_ = std::make_shared<http_api::webhook_sender>(
        cfg_.webhooks, [](const std::string& line) {
          std::cerr << ("claude-pool: " + line + "\n") << std::flush;
        });
    } catch (const std::runtime_error& e) {
      throw usage_error(e.what());
    }
  }
}

pool_options app_context::pool_opts() const {
  pool_options po;
  po.default_claude_bin = claude_bin_;
  if (!quiet_)
    po.on_event = [](const pool_event& ev) {
      // One write per line, so lines from several actor threads never interleave.
      std::string line = "claude-pool: " + ev.kind;
      if (ev.slot_id)
        line += " [" + ev.slot_id->value + "]";
      line += ": " + ev.message + "\n";
      std::cerr << line << std::flush;
    };
  if (webhooks_)
    http_api::watch(po, http_api::watchers{nullptr, nullptr, webhooks_});
  return po;
}

void app_context::start_mock() {
  mock_ = std::make_unique<mock_api::server>();
  mock_->start();
  // A private HOME keeps the CLI's sessions and settings away from the user's own.
  char pattern[] = "/tmp/claude-pool-home-XXXXXX";
  if (!::mkdtemp(pattern))
    throw usage_error("cannot create a temporary HOME for the mock API run");
  temp_home_ = pattern;
  cfg_.cli_env["ANTHROPIC_BASE_URL"] = mock_->base_url();
  cfg_.cli_env["ANTHROPIC_API_KEY"] = "mock-api-key";
  cfg_.cli_env["HOME"] = temp_home_;
  cfg_.cli_env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
  std::cerr << "claude-pool: no ANTHROPIC_API_KEY set; using the bundled mock API at "
            << mock_->base_url() << " (real CLI, mock model)\n";
}

app_context::~app_context() {
  if (mock_)
    mock_->stop();
  if (!temp_home_.empty()) {
    std::error_code ignored;
    fs::remove_all(temp_home_, ignored);
  }
}

} // namespace claude_pool::app
