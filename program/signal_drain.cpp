#include "program/signal_drain.hpp"

#include <atomic>
#include <csignal>
#include <iostream>

#include <pthread.h>

#include "claude_pool/pool.hpp"

namespace claude_pool::app {

namespace {

/// SIGUSR2 only tells the waiter thread to stop; it is never sent from outside.
sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);
  return set;
}

std::atomic<claude_pool::pool*> target{nullptr};

} // namespace

void signal_drain::block_signals() {
  auto set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

signal_drain::signal_drain(std::chrono::milliseconds drain_grace) : grace_(drain_grace) {
  block_signals();
  waiter_ = std::thread([this] {
    auto set = watched_signals();
    int count = 0;
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0 || sig == SIGUSR2)
        return;
      auto p = target.load();
      if (!p)
        continue;
      if (++count == 1) {
        std::cerr << "\nclaude-pool: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
                  << ": draining (running tasks get " << grace_.count() / 1000
                  << " s; signal again to stop them now)\n";
        drainer_ = std::thread([this, p, grace = grace_] {
          try {
            p->drain(grace);
          } catch (const std::exception&) {
          }
          drained_.set_value();
        });
      } else {
        std::cerr << "\nclaude-pool: stopping every task now\n";
        try {
          p->drain(std::chrono::milliseconds(0));
        } catch (const std::exception&) {
        }
      }
    }
  });
}

void signal_drain::watch(claude_pool::pool& p) { target.store(&p); }

void signal_drain::wait_until_drained() { drained_.get_future().wait(); }

signal_drain::~signal_drain() {
  target.store(nullptr);
  pthread_kill(waiter_.native_handle(), SIGUSR2);
  waiter_.join();
  if (drainer_.joinable())
    drainer_.join();
}

} // namespace claude_pool::app
