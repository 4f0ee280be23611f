#include "program/commands.hpp"

#include <csignal>
#include <iostream>
#include <thread>

#include "mock_api/mock_api_server.hpp"

namespace claude_pool::app {

int mock_api_command(const mock_options& opts) {
  mock_api::options mo;
  mo.host = opts.host;
  mo.port = opts.port;
  mo.log_path = opts.log_path;
  mock_api::server server(mo);
  // Block the stop signals before any thread starts, then wait for one synchronously.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    server.start();
  } catch (const std::exception& e) {
    throw usage_error(std::string("mock-api: ") + e.what());
  }
  std::cout << server.base_url() << std::endl;
  std::cerr << "claude-pool: mock API listening on " << server.base_url()
            << " (ANTHROPIC_BASE_URL); Ctrl-C or SIGTERM stops it\n";
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.stop();
  return 0;
}

} // namespace claude_pool::app
